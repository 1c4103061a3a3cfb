"""Data requests followed up by a 照会 or a scheduled import (issue 11 point 5): a request routed to a 課
turns into a campaign or an import, and the request is answered (回答済み, データがあります) when the
campaign's first return is accepted or the import's first file enters the table.

The data request room is not changed: this room calls its selectors and services (``data_request_get``,
``request_roles``, ``data_request_comment``, ``data_request_answer``) as the person who started the
campaign, so the request's own rules (who may answer, in which status) still decide.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from machidata.access.policy import Actor, actor_for
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.collect.imports import import_source_create, import_source_create_remote
from machidata.collect.models import (
    Campaign,
    ImportKind,
    ImportMode,
    ImportSource,
    Repeat,
    RequestFollowUp,
)
from machidata.collect.services import campaign_create
from machidata.core.errors import Conflict, InvalidInput, MachidataError, PermissionDenied

if TYPE_CHECKING:
    from machidata.datarequests.models import DataRequest

logger = logging.getLogger("machidata.collect")


def _answerable(actor: Actor, request_id: int, what: str) -> DataRequest:
    """The data request ``request_id`` if ``actor`` may answer it now and it has no open follow-up."""
    from machidata.datarequests.models import RequestStatus
    from machidata.datarequests.selectors import ANSWER, data_request_get, request_roles

    request = data_request_get(actor=actor, pk=request_id)
    if ANSWER not in request_roles(actor, request):
        raise PermissionDenied(f"{what}にできるのは、要望を回付された課の職員とデータ戦略課（管理）です。")
    if request.status != RequestStatus.ROUTED:
        raise Conflict(
            f"「{request.get_status_display()}」の要望は{what}にできません（担当課へ回付された要望だけです）。"
        )
    if RequestFollowUp.objects.filter(data_request=request, closed_at__isnull=True).exists():
        raise Conflict("この要望には、もう照会か定期取り込みがあります。")
    return request


def _follow(
    actor: Actor,
    request: DataRequest,
    *,
    campaign: Campaign | None = None,
    source: ImportSource | None = None,
    comment: str,
) -> RequestFollowUp:
    """Record the follow-up, audit it and tell the requester (inside the caller's transaction)."""
    from machidata.datarequests.services import data_request_comment

    follow = RequestFollowUp.objects.create(
        data_request=request, campaign=campaign, import_source=source, created_by_id=actor.user_id
    )
    audit_record(
        actor=actor,
        action="collect.request_follow_up",
        obj=follow,
        changes={
            "data_request": request.pk,
            **({"campaign": campaign.pk} if campaign else {}),
            **({"import_source": source.pk} if source else {}),
        },
    )
    data_request_comment(actor=actor, request=request, body=comment)
    return follow


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
    request = _answerable(actor, request_id, "照会")
    with transaction.atomic():
        campaign = campaign_create(
            actor=actor, table=table, title=title, deadline=deadline, instructions=instructions,
            unit_ids=unit_ids, facilities=facilities, repeat=repeat,
        )  # fmt: skip
        _follow(
            actor,
            request,
            campaign=campaign,
            comment=(
                f"この要望に応えるため、照会「{campaign.title}」（締切 {campaign.deadline:%Y-%m-%d}）を始めました。"
                "回答が届いて表に入ったら、この要望を回答済みにします。"
            ),
        )
    return campaign


def import_source_start(
    *,
    actor: Actor,
    table: Table,
    kind: str = ImportKind.FOLDER,
    folder: str = "",
    pattern: str = "*.csv",
    url: str = "",
    ckan_dataset: str = "",
    ckan_resource: str = "",
    mode: str | None = None,
    data_request: int | None = None,
) -> ImportSource:
    """Set up a scheduled import of any kind (the page and the API both come here); with ``data_request``
    it answers that request when its first file enters the table (same rules as :func:`campaign_from_request`)."""
    request = _answerable(actor, data_request, "定期取り込み") if data_request is not None else None
    with transaction.atomic():
        if (kind or ImportKind.FOLDER) == ImportKind.FOLDER:
            source = import_source_create(
                actor=actor, table=table, folder=folder, pattern=pattern, mode=mode or ImportMode.APPEND
            )
        else:
            source = import_source_create_remote(
                actor=actor, table=table, kind=kind, url=url, ckan_dataset=ckan_dataset,
                ckan_resource=ckan_resource, mode=mode or ImportMode.REPLACE,
            )  # fmt: skip
        if request is not None:
            _follow(
                actor,
                request,
                source=source,
                comment=(
                    f"この要望に応えるため、表「{table.title}」の定期取り込みを設定しました。"
                    "最初のファイルが表に入ったら、この要望を回答済みにします。"
                ),
            )
    return source


def follow_up_close(
    *, campaign: Campaign | None = None, source: ImportSource | None = None
) -> RequestFollowUp | None:
    """After an accepted return (``campaign``) or a file ingested by a scheduled import (``source``): answer
    the data request it follows up (データがあります, with the dataset when the requester may discover it,
    else its 課 to ask). Never raises; a request that cannot be answered any more (withdrawn, answered
    meanwhile) is closed with the reason."""
    from machidata.datarequests.models import AnswerKind
    from machidata.datarequests.services import data_request_answer

    if campaign is not None:
        open_ = RequestFollowUp.objects.filter(campaign=campaign, closed_at__isnull=True)
        table = campaign.table
        text = f"照会「{campaign.title}」で集めたデータが、表「{table.title}」に入りました。"
    elif source is not None:
        open_ = RequestFollowUp.objects.filter(import_source=source, closed_at__isnull=True)
        table = source.table
        text = f"定期取り込みで、データが表「{table.title}」に入りました。"
    else:
        return None
    follow = open_.select_related("data_request", "created_by").first()
    if follow is None:
        return None
    dataset = table.dataset
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
