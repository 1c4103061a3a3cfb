"""What every reader returns: a streamed, all-text table plus what was detected, shown to the user to adjust.

Contract shared by the readers (csv, excel, json, geojson, parquet):

* ``Source.batches`` is a generator of ``pa.RecordBatch`` of at most ``ReadOptions.batch_rows`` rows, every
  column ``pa.string()`` holding the raw text of the cell exactly as in the file (after decoding) and
  ``None`` for an empty cell. The only exception is Parquet, which keeps its native types and sets
  ``detection["typed"] = True`` so inference skips text parsing. A table with a header and no data rows
  yields no batches at all; ``Source.columns`` (and ``Source.schema``) still name the columns.
* ``Source.detection`` holds what was detected, as plain JSON-able values. Keys a reader may set:
  ``format``, ``encoding``, ``encoding_confidence``, ``encoding_how``, ``delimiter``, ``quotechar``,
  ``sheets``, ``sheet_names``, ``header_row`` (1-based), ``header_rows``, ``title``, ``metadata_rows``,
  ``notes``, ``totals`` (texts of the 合計 rows removed), ``total_rows_removed``, ``replaced_characters``
  (外字: count, the marker, first positions), ``cell_types`` (Excel/JSON: per column counts of real
  date/number/text/boolean cells), ``padded_rows`` (rows with fewer fields than the header, padded with
  None), ``warnings`` (Japanese sentences), ``rows_total`` (set when known, at the latest once the
  batches have been consumed: the dict is updated in place), ``typed`` (Parquet), ``crs`` (GeoJSON).
* Every problem the user can fix raises :class:`machidata.core.errors.InvalidInput` with a Japanese
  message naming it; nothing from a reader ever reaches the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from machidata.core.errors import InvalidInput

# Limits (documented in the user guide): above them the reader refuses with a message instead of
# trying and exhausting memory.
MAX_COLUMNS = 5_000  # a 10,000-column file is refused: Parquet/Delta and the UI get unusable far earlier
MAX_ROW_BYTES = 16 * 1024 * 1024  # one CSV line/field larger than this is refused
PARSE_BLOCK_BYTES = 1024 * 1024  # pyarrow's parse block: rows up to this size take the fast path
MAX_XLSX_UNCOMPRESSED = 1024**3  # zip bomb guard: total uncompressed size of an xlsx/ods
MAX_XLSX_RATIO = 100  # ... and the compression ratio allowed once the content exceeds 100 MB
MAX_JSON_BYTES = 256 * 1024 * 1024  # JSON/GeoJSON are parsed whole; bigger files should come as CSV/Parquet
SAMPLE_BYTES = 1024 * 1024  # what encoding, delimiter and header detection look at
SHEET_COLUMN = "シート名"
FORMATS = ("csv", "tsv", "xlsx", "xlsm", "xls", "ods", "json", "geojson", "parquet")


@dataclass
class ReadOptions:
    """Overrides for everything a reader detects (None = detect)."""

    encoding: str | None = None  # "cp932", "utf-8", "utf-8-sig", "euc-jp", "utf-16"
    delimiter: str | None = None  # ",", "\t", ";", "|"
    sheets: list[str] | None = None  # Excel: which sheets (None = the first non-empty one)
    header_row: int | None = None  # 1-based: CSV record number / Excel row number where the header starts
    skip_rows: int | None = None  # rows to skip at the top (overrides title/metadata detection)
    max_bytes: int | None = None  # refuse larger files
    batch_rows: int = 65_536
    format: str | None = None  # csv, tsv, xlsx, xls, ods, json, geojson, parquet


@dataclass
class Source:
    """A file opened for ingestion: final column names, streamed batches and what was detected."""

    format: str
    columns: list[str]
    batches: Iterator[pa.RecordBatch]
    detection: dict[str, Any]
    sheet_names: list[str] = field(default_factory=list)
    schema: pa.Schema | None = None  # all pa.string() except Parquet (native types)

    def __post_init__(self) -> None:
        if self.schema is None:
            self.schema = string_schema(self.columns)


def string_schema(columns: list[str]) -> pa.Schema:
    """The all-text schema of ``columns``."""
    return pa.schema([pa.field(name, pa.string()) for name in columns])


def check_size(path: Path, options: ReadOptions) -> int:
    """The file size, after refusing missing, empty and too large files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"ファイル「{path.name}」を開けません。") from exc
    if options.max_bytes is not None and size > options.max_bytes:
        raise InvalidInput(
            f"ファイルが大きすぎます（{_mb(size)}）。取り込める大きさの上限は {_mb(options.max_bytes)} です。"
        )
    if size == 0:
        raise InvalidInput("ファイルが空です（0 バイト）。中身のあるファイルを選んでください。")
    return size


def check_columns(columns: list[str]) -> None:
    """Refuse tables without columns or wider than MAX_COLUMNS."""
    if not columns:
        raise InvalidInput("表の見出し（列名）が見つかりません。")
    if len(columns) > MAX_COLUMNS:
        raise InvalidInput(
            f"列が多すぎます（{len(columns):,} 列）。取り込める列数の上限は {MAX_COLUMNS:,} 列です。"
            "表を分けるか、縦持ち（1 行 1 項目）の形にしてください。"
        )


def unique_names(names: Iterable[str | None]) -> list[str]:
    """Non-empty, unique column names: blanks become 列N, repeats get _2, _3 (as block.py does)."""
    counts: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        base = (name or "").strip() or f"列{i + 1}"
        counts[base] = counts.get(base, 0) + 1
        out.append(base if counts[base] == 1 else f"{base}_{counts[base]}")
    # A generated name can collide with a real one ("a_2" in the file and a second "a"): suffix again.
    seen: set[str] = set()
    final = []
    for name in out:
        candidate, k = name, 2
        while candidate in seen:
            candidate, k = f"{name}_{k}", k + 1
        seen.add(candidate)
        final.append(candidate)
    return final


def rows_to_batches(
    rows: Iterable[list[str | None]], columns: list[str], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Group row lists into all-text record batches of at most ``batch_rows`` rows."""
    schema = string_schema(columns)
    width = len(columns)
    buf: list[list[str | None]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= batch_rows:
            yield _batch(buf, schema, width)
            buf = []
    if buf:
        yield _batch(buf, schema, width)


def _batch(rows: list[list[str | None]], schema: pa.Schema, width: int) -> pa.RecordBatch:
    cols = [pa.array([r[i] if i < len(r) else None for r in rows], pa.string()) for i in range(width)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def rebatch(batches: Iterable[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Slice batches (zero-copy) so none exceeds ``batch_rows``; drop empty ones."""
    for batch in batches:
        for start in range(0, batch.num_rows, batch_rows):
            yield batch.slice(start, batch_rows)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def read_source(path: Path, options: ReadOptions | None = None) -> Source:
    """Open ``path``: detect its format and layout and return a Source whose batches stream the data."""
    from machidata.ingest.readers import detect

    options = options or ReadOptions()
    path = Path(path)
    size = check_size(path, options)
    fmt = detect.detect_format(path, options.format)
    if fmt in ("csv", "tsv"):
        from machidata.ingest.readers.csv import read_csv

        return read_csv(path, options, fmt=fmt, size=size)
    if fmt in ("xlsx", "xlsm", "xls", "ods"):
        from machidata.ingest.readers.excel import read_excel

        return read_excel(path, options, fmt=fmt, size=size)
    if fmt == "json":
        from machidata.ingest.readers.json import read_json

        return read_json(path, options, size=size)
    if fmt == "geojson":
        from machidata.ingest.readers.geojson import read_geojson

        return read_geojson(path, options, size=size)
    from machidata.ingest.readers.parquet import read_parquet

    return read_parquet(path, options)


def peek(path: Path, options: ReadOptions | None = None, rows: int = 50) -> tuple[Source, pa.Table]:
    """Detection and the first ``rows`` rows for the preview.

    The returned Source's batches are partly consumed: use it for ``detection``/``columns`` only and
    call :func:`read_source` again to ingest.
    """
    source = read_source(path, options)
    taken: list[pa.RecordBatch] = []
    have = 0
    for batch in source.batches:
        taken.append(batch.slice(0, rows - have))
        have += taken[-1].num_rows
        if have >= rows:
            break
    close = getattr(source.batches, "close", None)
    if close is not None:
        close()  # release the file handle held by the generator
    return source, pa.Table.from_batches(taken, schema=source.schema)
