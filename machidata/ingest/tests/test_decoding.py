"""The helper-process decoder gives exactly what the in-process decoder gives: bytes, 外字 report, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest import decoding
from machidata.ingest.decoding import DecodingReader, ProcessDecodingReader, Replacements
from machidata.ingest.readers import ReadOptions, read_source
from machidata.ingest.readers import csv as csv_reader

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"
GAIJI = b"\xf0\x40"  # CP932 user-defined area → private use → 〓
UNASSIGNED = b"\x85\x40"  # no character in CP932 → 〓


def _messy_cp932(rows: int) -> bytes:
    """Rows of Japanese text with 外字 of both kinds spread over many 1 MB chunks (and at chunk edges)."""
    out = bytearray("氏名,住所,金額\r\n".encode("cp932"))
    for i in range(rows):
        out += f"熊本太郎{i},熊本市中央区手取本町{i % 9}丁目,１，２３４円".encode("cp932")
        if i % 997 == 0:
            out += GAIJI
        if i % 1511 == 0:
            out += UNASSIGNED
        out += b"\r\n"
    return bytes(out)


def _in_process(path: Path, codec: str, **kwargs: int) -> tuple[bytes, Replacements]:
    tracker = Replacements()
    with path.open("rb") as raw:
        raw.seek(kwargs.pop("start_offset", 0))
        reader = DecodingReader(raw, codec, tracker=tracker, **kwargs)
        data = b"".join(iter(lambda: reader.read(1 << 20), b""))
    return data, tracker


def _helper(path: Path, codec: str, **kwargs: int) -> tuple[bytes, Replacements]:
    tracker = Replacements()
    reader = ProcessDecodingReader(path, codec, tracker=tracker, **kwargs)
    try:
        data = b"".join(iter(lambda: reader.read(777_777), b""))  # reads that do not align with chunks
    finally:
        reader.close()
    return data, tracker


@pytest.mark.parametrize("codec", ["cp932", "euc_jp"])
def test_helper_process_gives_the_same_bytes_and_report(tmp_path, codec):
    path = tmp_path / "messy.csv"
    path.write_bytes(_messy_cp932(60_000))  # ~3.6 MB: four chunks; as EUC-JP most bytes are 外字
    mine, theirs = _in_process(path, codec), _helper(path, codec)
    assert len(mine[0]) > 3_000_000
    assert theirs[0] == mine[0]
    assert theirs[1].as_dict() == mine[1].as_dict()
    assert mine[1].count > 100  # the report is not trivially empty


def test_helper_process_skips_and_starts_like_the_in_process_reader(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "見出し,二\n".encode() + "値,〓\n".encode() * 1000)
    kwargs = {"start_offset": 3, "skip_chars": 6}
    mine, theirs = _in_process(path, "utf_8", **kwargs), _helper(path, "utf_8", **kwargs)
    assert mine[0].startswith("値,〓\n".encode())  # the header line and its newline skipped
    assert theirs[0] == mine[0]


def test_helper_process_error_is_the_in_process_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a\nb\n" + "値\n".encode() * 300_000 + b"c\xff\n")
    with pytest.raises(InvalidInput) as mine:
        _in_process(path, "utf_8")
    reader = ProcessDecodingReader(path, "utf_8")
    with pytest.raises(InvalidInput) as theirs:
        b"".join(iter(lambda: reader.read(1 << 20), b""))
    reader.close()
    assert "として読めない文字があります" in mine.value.message
    assert theirs.value.message == mine.value.message
    assert reader.error is not None
    assert reader.error.message == mine.value.message


def test_closing_early_stops_the_helper(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(_messy_cp932(200_000))
    reader = ProcessDecodingReader(path, "cp932")
    assert reader.read(1000)
    reader.close()
    assert reader._proc.poll() is not None  # not left running
    assert reader.closed


def _read_both(path: Path, monkeypatch, options: ReadOptions | None = None) -> tuple[tuple, tuple]:
    def read(limit: int) -> tuple[pa.Table, dict]:
        monkeypatch.setattr(csv_reader, "PROCESS_DECODE_BYTES", limit)
        # limit 0: the helper, also for CP932 (which has the in-process iconv fast path)
        monkeypatch.setattr(
            csv_reader, "has_fast_path", lambda codec: limit and decoding.has_fast_path(codec)
        )
        source = read_source(path, options)
        return pa.Table.from_batches(list(source.batches), schema=source.schema), source.detection

    return read(1 << 62), read(0)


def test_read_source_through_the_helper_equals_in_process_on_messy_cp932(tmp_path, monkeypatch):
    path = tmp_path / "messy.csv"
    path.write_bytes(_messy_cp932(30_000))
    (table, det), (table_p, det_p) = _read_both(path, monkeypatch)
    assert det["encoding"] == "cp932"
    assert table_p.equals(table)
    assert det_p == det
    replaced = det["replaced_characters"]
    assert replaced["count"] == 30_000 // 997 + 1 + 30_000 // 1511 + 1
    assert replaced["cells"][0] == {"row": 1, "column": "金額"}
    assert len(replaced["positions"]) == 20


def test_short_rows_after_the_helper_count_each_gaiji_once(tmp_path, monkeypatch):
    rows = [f"熊本{i},{i},x" for i in range(5000)] + ["短い,1"] + [f"熊本{i},{i},y" for i in range(5000)]
    data = "a,b,c\n".encode("cp932") + GAIJI + ("\n".join(rows) + "\n").encode("cp932")
    path = tmp_path / "short.csv"
    path.write_bytes(data)
    (table, det), (table_p, det_p) = _read_both(path, monkeypatch, ReadOptions(batch_rows=512))
    assert table.num_rows == 10_001
    assert table_p.equals(table)
    assert det["padded_rows"] == [5002]
    assert det["replaced_characters"]["count"] == 1  # the Python parser read the file again: not 2
    assert det_p == det


@pytest.mark.parametrize("name", ["350001_yamaguchi_tourism.csv", "372013_takamatsu_population_by_town_age_202303.csv",
                                  "431001_kumamoto_inshokuten_eigyo_kyoka.csv", "372013_takamatsu_evacuation_space.csv",
                                  "011002_sapporo_public_facility.csv"])  # fmt: skip
def test_real_files_read_the_same_through_the_helper(name, monkeypatch):
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real test file missing: {path}")
    (table, det), (table_p, det_p) = _read_both(path, monkeypatch)
    assert table.num_rows > 0
    assert table_p.equals(table)
    assert det_p == det


def test_helper_imports_neither_pyarrow_nor_django():
    """The helper must start fast (it is on the way to the first batch): only the standard library."""
    root = Path(__file__).resolve().parents[3]
    code = "import sys, machidata.ingest.decoding; print(sorted({'pyarrow', 'django'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_a_helper_process_the_file_is_decoded_in_process(tmp_path, monkeypatch):
    path = tmp_path / "messy.csv"
    path.write_bytes(_messy_cp932(2000))

    class NoProcess(ProcessDecodingReader):
        def __init__(self, *args, **kwargs):
            raise OSError("no fork here")

    (table, det), _ = _read_both(path, monkeypatch)
    monkeypatch.setattr(csv_reader, "ProcessDecodingReader", NoProcess)
    monkeypatch.setattr(csv_reader, "PROCESS_DECODE_BYTES", 0)
    monkeypatch.setattr(csv_reader, "has_fast_path", lambda codec: False)
    source = read_source(path)
    assert pa.Table.from_batches(list(source.batches), schema=source.schema).equals(table)
    assert source.detection == det


def test_large_cp932_file_is_decoded_in_process_by_iconv_and_euc_jp_by_the_helper(tmp_path, monkeypatch):
    started = []

    class Spy(ProcessDecodingReader):
        def __init__(self, *args, **kwargs):
            started.append(args[1])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(csv_reader, "ProcessDecodingReader", Spy)
    monkeypatch.setattr(csv_reader, "PROCESS_DECODE_BYTES", 0)
    for codec in ("cp932", "euc_jp"):
        path = tmp_path / f"{codec}.csv"
        path.write_bytes("氏名,金額\n".encode(codec) + "熊本,１２３\n".encode(codec) * 2000)
        source = read_source(path, ReadOptions(encoding=codec))
        assert sum(b.num_rows for b in source.batches) == 2000
    assert started == (["euc_jp"] if decoding.has_fast_path("cp932") else ["cp932", "euc_jp"])
