"""Writes of the guidebooks: 管理 (データ戦略課) creates and edits guides; every save is a new version."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.support.models import Guide, GuideVersion

SLUG_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
MAX_CHECK_ITEMS: Final = 50


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("ガイドブックを編集できるのはデータ戦略課（管理）だけです。")


def _clean(title: str, body: str, checklist: Iterable[str]) -> tuple[str, str, list[str]]:
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        raise InvalidInput("題名を入力してください。")
    if len(title) > 200:
        raise InvalidInput("題名は200文字以内で入力してください。")
    if not body:
        raise InvalidInput("本文を入力してください。")
    items = [i.strip() for i in checklist if i and i.strip()]
    if len(items) > MAX_CHECK_ITEMS:
        raise InvalidInput(f"チェックリストの項目は{MAX_CHECK_ITEMS}個までです。")
    if any(len(i) > 300 for i in items):
        raise InvalidInput("チェックリストの項目は1つ300文字以内で入力してください。")
    return title, body, items


def guide_create(
    *, actor: Actor, slug: str, title: str, body: str, checklist: Iterable[str] = (), order: int = 0
) -> Guide:
    """Create a guide with its first version (管理)."""
    _require_admin(actor)
    slug = (slug or "").strip()
    if not SLUG_RE.match(slug):
        raise InvalidInput("識別名は半角の英小文字・数字・ハイフンで入力してください（例: data-shaping）。")
    title, body, items = _clean(title, body, checklist)
    with transaction.atomic():
        if Guide.objects.filter(slug=slug).exists():
            raise Conflict(f"識別名「{slug}」のガイドブックはすでにあります。")
        guide = Guide.objects.create(slug=slug, title=title, order=order, current_version=1)
        GuideVersion.objects.create(
            guide=guide,
            number=1,
            title=title,
            body=body,
            checklist=items,
            note="作成",
            edited_by_id=actor.user_id,
        )
        audit_record(actor=actor, action="guide.create", obj=guide, changes={"slug": slug, "version": 1})
    return guide


def guide_save(
    *,
    actor: Actor,
    guide: Guide,
    title: str,
    body: str,
    checklist: Iterable[str] = (),
    note: str = "",
    base_version: int,
) -> GuideVersion:
    """Save a new version of a guide (管理); refused when someone saved since ``base_version`` was read."""
    _require_admin(actor)
    title, body, items = _clean(title, body, checklist)
    note = (note or "").strip()[:300]
    with transaction.atomic():
        locked = Guide.objects.select_for_update().get(pk=guide.pk)
        if locked.current_version != base_version:
            raise Conflict(
                f"編集中に別の人が第{locked.current_version}版を保存しました。最新の版を開き直してから編集してください。"
            )
        number = locked.current_version + 1
        version = GuideVersion.objects.create(
            guide=locked,
            number=number,
            title=title,
            body=body,
            checklist=items,
            note=note,
            edited_by_id=actor.user_id,
        )
        locked.title = title
        locked.current_version = number
        locked.save(update_fields=["title", "current_version", "updated_at"])
        audit_record(actor=actor, action="guide.save", obj=locked, changes={"version": number, "note": note})
    guide.refresh_from_db()
    return version
