"""Writes of campaigns (照会): start one, close it, a recipient's template, reminders.

Returns (the recipients' answers) are taken by :mod:`machidata.collect.returns`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Membership, Unit, UnitKind
from machidata.access.policy import Action, Actor, can, unit_scope
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.collect import selectors
from machidata.collect.models import (
    SYSTEM_COLUMNS,
    Campaign,
    CampaignStatus,
    Recipient,
    RecipientStatus,
    Reminder,
    ReminderKind,
    Repeat,
)
from machidata.collect.workbook import build_template
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.notify.services import notify

logger = logging.getLogger("machidata.collect")

MAX_RECIPIENTS: Final = 500
REMIND_DAYS_BEFORE: Final = 3  # the 締切前 notice goes out this many days before the deadline
RECIPIENT_UNIT_KINDS: Final = (
    UnitKind.DIVISION,
    UnitKind.WARD_OFFICE,
    UnitKind.SECTION,
    UnitKind.DEPARTMENT,
    UnitKind.BUREAU,
)


# ---- the template's columns -------------------------------------------------------------------


def template_columns(table: Table) -> list[dict[str, Any]]:
    """The columns a recipient fills, from the table's 項目定義 (without 回答元/照会番号), one per source column."""
    from machidata.ingest.schema import SchemaError, TableSchema

    if not table.schema or not table.schema.get("fields"):
        raise InvalidInput(
            f"表「{table.title}」にはまだ項目定義がありません。先に見本のファイルを取り込んで項目定義を作ってください。"
        )
    try:
        schema = TableSchema.from_dict(table.schema)
    except SchemaError as exc:
        raise InvalidInput(f"表「{table.title}」の項目定義が読めません: {exc}") from exc
    columns: list[dict[str, Any]] = []
    seen: set[str] = set()
    for f in schema.fields:
        header = f.source_column
        if f.name in SYSTEM_COLUMNS or header in seen or header in SYSTEM_COLUMNS:
            continue
        seen.add(header)
        c = f.constraints
        columns.append(
            {
                "header": header,
                "name": f.name,
                "type": f.type,
                "required": c.required,
                "enum": c.enum,
                "minimum": c.minimum,
                "maximum": c.maximum,
                "unit": f.unit or "",
                # The field's title is the column's wording when it differs from the header.
                "description": f.description or (f.title if f.title != header else ""),
                "true_value": f.true_values[0] if f.true_values else None,
                "false_value": f.false_values[0] if f.false_values else None,
            }
        )
    if not columns:
        raise InvalidInput(f"表「{table.title}」には回答してもらう列がありません。")
    return columns


# ---- campaigns ---------------------------------------------------------------------------------


def _clean_facilities(facilities: Sequence[str]) -> list[str]:
    names: list[str] = []
    for raw in facilities:
        name = " ".join(str(raw).split())
        if not name:
            continue
        if len(name) > 200:
            raise InvalidInput(
                "回答先の名前は200文字以内にしてください。", details={"facilities": [name[:40]]}
            )
        if name in SYSTEM_COLUMNS:
            raise InvalidInput(f"「{name}」は回答先の名前に使えません。", details={"facilities": [name]})
        names.append(name)
    return names


def campaign_create(
    *,
    actor: Actor,
    table: Table,
    title: str,
    deadline: dt.date,
    instructions: str = "",
    unit_ids: Sequence[int] = (),
    facilities: Sequence[str] = (),
    is_synthetic: bool = False,
    repeat: str = Repeat.NONE,
    previous: Campaign | None = None,
    today: dt.date | None = None,
) -> Campaign:
    """Start a campaign on ``table`` (EDIT on its dataset) to units of the organisation and/or named facilities."""
    dataset = table.dataset
    if not can(actor, Action.DISCOVER, dataset):
        raise NotFound("表が見つかりません。")
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("照会を始められるのは、この表のデータ所有者（所管課）の編集担当者だけです。")
    if dataset.is_retired:
        raise InvalidInput(f"データセット「{dataset.title}」は廃止されているため、照会を始められません。")
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title or len(title) > 200:
        errors["title"] = ["照会の名前を200文字以内で入力してください。"]
    today = today or timezone.localdate()
    if deadline < today:
        errors["deadline"] = ["締切日は今日以降の日付にしてください。"]
    if repeat not in Repeat.values:
        errors["repeat"] = ["繰り返しは「繰り返さない」「毎月」「毎年」から選んでください。"]
    if len(instructions or "") > 5000:
        errors["instructions"] = ["記入のお願いは5000文字以内にしてください。"]
    names = _clean_facilities(facilities)
    units = list(Unit.objects.active_on(today).filter(pk__in=list(unit_ids), kind__in=RECIPIENT_UNIT_KINDS))
    unknown = sorted(set(unit_ids) - {u.pk for u in units})
    if unknown:
        errors["units"] = [f"選べない組織が含まれています（番号: {', '.join(map(str, unknown))}）。"]
    everyone = [u.name for u in units] + names
    dupes = sorted({n for n in everyone if everyone.count(n) > 1})
    if dupes:
        errors["facilities"] = ["回答先の名前が重複しています: " + "、".join(dupes)]
    if not everyone and "units" not in errors:
        errors["units"] = ["回答先（課・区役所、または施設の名前）を1つ以上指定してください。"]
    elif len(everyone) > MAX_RECIPIENTS:
        errors["units"] = [f"回答先は{MAX_RECIPIENTS}件までにしてください。"]
    if errors:
        raise InvalidInput("入力内容を確認してください。", details=errors)
    columns = template_columns(table)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            title=title,
            table=table,
            unit=dataset.owner,
            instructions=(instructions or "").strip(),
            deadline=deadline,
            columns=columns,
            is_synthetic=is_synthetic,
            repeat=repeat,
            previous=previous,
            created_by_id=actor.user_id,
        )
        Recipient.objects.bulk_create(
            [Recipient(campaign=campaign, name=u.name, unit=u) for u in units]
            + [Recipient(campaign=campaign, name=n) for n in names]
        )
        audit_record(
            actor=actor,
            action="collect.campaign_create",
            obj=campaign,
            changes={
                "table": f"{dataset.slug}/{table.name}",
                "deadline": deadline.isoformat(),
                "repeat": repeat,
                "recipients": everyone,
            },
        )
        recipient_users = _members(*(u.pk for u in units))
        notify(
            users=recipient_users,
            message=f"照会「{title}」への回答をお願いします（締切 {deadline:%Y年%m月%d日}）。",
            link=reverse("collect:detail", args=[campaign.pk]),
            exclude=actor,
        )
    return campaign


def campaign_close(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Stop taking returns (the data owner or 管理); reminders stop too."""
    if not selectors.may_manage(actor, campaign):
        raise PermissionDenied("照会を締め切れるのは、この表のデータ所有者（所管課）の編集担当者だけです。")
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status == CampaignStatus.CLOSED:
            raise Conflict("この照会はすでに締め切られています。")
        current.status = CampaignStatus.CLOSED
        current.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="collect.campaign_close", obj=current, changes={"status": "closed"})
    return current


def recipient_template(*, actor: Actor, recipient: Recipient) -> tuple[str, bytes]:
    """The file name and .xlsx bytes of a recipient's template (its members or the data owner)."""
    campaign = recipient.campaign
    if not selectors.may_answer(actor, recipient):
        raise PermissionDenied("この回答先の様式をダウンロードする権限がありません。")
    data = build_template(
        campaign_id=campaign.pk,
        recipient_id=recipient.pk,
        title=campaign.title,
        recipient=recipient.name,
        deadline=campaign.deadline,
        instructions=campaign.instructions,
        columns=campaign.columns,
        owner=campaign.unit.name,
    )
    return f"照会{campaign.pk}_{recipient.name}.xlsx", data


# ---- reminders ---------------------------------------------------------------------------------


def _members(*unit_ids: int) -> list[int]:
    """Users holding a membership today in any of the units (their 係 included)."""
    scope: set[int] = set()
    for uid in unit_ids:
        scope |= unit_scope(uid)
    if not scope:
        return []
    return list(
        Membership.objects.active_on().filter(unit_id__in=scope).values_list("user_id", flat=True).distinct()
    )


def reminders_send(*, today: dt.date | None = None) -> int:
    """Send due reminders of open campaigns: 締切前 (``REMIND_DAYS_BEFORE`` days ahead) and 締切後, once each per recipient.

    Returns how many were sent. A facility (no unit) is reminded through the campaign's creator.
    """
    today = today or timezone.localdate()
    sent = 0
    waiting = (
        Recipient.objects.filter(campaign__status=CampaignStatus.OPEN)
        .exclude(status=RecipientStatus.ANSWERED)
        .select_related("campaign")
    )
    for recipient in waiting:
        campaign = recipient.campaign
        days_left = (campaign.deadline - today).days
        if days_left < 0:
            kind = ReminderKind.AFTER
        elif days_left <= REMIND_DAYS_BEFORE:
            kind = ReminderKind.BEFORE
        else:
            continue
        fix = "（前回の提出に直すところがあります）" if recipient.status == RecipientStatus.NEEDS_FIX else ""
        if recipient.unit_id is not None:
            users = _members(recipient.unit_id)
            text = (
                f"照会「{campaign.title}」の締切は{campaign.deadline:%m月%d日}です。まだ回答がありません{fix}。"
                if kind == ReminderKind.BEFORE
                else f"照会「{campaign.title}」の締切（{campaign.deadline:%m月%d日}）を過ぎました。至急回答してください{fix}。"
            )
        else:
            # Facilities are not users: their reminder goes to whoever started the campaign (else the 課).
            users = [campaign.created_by_id] if campaign.created_by_id else _members(campaign.unit_id)
            text = (
                f"照会「{campaign.title}」: {recipient.name}からまだ回答がありません{fix}"
                f"（締切 {campaign.deadline:%m月%d日}）。"
            )
        try:
            with transaction.atomic():
                _, created = Reminder.objects.get_or_create(recipient=recipient, kind=kind)
                if not created:
                    continue
                notify(users=users, message=text, link=reverse("collect:detail", args=[campaign.pk]))
        except IntegrityError:  # another runner sent it at the same moment
            continue
        sent += 1
    return sent


# ---- repeating campaigns ----------------------------------------------------------------------


def _next_deadline(campaign: Campaign, today: dt.date) -> dt.date:
    """The next period's deadline: one month (or year) later, moved on until it is not in the past."""
    from machidata.collect.freshness import add_months

    months = 1 if campaign.repeat == Repeat.MONTHLY else 12
    deadline = add_months(campaign.deadline, months)
    while deadline < today:
        deadline = add_months(deadline, months)
    return deadline


def campaigns_repeat(*, today: dt.date | None = None) -> list[Campaign]:
    """Start the next period of every repeating campaign whose deadline has passed (once each); returns the new ones.

    The next campaign has the same table, recipients and instructions and is started as the person who
    started the previous one (their *edit* right is checked again); if they may no longer, the asking
    課's 編集 members are told and the series stops there.
    """
    from machidata.access.policy import actor_for

    today = today or timezone.localdate()
    started = []
    due = Campaign.objects.filter(deadline__lt=today, next_campaign__isnull=True).exclude(repeat=Repeat.NONE)
    for campaign in due.select_related("table__dataset", "created_by").order_by("pk"):
        recipients = list(Recipient.objects.filter(campaign=campaign))
        actor = actor_for(campaign.created_by)
        try:
            new = campaign_create(
                actor=actor,
                table=campaign.table,
                title=campaign.title,
                deadline=_next_deadline(campaign, today),
                instructions=campaign.instructions,
                unit_ids=[r.unit_id for r in recipients if r.unit_id is not None],
                facilities=[r.name for r in recipients if r.unit_id is None],
                is_synthetic=campaign.is_synthetic,
                repeat=campaign.repeat,
                previous=campaign,
                today=today,
            )
        except IntegrityError:  # another runner started it meanwhile
            continue
        except MachidataError as exc:
            with transaction.atomic():
                Campaign.objects.filter(pk=campaign.pk).update(repeat=Repeat.NONE)
                audit_record(
                    actor=actor,
                    action="collect.campaign_repeat_stop",
                    obj=campaign,
                    changes={"reason": exc.message},
                )
                notify(
                    users=_members(campaign.unit_id),
                    message=f"繰り返しの照会「{campaign.title}」の次の回を始められませんでした: {exc.message}",
                    link=reverse("collect:detail", args=[campaign.pk]),
                )
            continue
        started.append(new)
    return started
