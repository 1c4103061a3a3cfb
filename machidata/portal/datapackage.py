"""A Frictionless Data Package (``datapackage.json``) per public dataset: one tabular resource per public
table, whose ``path`` is the CSV of the approved version (relative, next to the descriptor: the same
URL the portal's download serves), with a Table Schema of the columns that CSV holds."""

from __future__ import annotations

import re
from typing import Any, Final

from machidata.engine import kind_of
from machidata.lake.readers import arrow_schema
from machidata.portal import selectors as s

# The engine's kinds as Table Schema types; dates and times are read leniently ("any"), as written by the export.
TYPES: Final = {
    "integer": ("integer", None), "number": ("number", None), "boolean": ("boolean", None),
    "date": ("date", "any"), "datetime": ("datetime", "any"), "time": ("time", "any"),
}  # fmt: skip
_NAME_RE: Final = re.compile(r"[^a-z0-9._-]+")


def _name(text: str) -> str:
    return _NAME_RE.sub("-", text.lower()).strip("-") or "data"


def _fields(pt: s.PublicTable) -> list[dict[str, Any]]:
    declared = {
        str(f.get("name")): f for f in (pt.table.schema or {}).get("fields", []) if isinstance(f, dict)
    }
    out = []
    for field in arrow_schema(pt.version):
        kind = kind_of(str(field.type))
        ftype, fmt = TYPES.get(kind, ("string", None))
        entry: dict[str, Any] = {"name": field.name, "type": ftype}
        if fmt:
            entry["format"] = fmt
        d = declared.get(field.name, {})
        if d.get("title"):
            entry["title"] = str(d["title"])
        if d.get("description"):
            entry["description"] = str(d["description"])
        out.append(entry)
    return out


def datapackage(base: str, slug: str) -> dict[str, Any] | None:
    """The descriptor of the public dataset ``slug`` (None when it is not public)."""
    entries = s.public_entries(slug)
    if not entries:
        return None
    entry = entries[0]
    ds = entry.dataset
    lic = ds.licence
    licences = []
    code = entry.attribution.get("licence") or (lic.code if lic else "")
    if code:
        licence: dict[str, Any] = {"name": code, "title": entry.attribution.get("licence_name") or code}
        if lic is not None and lic.code == code and lic.url:
            licence["path"] = lic.url
        licences.append(licence)
    resources = []
    for pt in entry.tables:
        resources.append({
            "name": _name(pt.table.name), "path": f"{pt.table.name}.csv", "profile": "tabular-data-resource",
            "title": pt.table.title or pt.table.name, "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "schema": {"fields": _fields(pt), "missingValues": [""]},
        })  # fmt: skip
    descriptor: dict[str, Any] = {
        "profile": "tabular-data-package", "name": _name(ds.slug), "id": s.package_id(ds), "title": ds.title,
        "description": ds.description, "homepage": f"{base}/open/datasets/{ds.slug}/",
        "created": s.ckan_time(ds.created_at), "keywords": [str(k) for k in ds.keywords or [] if str(k).strip()],
        "licenses": licences,
        "contributors": [{"title": ds.owner.name, "role": "publisher"}],
        "resources": resources,
    }  # fmt: skip
    if entry.attribution.get("attribution"):
        descriptor["sources"] = [{"title": str(entry.attribution["attribution"])}]
    return descriptor
