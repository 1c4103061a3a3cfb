"""個人情報ファイル簿 (法第75条): register entries of personal-information datasets over 1,000 people.

Which datasets: those whose 個人情報の区分 is 個人情報, 要配慮個人情報 or 仮名加工情報 (a 匿名加工情報 is
not a 個人情報ファイル) and that are not retired. Which of them need an entry: more than
``REGISTER_THRESHOLD`` people (法第74条第2項第9号). The number of people is **declared by the
steward** (``RegisterEntry.people_declared``): only they know whether a row is a person, a visit or
a household. Until they declare it, the rows of the current versions of the dataset's tables are the
figure (an upper bound when a person may have several rows), so a large file is never left out
silently; the page says which figure was used.

Missing required items are a checklist on the list and the entry page, never an error; an entry is
marked for publication on the portal only when nothing required is missing. The entry is public
information; the data is not.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from openpyxl.utils import get_column_letter

from machidata.access.models import PersonalData
from machidata.access.policy import Action, Actor, can, is_privacy_officer
from machidata.audit.exports import titled_sheet
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.privacy.records import REGISTER_THRESHOLD, FileKind, RegisterEntry

REGISTER_CLASSES: Final = (PersonalData.PERSONAL, PersonalData.SENSITIVE, PersonalData.PSEUDONYMISED)
# Items 法第75条第1項 requires that the steward writes (the 課 and 要配慮 come from the catalog).
REQUIRED: Final = [
    ("name", "個人情報ファイルの名称"),
    ("agency", "行政機関等の名称"),
    ("purpose", "利用目的"),
    ("items", "記録項目"),
    ("scope", "記録範囲"),
    ("collection", "記録情報の収集方法"),
    ("recipients", "経常的提供先（ないときは「なし」）"),
    ("request_office", "開示請求等を受理する組織の名称及び所在地"),
]
EDITABLE: Final = [
    "name", "agency", "purpose", "items", "scope", "collection", "ordinance_sensitive", "recipients",
    "request_office", "special_procedure", "file_kind", "omitted", "anonymisation", "remarks", "people_declared",
]  # fmt: skip
# The published form's columns, in the order of the 個人情報保護委員会's 個人情報ファイル簿 様式.
COLUMNS: Final = [
    ("name", "個人情報ファイルの名称"),
    ("agency", "行政機関等の名称"),
    ("office", "個人情報ファイルが利用に供される事務をつかさどる組織の名称"),
    ("purpose", "個人情報ファイルの利用目的"),
    ("items", "記録項目"),
    ("scope", "記録範囲"),
    ("collection", "記録情報の収集方法"),
    ("sensitive", "要配慮個人情報が含まれるときは、その旨"),
    ("ordinance_sensitive", "条例要配慮個人情報が含まれるときは、その旨"),
    ("recipients", "記録情報の経常的提供先"),
    ("request_office", "開示請求等を受理する組織の名称及び所在地"),
    ("special_procedure", "訂正及び利用停止に関する他の法令の規定による特別の手続等"),
    ("file_kind", "個人情報ファイルの種別"),
    ("anonymisation", "行政機関等匿名加工情報の提案の募集に関する事項"),
    ("omitted", "記載しない事項（法第75条第3項）"),
    ("remarks", "備考"),
]


def may_view_register(actor: Actor) -> bool:
    """データ戦略課 (管理) and the privacy officer (個人情報保護担当) see the whole register."""
    return actor.is_authenticated and (actor.is_admin or is_privacy_officer(actor))


def may_edit_entry(actor: Actor, dataset: Dataset) -> bool:
    """The data owner (編集) writes the entry; the privacy officer may correct it."""
    return actor.is_authenticated and (can(actor, Action.EDIT, dataset) or is_privacy_officer(actor))


def may_publish(actor: Actor) -> bool:
    """Marking an entry for the portal belongs to the register's keepers."""
    return may_view_register(actor)


def register_datasets() -> QuerySet[Dataset]:
    """The personal-information datasets still held (not retired)."""
    return (
        Dataset.objects.filter(personal_data__in=REGISTER_CLASSES, retired_at__isnull=True)
        .select_related("owner", "register_entry")
        .order_by("title", "pk")
    )


@dataclass(frozen=True)
class RegisterRow:
    """One personal-information dataset with its entry, its number of people and the missing items."""

    dataset: Dataset
    entry: RegisterEntry | None
    people: int | None
    people_source: str
    missing: tuple[str, ...]

    @property
    def applicable(self) -> bool | None:
        """Whether an entry is required (over 1,000 people); None when nothing tells."""
        return None if self.people is None else self.people > REGISTER_THRESHOLD

    @property
    def public(self) -> bool:
        """Marked for the portal."""
        return bool(self.entry and self.entry.public)

    @property
    def state(self) -> str:
        """A short Japanese state for lists."""
        if self.applicable is False:
            return f"対象外（{REGISTER_THRESHOLD:,}人以下）"
        if self.missing:
            return f"未記入の項目 {len(self.missing)}件"
        return "公表中" if self.public else "記入済み（未公表）"


def _current_rows(dataset: Dataset) -> int | None:
    total = Table.objects.filter(dataset=dataset, current_version__isnull=False).aggregate(
        n=Sum("current_version__rows")
    )["n"]
    return int(total) if total is not None else None


def missing_items(entry: RegisterEntry | None) -> tuple[str, ...]:
    """Labels of the required items still empty (all of them without an entry)."""
    if entry is None:
        return tuple(label for _, label in REQUIRED)
    return tuple(label for name, label in REQUIRED if not str(getattr(entry, name) or "").strip())


def row_for(dataset: Dataset) -> RegisterRow:
    """The register row of one dataset."""
    entry = getattr(dataset, "register_entry", None)
    if entry is not None and entry.people_declared is not None:
        people: int | None = entry.people_declared
        source = "所管課の申告"
    else:
        people = _current_rows(dataset)
        source = (
            "現在の版の行数（申告がないため。1人が複数行のときは実際より多くなります）"
            if people is not None
            else "不明"
        )
    return RegisterRow(dataset, entry, people, source, missing_items(entry))


def register_list(*, actor: Actor, state: str = "") -> list[RegisterRow]:
    """Every personal-information dataset's row; ``state``: applicable | incomplete | public | "" (all)."""
    if not may_view_register(actor):
        raise PermissionDenied("個人情報ファイル簿は、データ戦略課と個人情報保護担当が見られます。")
    rows = [row_for(d) for d in register_datasets()]
    if state == "applicable":
        rows = [r for r in rows if r.applicable is not False]
    elif state == "incomplete":
        rows = [r for r in rows if r.applicable is not False and r.missing]
    elif state == "public":
        rows = [r for r in rows if r.public]
    return rows


def entry_get(*, actor: Actor, slug: str) -> RegisterRow:
    """One dataset's register row, for the keepers and the data owner; anyone else: 404."""
    dataset = register_datasets().filter(slug=slug).first()
    if dataset is None or not (may_view_register(actor) or may_edit_entry(actor, dataset)):
        raise NotFound(
            "個人情報ファイル簿の記載が見つかりません（個人情報を含むデータセットだけが対象です）。"
        )
    return row_for(dataset)


def _clean(field: str, value: Any) -> Any:
    if field == "people_declared":
        if value in (None, ""):
            return None
        try:
            number = int(str(value).strip().replace(",", ""))
        except ValueError:
            number = -1
        if number < 0:
            raise InvalidInput(
                "本人の数は0以上の整数で書いてください。", details={"people_declared": "0以上の整数"}
            )
        return number
    if field == "ordinance_sensitive":
        return bool(value)
    if field == "file_kind":
        if value not in FileKind.values:
            raise InvalidInput("個人情報ファイルの種別を選んでください。", details={"file_kind": "選択"})
        return value
    return str(value or "").strip()


def entry_update(*, actor: Actor, dataset: Dataset, data: dict[str, Any]) -> RegisterEntry:
    """Write the entry's items (a partial update); audited ``privacy.register_update`` with what changed."""
    if not may_edit_entry(actor, dataset):
        raise PermissionDenied(
            "この個人情報ファイル簿の記載を変更できるのは、所管課の編集者と個人情報保護担当です。"
        )
    if dataset.personal_data not in REGISTER_CLASSES:
        raise InvalidInput("個人情報を含まないデータセットには個人情報ファイル簿の記載はありません。")
    cleaned = {f: _clean(f, data[f]) for f in EDITABLE if f in data}
    with transaction.atomic():
        entry = RegisterEntry.objects.select_for_update().filter(dataset=dataset).first()
        if entry is None:
            entry = RegisterEntry(dataset=dataset, name=dataset.title)
        changed = {
            f: {"before": getattr(entry, f), "after": v} for f, v in cleaned.items() if getattr(entry, f) != v
        }
        for f, v in cleaned.items():
            setattr(entry, f, v)
        entry.updated_by_id = actor.user_id
        if entry.public and missing_items(entry):
            entry.public = False  # a published entry that lost a required item leaves the portal
            changed["public"] = {"before": True, "after": False}
        entry.save()
        audit_record(actor=actor, action="privacy.register_update", obj=dataset, changes={"changed": changed})
    dataset.register_entry = entry
    return entry


def entry_set_public(*, actor: Actor, dataset: Dataset, public: bool) -> RegisterEntry:
    """Mark (or unmark) the entry for the portal; refused while required items are missing."""
    if not may_publish(actor):
        raise PermissionDenied("公表の登録は、データ戦略課と個人情報保護担当が行います。")
    entry = RegisterEntry.objects.filter(dataset=dataset).first()
    if public:
        missing = missing_items(entry)
        if entry is None or missing:
            with transaction.atomic():
                audit_record(
                    actor=actor, action="privacy.register_publish_refused", obj=dataset,
                    changes={"missing": list(missing)},
                )  # fmt: skip
            raise InvalidInput("未記入の項目があるため公表できません: " + "、".join(missing))
    if entry is None:
        raise InvalidInput("まだ記載がありません。")
    with transaction.atomic():
        entry.public = public
        entry.published_at = timezone.now() if public else None
        entry.updated_by_id = actor.user_id
        entry.save(update_fields=["public", "published_at", "updated_by", "updated_at"])
        audit_record(actor=actor, action="privacy.register_publish", obj=dataset, changes={"public": public})
    return entry


def public_entries() -> list[RegisterRow]:
    """The entries marked for the portal (anyone may read them: the law has them published)."""
    rows = [row_for(d) for d in register_datasets().filter(register_entry__public=True)]
    return [r for r in rows if not r.missing]


# ---- export -----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(value: str) -> str:
    # Text a spreadsheet would run as a formula is kept as text (CSV injection), as catalog/exports.py does.
    return "'" + value if value.startswith(_FORMULA_START) else value


def entry_cells(row: RegisterRow, *, guard: bool = True) -> list[str]:
    """The entry's values in the published form's column order (formula-guarded for spreadsheets)."""
    e = row.entry or RegisterEntry(dataset=row.dataset)
    values = {
        "name": e.name or row.dataset.title,
        "agency": e.agency,
        "office": row.dataset.owner.full_name,
        "purpose": e.purpose,
        "items": e.items,
        "scope": e.scope,
        "collection": e.collection,
        "sensitive": "含む" if row.dataset.personal_data == PersonalData.SENSITIVE else "含まない",
        "ordinance_sensitive": "含む" if e.ordinance_sensitive else "含まない",
        "recipients": e.recipients,
        "request_office": e.request_office,
        "special_procedure": e.special_procedure,
        "file_kind": e.get_file_kind_display(),
        "anonymisation": e.anonymisation,
        "omitted": e.omitted,
        "remarks": e.remarks,
    }
    return [_guard(str(values[k])) if guard else str(values[k]) for k, _ in COLUMNS]


def _export_rows(actor: Actor, only_public: bool) -> list[RegisterRow]:
    rows = register_list(actor=actor, state="public" if only_public else "applicable")
    return [r for r in rows if r.applicable is not False]


def _audit_export(actor: Actor, fmt: str, count: int, only_public: bool) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor, action="privacy.register.export", object_type="privacy.register",
            object_repr="個人情報ファイル簿", changes={"format": fmt, "rows": count, "only_public": only_public},
        )  # fmt: skip


def register_csv(*, actor: Actor, only_public: bool = False) -> bytes:
    """The register as CSV (UTF-8 with BOM, the published form's columns); audited."""
    rows = _export_rows(actor, only_public)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow(entry_cells(row))
    _audit_export(actor, "csv", len(rows), only_public)
    return buf.getvalue().encode("utf-8-sig")


def register_xlsx(*, actor: Actor, only_public: bool = False) -> bytes:
    """The register as an Excel 個人情報ファイル簿 (title, styled header, filters); audited."""
    rows = _export_rows(actor, only_public)
    wb, ws, header = titled_sheet(
        sheet="個人情報ファイル簿", title="個人情報ファイル簿", headers=[label for _, label in COLUMNS]
    )
    for row in rows:
        ws.append(entry_cells(row))
    for idx in range(1, len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(idx)].width = 30
    ws.freeze_panes = ws.cell(row=header + 1, column=2)
    ws.auto_filter.ref = f"A{header}:{get_column_letter(len(COLUMNS))}{header + len(rows)}"
    _audit_export(actor, "xlsx", len(rows), only_public)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
