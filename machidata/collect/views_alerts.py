"""Alert pages (/collect/alerts/): one's rules and fired alerts, a new rule, removing one, the e-mail choice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor
from machidata.collect import alerts
from machidata.collect.forms import AlertRuleForm, EmailPreferenceForm
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.notify.models import EmailMode
from machidata.notify.services import email_mode, email_preference_set

CHOICES_MAX = 300


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """The actor's rules, the alerts they fired (in pages) and the e-mail choice."""
    actor = _actor(request)
    page = Paginator(alerts.alerts_fired(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    mode = email_mode(actor.user_id) if actor.user_id is not None else ""
    return render(
        request,
        "collect/alerts.html",
        {
            "rules": list(alerts.alert_rules(actor=actor)),
            "page_obj": page,
            "fired": page.object_list,
            "email_form": EmailPreferenceForm(initial={"mode": mode}),
            "email_on": settings.MACHIDATA_NOTIFY_EMAIL,
            "query_without_page": "",
        },
    )


def _subjects(actor: Actor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Charts (with a time axis) and indicators the actor may see, as form choices."""
    from machidata.charts.selectors import chart_list
    from machidata.ebpm.selectors import indicator_list

    charts = [
        (str(c.uuid), c.title)
        for c in chart_list(actor=actor)[:CHOICES_MAX]
        if any(
            isinstance(g, dict) and g.get("grain")
            for g in (c.document.get("query") or {}).get("group_by") or []
        )
    ]
    indicators = [
        (str(i.pk), f"{i.name}（{i.logic_model.item.name}）")
        for i in indicator_list(actor=actor)[:CHOICES_MAX]
    ]
    return charts, indicators


@require_http_methods(["GET", "POST"])
@login_required
def alert_create(request: HttpRequest) -> HttpResponse:
    """Make a rule; ``?chart=<uuid>`` or ``?indicator=<id>`` picks the subject in advance."""
    actor = _actor(request)
    charts, indicators = _subjects(actor)
    initial = {"chart": request.GET.get("chart", ""), "indicator": request.GET.get("indicator", "")}
    form = AlertRuleForm(request.POST or None, initial=initial, charts=charts, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        try:
            rule = alerts.alert_rule_create(
                actor=actor, chart_uuid=data["chart"] or None, indicator_id=data["indicator"] or None,
                condition=data["condition"], series=data["series"], threshold=data["threshold"],
                percent=data["percent"], cooldown_hours=data["cooldown_hours"],
            )  # fmt: skip
        except (InvalidInput, NotFound, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"アラートを作りました: {rule}。新しいデータが入るたびに確かめます。")
            return redirect("collect:alerts")
    return render(
        request,
        "collect/alert_form.html",
        {"form": form, "has_subjects": bool(charts or indicators)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def alert_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove one of the actor's rules."""
    actor = _actor(request)
    alerts.alert_rule_delete(actor=actor, rule=alerts.alert_rule_get(actor=actor, pk=pk))
    messages.success(request, "アラートを消しました。")
    return redirect("collect:alerts")


@require_POST
@login_required
def alert_email(request: HttpRequest) -> HttpResponse:
    """Change how the actor gets notice e-mails."""
    form = EmailPreferenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "メールの受け取り方を選んでください。")
        return redirect("collect:alerts")
    mode = email_preference_set(actor=_actor(request), mode=form.cleaned_data["mode"])
    messages.success(request, f"お知らせメールの受け取り方を「{EmailMode(mode).label}」にしました。")
    return redirect("collect:alerts")
