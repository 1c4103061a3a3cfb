"""JSON: an array of records, or an object holding one under "data", "records", "items" (or "rows").

The file is parsed whole (``json.loads``), so files over ``MAX_JSON_BYTES`` are refused with a
message suggesting CSV or Parquet. Columns are the union of the records' keys in first-seen order.
Values become text: strings as they are, integers as written, other numbers by ``repr`` (``1.50`` in
the file reads as ``1.5``), booleans ``true``/``false``, null as None, and nested objects/arrays as
compact JSON text. ``detection["cell_types"]`` counts the JSON types per column
(number/text/boolean/object) for inference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from machidata.core.errors import InvalidInput
from machidata.ingest.readers.base import (
    MAX_JSON_BYTES,
    ReadOptions,
    Source,
    check_columns,
    rows_to_batches,
    unique_names,
)
from machidata.ingest.readers.encoding import decode_sample, detect_encoding, display_name, normalise_encoding

RECORD_KEYS = ("data", "records", "items", "rows")


def load_json(path: Path, options: ReadOptions, size: int, label: str = "JSON") -> tuple[Any, str]:
    """Decode (detecting the encoding) and parse a JSON file; return the value and the encoding shown."""
    if size > MAX_JSON_BYTES:
        raise InvalidInput(
            f"{label} ファイルが大きすぎます（{size / 1024 / 1024:,.0f} MB）。{label} は "
            f"{MAX_JSON_BYTES // 1024 // 1024} MB までです。大きなデータは CSV か Parquet で取り込んでください。"
        )
    raw = path.read_bytes()
    codec = (
        normalise_encoding(options.encoding)
        if options.encoding
        else detect_encoding(path, raw[: 1 << 20]).codec
    )
    try:
        text, _ = decode_sample(raw, codec, final=True)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"文字コード「{display_name(codec)}」として読めません（{exc.start + 1:,} バイト目、{line:,} 行目）。"
        ) from exc
    try:
        return json.loads(text.lstrip("\ufeff")), display_name(codec)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{label} として読めません（{exc.lineno:,} 行目 {exc.colno} 文字目: {exc.msg}）。"
        ) from exc
    except RecursionError as exc:
        raise InvalidInput(f"{label} の入れ子が深すぎて読めません。") from exc


def value_text(value: Any) -> str | None:
    """The text of one JSON value (nested values as compact JSON)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def value_kind(value: Any) -> str | None:
    """number / text / boolean / object, for detection["cell_types"]."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "object"


def records_table(
    records: list[dict[str, Any]], extra: list[tuple[str, list[str | None]]] | None = None
) -> tuple[list[str], list[list[str | None]], dict[str, dict[str, int]]]:
    """Columns (union of keys), text rows and per-column type counts; ``extra`` columns are appended."""
    keys: dict[str, None] = {}
    for rec in records:
        for k in rec:
            keys.setdefault(str(k), None)
    raw_names = list(keys)
    extra = extra or []
    names = unique_names([*raw_names, *(name for name, _ in extra)])
    check_columns(names)
    kinds: dict[str, dict[str, int]] = {n: {"number": 0, "text": 0, "boolean": 0, "object": 0} for n in names}
    rows: list[list[str | None]] = []
    for i, rec in enumerate(records):
        row: list[str | None] = []
        for key, name in zip(raw_names, names, strict=False):
            value = rec.get(key)
            kind = value_kind(value)
            if kind:
                kinds[name][kind] += 1
            row.append(value_text(value))
        row.extend(values[i] for _, values in extra)
        rows.append(row)
    return names, rows, kinds


def read_json(path: Path, options: ReadOptions, *, size: int) -> Source:
    """An array of records (or {"data": [...]}) as an all-text table."""
    data, encoding = load_json(path, options, size)
    records = data
    container = None
    if isinstance(data, dict):
        container = next((k for k in RECORD_KEYS if isinstance(data.get(k), list)), None)
        records = data[container] if container else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidInput(
            "JSON はレコード（オブジェクト）の配列 [{…}, {…}] か、"
            "それを data / records / items に持つオブジェクトである必要があります。"
        )
    if not records:
        raise InvalidInput("JSON にレコードがありません（空の配列です）。")
    columns, rows, kinds = records_table(records)
    detection: dict[str, Any] = {
        "format": "json",
        "encoding": encoding,
        "records_key": container,
        "cell_types": kinds,
        "rows_total": len(rows),
        "warnings": [],
    }
    return Source(
        format="json",
        columns=columns,
        batches=rows_to_batches(rows, columns, options.batch_rows),
        detection=detection,
    )
