"""The iconv fast path for CP932 gives exactly what Python's codec gives: bytes, 外字 count and positions, errors."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from machidata.ingest import decoding
from machidata.ingest.decoding import DecodingReader, Replacements

pytestmark = pytest.mark.skipif(not decoding.has_fast_path("cp932"), reason="no glibc iconv with CP932 here")

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"
_PUA = re.compile("[\ue000-\uf8ff]")
LEADS = [*range(0x81, 0xA0), *range(0xE0, 0xFD)]


def _all_sequences() -> list[bytes]:
    return [bytes([b]) for b in range(256)] + [bytes([lead, t]) for lead in LEADS for t in range(256)]


def _python(data: bytes) -> str | None:
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        return None


def test_glibc_table_is_pythons_on_every_sequence_it_accepts():
    fast = decoding._Iconv()
    refused = []
    for seq in _all_sequences():
        theirs, mine = fast.convert(seq), _python(seq)
        if theirs is None:
            refused.append(seq)
            continue
        out, left = theirs
        if left:  # a lead byte alone: cut, as Python's incremental decoder keeps it
            assert (seq, out) == (seq, b"")
            assert mine is None
            continue
        assert (seq, out.decode("utf-8")) == (seq, mine)
    # What glibc refuses and Python decodes: only 0x80 and the bytes Python maps to private use.
    decoded_by_python = [s for s in refused if _python(s) is not None]
    assert decoded_by_python == [b"\x80", b"\xa0", b"\xfd", b"\xfe", b"\xff"]


def test_private_use_on_the_fast_path_always_has_the_byte_0xee():
    fast = decoding._Iconv()
    for seq in _all_sequences():
        theirs = fast.convert(seq)
        if theirs is None or theirs[1]:
            continue
        text = theirs[0].decode("utf-8")
        assert decoding._has_private_use(theirs[0]) == bool(_PUA.search(text)), seq


def _file(rows: int, seed: int, gaiji_share: float) -> bytes:
    """Japanese rows with half-width kana and, in some rows, every kind of 外字 glibc or Python treats apart."""
    rng = random.Random(seed)
    out = bytearray("氏名,住所,金額\r\n".encode("cp932"))
    oddities = [b"\xf0\x40", b"\xf9\xfc", b"\x85\x40", b"\xa0", b"\xfd", b"\x80", b"\x81\x0a"]
    for i in range(rows):
        out += f"熊本ﾀﾛｳ{i},熊本市中央区手取本町{i % 9}丁目,１，２３４円".encode("cp932")
        if rng.random() < gaiji_share:
            out += rng.choice(oddities)
        out += b"\r\n"
    return bytes(out)


def _decode(data: bytes, *, fast: bool, chunk: int, skip: int = 0) -> tuple[bytes, dict, int]:
    import io

    reader = DecodingReader(
        io.BytesIO(data), "cp932", chunk_bytes=chunk, skip_chars=skip, tracker=Replacements()
    )
    if not fast:
        reader._fast = None
    out = b"".join(iter(lambda: reader.read(100_003), b""))
    return out, reader.tracker.as_dict(), reader.fast_chunks


@pytest.mark.parametrize("share", [0.0, 0.0005, 0.02])
@pytest.mark.parametrize("chunk", [997, 65_536, 1 << 20])
def test_fast_path_equals_python_codec(share, chunk):
    data = _file(40_000, seed=int(share * 1e4) + chunk, gaiji_share=share)
    mine, theirs = _decode(data, fast=True, chunk=chunk), _decode(data, fast=False, chunk=chunk)
    assert mine[0] == theirs[0]
    assert mine[1] == theirs[1]
    assert theirs[2] == 0
    if share == 0.0:
        assert mine[1]["count"] == 0
        assert mine[2] > 0  # the fast path really ran
    else:
        assert mine[1]["count"] > 0
        assert len(mine[1]["positions"]) == min(20, mine[1]["count"])


def test_fast_path_skips_header_characters_and_keeps_a_cut_last_character():
    data = _file(5000, seed=3, gaiji_share=0.0) + b"\x82"  # a lead byte with no trail at the very end
    for skip in (0, 9, 15):
        mine, theirs = (
            _decode(data, fast=True, chunk=4096, skip=skip),
            _decode(data, fast=False, chunk=4096, skip=skip),
        )
        assert mine[:2] == theirs[:2]
        assert mine[0].endswith("〓".encode())
        assert mine[1]["count"] == 1


def test_real_cp932_file_decodes_the_same():
    path = REAL / "350001_yamaguchi_tourism.csv"  # the real CP932 file of ../shared/data/real
    if not path.exists():
        pytest.skip(f"real test file missing: {path}")
    data = path.read_bytes()
    mine, theirs = _decode(data, fast=True, chunk=65_536), _decode(data, fast=False, chunk=65_536)
    assert mine[:2] == theirs[:2]
    assert mine[2] > 0
    assert mine[0].decode("utf-8") == data.decode("cp932")
