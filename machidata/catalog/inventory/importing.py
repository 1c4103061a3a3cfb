"""The inventory import: rows → catalog entries (upsert by 整理番号), with a row-level error report.

Parsing is done for every row first; the writes then run in one transaction through the catalog
services (``dataset_create``/``dataset_update``), each row in its own savepoint so one refused row
never leaves half of itself behind. At the end the transaction is kept only when nothing failed, or
when the user asked for the valid rows only; a dry run (the preview) always rolls back, so the preview
shows exactly what the import would do, service rules included.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction

from machidata.access.models import Classification, PersonalData
from machidata.access.policy import RESTRICTED_PERSONAL, Action, Actor, can, restrict
from machidata.audit.services import audit_record
from machidata.catalog.inventory.mapping import TARGETS, check_mapping
from machidata.catalog.inventory.reading import Sheet, headers_signature
from machidata.catalog.inventory.values import (
    SIMPLE_CONVERTERS,
    CellError,
    Resolver,
    is_empty,
    location_value,
    parse_one_date,
    parse_period,
    source_value,
    split_keywords,
)
from machidata.catalog.models import Dataset, InventoryTemplate
from machidata.catalog.services import dataset_create, dataset_update
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied

CREATED, UPDATED, UNCHANGED, FAILED = "created", "updated", "unchanged", "failed"
STATUS_LABELS = {CREATED: "作成", UPDATED: "更新", UNCHANGED: "変更なし", FAILED: "エラー"}
MAX_IDENTIFIER = 64
_ASCII_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# A catalog field (as the services name it) → the mapping target whose column it came from.
_FIELD_TARGET = {
    "location_detail": "location",
    "source_detail": "source",
    "slug": "identifier",
    "temporal_start": "temporal",
    "temporal_end": "temporal",
}


@dataclass
class RowError:
    """One problem: the row number as in the sheet, the column header, the cell value, a Japanese message."""

    row: int
    column: str
    value: str
    message: str


@dataclass
class RowResult:
    """What happened (or would happen) to one row of the sheet."""

    row: int
    identifier: str
    title: str
    status: str = FAILED
    changed: list[str] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    slug: str = ""

    @property
    def status_label(self) -> str:
        """The status in Japanese (作成・更新・変更なし・エラー)."""
        return STATUS_LABELS[self.status]


@dataclass
class ImportOptions:
    """How to import: the column mapping and the user's choices."""

    mapping: dict[str, str]
    generate_identifiers: bool = False
    valid_rows_only: bool = False
    dry_run: bool = False
    template_name: str = ""


@dataclass
class ImportReport:
    """The outcome of an import or a preview, kept for the result page and the CSV error report."""

    file_name: str
    sha256: str
    sheet: str
    header_row: int
    template: str
    dry_run: bool
    valid_rows_only: bool
    committed: bool = False
    rows: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per outcome: created, updated, unchanged, failed."""
        out = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, FAILED: 0}
        for row in self.rows:
            out[row.status] += 1
        return out

    @property
    def errors(self) -> list[RowError]:
        """Every row error, in sheet order."""
        return [e for row in self.rows for e in row.errors]

    @property
    def blocked(self) -> bool:
        """Whether errors prevented the import (nothing was written)."""
        return bool(self.errors) and not self.valid_rows_only

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (for keeping the result between pages)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """Rebuild a report saved with :meth:`to_dict`."""
        rows = [
            RowResult(
                **{
                    **r,
                    "shown": [tuple(s) for s in r.get("shown", [])],
                    "errors": [RowError(**e) for e in r.get("errors", [])],
                }
            )
            for r in data.get("rows", [])
        ]
        return cls(**{**data, "rows": rows})


class _RollBack(Exception):  # noqa: N818 - internal control flow, never escapes this module
    pass


def _field_label(name: str) -> str:
    if name == "formats":
        return "形式"
    try:
        return str(getattr(Dataset._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:
        return name


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _shown(data: dict[str, Any]) -> list[tuple[str, str]]:
    choice_labels: dict[str, dict[str, str]] = {
        name: dict(getattr(Dataset._meta.get_field(name), "choices", None) or [])
        for name in ("classification", "personal_data", "location", "frequency", "source")
    }
    out: list[tuple[str, str]] = []
    for name, value in data.items():
        if name == "slug":
            continue
        text = choice_labels[name].get(value, value) if name in choice_labels else value
        out.append((_field_label(name), _display(text)))
    return out


@dataclass
class _Parsed:
    row: int
    cells: dict[str, str]
    identifier: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


class _RowParser:
    """Turns one sheet row into service data; every unreadable cell becomes a RowError."""

    def __init__(self, mapping: dict[str, str], resolver: Resolver, *, generate_identifiers: bool) -> None:
        self.header_of = {target: header for header, target in mapping.items() if target}
        self.resolver = resolver
        self.generate_identifiers = generate_identifiers

    def column(self, target: str) -> str:
        """The sheet header mapped to ``target`` (or the target's label when it is not mapped)."""
        return self.header_of.get(target) or TARGETS.get(target, target)

    def cell(self, parsed: _Parsed, target: str) -> str | None:
        header = self.header_of.get(target)
        if header is None:
            return None
        raw = parsed.cells.get(header, "")
        return None if is_empty(raw) else raw.strip()

    def error(self, parsed: _Parsed, target: str, message: str, value: str | None = None) -> None:
        """Record a problem with the cell of ``target`` ("" for the row as a whole)."""
        header = self.header_of.get(target, "")
        column = header or (TARGETS.get(target) or _field_label(target) if target else "")
        raw = value if value is not None else parsed.cells.get(header, "") if header else ""
        parsed.errors.append(RowError(parsed.row, column, raw, message))

    def parse(self, row: int, cells: dict[str, str]) -> _Parsed:
        """Read one row; problems are collected on the result, never raised."""
        parsed = _Parsed(row=row, cells=cells)
        data = parsed.data
        self._identifier(parsed)
        title = self.cell(parsed, "title")
        if title is None:
            self.error(parsed, "title", "データ名が空です。", value="")
        else:
            data["title"] = title
        for target, convert in (
            ("owner", self.resolver.owner),
            ("category", self.resolver.category),
            ("licence", self.resolver.licence),
            ("formats", self.resolver.format_codes),
            *SIMPLE_CONVERTERS.items(),
        ):
            raw = self.cell(parsed, target)
            if raw is None:
                continue
            try:
                data[target] = convert(raw)
            except CellError as exc:
                self.error(parsed, target, str(exc))
        for target, pair_convert, detail_name in (
            ("location", location_value, "location_detail"),
            ("source", source_value, "source_detail"),
        ):
            raw = self.cell(parsed, target)
            if raw is None:
                continue
            try:
                data[target], data[detail_name] = pair_convert(raw)
            except CellError as exc:
                self.error(parsed, target, str(exc))
        self._text_fields(parsed)
        self._period(parsed)
        classification, personal = data.get("classification"), data.get("personal_data")
        if classification == Classification.PUBLIC and personal in RESTRICTED_PERSONAL:
            label = dict(PersonalData.choices)[personal]
            self.error(
                parsed,
                "personal_data",
                f"{label}を含むデータは「公開」にできません。匿名加工するか、公開区分を見直してください。",
            )
        return parsed

    def _identifier(self, parsed: _Parsed) -> None:
        data = parsed.data
        identifier = self.cell(parsed, "identifier")
        if identifier is not None:
            identifier = unicodedata.normalize("NFKC", identifier).strip()
            if len(identifier) > MAX_IDENTIFIER:
                self.error(parsed, "identifier", f"整理番号は{MAX_IDENTIFIER}文字以内にしてください。")
            else:
                parsed.identifier = identifier
                data["identifier"] = identifier
                if not _ASCII_IDENTIFIER.fullmatch(identifier):
                    # A Japanese 整理番号 gives no usable URL name; derive a stable one from it.
                    data["slug"] = "inv-" + hashlib.sha256(identifier.encode()).hexdigest()[:12]
        elif not self.generate_identifiers:
            self.error(
                parsed,
                "identifier",
                "整理番号が空です。入力するか、「整理番号を自動で付ける」を選んでください。",
                value="",
            )

    def _text_fields(self, parsed: _Parsed) -> None:
        data = parsed.data
        for target in ("spatial", "contact_email", "contact_phone", "title_en"):
            raw = self.cell(parsed, target)
            if raw is not None:
                data[target] = unicodedata.normalize("NFKC", raw) if target != "title_en" else raw
        keywords = self.cell(parsed, "keywords")
        if keywords is not None:
            data["keywords"] = split_keywords(keywords)
        description, note = self.cell(parsed, "description"), self.cell(parsed, "note")
        if description is not None or note is not None:
            parts = [description] if description else []
            if note:
                parts.append(f"備考: {note}")
            data["description"] = "\n\n".join(parts)

    def _period(self, parsed: _Parsed) -> None:
        data = parsed.data
        raw = self.cell(parsed, "temporal")
        if raw is not None:
            try:
                data["temporal_start"], data["temporal_end"] = parse_period(raw)
            except CellError as exc:
                self.error(parsed, "temporal", str(exc))
        for target in ("temporal_start", "temporal_end"):
            raw = self.cell(parsed, target)
            if raw is None:
                continue
            try:
                data[target] = parse_one_date(raw)
            except CellError as exc:
                self.error(parsed, target, str(exc))


def _is_note_row(cells: list[str]) -> bool:
    # 「※ 記入上の注意」 lines under the table are notes, not datasets.
    filled = [c for c in cells if c.strip()]
    return len(filled) == 1 and filled[0].strip().startswith(("※", "注", "（注", "(注"))


def _changed_fields(dataset: Dataset, data: dict[str, Any]) -> list[str]:
    changed: list[str] = []
    for name, value in data.items():
        if name in {"identifier", "slug"}:
            continue
        if name == "formats":
            current: Any = sorted(dataset.formats.values_list("code", flat=True))
            if current != sorted(value):
                changed.append(name)
            continue
        if name in {"owner", "category", "licence"}:
            if getattr(dataset, f"{name}_id") != (value.pk if value is not None else None):
                changed.append(name)
            continue
        current = getattr(dataset, name)
        if isinstance(current, str) or current is None:
            current = (current or "").strip()
        if current != value:
            changed.append(name)
    return changed


def _errors_from(exc: MachidataError, parsed: _Parsed, parser: _RowParser) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for key, messages in details.items():
        name = str(key)
        if name == "current_lock_version":
            continue
        target = _FIELD_TARGET.get(name, name)
        if target not in parser.header_of and name in parser.header_of:
            target = name
        for msg in messages if isinstance(messages, list) else [exc.message]:
            parser.error(parsed, target, str(msg))
            placed = True
    if not placed:
        parser.error(parsed, "owner" if isinstance(exc, PermissionDenied) else "", exc.message)


def _write_row(
    *, actor: Actor, parsed: _Parsed, existing: Dataset | None, result: RowResult, parser: _RowParser
) -> None:
    data = dict(parsed.data)
    becomes_public = data.get("classification") == Classification.PUBLIC and (
        existing is None or existing.classification != Classification.PUBLIC
    )
    if becomes_public and not actor.is_admin:
        # Open data is decided by the publication route (公開申請・決裁), not by an inventory sheet.
        parser.error(
            parsed,
            "classification",
            "「公開」にするには公開申請（決裁）が必要です。庁内・所属限定・機密のいずれかで登録してください。",
        )
        return
    if existing is None:
        if "owner" not in data:
            parser.error(parsed, "owner", "所管課が空です（新しく登録する行には必須です）。", value="")
            return
        dataset = dataset_create(actor=actor, data=data)
        result.status, result.slug = CREATED, dataset.slug
        result.identifier = dataset.identifier
        return
    result.slug = existing.slug
    if existing.is_retired:
        parser.error(parsed, "identifier", "この整理番号のデータセットは廃止されています。")
        return
    if not can(actor, Action.EDIT, existing):
        visible = restrict(Dataset.objects.filter(pk=existing.pk), actor, Action.DISCOVER).exists()
        message = (
            f"この整理番号は「{existing.title}」（{existing.owner.name}）で使われていて、編集する権限がありません。"
            if visible
            else "この整理番号はすでにほかの課のデータセットで使われています。"
        )
        parser.error(parsed, "identifier", message)
        return
    changed = _changed_fields(existing, data)
    if not changed:
        result.status = UNCHANGED
        return
    dataset_update(
        actor=actor,
        dataset=existing,
        data={name: data[name] for name in changed},
        lock_version=existing.lock_version,
    )
    result.status, result.changed = UPDATED, [_field_label(n) for n in changed]


def _parse_all(sheet: Sheet, parser: _RowParser) -> list[_Parsed]:
    mapped = set(parser.header_of.values())
    parsed_rows: list[_Parsed] = []
    for row_number, cells in sheet.rows:
        by_header = dict(zip(sheet.headers, cells, strict=False))
        if _is_note_row(cells) or all(is_empty(by_header.get(h, "")) for h in mapped):
            continue
        parsed_rows.append(parser.parse(row_number, by_header))
    # The same 整理番号 twice in one file: neither row can be trusted to be the right one.
    seen: dict[str, list[_Parsed]] = {}
    for p in parsed_rows:
        if p.identifier:
            seen.setdefault(p.identifier, []).append(p)
    for identifier, group in seen.items():
        if len(group) > 1:
            rows = "、".join(f"{p.row}行目" for p in group)
            for p in group:
                parser.error(
                    p, "identifier", f"整理番号「{identifier}」がファイル内で重複しています（{rows}）。"
                )
    return parsed_rows


def inventory_import(
    *, actor: Actor, sheet: Sheet, file_name: str, sha256: str, options: ImportOptions
) -> ImportReport:
    """Import (or, with ``dry_run``, preview) one inventory sheet; one transaction, audited as "inventory.import"."""
    if not (actor.is_admin or actor.editor_unit_ids):
        raise PermissionDenied("データセットを登録できる役割（データ所有者・管理）の方だけが取り込めます。")
    mapping = {h: t for h, t in options.mapping.items() if h in sheet.headers}
    check_mapping(mapping, generate_identifiers=options.generate_identifiers)
    parser = _RowParser(mapping, Resolver(), generate_identifiers=options.generate_identifiers)
    parsed_rows = _parse_all(sheet, parser)
    existing = {
        d.identifier: d
        for d in Dataset.objects.select_related("owner").filter(
            identifier__in=[p.identifier for p in parsed_rows if p.identifier]
        )
    }
    report = ImportReport(
        file_name=file_name,
        sha256=sha256,
        sheet=sheet.name,
        header_row=sheet.header_row,
        template=options.template_name,
        dry_run=options.dry_run,
        valid_rows_only=options.valid_rows_only,
    )
    try:
        with transaction.atomic():
            for parsed in parsed_rows:
                result = RowResult(
                    row=parsed.row,
                    identifier=parsed.identifier,
                    title=str(parsed.data.get("title", "")),
                    shown=_shown(parsed.data),
                )
                report.rows.append(result)
                if not parsed.errors:
                    try:
                        with transaction.atomic():
                            _write_row(
                                actor=actor,
                                parsed=parsed,
                                existing=existing.get(parsed.identifier),
                                result=result,
                                parser=parser,
                            )
                            if parsed.errors:
                                raise _RollBack
                    except _RollBack:
                        pass
                    except (InvalidInput, PermissionDenied, Conflict, NotFound) as exc:
                        _errors_from(exc, parsed, parser)
                    except IntegrityError:
                        parser.error(
                            parsed, "identifier", "ほかの行または既存のデータセットと重複しています。"
                        )
                if parsed.errors:
                    result.status, result.changed, result.errors = FAILED, [], parsed.errors
            keep = not options.dry_run and (options.valid_rows_only or not report.errors)
            if not keep:
                raise _RollBack
            counts = report.counts
            audit_record(
                actor=actor,
                action="inventory.import",
                object_type="catalog.inventory",
                object_repr=f"棚卸表 {file_name}"[:300],
                changes={
                    "file_name": file_name,
                    "sha256": sha256,
                    "sheet": sheet.name,
                    "header_row": sheet.header_row,
                    "template": options.template_name,
                    "valid_rows_only": options.valid_rows_only,
                    "generate_identifiers": options.generate_identifiers,
                    "counts": counts,
                },
            )
            report.committed = True
    except _RollBack:
        report.committed = False
    return report


def report_csv(report: ImportReport) -> bytes:
    """The error report as CSV in UTF-8 with BOM (opens in Excel): 行, 列, 値, 内容."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["行", "整理番号", "列", "値", "内容"])
    for row in report.rows:
        for error in row.errors:
            writer.writerow([error.row, row.identifier, error.column, _csv_safe(error.value), error.message])
    return out.getvalue().encode("utf-8-sig")


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ would run as a formula when the report is opened in Excel.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


# ---- saved column mappings (templates) -------------------------------------------------------------


@transaction.atomic
def inventory_template_save(
    *, actor: Actor, name: str, mapping: dict[str, str], headers: list[str], sheet: str, header_row: int
) -> InventoryTemplate:
    """Save (or replace) a named column mapping for a bureau's layout; audited as "inventory.template_save"."""
    if not (actor.is_admin or actor.editor_unit_ids):
        raise PermissionDenied()
    name = (name or "").strip()
    if not name:
        raise InvalidInput("テンプレート名を入力してください。", details={"name": ["必須です。"]})
    if len(name) > 100:
        raise InvalidInput("テンプレート名は100文字以内にしてください。", details={"name": ["長すぎます。"]})
    clean = {h: t for h, t in mapping.items() if h in headers and (not t or t in TARGETS)}
    template, created = InventoryTemplate.objects.update_or_create(
        name=name,
        defaults={
            "mapping": clean,
            "headers": list(headers),
            "sheet": sheet[:100],
            "header_row": max(1, int(header_row)),
            "created_by_id": actor.user_id,
        },
    )
    audit_record(
        actor=actor,
        action="inventory.template_save",
        obj=template,
        changes={"created": created, "mapping": clean, "headers": list(headers), "header_row": header_row},
    )
    return template


def inventory_template_get(*, name: str) -> InventoryTemplate:
    """A saved template by name; NotFound with a Japanese message otherwise."""
    template = InventoryTemplate.objects.filter(name=name).first()
    if template is None:
        raise NotFound(f"テンプレート「{name}」はありません。")
    return template


def inventory_template_for(*, headers: list[str]) -> InventoryTemplate | None:
    """The saved template made from the same column headers, if any (latest first)."""
    wanted = headers_signature(headers)
    for template in InventoryTemplate.objects.order_by("-updated_at"):
        if headers_signature(list(template.headers or [])) == wanted:
            return template
    return None
