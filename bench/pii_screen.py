"""Measure the personal-data screen (machidata.ingest.screen) on hand-labelled columns.

Real columns come from ../shared/data/real (read here with csv / python-calamine directly, not through
machidata's readers), synthetic ones from the fixture. Prints precision and recall per kind and overall.
Run: ``.venv/bin/python bench/pii_screen.py`` (the labels: machidata/ingest/tests/fixtures/pii_labels.json).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from machidata.ingest.screen import KINDS, screen_column  # noqa: E402

LABELS = REPO / "machidata" / "ingest" / "tests" / "fixtures" / "pii_labels.json"
REAL = REPO.parent / "shared" / "data" / "real"
SAMPLE_ROWS = 10_000


def _csv_columns(path: Path) -> dict[str, list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp932")
    rows = list(csv.reader(io.StringIO(text)))
    header_at = 0
    for i, row in enumerate(rows):  # 高松市 files: '#'-metadata rows, the '#property' row names the columns
        if row and row[0] == "#property":
            header_at = i
    header = rows[header_at]
    data = [r for r in rows[header_at + 1 :] if r and not r[0].startswith("#")][:SAMPLE_ROWS]
    return {h: [r[i] if i < len(r) else "" for r in data] for i, h in enumerate(header)}


def _xlsx_columns(path: Path) -> dict[str, list[str]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out: dict[str, list[str]] = {}
    for name in wb.sheet_names:  # every sheet (the 新規 list has one per month) under the first header
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=True)
        header = [str(h) for h in rows[0]]
        for r in rows[1:]:
            if not any(str(v).strip() for v in r):
                continue
            for i, h in enumerate(header):
                v = r[i] if i < len(r) else ""
                out.setdefault(h, []).append(
                    "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                )
    return {h: v[:SAMPLE_ROWS] for h, v in out.items()}


def labelled_columns() -> list[tuple[str, str, list[str], set[str]]]:
    """(source, column, values, true kinds) for every labelled column whose data is present."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    cache: dict[str, dict[str, list[str]]] = {}
    out: list[tuple[str, str, list[str], set[str]]] = []
    if REAL.is_dir():
        for item in labels["real"]:
            path = REAL / item["file"]
            if item["file"] not in cache:
                cache[item["file"]] = _csv_columns(path) if path.suffix == ".csv" else _xlsx_columns(path)
            values = cache[item["file"]][item["column"]]  # KeyError = a label for a column that is not there
            out.append((item["file"], item["column"], values, set(item["kinds"])))
    for item in labels["synthetic"]:
        out.append(("synthetic", item["column"], item["values"], set(item["kinds"])))
    return out


def measure() -> dict[str, Any]:
    """Confusion counts per kind over the labelled columns, with precision and recall."""
    counts = {k: {"tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    mistakes: list[str] = []
    columns = labelled_columns()
    for source, column, values, truth in columns:
        got = {f.kind for f in screen_column(column, values)}
        for k in KINDS:
            if k in got and k in truth:
                counts[k]["tp"] += 1
            elif k in got:
                counts[k]["fp"] += 1
                mistakes.append(f"false positive {k}: {source} / {column}")
            elif k in truth:
                counts[k]["fn"] += 1
                mistakes.append(f"missed {k}: {source} / {column}")
    total = {key: sum(c[key] for c in counts.values()) for key in ("tp", "fp", "fn")}

    def pr(c: dict[str, int]) -> tuple[float, float]:
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        return p, r

    per_kind = {k: {**c, "precision": pr(c)[0], "recall": pr(c)[1]} for k, c in counts.items()}
    p, r = pr(total)
    return {"columns": len(columns), "real_columns": sum(1 for c in columns if c[0] != "synthetic"),
            "per_kind": per_kind, "total": {**total, "precision": p, "recall": r}, "mistakes": mistakes}  # fmt: skip


def main() -> None:
    """Print the table."""
    m = measure()
    print(f"labelled columns: {m['columns']} (real: {m['real_columns']})")
    print(f"{'kind':<12} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for k, c in [*m["per_kind"].items(), ("all", m["total"])]:
        print(f"{k:<12} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} {c['precision']:>10.3f} {c['recall']:>8.3f}")
    for line in m["mistakes"]:
        print(" ", line)


if __name__ == "__main__":
    main()
