"""Alert API (/api/v1/alerts): the caller's own rules (list, create, get, delete), their fired alerts, and
how the caller gets notice e-mails.

Signed-in staff only (401 otherwise); another person's rule answers 404 like a missing one.
"""

# No ``from __future__ import annotations`` here: @paginate re-reads the list endpoints' parameter
# annotations in django-ninja's own namespace.
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from machidata.access.auth import api_staff
from machidata.collect import alerts
from machidata.collect.models import Alert, AlertRule
from machidata.collect.schemas import (
    AlertOut,
    AlertRuleIn,
    AlertRuleOut,
    EmailPreferenceIn,
    EmailPreferenceOut,
)
from machidata.core.pagination import Pages
from machidata.notify.models import EmailMode
from machidata.notify.services import email_mode, email_preference_set

router = Router(tags=["alerts"])


@router.get("/", response=list[AlertOut], summary="知らせたアラートの一覧")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_alerts(request: HttpRequest) -> QuerySet[Alert]:
    """The alerts of the caller's rules, newest first."""
    return alerts.alerts_fired(actor=api_staff(request))


@router.get("/rules", response=list[AlertRuleOut], summary="自分のアラートの条件")
@paginate(Pages, page_size=settings.MACHIDATA_PAGE_SIZE)
def list_rules(request: HttpRequest) -> QuerySet[AlertRule]:
    """The caller's own rules, newest first."""
    return alerts.alert_rules(actor=api_staff(request))


@router.post("/rules", response={201: AlertRuleOut}, summary="アラートの条件を作る")
def create_rule(request: HttpRequest, payload: AlertRuleIn) -> Status:
    """A rule on a chart or an indicator the caller may see (and whose figures they may read)."""
    actor = api_staff(request)
    rule = alerts.alert_rule_create(
        actor=actor, chart_uuid=payload.chart, indicator_id=payload.indicator, condition=payload.condition,
        series=payload.series, threshold=payload.threshold, percent=payload.percent,
        cooldown_hours=payload.cooldown_hours,
    )  # fmt: skip
    return Status(201, alerts.alert_rule_get(actor=actor, pk=rule.pk))


@router.get("/rules/{int:rule_id}", response=AlertRuleOut, summary="アラートの条件")
def get_rule(request: HttpRequest, rule_id: int) -> AlertRule:
    """One of the caller's rules."""
    return alerts.alert_rule_get(actor=api_staff(request), pk=rule_id)


@router.delete("/rules/{int:rule_id}", response={204: None}, summary="アラートの条件を消す")
def delete_rule(request: HttpRequest, rule_id: int) -> Status:
    """Remove one of the caller's rules (with its alerts)."""
    actor = api_staff(request)
    alerts.alert_rule_delete(actor=actor, rule=alerts.alert_rule_get(actor=actor, pk=rule_id))
    return Status(204, None)


@router.get("/email", response=EmailPreferenceOut, summary="お知らせメールの受け取り方")
def get_email(request: HttpRequest) -> dict[str, str]:
    """すぐに (immediate), まとめて (digest) or 受け取らない (off)."""
    actor = api_staff(request)
    mode = email_mode(actor.user_id) if actor.user_id is not None else EmailMode.IMMEDIATE
    return {"mode": mode, "label": str(EmailMode(mode).label)}


@router.put("/email", response=EmailPreferenceOut, summary="お知らせメールの受け取り方を変える")
def set_email(request: HttpRequest, payload: EmailPreferenceIn) -> dict[str, str]:
    """Change how the caller gets notice e-mails."""
    mode = email_preference_set(actor=api_staff(request), mode=payload.mode)
    return {"mode": mode, "label": str(EmailMode(mode).label)}
