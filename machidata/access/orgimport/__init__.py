"""Organisation and staff list import: read (xlsx/CSV), plan (preview), then apply via the services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from machidata.access.orgimport.plan import OrgImportPreview, Problem, plan_import
from machidata.access.orgimport.reading import ReadError, read_lists

__all__ = ["OrgImportPreview", "Problem", "ReadError", "organisation_import_preview"]


def organisation_import_preview(
    *,
    org_file: Path,
    staff_file: Path | None = None,
    effective_date: dt.date,
    org_name: str | None = None,
    staff_name: str | None = None,
) -> OrgImportPreview:
    """Read the lists and plan the reorganisation on ``effective_date`` without writing anything."""
    try:
        org, staff = read_lists(
            Path(org_file), Path(staff_file) if staff_file else None, org_name=org_name, staff_name=staff_name
        )
    except ReadError as exc:
        preview = OrgImportPreview(effective_date=effective_date)
        preview.errors.append(Problem(exc.message))
        return preview
    return plan_import(org, staff, effective_date=effective_date)
