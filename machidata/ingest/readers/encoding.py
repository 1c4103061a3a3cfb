"""Encoding detection from the file's start and streaming decoding to UTF-8 in constant memory.

Detection order on a sample (``SAMPLE_BYTES``, cut at a character boundary): byte-order marks
(UTF-8, UTF-16 LE/BE), NUL bytes (UTF-16 without BOM, else a binary file), strict UTF-8, strict CP932
(Shift_JIS is read as CP932, its superset), strict EUC-JP, CP932 / EUC-JP with a few undecodable
characters (外字), and charset-normalizer as the last resort. A sample that is pure ASCII is extended to
the first chunk of the file that is not, so a CP932 file whose first megabyte is ASCII is still found.

外字: bytes CP932 (or EUC-JP) cannot decode, and the user-defined area (CP932 0xF040–0xF9FC), which
Python decodes to private-use code points nobody else can read, become 〓 (U+3013, the geta mark).
They are counted and their first positions (byte offset and physical line) recorded by a
:class:`Replacements` tracker; the file is never refused for them. UTF-8 and UTF-16 are decoded
strictly: an invalid byte is refused with its offset and line.

:class:`DecodingReader` (in :mod:`machidata.ingest.decoding`, re-exported here) is a file-like object
that reads the source in 1 MB chunks, decodes them incrementally and hands out UTF-8 bytes to
``pyarrow.csv.open_csv``, so a CP932 file streams through with only a chunk and pyarrow's parse
blocks in memory; :class:`ProcessDecodingReader` runs it in a helper process for large files.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from machidata.core.errors import InvalidInput
from machidata.ingest.decoding import (
    _PUA,
    CHUNK_BYTES,
    ERROR_HANDLER,
    LEGACY,
    MARKER,
    MAX_POSITIONS,
    DecodingReader,
    ProcessDecodingReader,
    Replacements,
    _local,
    display_name,
    fix_pua,
    has_fast_path,
)
from machidata.ingest.readers.base import SAMPLE_BYTES

__all__ = [
    "CHUNK_BYTES",
    "ERROR_HANDLER",
    "LEGACY",
    "MARKER",
    "MAX_POSITIONS",
    "DecodingReader",
    "EncodingGuess",
    "ProcessDecodingReader",
    "Replacements",
    "check_override",
    "decode_sample",
    "detect_encoding",
    "display_name",
    "fix_pua",
    "has_fast_path",
    "normalise_encoding",
    "read_sample",
]

_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "s_jis": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "mskanji": "cp932",
    "ms_kanji": "cp932",
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def normalise_encoding(name: str) -> str:
    """Python's codec name for a user's encoding name (Shift_JIS → cp932); unknown names are refused."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        codec = codecs.lookup(key).name
    except LookupError as exc:
        raise InvalidInput(
            f"文字コード「{name}」には対応していません（utf-8, utf-8-sig, cp932, euc-jp, utf-16 のいずれか）。"
        ) from exc
    codec = codec.replace("-", "_")
    return {"shift_jis": "cp932", "ms932": "cp932", "shift_jisx0213": "cp932"}.get(codec, codec)


def decode_sample(data: bytes, codec: str, *, final: bool) -> tuple[str, Replacements]:
    """Decode ``data`` (a file prefix) with the codec's policy; raise UnicodeDecodeError if strict fails."""
    tracker = Replacements()
    errors = ERROR_HANDLER if codec in LEGACY else "strict"
    decoder = codecs.getincrementaldecoder(codec)(errors)
    _local.tracker = tracker
    try:
        text = decoder.decode(data, final)
    finally:
        _local.tracker = None
    if codec in LEGACY and _PUA.search(text):
        text = fix_pua(text, tracker)
    return text, tracker


@dataclass
class EncodingGuess:
    """The detected (or overridden) encoding and how sure we are."""

    codec: str  # Python codec name
    confidence: float
    how: str  # bom, utf-8, cp932, euc-jp, 外字, charset-normalizer, override, ascii
    bom: int = 0  # bytes of BOM to skip

    @property
    def name(self) -> str:
        """Display name."""
        return display_name(self.codec)


def _bom(sample: bytes) -> EncodingGuess | None:
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf_8_sig", 1.0, "bom", 3)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf_16", 1.0, "bom", 0)  # the utf_16 codec consumes the BOM itself
    return None


def _strict_ok(sample: bytes, codec: str) -> bool:
    try:
        codecs.getincrementaldecoder(codec)("strict").decode(sample, False)
    except UnicodeDecodeError:
        return False
    return True


def _binary_message(name: str) -> str:
    return (
        f"「{name}」は文字のファイル（CSV）として読めません。"
        "バイナリファイル（画像・Excel・圧縮ファイルなど）の拡張子を .csv に変えたものではありませんか。"
    )


def detect_encoding(path: Path, sample: bytes) -> EncodingGuess:
    """Guess the encoding of ``path`` from ``sample`` (its first bytes); refuse binary files."""
    guess = _bom(sample) or _guess(path, sample)
    if guess is None:
        raise InvalidInput(
            _binary_message(path.name) + "（UTF-8・Shift_JIS・EUC-JP のいずれでも読めませんでした）"
        )
    # Control characters mean a binary file even when some codec decodes it (CP932 maps 0xFD–0xFF).
    text = codecs.getincrementaldecoder(guess.codec)("replace").decode(sample[guess.bom :], False)
    if len(_CONTROL.findall(text)) * 100 > max(1, len(text)):
        raise InvalidInput(_binary_message(path.name))
    return guess


def _guess(path: Path, sample: bytes) -> EncodingGuess | None:  # noqa: PLR0911 - one return per detection step
    if b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = max(1, len(sample) // 2)
        # UTF-16 without BOM: the high bytes of ASCII characters are NUL, all on one side.
        for codec, hits, other in (("utf_16_le", odd, even), ("utf_16_be", even, odd)):
            if hits > 0.05 * half and hits > 20 * other and _strict_ok(sample[: len(sample) // 2 * 2], codec):
                return EncodingGuess(codec, 0.8, "nul-pattern")
        raise InvalidInput(_binary_message(path.name))
    if sample.isascii():
        sample = _first_non_ascii(path, sample)
        if sample.isascii():
            return EncodingGuess("utf_8", 1.0, "ascii")
    for codec in ("utf_8", "cp932", "euc_jp"):
        if _strict_ok(sample, codec):
            return EncodingGuess(codec, 0.99 if codec == "utf_8" else 0.9, display_name(codec))
    for codec in LEGACY:
        text, tracker = decode_sample(sample, codec, final=False)
        if tracker.count <= 3 or tracker.count * 200 <= len(text):
            return EncodingGuess(codec, 0.7, "外字")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
    except Exception:  # noqa: BLE001 - a detector failure only means "unknown"
        return None
    if best is None or not best.encoding:
        return None
    return EncodingGuess(
        normalise_encoding(best.encoding), round(1.0 - float(best.chaos), 2), "charset-normalizer"
    )


def _first_non_ascii(path: Path, sample: bytes) -> bytes:
    """The first chunk of the file holding a non-ASCII byte (or the sample when there is none)."""
    with path.open("rb") as fh:
        fh.seek(len(sample))
        prev = b""
        while chunk := fh.read(CHUNK_BYTES):
            if not chunk.isascii():
                # Start at a line boundary so a multibyte character is not cut in half.
                cut = (prev + chunk).rfind(b"\n", 0, len(prev) + 1)
                return (prev + chunk)[cut + 1 :]
            prev = chunk[-4096:]
    return sample


def check_override(path: Path, sample: bytes, codec: str, *, at_eof: bool) -> tuple[int, list[str]]:
    """Decode the sample with an encoding the user chose; refuse it with the byte offset and line if it fails.

    Returns the BOM length to skip and warnings.
    """
    warnings: list[str] = []
    bom = 0
    if codec in ("utf_8", "utf_8_sig") and sample.startswith(codecs.BOM_UTF8):
        bom = 3
    try:
        text, tracker = decode_sample(sample[bom:], codec, final=at_eof)
    except UnicodeDecodeError as exc:
        line = sample[: bom + exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"指定された文字コード「{display_name(codec)}」では読めません"
            f"（{bom + exc.start + 1:,} バイト目、{line:,} 行目）。文字コードの指定を確認してください。"
        ) from exc
    if codec in LEGACY and tracker.count > 3 and tracker.count * 200 > len(text):
        first = tracker.positions[0] if tracker.positions else {"line": 1}
        where = f"{first.get('byte_offset', 0) + 1:,} バイト目、" if "byte_offset" in first else ""
        raise InvalidInput(
            f"指定された文字コード「{display_name(codec)}」では読めません"
            f"（{where}{first['line']:,} 行目から、読めない文字が {tracker.count:,} 個あります）。"
            "文字コードの指定を確認してください。"
        )
    if codec in LEGACY and not sample.isascii() and _strict_ok(sample, "utf_8"):
        warnings.append(
            f"文字コードに {display_name(codec)} が指定されましたが、このファイルは UTF-8 として読めます。"
            "文字化けしていないか確認してください。"
        )
    return bom, warnings


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of ``path``."""
    with path.open("rb") as fh:
        return fh.read(size)
