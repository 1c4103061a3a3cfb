"""Validate normalised batches against the Table Schema's constraints, with Japanese messages.

``validate_batch`` checks required, unique (across batches, through a :class:`UniqueState` the caller
keeps for the whole version), minimum/maximum, enum and pattern (Frictionless semantics: the pattern
must match the whole value). Type failures come from :func:`machidata.ingest.normalise.normalise_batch`;
the caller adds both lists to one :class:`ValidationReport` and applies the table's policy (reject the
version, or accept it with warnings) — this module never decides that.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

Arr = Any
KIND_LABELS = {"type": "型", "required": "必須", "unique": "重複", "minimum": "最小値", "maximum": "最大値",
               "enum": "選択肢", "pattern": "形式"}  # fmt: skip


@dataclass(frozen=True)
class Issue:
    """One problem cell: source row (1-based, as in the file), column, raw value, message (Japanese)."""

    row: int
    column: str
    raw: str | None
    message: str
    kind: str = "type"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "row": self.row,
            "column": self.column,
            "raw": self.raw,
            "message": self.message,
            "kind": self.kind,
        }


@dataclass
class UniqueState:
    """Values already seen in ``unique`` columns, carried across the batches of one version."""

    seen: dict[str, set[Any]] = field(default_factory=dict)


@dataclass
class ValidationReport:
    """Issue counts per column and kind, and the first ``limit`` issues in the order found."""

    limit: int = 200
    issues: list[Issue] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows_checked: int = 0

    def add(self, issues: list[Issue], *, extra_counts: dict[str, int] | None = None) -> None:
        """Add issues; ``extra_counts`` adds type failures beyond those listed (normalise caps its list)."""
        for issue in issues:
            self.counts[(issue.column, issue.kind)] += 1
            if len(self.issues) < self.limit:
                self.issues.append(issue)
        listed = Counter(i.column for i in issues if i.kind == "type")
        for column, total in (extra_counts or {}).items():
            self.counts[(column, "type")] += max(0, total - listed[column])

    @property
    def total(self) -> int:
        """All issues found (listed or not)."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when no issue was found."""
        return self.total == 0

    def per_column(self) -> dict[str, dict[str, int]]:
        """Counts as ``{column: {kind: n}}``."""
        out: dict[str, dict[str, int]] = {}
        for (column, kind), n in sorted(self.counts.items()):
            out.setdefault(column, {})[kind] = n
        return out

    def summary_ja(self) -> str:
        """One line for the user: how many problems, in which columns."""
        if self.ok:
            return "項目定義との不一致はありません。"
        parts = [f"{c}（{'、'.join(f'{KIND_LABELS.get(k, k)}{n}件' for k, n in kinds.items())}）"
                 for c, kinds in self.per_column().items()]  # fmt: skip
        return f"項目定義と合わない値が{self.total}件あります: " + "、".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, stored with the version."""
        return {
            "total": self.total,
            "rows_checked": self.rows_checked,
            "per_column": self.per_column(),
            "issues": [i.to_dict() for i in self.issues],
        }


def _fmt(v: Any) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _scalar(v: Any, typ: pa.DataType) -> Any:
    if pa.types.is_date(typ) and isinstance(v, str):
        v = date.fromisoformat(v)
    elif pa.types.is_timestamp(typ) and isinstance(v, str):
        v = datetime.fromisoformat(v)
    return pa.scalar(v, typ)


def validate_batch(
    batch: pa.RecordBatch,
    schema: Any,
    *,
    row_offset: int = 1,
    state: UniqueState | None = None,
    max_issues_per_check: int = 1000,
) -> list[Issue]:
    """Check a normalised batch against the schema's constraints; ``row_offset`` is row 0's source row."""
    state = state if state is not None else UniqueState()
    rows = batch.column("__source_row").to_pylist() if "__source_row" in batch.schema.names else None
    issues: list[Issue] = []

    def emit(mask: Arr, column: Arr, name: str, kind: str, message: str) -> None:
        idx = pc.indices_nonzero(pc.fill_null(mask, False))[:max_issues_per_check].to_pylist()
        values = column.take(idx).to_pylist() if idx else []
        for i, v in zip(idx, values, strict=True):
            row = int(rows[i]) if rows is not None else row_offset + i
            issues.append(
                Issue(row=row, column=name, raw=None if v is None else _fmt(v), message=message, kind=kind)
            )

    for f in schema.fields:
        if f.name not in batch.schema.names:
            continue
        col = batch.column(f.name)
        c = f.constraints
        if c.required:
            emit(pc.is_null(col), col, f.name, "required", "必須の項目が空です")
        if c.minimum is not None:
            emit(
                pc.less(col, _scalar(c.minimum, col.type)),
                col,
                f.name,
                "minimum",
                f"最小値（{c.minimum}）より小さい値です",
            )
        if c.maximum is not None:
            emit(
                pc.greater(col, _scalar(c.maximum, col.type)),
                col,
                f.name,
                "maximum",
                f"最大値（{c.maximum}）より大きい値です",
            )
        if c.enum is not None:
            allowed = pa.array(c.enum).cast(col.type)
            shown = "、".join(str(e) for e in c.enum[:10])
            emit(pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=allowed))), col, f.name, "enum",
                 f"選択肢（{shown}）にない値です")  # fmt: skip
        if c.pattern is not None and pa.types.is_string(col.type):
            ok = pc.match_substring_regex(col, f"^(?:{c.pattern})$")
            emit(pc.invert(ok), col, f.name, "pattern", f"形式（{c.pattern}）に合いません")
        if c.unique:
            seen = state.seen.setdefault(f.name, set())
            values = col.to_pylist()
            dup_mask = []
            for v in values:  # a set is the simplest exact check across batches; unique columns are keys
                dup = v is not None and v in seen
                dup_mask.append(dup)
                if v is not None:
                    seen.add(v)
            emit(pa.array(dup_mask, pa.bool_()), col, f.name, "unique", "重複した値です（一意の項目）")
    order = {f.name: n for n, f in enumerate(schema.fields)}  # by row, then in the table's column order
    issues.sort(key=lambda i: (i.row, order.get(i.column, 0)))
    return issues
