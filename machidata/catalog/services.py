"""Writes to the catalog: create, update (optimistic locking), retire, grants. Each is one audited transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from machidata.access.models import Classification, PersonalData, Unit
from machidata.access.policy import Action, Actor, can, may_create_dataset
from machidata.audit.services import audit_record
from machidata.catalog.models import Category, DataFormat, Dataset, DatasetGrant, GrantLevel, Licence
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

# Fields a caller may set; everything else (timestamps, lock_version, retirement) is the service's.
EDITABLE_FIELDS = (
    "title", "title_en", "description", "description_en", "owner", "contact_email", "contact_phone",
    "category", "keywords", "classification", "discoverable", "personal_data", "location",
    "location_detail", "frequency", "source", "source_detail", "licence", "temporal_start",
    "temporal_end", "spatial", "lg_code",
)  # fmt: skip
AUDITED_FIELDS = (*EDITABLE_FIELDS, "formats", "identifier", "slug")
MAX_KEYWORDS = 30
# Fields a published entry keeps until its publication is withdrawn through the route (非公開化).
LOCKED_WHILE_PUBLIC = ("classification", "personal_data")
# Rooms above the catalog answer "may this entry's classification change now?" without the catalog
# importing them: each guard gets the entry and returns a Japanese refusal, or "" to let it through.
# The publication room registers one in its AppConfig.ready() (machidata.publish.selectors).
CLASSIFICATION_GUARDS: list[Callable[[Dataset], str]] = []
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def _clean_keywords(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = re.split(r"[,、，;；\n]", value) if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        word = str(item).strip()
        if word and word not in out:
            if len(word) > 50:
                raise InvalidInput(
                    "キーワードは1つ50文字以内にしてください。", details={"keywords": word[:50]}
                )
            out.append(word)
    if len(out) > MAX_KEYWORDS:
        raise InvalidInput(f"キーワードは{MAX_KEYWORDS}個までです。", details={"keywords": len(out)})
    return out


def _snapshot(dataset: Dataset) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in AUDITED_FIELDS:
        if name == "formats":
            data[name] = sorted(dataset.formats.values_list("code", flat=True)) if dataset.pk else []
            continue
        field = Dataset._meta.get_field(name)
        data[name] = getattr(dataset, getattr(field, "attname", name))
    return data


def _validate(dataset: Dataset, *, actor: Actor) -> None:
    """Model validation with Japanese messages plus the catalog's own rules."""
    errors: dict[str, list[str]] = {}
    if dataset.classification == Classification.PUBLIC and dataset.personal_data not in (
        PersonalData.NONE,
        PersonalData.ANONYMISED,
    ):
        errors.setdefault("personal_data", []).append(
            "個人情報を含むデータは「公開」にできません。匿名加工するか、公開区分を見直してください。"
        )
    if dataset.temporal_start and dataset.temporal_end and dataset.temporal_start > dataset.temporal_end:
        errors.setdefault("temporal_end", []).append("対象期間の終了日が開始日より前になっています。")
    if dataset.lg_code and not re.fullmatch(r"\d{6}", dataset.lg_code):
        errors.setdefault("lg_code", []).append("全国地方公共団体コードは6桁の数字で入力してください。")
    if dataset.owner_id is not None and not Unit.objects.active_on().filter(pk=dataset.owner_id).exists():
        errors.setdefault("owner", []).append("データ所有者（所管課）が現在の組織にありません。")
    try:
        dataset.full_clean(exclude=["created_by"], validate_unique=True)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(f"入力内容を確認してください: {first}", details=errors)


def _apply(dataset: Dataset, data: dict[str, Any], *, actor: Actor) -> list[DataFormat] | None:
    unknown = set(data) - set(EDITABLE_FIELDS) - {"formats", "identifier", "slug"}
    if unknown:
        raise InvalidInput(f"変更できない項目です: {', '.join(sorted(unknown))}", details=sorted(unknown))
    for name, raw in data.items():
        if name == "formats":
            continue
        value = raw
        if name == "keywords":
            value = _clean_keywords(raw)
        elif name in {"owner", "category", "licence"} and raw is not None and not hasattr(raw, "pk"):
            value = _resolve_related(name, raw)
        elif isinstance(raw, str):
            value = raw.strip()
        setattr(dataset, name, value)
    if "formats" not in data:
        return None
    codes = list(data["formats"] or [])
    formats = [f for f in codes if isinstance(f, DataFormat)]
    code_values = [c for c in codes if not isinstance(c, DataFormat)]
    found = {f.code: f for f in DataFormat.objects.filter(code__in=code_values)}
    missing = [c for c in code_values if c not in found]
    if missing:
        raise InvalidInput(
            f"登録されていない形式です: {', '.join(map(str, missing))}", details={"formats": missing}
        )
    return formats + [found[c] for c in code_values]


def _resolve_related(name: str, value: Any) -> Any:
    """Accept a code (or id) for owner/category/licence, as the API and the inventory import send them."""
    model: Any = {"owner": Unit, "category": Category, "licence": Licence}[name]
    qs = model.objects.active_on() if model is Unit else model.objects.all()
    obj = qs.filter(code=str(value)).first()
    if obj is None and str(value).isdigit() and model is not Unit:
        obj = qs.filter(pk=int(value)).first()
    if obj is None:
        label = {"owner": "データ所有者（所管課）", "category": "分野", "licence": "ライセンス"}[name]
        raise InvalidInput(f"{label}「{value}」が見つかりません。", details={name: str(value)})
    return obj


def _next_identifier() -> str:
    prefix = settings.MACHIDATA_LG_CODE
    existing = Dataset.objects.filter(identifier__startswith=f"{prefix}-").values_list(
        "identifier", flat=True
    )
    numbers = [int(i.rsplit("-", 1)[1]) for i in existing if i.rsplit("-", 1)[1].isdigit()]
    return f"{prefix}-{(max(numbers) + 1) if numbers else 1:05d}"


def _check_classification_change(actor: Actor, before: str | None, after: str) -> None:
    # Open data is a decision of the publication route (公開申請・決裁), not a field a department sets.
    if after == Classification.PUBLIC and before != Classification.PUBLIC and not actor.is_admin:
        raise PermissionDenied("「公開」にするには公開申請（決裁）が必要です。データ戦略課にご相談ください。")


@transaction.atomic
def dataset_create(*, actor: Actor, data: dict[str, Any]) -> Dataset:
    """Register a new catalog entry owned by one of the actor's 課 (any 課 for 管理)."""
    if not actor.is_authenticated:
        raise PermissionDenied()
    dataset = Dataset(created_by_id=actor.user_id)
    formats = _apply(dataset, data, actor=actor)
    if dataset.owner_id is None:
        raise InvalidInput("データ所有者（所管課）を選んでください。", details={"owner": ["必須です。"]})
    if not may_create_dataset(actor, dataset.owner_id):
        raise PermissionDenied("自分の所属課のデータだけ登録できます。")
    _check_classification_change(actor, None, dataset.classification)
    if not dataset.identifier:
        dataset.identifier = _next_identifier()
    if not dataset.slug:
        dataset.slug = re.sub(r"[^a-z0-9-]+", "-", dataset.identifier.lower()).strip("-") or "dataset"
    elif not _SLUG_RE.fullmatch(dataset.slug):
        raise InvalidInput(
            "URL名は半角英小文字・数字・ハイフンで入力してください。", details={"slug": dataset.slug}
        )
    _validate(dataset, actor=actor)
    dataset.save()
    if formats is not None:
        dataset.formats.set(formats)
    audit_record(actor=actor, action="dataset.create", obj=dataset, changes={"after": _snapshot(dataset)})
    return dataset


def _check_guards(before: dict[str, Any], fresh: Dataset) -> None:
    """Ask the registered guards when a field locked while public changes."""
    if any(before[k] != getattr(fresh, k) for k in LOCKED_WHILE_PUBLIC):
        for guard in CLASSIFICATION_GUARDS:
            refusal = guard(fresh)
            if refusal:
                raise InvalidInput(refusal, details={k: [refusal] for k in LOCKED_WHILE_PUBLIC})


@transaction.atomic
def dataset_update(*, actor: Actor, dataset: Dataset, data: dict[str, Any], lock_version: int) -> Dataset:
    """Change an entry's metadata; refused with 409 when ``lock_version`` is stale (someone saved meanwhile)."""
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied()
    fresh = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
    if fresh is None:
        raise NotFound("データセットが見つかりません。")
    if fresh.lock_version != lock_version:
        raise Conflict(
            "ほかの人が先にこのデータセットを更新しました。最新の内容を確認してから、もう一度編集してください。",
            details={"current_lock_version": fresh.lock_version},
        )
    if fresh.is_retired:
        raise InvalidInput("廃止されたデータセットは編集できません。")
    before = _snapshot(fresh)
    data = dict(data)
    for key in ("identifier", "slug"):  # fixed once created: links and inventory upserts depend on them
        if key in data and data[key] != getattr(fresh, key):
            raise InvalidInput("識別子とURL名は変更できません。", details={key: data[key]})
        data.pop(key, None)
    formats = _apply(fresh, data, actor=actor)
    if fresh.owner_id != before["owner"] and not (actor.is_admin or fresh.owner_id in actor.editor_unit_ids):
        raise PermissionDenied(
            "所管課を自分の所属課以外に変えることはできません。データ戦略課にご相談ください。"
        )
    _check_classification_change(actor, before["classification"], fresh.classification)
    _check_guards(before, fresh)
    if before["classification"] != fresh.classification and not (
        actor.is_admin or before["owner"] in actor.editor_unit_ids
    ):
        raise PermissionDenied("公開区分を変えられるのは所管課とデータ戦略課だけです。")
    _validate(fresh, actor=actor)
    fresh.lock_version = F("lock_version") + 1
    fresh.save()
    if formats is not None:
        fresh.formats.set(formats)
    fresh.refresh_from_db()
    after = _snapshot(fresh)
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changed:
        audit_record(actor=actor, action="dataset.update", obj=fresh, changes=changed)
        if "classification" in changed:
            audit_record(
                actor=actor,
                action="dataset.classification_change",
                obj=fresh,
                changes=changed["classification"],
            )
    return fresh


@transaction.atomic
def dataset_retire(*, actor: Actor, dataset: Dataset, reason: str) -> Dataset:
    """Retire an entry: kept for the record and its history, hidden from default lists."""
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("廃止の理由を入力してください。", details={"reason": ["必須です。"]})
    if len(reason) > 500:
        raise InvalidInput("廃止の理由は500文字以内にしてください。", details={"reason": ["長すぎます。"]})
    if dataset.is_retired:
        raise InvalidInput("このデータセットはすでに廃止されています。")
    Dataset.objects.filter(pk=dataset.pk).update(
        retired_at=timezone.now(), retired_reason=reason, lock_version=F("lock_version") + 1
    )
    dataset.refresh_from_db()
    audit_record(actor=actor, action="dataset.retire", obj=dataset, changes={"reason": reason})
    return dataset


@transaction.atomic
def dataset_set_publication(
    *, actor: Actor, dataset: Dataset, public: bool, licence: Licence | None = None, reference: str = ""
) -> Dataset:
    """Open (公開) or close (back to 庁内) an entry as the publication route decided; audited.

    Only ``publish/services.py`` calls this, after the route's last approval: open data is a decision of
    the publication route, so this is the one way an entry becomes 公開 without the 管理 role.
    """
    fresh = Dataset.objects.select_for_update().get(pk=dataset.pk)
    before = fresh.classification
    fresh.classification = Classification.PUBLIC if public else Classification.INTERNAL
    if licence is not None:
        fresh.licence = licence
    fresh.lock_version = F("lock_version") + 1
    fresh.save(update_fields=["classification", "licence", "lock_version", "updated_at"])
    fresh.refresh_from_db()
    audit_record(
        actor=actor,
        action="dataset.classification_change",
        obj=fresh,
        changes={"before": before, "after": fresh.classification, "via": reference},
    )
    return fresh


# ---- grants (個別の利用許可) --------------------------------------------------------------------------


@transaction.atomic
def grant_create(
    *, actor: Actor, dataset: Dataset, user_id: int, expires_on: dt.date, note: str = "", reference: str = ""
) -> DatasetGrant:
    """Give one person read access to ``dataset`` until ``expires_on`` (inclusive), as a 利用申請 decided.

    Only ``privacy/services.py`` calls this, after the access-request route's last decision.
    """
    grant = DatasetGrant.objects.create(
        dataset=dataset, user_id=user_id, level=GrantLevel.READ, expires_on=expires_on, note=note[:500]
    )
    audit_record(
        actor=actor, action="dataset.grant", obj=grant,
        changes={"dataset": dataset.slug, "user": user_id, "level": grant.level,
                 "expires_on": expires_on.isoformat(), "via": reference},
    )  # fmt: skip
    return grant


@transaction.atomic
def grant_set_expiry(
    *, actor: Actor, grant: DatasetGrant, expires_on: dt.date, reference: str = ""
) -> DatasetGrant:
    """Move a grant's end date (renewal, or revocation by ending it yesterday); audited."""
    fresh = DatasetGrant.objects.select_for_update().get(pk=grant.pk)
    before = fresh.expires_on
    fresh.expires_on = expires_on
    fresh.save(update_fields=["expires_on"])
    audit_record(
        actor=actor, action="dataset.grant_expiry", obj=fresh,
        changes={"before": before.isoformat() if before else None, "after": expires_on.isoformat(), "via": reference},
    )  # fmt: skip
    return fresh
