"""Regenerate the figure of docs/guide/ebpm.md: the demo's logic model as the server draws it (SVG → PNG).

    MACHIDATA_HOME=/tmp/guide-home DJANGO_SETTINGS_MODULE=machidata.config.settings \\
        .venv/bin/python docs/guide/ebpm_figures.py     # writes docs/guide/img/ebpm-logic-model.png

No server or browser is needed: the SVG comes from ``machidata.ebpm.svg.render`` and vl-convert turns it
into a PNG with the shipped font. The screenshots of the pages come from the browser walk:
``MACHIDATA_GUIDE_SHOTS=1 pytest -m browser tests/browser/test_ebpm_walk.py``.
"""

from __future__ import annotations

from pathlib import Path

import django

django.setup()

import vl_convert as vlc  # noqa: E402 - after django.setup(): the demo module imports models

from machidata.ebpm.demo import AMBULANCE_MODEL  # noqa: E402
from machidata.ebpm.logic import validate  # noqa: E402
from machidata.ebpm.svg import FONT_FILE, render  # noqa: E402

OUT = Path(__file__).resolve().parent / "img" / "ebpm-logic-model.png"


def main() -> None:
    """Draw the 救急 demo model with its two indicators and write the PNG."""
    svg = render(
        validate(AMBULANCE_MODEL),
        indicators={"n2": ["出前講座の開催回数"], "n5": ["救急出動件数（年度別）"]},
        title="ロジックモデル: 救急車の適正利用啓発事業",
    )
    vlc.register_font_directory(str(FONT_FILE.parent))
    OUT.write_bytes(vlc.svg_to_png(svg, scale=1.0))
    print(OUT)  # noqa: T201 - a command-line script says what it wrote


if __name__ == "__main__":
    main()
