"""The register of approved uses of personal data (承認された利用): who sees it, writing it, its export.

データ戦略課 (管理) and the privacy officer (個人情報保護担当) keep the register: they see every entry,
add entries by hand (e.g. a university's study approved by the ethics committee) and correct them.
Anyone else sees only their own: entries of their 課, entries naming them as the user, and entries
made from their 利用申請. An approved 利用申請 on personal data makes its entry itself
(:func:`use_from_request`), or adds its dataset to the entry it was filed under.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import PurePath
from typing import Any, Final

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from openpyxl.utils import get_column_letter

from machidata.access.models import PersonalData, Unit
from machidata.access.policy import Action, Actor, can, is_privacy_officer
from machidata.audit.exports import safe_cell, titled_sheet
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.privacy.models import AccessRequest, LegalBasis
from machidata.privacy.use_records import DOCUMENT_MAX_BYTES, DOCUMENT_SUFFIXES, ApprovedUse

MAX_DATASETS: Final = 50
STATES: Final = {"": "すべて", "current": "利用期間中", "upcoming": "開始前", "ended": "終了"}
COLUMNS: Final = [
    "番号", "利用の名称", "利用目的", "法的根拠", "目的外利用・提供の根拠", "対象データセット", "利用する課",
    "利用者", "利用開始日", "利用終了日", "状態", "決定した機関", "決定日", "決定番号", "決定の内容・条件",
    "添付文書", "利用申請",
]  # fmt: skip
KEEPERS_ONLY: Final = "承認された利用の登録・修正は、データ戦略課と個人情報保護担当が行います。"


def is_keeper(actor: Actor) -> bool:
    """データ戦略課 (管理) and the privacy officer keep the register and see all of it."""
    return actor.is_authenticated and (actor.is_admin or is_privacy_officer(actor))


def _uid(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied()
    return actor.user_id


def visible(actor: Actor) -> QuerySet[ApprovedUse]:
    """Every entry the actor may see (the keepers: all; others: their 課's, theirs, their requests')."""
    base = ApprovedUse.objects.select_related("unit", "user", "created_by").prefetch_related("datasets")
    if not actor.is_authenticated or actor.user_id is None:
        return base.none()
    if is_keeper(actor):
        return base
    return base.filter(
        Q(unit_id__in=actor.unit_ids) | Q(user_id=actor.user_id)
        | Q(access_requests__requested_by_id=actor.user_id)
    ).distinct()  # fmt: skip


def state_of(use: ApprovedUse, today: dt.date | None = None) -> str:
    """利用期間中 / 開始前 / 終了."""
    today = today or timezone.localdate()
    if use.ends_on < today:
        return "終了"
    if use.starts_on > today:
        return "開始前"
    return "利用期間中"


def use_list(*, actor: Actor, state: str = "", q: str = "") -> QuerySet[ApprovedUse]:
    """The register as the actor may see it, newest first, optionally by state or words."""
    rows = visible(actor)
    today = timezone.localdate()
    if state == "current":
        rows = rows.filter(starts_on__lte=today, ends_on__gte=today)
    elif state == "upcoming":
        rows = rows.filter(starts_on__gt=today)
    elif state == "ended":
        rows = rows.filter(ends_on__lt=today)
    q = (q or "").strip()[:100]
    if q:
        rows = rows.filter(
            Q(title__icontains=q) | Q(purpose__icontains=q) | Q(decision_body__icontains=q)
            | Q(decision_number__icontains=q)
        )  # fmt: skip
    return rows


def use_get(*, actor: Actor, pk: int) -> ApprovedUse:
    """One entry the actor may see, else the same 404 as for a missing one."""
    use = visible(actor).filter(pk=pk).first()
    if use is None:
        raise NotFound("承認された利用が見つかりません。")
    return use


def uses_of_dataset(*, actor: Actor, dataset: Dataset) -> list[ApprovedUse]:
    """The entries covering a dataset that the actor may see (for the dataset page)."""
    return list(visible(actor).filter(datasets=dataset))


# ---- writing ----------------------------------------------------------------------------------------


def _date(value: Any, label: str, field: str, *, required: bool = True) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    raw = str(value or "").strip()
    if not raw and not required:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{label}を入力してください（例: 2026-04-01）。", details={field: "日付の形が違います。"}
        ) from None


def _datasets(actor: Actor, slugs: list[str]) -> list[Dataset]:
    wanted = sorted({str(s).strip() for s in slugs if str(s).strip()})
    if not wanted:
        raise InvalidInput("対象データセットを1つ以上選んでください。", details={"datasets": "必須です。"})
    if len(wanted) > MAX_DATASETS:
        raise InvalidInput(
            f"対象データセットは{MAX_DATASETS}件までです。", details={"datasets": "多すぎます。"}
        )
    found = {d.slug: d for d in Dataset.objects.filter(slug__in=wanted) if can(actor, Action.DISCOVER, d)}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise InvalidInput(
            f"見つからないデータセットがあります: {'、'.join(unknown)}", details={"datasets": "不明です。"}
        )
    return [found[s] for s in wanted]


def _clean(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    legal_basis = str(data.get("legal_basis") or "")
    if legal_basis not in LegalBasis.values:
        raise InvalidInput("法的根拠を選んでください。", details={"legal_basis": "必須です。"})
    start = _date(data.get("starts_on"), "利用開始日", "starts_on")
    end = _date(data.get("ends_on"), "利用終了日", "ends_on")
    assert start is not None
    assert end is not None
    if end < start:
        raise InvalidInput(
            "利用終了日は利用開始日より後の日付にしてください。", details={"ends_on": "開始日より前です。"}
        )
    decision_date = _date(data.get("decision_date"), "決定日", "decision_date", required=False)
    if decision_date is not None and decision_date > timezone.localdate():
        raise InvalidInput(
            "決定日に未来の日付は入れられません。", details={"decision_date": "未来の日付です。"}
        )
    return {
        "title": typed_text(data.get("title"), "利用の名称", "title", required=True, limit=200),
        "purpose": typed_text(data.get("purpose"), "利用目的", "purpose", required=True),
        "legal_basis": legal_basis,
        "legal_ground": typed_text(
            data.get("legal_ground"),
            "目的外利用・提供の根拠",
            "legal_ground",
            required=legal_basis == LegalBasis.OTHER_PURPOSE,
        ),
        "starts_on": start,
        "ends_on": end,
        "decision_body": typed_text(data.get("decision_body"), "決定した機関", "decision_body", limit=200),
        "decision_date": decision_date,
        "decision_number": typed_text(data.get("decision_number"), "決定番号", "decision_number", limit=100),
        "decision_note": typed_text(data.get("decision_note"), "決定の内容・条件", "decision_note"),
        "unit_id": _unit_id(data.get("unit_id")),
    }


def _unit_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    unit = Unit.objects.filter(pk=value.pk if isinstance(value, Unit) else value).first()
    if unit is None:
        raise InvalidInput("利用する課が見つかりません。", details={"unit_id": "不明です。"})
    return unit.pk


def _audit_view(use: ApprovedUse) -> dict[str, Any]:
    return {
        "title": use.title, "legal_basis": use.legal_basis, "starts_on": use.starts_on.isoformat(),
        "ends_on": use.ends_on.isoformat(), "decision_body": use.decision_body,
        "decision_date": use.decision_date.isoformat() if use.decision_date else "",
        "decision_number": use.decision_number, "datasets": sorted(d.slug for d in use.datasets.all()),
    }  # fmt: skip


@transaction.atomic
def use_create(*, actor: Actor, data: dict[str, Any], datasets: list[str]) -> ApprovedUse:
    """Add an approved use by hand (the keepers), e.g. a study the ethics committee approved."""
    if not is_keeper(actor):
        raise PermissionDenied(KEEPERS_ONLY)
    fields = _clean(actor, data)
    chosen = _datasets(actor, datasets)
    use = ApprovedUse.objects.create(created_by_id=_uid(actor), **fields)
    use.datasets.set(chosen)
    audit_record(actor=actor, action="privacy.use_create", obj=use, changes=_audit_view(use))
    return use


@transaction.atomic
def use_update(*, actor: Actor, use: ApprovedUse, data: dict[str, Any], datasets: list[str]) -> ApprovedUse:
    """Correct an entry or add its decision record (the keepers)."""
    if not is_keeper(actor):
        raise PermissionDenied(KEEPERS_ONLY)
    current = ApprovedUse.objects.select_for_update().filter(pk=use.pk).first()
    if current is None:
        raise NotFound("承認された利用が見つかりません。")
    before = _audit_view(current)
    fields = _clean(actor, data)
    chosen = _datasets(actor, datasets)
    for key, value in fields.items():
        setattr(current, key, value)
    current.save()
    current.datasets.set(chosen)
    after = _audit_view(current)
    audit_record(actor=actor, action="privacy.use_update", obj=current,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})  # fmt: skip
    return current


@transaction.atomic
def use_attach_document(*, actor: Actor, use: ApprovedUse, name: str, content: bytes) -> ApprovedUse:
    """Attach the decision's document (a PDF of the committee's decision, …); replaces an earlier one."""
    if not is_keeper(actor):
        raise PermissionDenied(KEEPERS_ONLY)
    clean_name = PurePath(str(name or "").replace("\\", "/")).name[:200]
    if not clean_name.lower().endswith(DOCUMENT_SUFFIXES):
        raise InvalidInput(
            f"添付できるのは {'・'.join(s.lstrip('.').upper() for s in DOCUMENT_SUFFIXES)} のファイルです。",
            details={"document": "形式が違います。"},
        )
    if not content:
        raise InvalidInput("空のファイルは添付できません。", details={"document": "空です。"})
    if len(content) > DOCUMENT_MAX_BYTES:
        raise InvalidInput("添付文書は20MBまでです。", details={"document": "大きすぎます。"})
    current = ApprovedUse.objects.select_for_update().get(pk=use.pk)
    old = current.document.name if current.document else ""
    suffix = PurePath(clean_name).suffix.lower()
    current.document.save(f"use-{current.pk}-{hashlib.sha256(content).hexdigest()[:16]}{suffix}",
                          ContentFile(content), save=False)  # fmt: skip
    current.document_name = clean_name
    current.save(update_fields=["document", "document_name", "updated_at"])
    if old and old != current.document.name:
        transaction.on_commit(lambda: current.document.storage.delete(old))
    audit_record(actor=actor, action="privacy.use_document", obj=current,
                 changes={"name": clean_name, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)})  # fmt: skip
    return current


def use_document(*, actor: Actor, use: ApprovedUse) -> tuple[str, bytes]:
    """The attached document (whoever sees the entry may read it); audited."""
    if not use.document:
        raise NotFound("添付文書はありません。")
    with use.document.open("rb") as fh:
        body = fh.read()
    with transaction.atomic():
        audit_record(
            actor=actor, action="privacy.use_document.download", obj=use, changes={"name": use.document_name}
        )
    return use.document_name or PurePath(use.document.name).name, body


def use_from_request(*, actor: Actor, request: AccessRequest) -> ApprovedUse | None:
    """Called inside the last approval of a 利用申請: link it to its entry, or make one (personal data).

    A request filed under an entry adds its dataset to that entry; an approved request on personal
    data without one becomes a new entry (the decision is the 利用申請's own route). Other requests
    (所属限定 or 機密 data that holds no personal data) are not uses of personal data: none.
    """
    ds = request.dataset
    if request.approved_use_id is not None:
        use = ApprovedUse.objects.select_for_update().get(pk=request.approved_use_id)
        use.datasets.add(ds)
        audit_record(actor=actor, action="privacy.use_link", obj=use,
                     changes={"access_request": request.pk, "dataset": ds.slug})  # fmt: skip
        return use
    if ds.personal_data == PersonalData.NONE:
        return None
    use = ApprovedUse.objects.create(
        title=f"{ds.title}の利用（利用申請 #{request.pk}）"[:200], purpose=request.purpose,
        legal_basis=request.legal_basis, legal_ground=request.legal_ground, unit=request.requester_unit,
        user_id=request.requested_by_id, starts_on=request.starts_on, ends_on=request.ends_on,
        decision_body="利用申請の決裁（データ所有者の決定）", decision_date=timezone.localdate(),
        decision_number=f"利用申請 #{request.pk}", created_by_id=_uid(actor),
    )  # fmt: skip
    use.datasets.add(ds)
    request.approved_use = use
    audit_record(actor=actor, action="privacy.use_create", obj=use,
                 changes={**_audit_view(use), "access_request": request.pk})  # fmt: skip
    return use


def use_choices(*, actor: Actor) -> list[ApprovedUse]:
    """Entries a 利用申請 may be filed under: those the actor sees that have not ended."""
    return list(visible(actor).filter(ends_on__gte=timezone.localdate())[:200])


# ---- export -----------------------------------------------------------------------------------------


def _cells(use: ApprovedUse) -> list[str]:
    reqs = ", ".join(f"#{r.pk}" for r in use.access_requests.all())
    return [
        str(use.pk), use.title, use.purpose, LegalBasis(use.legal_basis).label if use.legal_basis in
        LegalBasis.values else use.legal_basis, use.legal_ground, "、".join(d.title for d in use.datasets.all()),
        use.unit.full_name if use.unit else "", (use.user.get_full_name() or use.user.get_username())
        if use.user else "", use.starts_on.isoformat(), use.ends_on.isoformat(), state_of(use), use.decision_body,
        use.decision_date.isoformat() if use.decision_date else "", use.decision_number, use.decision_note,
        use.document_name, reqs,
    ]  # fmt: skip


def _audit_export(actor: Actor, fmt: str, count: int) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="privacy.uses.export", object_type="privacy.approved_use",
                     object_repr="承認された利用", changes={"format": fmt, "rows": count})  # fmt: skip


def uses_csv(*, actor: Actor) -> bytes:
    """The register (as the actor sees it) as CSV, UTF-8 with BOM, formula-guarded; audited."""
    rows = list(use_list(actor=actor).prefetch_related("access_requests"))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for use in rows:
        writer.writerow([safe_cell(c) for c in _cells(use)])
    _audit_export(actor, "csv", len(rows))
    return buf.getvalue().encode("utf-8-sig")


def uses_xlsx(*, actor: Actor) -> bytes:
    """The register as an Excel sheet (title, time of output, styled header, filters); audited."""
    rows = list(use_list(actor=actor).prefetch_related("access_requests"))
    wb, ws, header = titled_sheet(sheet="承認された利用", title="承認された利用の登録簿", headers=COLUMNS)
    for use in rows:
        ws.append([safe_cell(c) for c in _cells(use)])
    for idx in range(1, len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(idx)].width = 24
    ws.auto_filter.ref = f"A{header}:{get_column_letter(len(COLUMNS))}{header + len(rows)}"
    _audit_export(actor, "xlsx", len(rows))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
