"""Staff's corrections to what inference chose, before an ingest: a column's type, unit and title, and
the meaning of e-Stat style symbols (-, …, x, ***).

One plain JSON shape travels from the preview form or the CLI through the job to the ingest::

    {"fields": {"<source column>": {"type": "integer", "unit": "人", "title": "人口"}},
     "missing": {"x": "suppressed", "-": "none"}}

``fields`` keys are the file's own column headers; ``missing`` applies to every column (an e-Stat
table gives its symbols one meaning for the whole table).
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa

from machidata.core.errors import InvalidInput
from machidata.ingest.labels import OVERRIDE_TYPES, REASON_LABELS, TYPE_LABELS
from machidata.ingest.schema import TableSchema
from machidata.jp.text import NONE_MARKER_PATTERN

FIELD_KEYS = ("type", "unit", "title")
MAX_TEXT = 200


def _clean_field(column: str, props: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in props.items():
        if key not in FIELD_KEYS:
            raise InvalidInput(f"列「{column}」の「{key}」は変更できません（型・単位・項目名だけです）。")
        if key == "type" and value not in OVERRIDE_TYPES:
            names = "、".join(f"{t}（{TYPE_LABELS[t]}）" for t in OVERRIDE_TYPES)
            raise InvalidInput(f"列「{column}」の型「{value}」は使えません。使える型: {names}")
        text = "" if value is None else str(value).strip()[:MAX_TEXT]
        if key == "unit":
            clean[key] = text or None  # a blank unit means "no unit"
        elif text:
            clean[key] = text
    return clean


def clean_overrides(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Check an overrides dict (from a form, the CLI or a job's params); raise InvalidInput in Japanese."""
    if not raw:
        return {}
    out: dict[str, Any] = {}
    fields = {
        str(c): clean for c, p in (raw.get("fields") or {}).items() if (clean := _clean_field(c, p or {}))
    }
    missing: dict[str, str] = {}
    for marker, reason in (raw.get("missing") or {}).items():
        if not str(marker).strip():
            raise InvalidInput("記号が空です。「x=suppressed」のように記号と意味を指定してください。")
        if reason not in REASON_LABELS:
            names = "、".join(f"{r}（{label}）" for r, label in REASON_LABELS.items())
            raise InvalidInput(f"記号「{marker}」の意味「{reason}」は使えません。使える意味: {names}")
        missing[str(marker).strip()] = reason
    if fields:
        out["fields"] = fields
    if missing:
        out["missing"] = missing
    return out


def parse_pairs(items: list[str] | None, *, what: str) -> dict[str, str]:
    """CLI ``NAME=VALUE`` pairs (``--type 人口=integer``) as a dict; the last ``=`` splits, so names may hold ``=``."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"{what}の指定「{item}」は「名前=値」の形で書いてください。")
        out[name.strip()] = value.strip()
    return out


def infer_with_overrides(
    sample: pa.Table,
    *,
    detection: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    base_fields: dict[str, dict[str, Any]] | None = None,
    strict: bool = True,
) -> TableSchema:
    """Infer the schema of ``sample`` with staff's overrides applied.

    ``base_fields`` are overrides the caller always applies (the sheet-name column of combined
    sheets); staff's win over them. ``strict``: a column the file does not have is an error (the
    preview, re-read with other options, passes False and drops it). A forced type skips inference for that column, which would also
    skip finding its missing markers, so the markers come from a first pass without the forced types.
    """
    from machidata.ingest.infer import infer_schema

    overrides = overrides or {}
    unknown = [c for c in (overrides.get("fields") or {}) if c not in sample.column_names]
    if unknown and strict:
        raise InvalidInput(
            f"指定した列「{'」「'.join(unknown)}」はファイルにありません。"
            f"ファイルの列: {'、'.join(sample.column_names)}"
        )
    fields = {**(base_fields or {})}
    for column, props in (overrides.get("fields") or {}).items():
        fields[column] = {**fields.get(column, {}), **props}
    missing = overrides.get("missing") or {}
    missing_overrides = {"*": dict(missing)} if missing else None
    forced = {c for c, p in fields.items() if "type" in p and c in sample.column_names}
    if forced:
        first = infer_schema(
            sample,
            detection=detection,
            missing_overrides=missing_overrides,
            field_overrides={c: {k: v for k, v in p.items() if k != "type"} for c, p in fields.items()},
        )
        seen: dict[str, dict[str, str]] = {}
        for f in first.fields:
            if f.source_column in forced:
                seen.setdefault(f.source_column, {}).update(f.missing)
        for column in forced:
            markers = seen.get(column, {})
            if fields[column]["type"] == "string":
                # Text keeps its words: only dashes and the symbols staff named stay missing markers.
                markers = {
                    m: r for m, r in markers.items() if m in missing or re.match(NONE_MARKER_PATTERN, m)
                }
            fields[column] = {**fields[column], "missing": markers}
    return infer_schema(
        sample, detection=detection, missing_overrides=missing_overrides, field_overrides=fields or None
    )


def apply_wording(schema: TableSchema, overrides: dict[str, Any] | None) -> TableSchema:
    """Put staff's titles and units back after the previous 項目定義's wording was merged in (staff's choice wins)."""
    for f in schema.fields:
        props = ((overrides or {}).get("fields") or {}).get(f.source_column) or {}
        for key in ("title", "unit"):
            if key in props:
                setattr(f, key, props[key])
    return schema


def describe(overrides: dict[str, Any] | None) -> list[str]:
    """The overrides as Japanese lines, for the preview and the job page."""
    lines = []
    for column, props in ((overrides or {}).get("fields") or {}).items():
        parts = []
        if "type" in props:
            parts.append(f"型を「{TYPE_LABELS.get(props['type'], props['type'])}」")
        if "unit" in props:
            parts.append(f"単位を「{props['unit'] or 'なし'}」")
        if props.get("title"):
            parts.append(f"項目名を「{props['title']}」")
        lines.append(f"列「{column}」: " + "、".join(parts) + "にします")
    for marker, reason in ((overrides or {}).get("missing") or {}).items():
        lines.append(f"記号「{marker}」は {REASON_LABELS[reason]} として空欄にします")
    return lines
