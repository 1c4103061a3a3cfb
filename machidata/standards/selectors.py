"""Reads of standard declarations: a table's state (suggestions, checklist), the standard-format CSV.

The data is read through ``catalog.table_selectors`` (which applies the policy: READ for rows), never
from the lake or the engine directly. The portal asks :func:`public_standard` and
:func:`standard_download` with the approved version it got from ``publish.selectors``.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import transaction

from machidata.access.policy import PSEUDONYMISED_DOWNLOAD_REFUSED, Action, Actor, can, may_download
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.catalog.table_selectors import (
    Download,
    build_query,
    download_dir,
    table_fields,
    table_get,
    table_rows,
)
from machidata.core.errors import NotFound, PermissionDenied
from machidata.standards import checks
from machidata.standards import definitions as d
from machidata.standards.models import StandardDeclaration

CHECK_ROW_CAP: Final = 200_000  # rows read for the checklist; a bigger table is checked on its first rows


def site_fills(standard: d.Standard) -> dict[str, str]:
    """Item name → value for the organisation's own items, from ``MACHIDATA_LG_CODE``/``MACHIDATA_CITY_NAME``."""
    values = d.fill_values(str(settings.MACHIDATA_LG_CODE), str(settings.MACHIDATA_CITY_NAME))
    return {i.name: values[i.fill] for i in standard.items if i.fill}


def declaration_of(table: Table) -> StandardDeclaration | None:
    """The table's declaration, if any (no policy: callers already hold the table)."""
    return StandardDeclaration.objects.filter(table=table).first()


def iter_rows(
    *, actor: Actor, table: Table, version: TableVersion, cap: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every row of ``version`` (READ, through the catalog's reader), page by page, in ``_id`` order."""
    page_size = int(settings.MACHIDATA_ENGINE_MAX_ROWS)
    offset = 0
    while cap is None or offset < cap:
        page = table_rows(
            actor=actor, table=table, version=version, query=build_query(limit=page_size, offset=offset)
        )
        yield from page.raw
        offset += len(page.raw)
        if not page.raw or offset >= page.total:
            return


@dataclass
class TableStandard:
    """What the table page shows: the declaration, the columns, suggestions and the checklist."""

    table: Table
    declaration: StandardDeclaration | None
    standard: d.Standard | None
    columns: list[str]
    version: TableVersion | None
    suggestions: list[d.Suggestion] = field(default_factory=list)
    findings: list[checks.Finding] = field(default_factory=list)
    filled: dict[str, str] = field(default_factory=dict)
    checked_rows: int = 0
    can_edit: bool = False

    @property
    def errors(self) -> int:
        """Number of errors in the checklist."""
        return sum(1 for f in self.findings if f.level == checks.ERROR)

    @property
    def file_name(self) -> str:
        """The standard file name of the current version."""
        if self.standard is None:
            return ""
        return standard_file_name(self.standard, self.version)

    @property
    def mapping(self) -> dict[str, str]:
        """The saved mapping of the standard shown (empty when not declared as that standard)."""
        if (
            self.declaration is None
            or self.standard is None
            or self.declaration.standard != self.standard.code
        ):
            return {}
        return dict(self.declaration.mapping)


def standard_file_name(standard: d.Standard, version: TableVersion | None) -> str:
    """``431001_aed.csv``; a dated pattern (``population_yyyymmdd``) takes the version's date."""
    when = ""
    if version is not None and "yyyymmdd" in standard.file_pattern:
        stamp = version.committed_at or version.created_at
        when = stamp.strftime("%Y%m%d")
    return standard.file_name(str(settings.MACHIDATA_LG_CODE), on=when)


def table_standard(*, actor: Actor, slug: str, name: str, standard_code: str = "") -> TableStandard:
    """The standard state of a table the actor may READ: declaration, suggestions for ``standard_code``
    (or the declared one) and, when declared, the checklist over the current version."""
    table = table_get(actor=actor, slug=slug, name=name, action=Action.READ)
    declaration = declaration_of(table)
    code = standard_code or (declaration.standard if declaration else "")
    standard = d.by_code(code) if code else None
    version = table.current_version
    columns = [f.name for f in table_fields(table, version)]
    state = TableStandard(table=table, declaration=declaration, standard=standard, columns=columns,
                          version=version, can_edit=can(actor, Action.EDIT, table.dataset))  # fmt: skip
    if standard is None:
        return state
    state.suggestions = d.suggest(standard, columns)
    state.filled = {k: v for k, v in site_fills(standard).items() if not state.mapping.get(k)}
    if declaration is not None and declaration.standard == standard.code:
        rows: list[dict[str, Any]] = []
        if version is not None:
            rows = list(iter_rows(actor=actor, table=table, version=version, cap=CHECK_ROW_CAP))
        state.checked_rows = len(rows)
        state.findings = checks.check(standard, declaration.mapping, columns, rows, filled=state.filled)
    return state


def standard_download(*, actor: Actor, table: Table, version: TableVersion) -> Download:
    """The standard-format CSV (UTF-8 with BOM, CRLF) of ``version``: standard columns in order, the
    organisation's items filled from the settings; READ, audited as ``standards.download``."""
    declaration = declaration_of(table)
    standard = d.by_code(declaration.standard) if declaration else None
    if declaration is None or standard is None or not standard.declarable:
        raise NotFound("この表は標準データセットとして宣言されていません。")
    if not can(actor, Action.READ, table.dataset):
        raise NotFound("表が見つかりません。")
    if not may_download(table.dataset):
        raise PermissionDenied(PSEUDONYMISED_DOWNLOAD_REFUSED)
    filled = {k: v for k, v in site_fills(standard).items() if not declaration.mapping.get(k)}
    out = tempfile.TemporaryFile(dir=download_dir())  # noqa: SIM115 - handed to the response, which closes it
    try:
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(standard.header)
        rows = 0
        for row in iter_rows(actor=actor, table=table, version=version):
            writer.writerow(checks.standard_row(standard, declaration.mapping, row, filled))
            rows += 1
        text.flush()
        text.detach()
        size = out.tell()
        out.seek(0)
        with transaction.atomic():
            audit_record(actor=actor, action="standards.download", obj=version, changes={
                "dataset": table.dataset.slug, "table": table.name, "version": version.number,
                "standard": standard.code, "rows": rows,
            })  # fmt: skip
    except BaseException:
        out.close()
        raise
    return Download(file=out, filename=standard_file_name(standard, version),
                    content_type="text/csv; charset=utf-8", rows=rows, size=size)  # fmt: skip


# ---- for the portal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicStandard:
    """A public table's standard: the definition, its tags and the file name of the approved version."""

    standard: d.Standard
    file_name: str

    @property
    def tags(self) -> list[str]:
        """The tags aggregators look for: 自治体標準ODS and the dataset type."""
        return [d.TAG, self.standard.name]


def public_standards(table_versions: dict[int, TableVersion]) -> dict[int, PublicStandard]:
    """Table id → its standard, for the given (approved) versions, in one query."""
    out: dict[int, PublicStandard] = {}
    for decl in StandardDeclaration.objects.filter(table_id__in=list(table_versions)):
        standard = d.by_code(decl.standard)
        if standard is not None and standard.declarable:
            out[decl.table_id] = PublicStandard(
                standard, standard_file_name(standard, table_versions[decl.table_id])
            )
    return out
