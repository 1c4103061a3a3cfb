"""Table Schema (Frictionless vocabulary) for an ingested table: fields, constraints, missing values.

A schema is plain dataclasses that round-trip through the Frictionless JSON descriptor:
``name``, ``title`` (the Japanese header), ``type``, ``format``, ``description``, ``constraints``,
``missingValues``, ``trueValues``/``falseValues``, plus ``unit`` (a Table Schema v2 property, e.g.
円, 人, 件, %, m2, 千円). What Frictionless has no word for lives under one ``machidata`` key per
field: ``kind`` (fiscal_year, postal_code, phone, lg_code, ward, latlon), ``source`` (the reader's
column the field comes from), ``part`` (start/end of a split date range, lat/lon of a packed
coordinate), ``missing`` (marker -> reason: none, suppressed, unknown) and ``inference`` notes.

Column names: the Japanese header stays the column name, because DuckDB and Delta Lake read Unicode
names. Delta without column mapping (which the lake does not use) rejects `` ,;{}()\\n\\t=``, so
:func:`safe_name` replaces each of those with ``_`` (runs collapsed, ends trimmed), keeps the header as
``title``, names a blank header ``列N`` (its 1-based position), prefixes a leading ``_`` with ``列``
(``_id`` and ``__raw`` belong to the system) and makes duplicates unique with ``_2``, ``_3`` ….
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "time", "year", "yearmonth",
               "geojson")  # fmt: skip
KINDS = ("fiscal_year", "postal_code", "phone", "lg_code", "ward", "latlon")
MISSING_REASONS = ("empty", "none", "suppressed", "unknown")
RAW_SUFFIX = "__raw"

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),  # naive: Japanese wall-clock time (design guide, time rule)
    "time": pa.string(),  # "HH:MM:SS": Delta Lake has no time type (time64 is refused by the writer)
    "year": pa.int32(),
    "yearmonth": pa.string(),  # "2024-04": sorts correctly and is what Frictionless writes
    "geojson": pa.string(),  # the GeoJSON text of the geometry
}
_DELTA_FORBIDDEN = re.compile("[ ,;{}()\n\t=]+")


class SchemaError(ValueError):
    """A Table Schema descriptor that is malformed (message in Japanese)."""


@dataclass
class Constraints:
    """Frictionless field constraints."""

    required: bool = False
    unique: bool = False
    minimum: Any = None
    maximum: Any = None
    enum: list[Any] | None = None
    pattern: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The descriptor form, leaving out unset constraints."""
        d: dict[str, Any] = {}
        for key in ("required", "unique"):
            if getattr(self, key):
                d[key] = True
        for key in ("minimum", "maximum", "enum", "pattern"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


@dataclass
class Field:
    """One column of a table: Frictionless properties plus the machidata extension."""

    name: str
    type: str = "string"
    title: str = ""
    format: str = "default"
    unit: str | None = None
    description: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    true_values: list[str] = field(default_factory=list)
    false_values: list[str] = field(default_factory=list)
    kind: str | None = None
    source: str | None = None  # the reader's column; None means the same as ``title``
    part: str | None = None  # "start"/"end" of a split range, "lat"/"lon" of a packed coordinate
    missing: dict[str, str] = field(default_factory=dict)  # marker -> reason
    inference: dict[str, Any] = field(default_factory=dict)

    @property
    def source_column(self) -> str:
        """The column of the reader's batch this field is read from."""
        return self.source if self.source is not None else (self.title or self.name)

    def arrow_type(self) -> pa.DataType:
        """The Arrow type stored in the lake for this field."""
        return _ARROW_TYPES[self.type]

    def to_dict(self) -> dict[str, Any]:
        """The Frictionless field descriptor."""
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.title:
            d["title"] = self.title
        if self.format != "default":
            d["format"] = self.format
        if self.unit:
            d["unit"] = self.unit
        if self.description:
            d["description"] = self.description
        if c := self.constraints.to_dict():
            d["constraints"] = c
        if self.type == "boolean":
            d["trueValues"] = self.true_values or ["true"]
            d["falseValues"] = self.false_values or ["false"]
        if self.missing:
            d["missingValues"] = ["", *sorted(k for k in self.missing if k)]
        ext = {k: v for k, v in (("kind", self.kind), ("source", self.source), ("part", self.part),
                                  ("missing", self.missing), ("inference", self.inference)) if v}  # fmt: skip
        if self.source is not None:  # kept even when "" (a blank header)
            ext["source"] = self.source
        if ext:
            d["machidata"] = ext
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Field:
        """Read a field descriptor; raise SchemaError on an unknown type."""
        if not isinstance(d, dict) or not d.get("name"):
            raise SchemaError("項目定義の各項目には名前（name）が必要です。")
        ftype = d.get("type", "string")
        if ftype not in FIELD_TYPES:
            raise SchemaError(f"項目「{d['name']}」の型「{ftype}」は使えません（{', '.join(FIELD_TYPES)}）。")
        ext = d.get("machidata") or {}
        kind = ext.get("kind")
        if kind is not None and kind not in KINDS:
            raise SchemaError(f"項目「{d['name']}」の種類「{kind}」は使えません。")
        c = d.get("constraints") or {}
        return cls(
            name=d["name"],
            type=ftype,
            title=d.get("title", ""),
            format=d.get("format", "default"),
            unit=d.get("unit"),
            description=d.get("description", ""),
            constraints=Constraints(
                required=bool(c.get("required", False)),
                unique=bool(c.get("unique", False)),
                minimum=c.get("minimum"),
                maximum=c.get("maximum"),
                enum=c.get("enum"),
                pattern=c.get("pattern"),
            ),
            true_values=list(d.get("trueValues", [])) if ftype == "boolean" else [],
            false_values=list(d.get("falseValues", [])) if ftype == "boolean" else [],
            kind=kind,
            source=ext.get("source"),
            part=ext.get("part"),
            missing=dict(ext.get("missing", {})),
            inference=dict(ext.get("inference", {})),
        )


@dataclass
class TableSchema:
    """A Frictionless Table Schema: ordered fields and the table-wide missing-value markers."""

    fields: list[Field]
    missing_values: list[str] = field(default_factory=lambda: [""])
    primary_key: list[str] = field(default_factory=list)

    def field(self, name: str) -> Field:
        """The field called ``name`` (KeyError if there is none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Field names in order."""
        return [f.name for f in self.fields]

    def to_dict(self) -> dict[str, Any]:
        """The Frictionless descriptor."""
        d: dict[str, Any] = {
            "fields": [f.to_dict() for f in self.fields],
            "missingValues": self.missing_values,
        }
        if self.primary_key:
            d["primaryKey"] = self.primary_key
        return d

    def to_json(self) -> str:
        """The descriptor as JSON text (UTF-8, Japanese kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableSchema:
        """Read a descriptor; raise SchemaError on duplicate or missing names and bad types."""
        if not isinstance(d, dict) or not isinstance(d.get("fields"), list):
            raise SchemaError("項目定義には項目の一覧（fields）が必要です。")
        fields = [Field.from_dict(f) for f in d["fields"]]
        names = [f.name for f in fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"項目名が重複しています: {'、'.join(dupes)}")
        pk = d.get("primaryKey", [])
        pk = [pk] if isinstance(pk, str) else list(pk)
        unknown = [k for k in pk if k not in names]
        if unknown:
            raise SchemaError(f"主キーの項目がありません: {'、'.join(unknown)}")
        return cls(fields=fields, missing_values=list(d.get("missingValues", [""])), primary_key=pk)

    @classmethod
    def from_json(cls, text: str) -> TableSchema:
        """Read a descriptor from JSON text."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SchemaError(f"項目定義のJSONが読めません（{exc.msg}、{exc.lineno}行目）。") from exc


def schema_to_arrow(schema: TableSchema) -> pa.Schema:
    """The Arrow schema of normalised batches (without ``__raw`` columns), titles kept as metadata."""
    return pa.schema(
        [
            pa.field(f.name, f.arrow_type(), nullable=True, metadata={"title": f.title} if f.title else None)
            for f in schema.fields
        ]
    )


def arrow_to_field_type(t: pa.DataType) -> str:  # noqa: PLR0911 - one return per type family
    """The Table Schema type for a native Arrow type (Parquet input keeps its types)."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "datetime"
    if pa.types.is_time(t):
        return "time"
    return "string"


def safe_name(title: str, position: int) -> str:
    """The column name for a header (see the module docstring for the rule); ``position`` is 0-based."""
    name = _DELTA_FORBIDDEN.sub("_", title or "").strip("_") if (title or "").strip() else ""
    if not name:
        return f"列{position + 1}"
    if title.startswith("_"):
        name = "列_" + name
    if name.endswith(RAW_SUFFIX):
        name = name[: -len(RAW_SUFFIX)] + "_raw"
    return name


def unique_names(names: list[str]) -> list[str]:
    """Make names unique in order by suffixing ``_2``, ``_3`` … to repeats."""
    seen: set[str] = set()
    out: list[str] = []
    for n in names:
        candidate, i = n, 1
        while candidate in seen:
            i += 1
            candidate = f"{n}_{i}"
        seen.add(candidate)
        out.append(candidate)
    return out


def frictionless_errors(schema: TableSchema) -> list[str]:
    """Validate the descriptor with the ``frictionless`` library; return its error notes (empty if valid)."""
    from frictionless import Schema

    report = Schema.validate_descriptor(schema.to_dict())
    return [row[0] for row in report.flatten(["note"])]
