"""Format detection: the override, else the file name's extension checked against the first bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

from machidata.core.errors import InvalidInput
from machidata.ingest.readers.base import FORMATS

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
    ".ods": "ods",
    ".json": "json",
    ".geojson": "geojson",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_LABELS = {
    "zip": "ZIP 形式（Excel の xlsx など）",
    "xls": "旧形式の Excel（xls）",
    "parquet": "Parquet",
    "pdf": "PDF",
    "image": "画像",
}


def _magic(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "image"
    return None


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "mimetype" in names and b"opendocument.spreadsheet" in zf.read("mimetype"):
                return "ods"
            if "xl/vbaProject.bin" in names:
                return "xlsm"
    except (zipfile.BadZipFile, OSError):
        return "xlsx"
    return "xlsx"


def detect_format(path: Path, override: str | None) -> str:
    """One of FORMATS; a mismatch between the name and the content (a renamed binary) is refused."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    magic = _magic(head)
    if override:
        fmt = override.lower().lstrip(".")
        if fmt not in FORMATS:
            raise InvalidInput(f"形式「{override}」には対応していません。対応形式: {', '.join(FORMATS)}")
    else:
        fmt = _EXTENSIONS.get(path.suffix.lower(), "")
        if not fmt:
            fmt = _from_content(path, head, magic)
    if fmt in ("csv", "tsv", "json", "geojson") and magic is not None:
        raise InvalidInput(
            f"「{path.name}」は{'CSV' if fmt in ('csv', 'tsv') else 'JSON'} ファイルとして読めません。"
            f"中身は{_LABELS[magic]}のようです（文字のファイルではありません）。"
        )
    if fmt == "json" and b"FeatureCollection" in head:
        fmt = "geojson"
    return fmt


def _from_content(path: Path, head: bytes, magic: str | None) -> str:
    if magic == "zip":
        return _zip_kind(path)
    if magic in ("xls", "parquet"):
        return magic
    if magic is not None:
        raise InvalidInput(f"「{path.name}」は表のファイルではないようです（{_LABELS[magic]}）。")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        return "geojson" if b"FeatureCollection" in head else "json"
    return "csv"
