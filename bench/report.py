"""Writing a benchmark's generated block into ``docs/benchmarks.md``, between markers, leaving the rest alone."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(title: str, block: str, doc: Path = DOC) -> None:
    """Replace the block under ``## title`` (made on first use, at the end) with ``block``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    start, end = f"<!-- bench:{slug}:start -->", f"<!-- bench:{slug}:end -->"
    text = doc.read_text(encoding="utf-8")
    new = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + new + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n{new}\n"
    doc.write_text(text, encoding="utf-8")
