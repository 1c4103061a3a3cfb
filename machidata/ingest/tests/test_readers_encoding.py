"""Encoding detection, 外字 replacement and the streaming decoder."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest.readers import read_source
from machidata.ingest.readers.encoding import DecodingReader, normalise_encoding

GAIJI = b"\xf0\x40"  # the first code of CP932's user-defined area (外字)


def test_gaiji_replaced_with_geta_and_positions_reported(tmp_path):
    data = (
        "氏名,住所\r\n".encode("cp932")
        + "山田太郎,熊本市\r\n".encode("cp932")
        + "栃".encode("cp932")
        + GAIJI
        + "木,中央区\r\n".encode("cp932")
        + b"\x85\x40,"  # an unassigned double-byte code
        + "東区\r\n".encode("cp932")
    )
    path = tmp_path / "gaiji.csv"
    path.write_bytes(data)
    source = read_source(path)
    table = pa.Table.from_batches(list(source.batches))
    assert source.detection["encoding"] == "cp932"
    assert table.column("氏名").to_pylist() == ["山田太郎", "栃〓木", "〓"]
    replaced = source.detection["replaced_characters"]
    assert replaced["count"] == 2
    assert replaced["marker"] == "〓"
    assert replaced["cells"] == [{"row": 2, "column": "氏名"}, {"row": 3, "column": "氏名"}]
    assert [p["line"] for p in replaced["positions"]] == [3, 4]
    assert any("〓" in w for w in source.detection["warnings"])


def test_decoding_reader_streams_cp932_in_small_chunks():
    text = "熊本市中央区手取本町１－１,〓\n" * 10_000
    raw = io.BytesIO(text.encode("cp932") + GAIJI)
    reader = DecodingReader(raw, "cp932", chunk_bytes=1000)  # chunks split multibyte characters
    out = b"".join(iter(lambda: reader.read(777), b""))
    assert out.decode("utf-8") == text + "〓"
    assert reader.tracker.count == 1
    assert reader.tracker.positions[0]["line"] == 10_001


def test_decoding_reader_strict_utf8_error_names_offset_and_line():
    raw = io.BytesIO(b"a\nb\nc\xff\n")
    reader = DecodingReader(raw, "utf_8")
    with pytest.raises(InvalidInput, match=r"「utf-8」として読めない文字があります（6 バイト目、3 行目）"):
        reader.read()


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("Shift_JIS", "cp932"),
        ("sjis", "cp932"),
        ("UTF-8", "utf_8"),
        ("utf-8-sig", "utf_8_sig"),
        ("EUC-JP", "euc_jp"),
    ],
)
def test_normalise_encoding(name, codec):
    assert normalise_encoding(name) == codec


def test_shift_jis_file_read_as_cp932_superset(tmp_path):
    path = tmp_path / "nec.csv"
    path.write_bytes("番号,記号\n1,①\n2,ⅰ\n3,髙\n".encode("cp932"))  # NEC/IBM extensions Shift_JIS lacks
    table = pa.Table.from_batches(list(read_source(path).batches))
    assert table.column("記号").to_pylist() == ["①", "ⅰ", "髙"]


def test_control_characters_binary_refused(tmp_path):
    path = Path(tmp_path / "ctl.csv")
    path.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x0E, 0x0F, 0xFF, 0xFE, 0xFD]) * 500)
    with pytest.raises(InvalidInput, match="文字のファイル（CSV）として読めません"):
        read_source(path)
