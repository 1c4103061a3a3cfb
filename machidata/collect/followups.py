"""Data requests followed up by a 照会 (issue 11 point 5): a request routed to a 課 turns into a campaign,
and the request is answered (回答済み, データがあります) when the campaign's first return is accepted.

The data request room is not changed: this room calls its selectors and services (``data_request_get``,
``request_roles``, ``data_request_comment``, ``data_request_answer``) as the person who started the
campaign, so the request's own rules (who may answer, in which status) still decide.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Actor, actor_for
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.collect.models import Campaign, Repeat, RequestFollowUp
from machidata.collect.services import campaign_create
from machidata.core.errors import Conflict, InvalidInput, MachidataError, PermissionDenied

logger = logging.getLogger("machidata.collect")


def campaign_from_request(
    *,
    actor: Actor,
    request_id: int,
    table: Table,
    title: str,
    deadline: dt.date,
    instructions: str = "",
    unit_ids: Sequence[int] = (),
    facilities: Sequence[str] = (),
    repeat: str = Repeat.NONE,
) -> Campaign:
    """Start a campaign that answers the data request ``request_id`` once data arrives.

    Only someone who may answer the request (its routed 課, or 管理) while it waits for an answer, and who
    may edit ``table`` (checked by :func:`campaign_create`).
    """
    from machidata.datarequests.models import RequestStatus
    from machidata.datarequests.selectors import ANSWER, data_request_get, request_roles
    from machidata.datarequests.services import data_request_comment

    request = data_request_get(actor=actor, pk=request_id)
    if ANSWER not in request_roles(actor, request):
        raise PermissionDenied("照会にできるのは、要望を回付された課の職員とデータ戦略課（管理）です。")
    if request.status != RequestStatus.ROUTED:
        raise Conflict(
            f"「{request.get_status_display()}」の要望は照会にできません（担当課へ回付された要望だけです）。"
        )
    if RequestFollowUp.objects.filter(data_request=request, closed_at__isnull=True).exists():
        raise Conflict("この要望には、もう照会があります。")
    with transaction.atomic():
        campaign = campaign_create(
            actor=actor, table=table, title=title, deadline=deadline, instructions=instructions,
            unit_ids=unit_ids, facilities=facilities, repeat=repeat,
        )  # fmt: skip
        follow = RequestFollowUp.objects.create(
            data_request=request, campaign=campaign, created_by_id=actor.user_id
        )
        audit_record(
            actor=actor,
            action="collect.request_follow_up",
            obj=follow,
            changes={"data_request": request.pk, "campaign": campaign.pk},
        )
        data_request_comment(
            actor=actor,
            request=request,
            body=(
                f"この要望に応えるため、照会「{campaign.title}」（締切 {campaign.deadline:%Y-%m-%d}）を始めました。"
                "回答が届いて表に入ったら、この要望を回答済みにします。"
            ),
        )
    return campaign


def follow_up_close(*, campaign: Campaign) -> RequestFollowUp | None:
    """After an accepted return: answer the campaign's data request (データがあります, with the dataset when the
    requester may discover it, else its 課 to ask). Never raises; a request that cannot be answered any more
    (withdrawn, answered meanwhile) is closed with the reason."""
    from machidata.datarequests.models import AnswerKind
    from machidata.datarequests.services import data_request_answer

    follow = (
        RequestFollowUp.objects.filter(campaign=campaign, closed_at__isnull=True)
        .select_related("data_request", "created_by", "campaign__table__dataset__owner")
        .first()
    )
    if follow is None:
        return None
    dataset = campaign.table.dataset
    text = f"照会「{campaign.title}」で集めたデータが、表「{campaign.table.title}」に入りました。"
    actor = actor_for(follow.created_by) if follow.created_by is not None else None
    note = ""
    if actor is None:
        note = "照会を始めた人がいないため、要望を回答済みにできませんでした。"
    else:
        try:
            try:
                data_request_answer(
                    actor=actor,
                    request=follow.data_request,
                    kind=AnswerKind.EXISTS,
                    text=text,
                    dataset=dataset.slug,
                )
            except InvalidInput:  # the requester may not discover the dataset: say whom to ask instead
                data_request_answer(
                    actor=actor, request=follow.data_request, kind=AnswerKind.EXISTS,
                    text=f"{text}データの所有者は{dataset.owner.name}です。利用するときは問い合わせてください。",
                )  # fmt: skip
        except MachidataError as exc:
            note = f"要望を回答済みにできませんでした: {exc.message}"
        except Exception:  # the accepted return is already saved; never fail it here
            logger.exception("follow-up %s could not close its data request", follow.pk)
            return None
    RequestFollowUp.objects.filter(pk=follow.pk).update(closed_at=timezone.now(), close_note=note[:500])
    return RequestFollowUp.objects.get(pk=follow.pk)
