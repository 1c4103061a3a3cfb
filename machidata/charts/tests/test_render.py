"""Server rendering: Japanese glyphs (not tofu) from the shipped font, no URLs, vendored bundle = vl-convert's."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
import vl_convert as vlc

from machidata.charts import render as render_mod
from machidata.charts.render import render
from machidata.charts.vegalite import FONT
from machidata.charts.vendor import BUNDLE_PATH, VL_VERSION, bundled_versions


def _gray(png: bytes) -> list[list[int]]:
    """Decode an 8-bit RGB(A) PNG into rows of grey levels (a small reader, to avoid a Pillow dependency)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8
            assert colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride, prev, rows = zlib.decompress(idat), width * channels, bytearray(width * channels), []
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        px = [line[i : i + channels] for i in range(0, stride, channels)]
        # composite on white: transparent background counts as white
        rows.append([255 - (255 - sum(p[:3]) // 3) * (p[3] if channels == 4 else 255) // 255 for p in px])
    return rows


def _text_png(text: str, font: str = FONT) -> list[list[int]]:
    spec: dict[str, Any] = {
        "data": {"values": [{"t": text}]},
        "mark": {"type": "text", "fontSize": 48, "font": font},
        "encoding": {"text": {"field": "t"}},
        "width": 160,
        "height": 80,
        "config": {"view": {"stroke": None}},
    }
    return _gray(render(spec, "png", scale=1))


def _ink(img: list[list[int]]) -> int:
    return sum(1 for row in img for p in row if p < 128)


def test_japanese_labels_are_glyphs_not_tofu() -> None:
    # Tofu boxes look the same for every missing character, so swapping two characters changes
    # nothing; real glyphs differ. Private-use characters have no glyph in any font: the tofu baseline.
    kumamoto, motokuma = _text_png("熊本"), _text_png("本熊")
    tofu_a, tofu_b = _text_png("\ue000\ue001"), _text_png("\ue001\ue000")
    assert tofu_a == tofu_b  # tofu cannot tell characters apart
    assert _ink(kumamoto) > 200
    assert kumamoto != motokuma
    assert kumamoto != tofu_a


def test_the_shipped_font_is_registered_before_the_first_render(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(render_mod, "_fonts_registered", False)
    monkeypatch.setattr(vlc, "register_font_directory", seen.append)
    _text_png("熊本")
    assert seen == [str(render_mod.FONT_DIR)]
    assert (render_mod.FONT_DIR / "BIZUDPGothic-Regular.ttf").stat().st_size > 1_000_000


def test_external_urls_are_refused() -> None:
    spec = {"data": {"url": "https://example.com/secret.csv"}, "mark": "bar"}
    with pytest.raises(ValueError, match="not allowed"):
        render(spec, "svg")


@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<svg")])
def test_formats(fmt: str, magic: bytes) -> None:
    spec = {"data": {"values": [{"区": "中央区", "件数": 3}]}, "mark": "bar",
            "encoding": {"x": {"field": "区", "type": "nominal"}, "y": {"field": "件数", "type": "quantitative"}}}  # fmt: skip
    assert render(spec, fmt).startswith(magic)


def test_vendored_bundle_is_the_installed_vl_convert_bundle() -> None:
    vega, vegalite = bundled_versions(BUNDLE_PATH.read_text(encoding="utf-8"))
    assert vega == vlc.get_vega_version()
    assert vegalite is not None
    assert vegalite.startswith(VL_VERSION + ".")
    assert "expressionInterpreter" in BUNDLE_PATH.read_text(encoding="utf-8")  # ast mode for a strict CSP
