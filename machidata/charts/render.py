"""Server-side rendering of Vega-Lite specs with vl-convert: PNG, SVG and PDF, offline, in the shipped font.

The specs carry their data inline; ``allowed_base_urls=[]`` makes vl-convert refuse any URL, so a
render can never reach the network or the file system. The Japanese font (BIZ UDPゴシック, OFL)
ships in ``static/vendor/fonts/`` and is registered once per process before the first render, so
labels never turn into tofu on a fresh machine.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

import vl_convert as vlc

from machidata.charts.vendor import VL_VERSION

FONT_DIR: Final = Path(__file__).parent / "static" / "vendor" / "fonts"
FORMATS: Final[dict[str, tuple[str, str]]] = {
    "png": ("image/png", "png"),
    "svg": ("image/svg+xml", "svg"),
    "pdf": ("application/pdf", "pdf"),
}
_fonts_lock = threading.Lock()
_fonts_registered = False


def register_fonts() -> None:
    """Register the shipped fonts with vl-convert (once per process)."""
    global _fonts_registered  # noqa: PLW0603 - one process-wide flag guarded by the lock
    with _fonts_lock:
        if not _fonts_registered:
            vlc.register_font_directory(str(FONT_DIR))
            _fonts_registered = True


def render(spec: dict[str, Any], fmt: str, *, scale: float = 2.0) -> bytes:
    """Render a spec as PNG, SVG or PDF bytes (no URL allowed, Vega-Lite as on screen)."""
    register_fonts()
    common: dict[str, Any] = {"vl_version": VL_VERSION, "allowed_base_urls": []}
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(spec, scale=scale, **common))
    if fmt == "svg":
        return str(vlc.vegalite_to_svg(spec, **common)).encode("utf-8")
    if fmt == "pdf":
        return bytes(vlc.vegalite_to_pdf(spec, **common))
    raise ValueError(fmt)
