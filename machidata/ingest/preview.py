"""What the preview page shows before an ingest starts: detection, inferred 項目定義, first rows, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREVIEW_ROWS = 20
TYPE_LABELS = {
    "string": "文字", "integer": "整数", "number": "小数", "boolean": "真偽（はい・いいえ）", "date": "日付",
    "datetime": "日時", "time": "時刻", "year": "年", "yearmonth": "年月", "geojson": "地理（図形）",
}  # fmt: skip


def _field_view(f: Any) -> dict[str, Any]:
    d = dict(f.to_dict())
    d["type_label"] = TYPE_LABELS.get(f.type, f.type)
    if f.kind:
        d["type_label"] += f"（{f.kind}）"
    return d


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


def preview_file(path: Path, *, options: dict[str, Any] | None = None) -> PreviewResult:
    """Read the start of ``path`` with ``options`` and describe what an ingest would do."""
    from machidata.ingest import infer, readability, screen
    from machidata.ingest.readers import ReadOptions, peek

    source, sample = peek(path, ReadOptions(**(options or {})), rows=2_000)
    schema = infer.infer_schema(sample, detection=source.detection)
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
    )
