"""The browser's Vega code, written from vl-convert's own bundle so screen and exports share versions.

Run ``python -m machidata.charts.vendor`` after upgrading vl-convert-python; a test checks that the
vendored file was made by the installed version.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Final

import vl_convert as vlc

# Vega-Lite 5 (the spec version machidata writes); vl-convert bundles it with its Vega and vega-embed.
VL_VERSION: Final = "5.21"
BUNDLE_PATH: Final = Path(__file__).parent / "static" / "vendor" / "vega" / "vega-bundle.min.js"


def bundle_text() -> str:
    """vega-embed + Vega-Lite + Vega (with vega-interpreter, for a strict CSP) as one script setting window globals."""
    # The package's stub marks the optional snippet as required.
    return str(vlc.javascript_bundle(vl_version=f"v{VL_VERSION}"))  # type: ignore[call-arg]


def bundled_versions(text: str) -> tuple[str | None, str | None]:
    """The Vega and Vega-Lite versions written inside a bundle (for the version check)."""
    vega = re.search(r'const v\d+="(\d+\.\d+\.\d+)";const __d', text)
    vegalite = re.search(r'var x\d+="(\d+\.\d+\.\d+)";function', text)
    return (vega.group(1) if vega else None, vegalite.group(1) if vegalite else None)


def main() -> None:
    """Write the bundle under static/vendor/vega/."""
    BUNDLE_PATH.write_text(bundle_text(), encoding="utf-8")
    sys.stdout.write(f"wrote {BUNDLE_PATH} (Vega {vlc.get_vega_version()}, Vega-Lite {VL_VERSION})\n")


if __name__ == "__main__":
    main()
