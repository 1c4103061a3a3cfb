"""Streaming exports of a TableQuery's rows: CSV (UTF-8 with BOM, or CP932), JSON, Parquet and XLSX.

Rows flow from DuckDB as Arrow record batches and are written batch by batch, so memory stays
bounded by the batch size, not the table size. CP932 output never fails: characters CP932 lacks
(𠮷, emoji, ...) become 〓 (geta, the customary mark for a missing glyph) and are counted; the
em dash is first mapped to the horizontal bar CP932 does have.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula,
so a value one 課 (or a facility answering a 照会) typed could run for whoever opens the download.
XLSX keeps every text exactly and stores it as text, never as a formula. CSV has no types, so a text
cell that starts with ``=``, ``@``, a tab or a carriage return, or with ``+``/``-`` not followed by a
plain number, gets a leading ``'`` (OWASP's advice; numbers such as ``-5`` stay as they are). JSON,
Parquet and Arrow keep the values exactly: machines should read those.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import io
import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from machidata.engine.compile import compile_query
from machidata.engine.errors import EngineQueryError
from machidata.engine.query import TableQuery
from machidata.engine.sandbox import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, open_sandbox

ExportFormat = Literal["csv", "json", "parquet", "xlsx"]
CsvEncoding = Literal["utf-8-sig", "utf-8", "cp932"]

XLSX_MAX_ROWS = 1_048_576  # Excel's sheet limit, header row included
CP932_REPLACEMENT = "〓"
BATCH_ROWS = 65_536
_CP932_FIXES = str.maketrans({"\u2014": "\u2015"})  # EM DASH → HORIZONTAL BAR (CP932 0x815C)
_ERRORS = "machidata.cp932_geta"
_replaced = threading.local()


def _geta(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one 〓 per character CP932 cannot encode, counted per thread."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    n = exc.end - exc.start
    _replaced.count = getattr(_replaced, "count", 0) + n
    return CP932_REPLACEMENT * n, exc.end


codecs.register_error(_ERRORS, _geta)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """How many rows were written, whether a cap cut them, characters replaced (CP932) and sheets (XLSX)."""

    rows: int
    truncated: bool = False
    replaced_characters: int = 0
    sheets: int = 0


def export(
    files: Sequence[str],
    query: TableQuery,
    fmt: ExportFormat,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    encoding: CsvEncoding = "utf-8-sig",
    max_rows: int | None = None,
    note: str | None = None,
    timeout_s: float = 600,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    schema: pa.Schema | None = None,
) -> ExportResult:
    """Write the rows of ``query`` over ``files`` to ``dest`` as ``fmt``, streaming Arrow batches.

    ``encoding`` applies to CSV; ``note`` (出典, 版, 条件) goes on the XLSX note sheet; ``max_rows``
    caps the rows written (``truncated`` says whether it did).
    """
    if fmt not in ("csv", "json", "parquet", "xlsx"):
        raise EngineQueryError(f"形式「{fmt}」では書き出せません（CSV・JSON・Parquet・XLSX）。")
    if encoding not in ("utf-8-sig", "utf-8", "cp932"):
        raise EngineQueryError(
            f"文字コード「{encoding}」では書き出せません（UTF-8（BOM付き）・UTF-8・CP932）。"
        )
    with open_sandbox(
        files, schema=schema, threads=threads, memory_limit=memory_limit, timeout_s=timeout_s
    ) as sb:
        checked = query.validate_against(sb.table.schema().to_pyarrow())
        limit = checked.limit
        if max_rows is not None:
            # One extra row tells whether the cap cut anything, without a separate count query.
            limit = max_rows + 1 if limit is None else min(limit, max_rows + 1)
        reader = sb.stream(compile_query(sb.table, checked, limit=limit), batch_rows=BATCH_ROWS)
        batches = _capped(reader, max_rows)
        with _open(dest) as out:
            if fmt == "csv":
                rows, replaced = _write_csv(reader.schema, batches, out, encoding)
                result = ExportResult(rows=rows, replaced_characters=replaced)
            elif fmt == "json":
                result = ExportResult(rows=_write_json(batches, out))
            elif fmt == "parquet":
                result = ExportResult(rows=_write_parquet(reader.schema, batches, out))
            else:
                rows, sheets = _write_xlsx(reader.schema, batches, out, note)
                result = ExportResult(rows=rows, sheets=sheets)
        truncated = max_rows is not None and batches.cut
    return ExportResult(result.rows, truncated, result.replaced_characters, result.sheets)


def table_csv(table: pa.Table, out: IO[bytes], *, encoding: CsvEncoding = "utf-8-sig") -> ExportResult:
    """Write an Arrow table already in memory (a query result) as CSV, the same way :func:`export` does."""
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    rows, replaced = _write_csv(table.schema, _capped(reader, None), out, encoding)
    return ExportResult(rows=rows, replaced_characters=replaced)


def table_arrow_stream(table: pa.Table, out: IO[bytes]) -> ExportResult:
    """Write an Arrow table as an Arrow IPC stream (what pyarrow, polars, R arrow and DuckDB read directly)."""
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    return ExportResult(rows=table.num_rows)


class _capped:  # noqa: N801 — a small iterator that reads like a function at its call site
    """Iterate record batches, stopping after ``cap`` rows and remembering whether rows were left."""

    def __init__(self, reader: pa.RecordBatchReader, cap: int | None) -> None:
        self.reader, self.cap, self.cut = reader, cap, False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        left = self.cap
        for batch in self.reader:
            if left is not None and batch.num_rows > left:
                self.cut = True
                if left:
                    yield batch.slice(0, left)
                return
            if left is not None:
                left -= batch.num_rows
            yield batch


@contextlib.contextmanager
def _open(dest: str | os.PathLike[str] | IO[bytes]) -> Iterator[IO[bytes]]:
    """Open a path for binary writing, or pass a file object through (the caller closes it)."""
    if isinstance(dest, str | os.PathLike):
        with open(dest, "wb") as f:
            yield f
    else:
        yield dest


def _text_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Whole seconds for timestamps and times, so CSV shows 2024-04-01 09:00:00, not …00.000000."""
    arrays = []
    for column in batch.columns:
        arr = column
        if pa.types.is_timestamp(arr.type) and arr.type.unit != "s":
            arr = arr.cast(pa.timestamp("s", arr.type.tz), safe=False)
        elif pa.types.is_time64(arr.type) or (pa.types.is_time32(arr.type) and arr.type.unit != "s"):
            arr = arr.cast(pa.time32("s"), safe=False)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


# Spreadsheet formula starts (RE2 has no look-ahead, so "+/- then not a number" is two patterns).
_FORMULA_ALWAYS = r"^[=@\t\r]"
_SIGNED = r"^[+-]"
_SIGNED_NUMBER = r"^[+-][0-9][0-9,]*(\.[0-9]+)?$"


def _formula_guarded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text columns with a leading ``'`` on cells a spreadsheet would run as a formula (see the module doc)."""
    arrays = []
    for column in batch.columns:
        arr = column
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            risky = pc.or_(
                pc.match_substring_regex(arr, _FORMULA_ALWAYS),
                pc.and_(
                    pc.match_substring_regex(arr, _SIGNED),
                    pc.invert(pc.match_substring_regex(arr, _SIGNED_NUMBER)),
                ),
            )
            if pc.any(risky).as_py():
                arr = pc.if_else(risky, pc.binary_join_element_wise("'", arr, ""), arr)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _write_csv(schema: pa.Schema, batches: _capped, out: IO[bytes], encoding: CsvEncoding) -> tuple[int, int]:
    """CSV with a header row; returns (rows, characters replaced for CP932)."""
    _replaced.count = 0
    if encoding == "utf-8-sig":
        out.write(codecs.BOM_UTF8)
    rows, first = 0, True

    def emit(table_or_batch: pa.RecordBatch | pa.Table, header: bool) -> None:
        buf = io.BytesIO()
        pacsv.write_csv(table_or_batch, buf, write_options=pacsv.WriteOptions(include_header=header))
        data = buf.getvalue()
        if encoding == "cp932":
            data = data.decode("utf-8").translate(_CP932_FIXES).encode("cp932", errors=_ERRORS)
        out.write(data)

    for batch in batches:
        emit(_formula_guarded(_text_ready(batch)), first)
        first = False
        rows += batch.num_rows
    if first:  # no rows: still write the header
        emit(schema.empty_table(), True)
    return rows, int(getattr(_replaced, "count", 0))


def json_value(value: Any) -> Any:  # noqa: PLR0911 — one branch per value type
    """One cell as JSON: ISO dates and times, decimals as numbers, NaN/∞ as null, bytes as hex."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


def _write_json(batches: _capped, out: IO[bytes]) -> int:
    """A JSON array of records (one object per row, keys in column order), written as it streams."""
    rows = 0
    out.write(b"[")
    for batch in batches:
        for record in batch.to_pylist():
            out.write(b",\n" if rows else b"\n")
            clean = {k: json_value(v) for k, v in record.items()}
            out.write(json.dumps(clean, ensure_ascii=False, allow_nan=False).encode("utf-8"))
            rows += 1
    out.write(b"\n]\n" if rows else b"]\n")
    return rows


def _write_parquet(schema: pa.Schema, batches: _capped, out: IO[bytes]) -> int:
    """A single Parquet file (zstd) with the query's columns."""
    rows = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _xlsx_cell(value: Any) -> Any:
    """A cell Excel accepts: control characters removed, bytes as hex, nested values as JSON text."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list):
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; data times are wall-clock already
    return value


def _as_text_cell(ws: Any, value: str) -> Any:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _write_xlsx(schema: pa.Schema, batches: _capped, out: IO[bytes], note: str | None) -> tuple[int, int]:
    """Write-only workbook, a new sheet every XLSX_MAX_ROWS − 1 data rows, a 注記 sheet when split or noted."""
    per_sheet = XLSX_MAX_ROWS - 1
    wb = Workbook(write_only=True)
    header = list(schema.names)
    sheets: list[Any] = []

    def row(ws: Any, values: list[Any]) -> list[Any]:
        # A text that starts with "=" would become a live formula: store it as text, unchanged.
        return [_as_text_cell(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in values]

    def new_sheet() -> Any:
        ws = wb.create_sheet("データ" if not sheets else f"データ({len(sheets) + 1})")
        ws.append(row(ws, [_xlsx_cell(h) for h in header]))
        sheets.append(ws)
        return ws

    ws = new_sheet()  # even an empty result gets a sheet with its header
    rows, in_sheet = 0, 0
    for batch in batches:
        for record in batch.to_pylist():
            if in_sheet == per_sheet:
                ws, in_sheet = new_sheet(), 0
            ws.append(row(ws, [_xlsx_cell(record[name]) for name in header]))
            in_sheet += 1
            rows += 1
    if len(sheets) > 1 or note:
        ns = wb.create_sheet("注記")
        ns.append(["注記"])
        if len(sheets) > 1:
            ns.append(
                [
                    f"全{rows:,}行がExcelの1シートの上限（{XLSX_MAX_ROWS:,}行）を超えるため、"
                    f"{len(sheets)}枚のシート（{'、'.join(s.title for s in sheets)}）に分けています。各シートの1行目は見出しです。"
                ]
            )
        if note:
            ns.append([ILLEGAL_CHARACTERS_RE.sub("", note)])
    wb.save(out)
    return rows, len(sheets)
