"""Parse a clean, big text CSV with DuckDB's fast reader straight into staged Parquet files.

The ingestion fast path (design guide §4): ``engine`` parses, ``lake`` commits the staged files,
``ingest`` orchestrates. DuckDB reads UTF-8 and UTF-16 itself; CP932 and other legacy encodings go
through ingest's Python decoding path instead, as does UTF-16 (DuckDB 2 copies only UTF-8) (DuckDB's encodings extension would be downloaded at
run time, which LG-WAN forbids).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from machidata.engine.errors import EngineQueryError
from machidata.engine.sandbox import DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, open_sandbox
from machidata.engine.types import kind_of

# DuckDB 2 writes Parquet (COPY) only from UTF-8 input; a BOM is skipped by the reader.
NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8"}
DEFAULT_FILE_SIZE = "256MB"  # Parquet files of a few hundred MB keep Delta file lists short

_DUCKDB_TYPE_FOR_KIND = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
    "other": "VARCHAR",
}
_LINE = re.compile(r"Line:\s*(\d+)")
_COLUMN = re.compile(r'column "([^"]+)"')


@dataclass(frozen=True, slots=True)
class StagedParquet:
    """The Parquet files written for one CSV, their total row count and their Arrow schema."""

    files: list[str]
    row_count: int
    schema: pa.Schema


def stage_csv_to_parquet(
    src: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    delimiter: str = ",",
    header: bool = True,
    quote: str = '"',
    encoding: str = "utf-8",
    all_varchar: bool = False,
    file_size: str = DEFAULT_FILE_SIZE,
    timeout_s: float = 3600,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> StagedParquet:
    """Read ``src`` with DuckDB's CSV reader and write Parquet files into the empty directory ``dst_dir``.

    ``columns`` maps names to types (Frictionless, Arrow or DuckDB names) by position: the file's
    header row, if any, is skipped and the given names are used. Without ``columns`` DuckDB detects
    names from the header and types from a sample (``all_varchar=True`` keeps every column as text
    for ingest's own Japanese-aware inference).
    """
    native = NATIVE_ENCODINGS.get(encoding.lower().replace("_", "-"))
    if native is None:
        raise EngineQueryError(
            f"文字コード「{encoding}」は高速読み込みに対応していません（UTF-8のみ）。通常の取り込みを使ってください。"
        )
    if len(delimiter) != 1 or len(quote) > 1:
        raise EngineQueryError("区切り文字と囲み文字は1文字で指定してください。")
    src_path, out = Path(src).resolve(), Path(dst_dir).resolve()
    if not src_path.is_file():
        raise EngineQueryError(f"ファイル「{src_path.name}」が見つかりません。")
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise EngineQueryError("書き出し先のフォルダが空ではありません。")
    # The dialect is pinned, not sniffed: left to itself the sniffer skips "leading" rows before
    # the widest row (a ragged file loses its first lines), drops lines starting with "#" as
    # comments, and may pick a backslash as the escape character (Windows paths in cells).
    # strict_mode is left to DuckDB's default: setting it explicitly made DuckDB 2.0.1 return zero
    # rows for a CRLF file with a multi-line cell (see test_round_trip_with_detected_types).
    if columns is not None and not columns:
        raise EngineQueryError("列を1つ以上指定してください。")
    given = None if columns is None else {n: _DUCKDB_TYPE_FOR_KIND[kind_of(t)] for n, t in columns.items()}
    # The sandbox reads only the source and writes only into the staging directory.
    with open_sandbox(
        [],
        threads=threads,
        memory_limit=memory_limit,
        timeout_s=timeout_s,
        read_paths=[str(src_path), str(out)],  # DuckDB checks the directory itself, too
        write_dirs=[str(out)],
    ) as sb:
        try:
            rel = sb.raw.read_csv(
                str(src_path),
                header=header,
                delimiter=delimiter,
                quotechar=quote,
                escapechar=quote,
                comment="",
                skiprows=0,
                encoding=native,
                columns=given,
                all_varchar=all_varchar and given is None,
            )
            rel.write_parquet(str(out), file_size_bytes=file_size, filename_pattern="part-{uuid}")
        except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException) as exc:
            _empty(out)
            raise EngineQueryError(_csv_error_message(str(exc))) from exc
        except BaseException:
            _empty(out)  # a timeout or a crash leaves no half-written staging files behind
            raise
    files = sorted(str(p) for p in out.glob("*.parquet"))
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    schema = pq.read_schema(files[0]) if files else pa.schema([])
    return StagedParquet(files=files, row_count=rows, schema=schema)


def _empty(directory: Path) -> None:
    """Remove what a failed write left in the (initially empty) staging directory."""
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _csv_error_message(detail: str) -> str:
    """A Japanese message naming the line and column DuckDB complained about, when it said so."""
    parts = []
    if m := _LINE.search(detail):
        parts.append(f"{m.group(1)}行目")
    if m := _COLUMN.search(detail):
        parts.append(f"列「{m.group(1)}」")
    where = "の".join(parts)
    return f"CSVを読み込めませんでした{'（' + where + '）' if where else ''}。列の数・型・区切り文字・文字コードを確認してください。"
