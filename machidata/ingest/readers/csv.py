"""CSV/TSV: encoding, delimiter, metadata/title rows and header detected on a sample, the data streamed by pyarrow.

How a file is read:

* A sample of the start (1 MB, grown up to ``MAX_ROW_BYTES`` until it holds a whole record) is
  decoded and split into records with Python's ``csv`` module (quote-aware, so multi-line cells stay
  one record). On it: the delimiter (``csv.Sniffer`` restricted to ``, \\t ; |``, checked by how
  consistent the field counts are, else ","), leading ``#`` metadata rows (Takamatsu's
  ``#property`` row is used as the header when the first row after the ``#`` rows is data), and title
  and multi-row header rows found by :func:`machidata.ingest.block.detect_block` on the first 100
  records. Header cells are joined top to bottom with "_" (大項目_小項目) and line breaks inside a
  header cell are removed.
* The data after the header is parsed by ``pyarrow.csv.open_csv`` (multi-line quoted cells allowed,
  every column read as text, only the empty cell is null). UTF-8 files are handed to pyarrow
  directly; every other encoding goes through :class:`~machidata.ingest.readers.encoding.DecodingReader`,
  which decodes in 1 MB chunks, so memory stays bounded by pyarrow's 16 MB parse blocks.
* Ragged rows: a row with MORE fields than the header is refused with its record number; a row with
  FEWER fields is padded with None (reported in ``detection["padded_rows"]``). Padding needs the
  Python ``csv`` parser, so on the first short row the rest of the file is read by the slower
  Python path (the rows already delivered are not repeated).
* The end of the file: the last rows are held back while streaming; empty rows, 注/資料/出典 notes and
  合計/小計 rows at the very end are removed and reported (``notes``, ``totals``,
  ``total_rows_removed``). Totals in the middle of a CSV are left in the data.
* A single record larger than ``MAX_ROW_BYTES`` (16 MB) is refused with a message.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from machidata.core.errors import InvalidInput
from machidata.ingest.block import NOTE_PREFIX, TOTAL_WORDS, detect_block
from machidata.ingest.readers.base import (
    MAX_ROW_BYTES,
    PARSE_BLOCK_BYTES,
    SAMPLE_BYTES,
    ReadOptions,
    Source,
    check_columns,
    rebatch,
    string_schema,
    unique_names,
)
from machidata.ingest.readers.encoding import (
    MARKER,
    MAX_POSITIONS,
    DecodingReader,
    EncodingGuess,
    ProcessDecodingReader,
    Replacements,
    check_override,
    decode_sample,
    detect_encoding,
    has_fast_path,
    normalise_encoding,
)

DELIMITERS = (",", "\t", ";", "|")
BLOCK_RECORDS = 100  # records of the sample given to detect_block
TAIL_ROWS = 50  # rows held back at the end to find totals and notes
# From this size a non-UTF-8 file without the iconv fast path is decoded by a helper process (its own
# GIL, the other core); a smaller one in this process (starting the helper costs ~0.1 s).
PROCESS_DECODE_BYTES = 8 * 1024 * 1024
PROPERTY_HEADERS = ("#property",)

csv.field_size_limit(MAX_ROW_BYTES)


@dataclass
class _Record:
    start: int  # character offsets into the sample text
    end: int
    cells: list[str]


@dataclass
class _Plan:
    """Everything decided on the sample."""

    guess: EncodingGuess
    delimiter: str
    quotechar: str
    columns: list[str]
    data_chars: int  # decoded characters before the first data record
    data_bytes_utf8: int  # the same prefix as UTF-8 bytes (native path)
    records_before_data: int
    header_lines: int  # physical lines before the first data record (for line numbers in messages)
    has_data: bool
    detection: dict[str, Any] = field(default_factory=dict)


class _LineFeed:
    """Feeds csv.reader line by line and remembers how many characters it has taken."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.consumed = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += len(line)
        return line


def _split_records(text: str, delimiter: str, quotechar: str, limit: int | None = None) -> list[_Record]:
    feed = _LineFeed(text)
    reader = csv.reader(feed, delimiter=delimiter, quotechar=quotechar)
    out: list[_Record] = []
    start = 0
    try:
        for cells in reader:
            out.append(_Record(start, feed.consumed, cells))
            start = feed.consumed
            if limit is not None and len(out) >= limit:
                break
    except csv.Error as exc:
        raise InvalidInput(f"CSV として読めません（{len(out) + 1:,} 件目付近: {exc}）。") from exc
    return out


def _consistency(text: str, delimiter: str, quotechar: str) -> tuple[float, int]:
    """(share of records having the most common field count, that count) over the first records."""
    try:
        records = _split_records(text, delimiter, quotechar, limit=60)
    except InvalidInput:
        return 0.0, 0
    counts = Counter(len(r.cells) for r in records if r.cells and not r.cells[0].startswith("#"))
    if not counts:
        return 0.0, 0
    width, n = counts.most_common(1)[0]
    return n / sum(counts.values()), width


def _detect_delimiter(text: str) -> tuple[str, str, str]:
    """(delimiter, quotechar, how)."""
    body = text[:65_536]
    scored = {d: _consistency(body, d, '"') for d in DELIMITERS}
    try:
        dialect = csv.Sniffer().sniff(body, delimiters="".join(DELIMITERS))
        share, width = _consistency(body, dialect.delimiter, dialect.quotechar or '"')
        if width >= 2 and share >= 0.8:
            return dialect.delimiter, dialect.quotechar or '"', "sniffer"
    except csv.Error:
        pass
    # Fall back on the delimiter that splits the rows most consistently into the most fields.
    best = max(
        DELIMITERS, key=lambda d: (scored[d][1] >= 2 and scored[d][0] >= 0.8, scored[d][1] >= 2, scored[d])
    )
    if scored[best][1] >= 2:
        return best, '"', "consistency"
    return ",", '"', "default"


def _flatten(header: list[list[str]], width: int) -> tuple[list[str], list[str]]:
    """Names from several header rows: upper rows filled right across blanks, joined with "_"."""
    rows = [list(r) + [""] * (width - len(r)) for r in header]
    for level in range(len(rows) - 1):
        last = ""
        for c in range(width):
            if rows[level][c].strip():
                last = rows[level][c]
            else:
                rows[level][c] = last
    names, broken = [], []
    for c in range(width):
        parts: list[str] = []
        for r in rows:
            cell = r[c]
            if "\n" in cell or "\r" in cell:
                broken.append(cell)
            part = "".join(s.strip() for s in cell.splitlines()).strip()
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        names.append("_".join(parts))
    return unique_names(names), broken


def _first_row_is_data(rest: list[_Record]) -> bool:
    """The first record after the # rows is data (not a header) when it holds a value where the rows below do."""
    from machidata.ingest.block import _is_data_like  # the same test the block detection uses

    if not rest:
        return False
    first, body = rest[0].cells, [r.cells for r in rest[1:60] if r.cells]
    if not body:
        return any(_is_data_like(c) for c in first)
    for c, value in enumerate(first):
        column = [row[c] for row in body if c < len(row)]
        if column and sum(_is_data_like(v) for v in column) * 2 >= len(column) and _is_data_like(value):
            return True
    return False


def _modal_width(records: list[_Record]) -> int:
    counts = Counter(len(r.cells) for r in records if r.cells)
    return counts.most_common(1)[0][0] if counts else 0


def _plan(path: Path, options: ReadOptions, fmt: str, size: int) -> _Plan:
    warnings: list[str] = []
    want = SAMPLE_BYTES
    with path.open("rb") as fh:
        raw = fh.read(want)
    if options.encoding:
        codec = normalise_encoding(options.encoding)
        bom, warnings = check_override(path, raw, codec, at_eof=len(raw) >= size)
        guess = EncodingGuess(codec, 1.0, "override", bom)
    else:
        guess = detect_encoding(path, raw)
    delimiter = quotechar = how = ""
    while True:
        at_eof = len(raw) >= size
        try:
            text, _ = decode_sample(raw[guess.bom :], guess.codec, final=at_eof)
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"文字コード「{guess.name}」として読めない文字があります（{guess.bom + exc.start + 1:,} バイト目）。"
                "文字コードを指定してください。"
            ) from exc
        if text.startswith("\ufeff"):
            text = text[1:]
        if not delimiter:
            if options.delimiter:
                delimiter = "\t" if options.delimiter in ("\\t", "tab", "TAB") else options.delimiter
                quotechar, how = '"', "override"
            elif fmt == "tsv":
                delimiter, quotechar, how = "\t", '"', "extension"
            else:
                delimiter, quotechar, how = _detect_delimiter(text)
        records = _split_records(text, delimiter, quotechar, limit=None if at_eof else 2_000)
        if not at_eof and len(records) > 1:
            records = records[:-1]  # the last one may be cut by the end of the sample
            break
        if at_eof:
            break
        if want >= MAX_ROW_BYTES:
            raise InvalidInput(
                f"1 行（1 件）が大きすぎます（{MAX_ROW_BYTES // 1024 // 1024} MB を超えています）。"
                '改行のないファイルや、区切り文字・引用符（"）の対応が崩れたファイルではありませんか。'
            )
        want *= 2
        with path.open("rb") as fh:
            raw = fh.read(min(want, MAX_ROW_BYTES + 1))
    return _structure(records, text, guess, delimiter, quotechar, how, options, at_eof, warnings)


def _structure(  # noqa: PLR0917 - private; one call site passes what _plan found
    records: list[_Record],
    text: str,
    guess: EncodingGuess,
    delimiter: str,
    quotechar: str,
    how: str,
    options: ReadOptions,
    at_eof: bool,
    warnings: list[str],
) -> _Plan:
    if not any(any(c.strip() for c in r.cells) for r in records):
        raise InvalidInput("ファイルに表のデータがありません（空の行だけです）。")
    meta = 0
    while meta < len(records) and records[meta].cells and records[meta].cells[0].lstrip().startswith("#"):
        meta += 1
    metadata_rows = [",".join(_trim(r.cells)) for r in records[:meta]]
    title: list[str] = []
    header_from_meta: _Record | None = None
    if options.skip_rows is not None or options.header_row is not None:
        start = options.skip_rows if options.skip_rows is not None else max(0, (options.header_row or 1) - 1)
        if start >= len(records):
            raise InvalidInput(f"見出しの位置（{start + 1} 行目）がファイルの行数を超えています。")
        grid = [r.cells for r in records[start : start + BLOCK_RECORDS]]
        block = detect_block(grid, header_row=0)
        header_start, header_rows = start, max(1, block.header_rows)
        metadata_rows = [",".join(_trim(r.cells)) for r in records[:start]]
    else:
        rest = records[meta:]
        props = [r for r in records[:meta] if r.cells[0].strip().lower() in PROPERTY_HEADERS]
        if props and _first_row_is_data(rest):
            header_from_meta = props[0]
            header_start, header_rows = records.index(props[0]), 1
        else:
            grid = [r.cells for r in rest[:BLOCK_RECORDS]]
            block = detect_block(grid)
            if not block.columns:
                raise InvalidInput("表の見出し（列名）が見つかりません。")
            header_start, header_rows = meta + block.header_start, max(1, block.header_rows)
            title = block.title
    if header_from_meta is not None:
        header_cells = [["", *header_from_meta.cells[1:]]]
        data_index = meta
    else:
        header_cells = [r.cells for r in records[header_start : header_start + header_rows]]
        data_index = header_start + header_rows
    data_records = records[data_index:]
    header_width = max(len(_trim(cells)) for cells in header_cells)
    width = max(header_width, _modal_width(data_records))
    columns, broken = _flatten(header_cells, width)
    check_columns(columns)
    data_chars = records[data_index - 1].end if data_index > 0 else 0
    has_data = bool(data_records) or not at_eof
    detection: dict[str, Any] = {
        "format": "csv" if delimiter != "\t" else "tsv",
        "encoding": guess.name,
        "encoding_confidence": guess.confidence,
        "encoding_how": guess.how,
        "delimiter": delimiter,
        "delimiter_how": how,
        "quotechar": quotechar,
        "header_row": header_start + 1,
        "header_rows": header_rows,
        "data_start_row": header_start + 1 + header_rows,  # 1-based line of the first data row
        "title": title,
        "metadata_rows": metadata_rows,
        "header_line_breaks": broken,
        "notes": [],
        "totals": [],
        "total_rows_removed": 0,
        "padded_rows": [],
        "warnings": warnings,
    }
    return _Plan(
        guess=guess,
        delimiter=delimiter,
        quotechar=quotechar,
        columns=columns,
        data_chars=data_chars,
        data_bytes_utf8=len(text[:data_chars].encode("utf-8")),
        records_before_data=data_index,
        header_lines=text[:data_chars].count("\n"),
        has_data=has_data,
        detection=detection,
    )


def _trim(cells: list[str]) -> list[str]:
    out = list(cells)
    while out and not out[-1].strip():
        out.pop()
    return out


def read_csv(path: Path, options: ReadOptions, *, fmt: str, size: int) -> Source:
    """Detect the layout of a CSV/TSV file and stream its data rows."""
    plan = _plan(path, options, fmt, size)
    detection = plan.detection
    tracker = Replacements()
    batches = _stream(path, plan, options, tracker) if plan.has_data else iter(())
    return Source(
        format=detection["format"],
        columns=plan.columns,
        batches=_finish(batches, plan, tracker, options.batch_rows),
        detection=detection,
    )


def _open_stream(
    path: Path, plan: _Plan, tracker: Replacements
) -> tuple[DecodingReader | ProcessDecodingReader | None, BinaryIO | None, Any]:
    """The UTF-8 byte stream of the data rows: the file itself, or a decoder (in a helper process if large)."""
    if plan.guess.codec in ("utf_8", "utf_8_sig"):
        stream = pa.OSFile(str(path))
        stream.seek(plan.guess.bom + plan.data_bytes_utf8)
        return None, None, stream
    # A large file in a codec without the iconv fast path (EUC-JP; CP932 without glibc) is decoded on
    # the other core, not under our GIL; CP932 with iconv costs less CPU here (no pipe, no helper start).
    if path.stat().st_size >= PROCESS_DECODE_BYTES and not has_fast_path(plan.guess.codec):
        try:
            helper = ProcessDecodingReader(
                path,
                plan.guess.codec,
                start_offset=plan.guess.bom,
                skip_chars=plan.data_chars,
                tracker=tracker,
            )
        except OSError:  # no helper process possible here: decode in this process
            pass
        else:
            return helper, None, helper
    raw = path.open("rb")
    raw.seek(plan.guess.bom)
    reader: DecodingReader = DecodingReader(
        raw, plan.guess.codec, skip_chars=plan.data_chars, tracker=tracker
    )
    return reader, raw, reader


def _stream(path: Path, plan: _Plan, options: ReadOptions, tracker: Replacements) -> Iterator[pa.RecordBatch]:
    columns = plan.columns
    state: dict[str, Any] = {"short": False}

    def on_invalid(row: Any) -> str:
        # Both cases go to the Python parser: it pads short rows and names the line of a long one.
        state["short"] = True
        return "error"

    delivered = 0
    reader, raw, stream = _open_stream(path, plan, tracker)
    try:
        csv_reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(
                column_names=columns, block_size=PARSE_BLOCK_BYTES, use_threads=True
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=plan.delimiter,
                quote_char=plan.quotechar,
                newlines_in_values=True,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        for batch in csv_reader:
            delivered += batch.num_rows
            yield batch
    except (pa.ArrowInvalid, OSError, InvalidInput) as exc:
        if reader is not None and reader.error is not None:
            raise reader.error from exc
        if isinstance(exc, InvalidInput):
            raise
        if "straddling" in str(exc) or "block size" in str(exc):
            state["short"] = True  # a record larger than the parse block: the Python parser takes it
        if not state["short"]:
            raise InvalidInput(_arrow_message(str(exc), plan)) from exc
    finally:
        if raw is not None:
            raw.close()
        if isinstance(reader, ProcessDecodingReader):
            reader.close()
    if state["short"]:
        # The Python parser decodes the file again from its start: count the 外字 once, not twice.
        tracker.count, tracker.positions = 0, []
        yield from _python_rows(path, plan, options, tracker, skip=delivered)


def _long_row_message(plan: _Plan, line: int, actual: int, width: int) -> str:
    return (
        f"{plan.header_lines + line:,} 行目の項目数（{actual:,}）が見出しの列数（{width:,}）より多くなっています。"
        '区切り文字（,）や引用符（"）の対応を確認してください。'
    )


def _arrow_message(message: str, plan: _Plan | None) -> str:
    if "straddling" in message or "block size" in message:
        return (
            f"1 行（1 件）が大きすぎます（{MAX_ROW_BYTES // 1024 // 1024} MB を超えています）。"
            '改行のないファイルや、引用符（"）が閉じていないファイルではありませんか。'
        )
    if plan is not None and ("UTF8" in message or "UTF-8" in message):
        return (
            f"文字コード「{plan.guess.name}」として読めない文字がファイルの途中にあります。"
            "文字コード（cp932 など）を指定してください。"
        )
    return f"CSV として読めません（{message.splitlines()[0][:200]}）。"


def _python_rows(
    path: Path, plan: _Plan, options: ReadOptions, tracker: Replacements, *, skip: int
) -> Iterator[pa.RecordBatch]:
    """The slow path: Python's csv module, padding short rows with None."""
    width = len(plan.columns)
    schema = string_schema(plan.columns)
    padded: list[int] = plan.detection["padded_rows"]
    with path.open("rb") as raw:
        raw.seek(plan.guess.bom)
        codec = "utf_8" if plan.guess.codec == "utf_8_sig" else plan.guess.codec
        reader = DecodingReader(raw, codec, skip_chars=plan.data_chars, tracker=tracker)
        text = io.TextIOWrapper(io.BufferedReader(reader, 1024 * 1024), encoding="utf-8", newline="")
        rows = csv.reader(_bounded_lines(text), delimiter=plan.delimiter, quotechar=plan.quotechar)
        buf: list[list[str | None]] = []
        seen = 0
        try:
            for cells in rows:
                if not cells:
                    continue  # empty line, as pyarrow skips them
                seen += 1
                if seen <= skip:
                    continue
                if len(cells) > width:
                    raise InvalidInput(_long_row_message(plan, rows.line_num, len(cells), width))
                if len(cells) < width:
                    if len(padded) < MAX_POSITIONS:
                        padded.append(plan.header_lines + rows.line_num)
                    plan.detection["padded_rows_count"] = plan.detection.get("padded_rows_count", 0) + 1
                    cells = cells + [""] * (width - len(cells))  # noqa: PLW2901
                buf.append([c if c != "" else None for c in cells])
                if len(buf) >= options.batch_rows:
                    yield _to_batch(buf, schema)
                    buf = []
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise InvalidInput(_arrow_message("straddling", None)) from exc
            raise InvalidInput(f"CSV として読めません（{rows.line_num:,} 行目付近: {exc}）。") from exc
        if buf:
            yield _to_batch(buf, schema)


def _bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    """Lines of ``text``, refusing one longer than MAX_ROW_BYTES without reading it whole."""
    while line := text.readline(MAX_ROW_BYTES + 1):
        if len(line) > MAX_ROW_BYTES:
            raise InvalidInput(_arrow_message("straddling", None))
        yield line


def _to_batch(rows: list[list[str | None]], schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([r[i] for r in rows], pa.string()) for i in range(len(schema))], schema=schema
    )


def _finish(
    batches: Iterator[pa.RecordBatch], plan: _Plan, tracker: Replacements, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Rebatch, locate 外字 cells, hold back the tail to drop totals/notes, count rows."""
    detection = plan.detection
    cells: list[dict[str, Any]] = []
    rows_seen = 0
    held: list[pa.RecordBatch] = []
    held_rows = 0
    total = 0
    for batch in rebatch(batches, batch_rows):
        if tracker.count > len(cells) and len(cells) < MAX_POSITIONS:
            cells.extend(_marker_cells(batch, rows_seen, MAX_POSITIONS - len(cells)))
        rows_seen += batch.num_rows
        held.append(batch)
        held_rows += batch.num_rows
        while len(held) > 1 and held_rows - held[0].num_rows >= TAIL_ROWS:
            first = held.pop(0)
            held_rows -= first.num_rows
            total += first.num_rows
            yield first
    if held:
        table = pa.Table.from_batches(held)
        keep = _drop_tail(table, detection)
        for batch in table.slice(0, keep).to_batches(max_chunksize=batch_rows):
            total += batch.num_rows
            yield batch
    if tracker.count:
        entry = tracker.as_dict()
        entry["cells"] = cells
        detection["replaced_characters"] = entry
        detection["warnings"].append(
            f"読めない文字（外字など）が {tracker.count:,} 個あり、「{MARKER}」に置き換えました。"
        )
    detection["rows_total"] = total


def _marker_cells(batch: pa.RecordBatch, before: int, limit: int) -> list[dict[str, Any]]:
    found: list[tuple[int, int]] = []
    for c in range(batch.num_columns):
        mask = pc.match_substring(batch.column(c), MARKER)
        idx = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
        found.extend((i, c) for i in idx[:limit])
    found.sort()
    names = batch.schema.names
    return [{"row": before + i + 1, "column": names[c]} for i, c in found[:limit]]


def _drop_tail(table: pa.Table, detection: dict[str, Any]) -> int:
    """Rows of ``table`` to keep after removing trailing empty, note and total rows."""
    n = table.num_rows
    tail = table.slice(max(0, n - TAIL_ROWS)).to_pylist()
    names = table.column_names
    keep = n
    notes: list[str] = []
    totals: list[str] = []
    for row in reversed(tail):
        values = [row[k] for k in names]
        filled = [v for v in values if v is not None and v.strip()]
        if not filled:
            keep -= 1
            continue
        text = " ".join(v.strip() for v in filled)
        if len(filled) <= 2 and NOTE_PREFIX.match(filled[0]):
            notes.append(text)
        elif _is_total(values):
            totals.append(text)
        else:
            break
        keep -= 1
    detection["notes"] = list(reversed(notes))
    detection["totals"] = list(reversed(totals))
    detection["total_rows_removed"] = len(totals)
    return keep


def _is_total(values: list[str | None]) -> bool:
    import unicodedata

    for v in values[:3]:
        text = unicodedata.normalize("NFKC", v or "").replace(" ", "").strip()
        if text in TOTAL_WORDS or (text.endswith(("合計", "総計", "小計")) and len(text) <= 8):
            return True
    return False
