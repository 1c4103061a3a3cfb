"""What the preview page shows before an ingest starts: detection, inferred 項目定義, first rows, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machidata.ingest.labels import REASON_LABELS, type_label

PREVIEW_ROWS = 20


def _field_view(f: Any) -> dict[str, Any]:
    d = dict(f.to_dict())
    d["type_label"] = type_label(f.type, f.kind)
    d["unit"] = f.unit or ""
    d["source"] = f.source_column
    return d


@dataclass
class PreviewColumn:
    """One column of the file as the override form shows it: what inference chose (with overrides applied)."""

    source: str
    type: str
    kind: str | None
    type_label: str
    unit: str
    title: str
    markers: dict[str, str]


@dataclass
class PreviewResult:
    """Detection and a sample as the user will see it, for adjusting options before the real ingest."""

    format: str
    detection: dict[str, Any]
    sheet_names: list[str]
    columns: list[str]
    rows: list[list[str]]
    fields: list[dict[str, Any]]
    readability: dict[str, Any]
    screen: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    column_views: list[PreviewColumn] = field(default_factory=list)

    @property
    def markers(self) -> dict[str, str]:
        """Every missing-value symbol seen in the sample, with the meaning it will get."""
        seen: dict[str, str] = {}
        for c in self.column_views:
            for marker, reason in c.markers.items():
                seen.setdefault(marker, reason)
        return dict(sorted(seen.items()))


def _column_views(columns: list[str], fields: list[Any]) -> list[PreviewColumn]:
    out = []
    for column in columns:
        mine = [f for f in fields if f.source_column == column]
        if not mine:
            continue
        first = mine[0]
        markers: dict[str, str] = {}
        for f in mine:
            markers.update({m: r for m, r in f.missing.items() if m and r in REASON_LABELS})
        out.append(
            PreviewColumn(
                source=column,
                type=first.type,
                kind=first.kind,
                type_label=type_label(first.type, first.kind),
                unit=first.unit or "",
                title=first.title or column,
                markers=markers,
            )
        )
    return out


def preview_file(
    path: Path, *, options: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> PreviewResult:
    """Read the start of ``path`` with ``options`` and describe what an ingest would do with ``overrides``."""
    from machidata.ingest import readability, screen
    from machidata.ingest.overrides import infer_with_overrides
    from machidata.ingest.readers import ReadOptions, peek

    source, sample = peek(path, ReadOptions(**(options or {})), rows=2_000)
    schema = infer_with_overrides(sample, detection=source.detection, overrides=overrides, strict=False)
    rows = [
        ["" if v is None else str(v) for v in row.values()]
        for row in sample.slice(0, PREVIEW_ROWS).to_pylist()
    ]
    screening = screen.screen_sample(sample)
    report = readability.readability_report(sample, schema, detection=source.detection)
    return PreviewResult(
        format=source.format,
        detection=source.detection,
        sheet_names=source.sheet_names,
        columns=source.columns,
        rows=rows,
        fields=[_field_view(f) for f in schema.fields],
        readability=report.to_dict(),
        screen=screening.to_dict(),
        warnings=list(source.detection.get("warnings", [])),
        column_views=_column_views(source.columns, schema.fields),
    )
