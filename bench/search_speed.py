"""Search speed: p50/p95 of search-with-絞り込み over a generated 100,000-entry catalog, and the build time.

``python -m bench search-speed [--entries N] [--queries N]``. The catalog is generated from the
templates of :mod:`bench.search_catalog` (realistic Japanese titles and descriptions with the
orthographic variants real catalogs have), sampled with replacement and a fixed seed. Each timed
query does what the catalog page does against the index for a member of staff: the access filter
(公開・庁内・所属限定 subjects, the own 課's entries, a few granted entries), ranking, the page's hits
with highlighted snippets, the 絞り込み counts of every group, the counts of a group that has a
selection without its own selection, and the count of retired entries (since 2026-11-26 all in one
``search(..., exclusive_counts=True)`` call, as ``catalog_search`` makes it). One process, one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.search_catalog import CLASSIFICATIONS, FORMATS, LICENCES, TEMPLATES, WARDS, _year_label
from bench.search_quality import JUDGEMENTS, _department, _vocab

SEED = 20261127
EXTRA_SENTENCES = [
    "毎年度末に更新します。",
    "地区別・年齢別の内訳があります。",
    "個人が特定される値は秘匿しています。",
    "前年度との比較ができるよう、同じ様式で作成しています。",
    "集計方法は令和元年度に見直しました。",
    "詳しくは所管課にお問い合わせください。",
    "国の調査の様式に合わせて作成しています。",
    "速報値を含みます。確定値は翌年度に公表します。",
    "庁内の業務システムから毎月抽出しています。",
    "地図で表示できるよう座標を付けています。",
]
FACET_GROUPS = ("department", "category", "classification", "format", "licence")


def generate_large(n: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``n`` catalog entries sampled from the templates (deterministic for a seed)."""
    rng = random.Random(seed)
    v = _vocab()
    base = datetime(2000, 4, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        t = rng.choice(TEMPLATES)
        ward = rng.choice(WARDS) if t.wards and rng.random() < 0.7 else None
        owner = (ward[2] if t.ward_unit == "fukushi" else ward[1]) if ward else t.owner
        year = rng.randrange(2000, 2025)
        axis = rng.choice(t.axes)
        name = rng.choice(t.titles)
        label = _year_label(max(year, 2015), rng.randrange(4)) if year >= 2015 else f"{year}年度"
        prefix = f"{ward[0]} " if ward else rng.choice(["", "", "熊本市 "])
        description = f"{ward[0] if ward else '市全体'}の{name}を{axis}に集計したもの（{label}）。{t.note}"
        description += "".join(rng.sample(EXTRA_SENTENCES, k=rng.randint(1, 3)))
        classification = rng.choice(CLASSIFICATIONS)
        out.append(
            {
                "identifier": f"s-{i:06d}",
                "title": f"{prefix}{name}（{axis}・{label}）",
                "description": description,
                "keywords": list(t.keywords),
                "owner": owner,
                "department": _department(owner, v["units"]),
                "category_code": t.category,
                "category": v["categories"].get(t.category, ""),
                "classification": classification,
                "licence": rng.choice(LICENCES["public" if classification == "public" else "other"]),
                "formats": sorted(set(rng.sample(FORMATS[:3], k=rng.randint(1, 2)))),
                "columns": list(t.columns),
                "other": [f"熊本市{ward[0]}" if ward else "熊本市", ward[3] if ward else "431001"],
                "retired": rng.random() < 0.03,
                "updated_at": base + timedelta(days=rng.randrange(9000), minutes=rng.randrange(1440)),
            }
        )
    return out


def _documents(entries: list[dict[str, Any]]) -> list[Any]:
    from machidata.search.index import SearchDocument

    return [
        SearchDocument(
            identifier=str(i),
            title=e["title"],
            description=e["description"],
            keywords=e["keywords"],
            category=e["category"],
            department=e["department"],
            columns=e["columns"],
            other=e["other"],
            facets={
                "department": [e["owner"]],
                "category": [e["category_code"]],
                "classification": [e["classification"]],
                "format": e["formats"],
                "licence": [e["licence"]],
                "state": ["retired" if e["retired"] else "live"],
            },
            # The same acl terms as machidata.search.documents (no personal data, not discoverable).
            acl=[f"subject:{e['classification']}:none:0", f"owner:{e['owner']}"],
            updated_at=e["updated_at"],
        )
        for i, e in enumerate(entries)
    ]


def _queries(
    n: int, entries: list[dict[str, Any]], seed: int = SEED
) -> list[tuple[str, dict[str, list[str]]]]:
    """The judged set's queries, then words from the templates, some with a 絞り込み selection."""
    rng = random.Random(seed + 1)
    judged = [q["query"] for q in json.loads(JUDGEMENTS.read_text(encoding="utf-8"))["queries"]]
    words = judged + [w for t in TEMPLATES for w in (*t.keywords, t.titles[0])]
    words += [f"{w[0]} {rng.choice(t.keywords)}" for w in WARDS for t in rng.sample(TEMPLATES, 3)]
    out = []
    for i in range(n):
        q = words[i] if i < len(judged) else rng.choice(words)
        filters: dict[str, list[str]] = {}
        if i % 4 == 3:  # a quarter of the searches have a 分野 chosen, as after one click
            filters["category"] = [rng.choice(entries)["category_code"]]
        out.append((q, filters))
    return out


def page_search(index: Any, q: str, filters: dict[str, list[str]], allow: dict[str, Any]) -> Any:
    """What catalog_search asks the index for one page: hits, total, every 絞り込み count (a chosen
    group counted without its own selection) and the retired count, in one call."""
    from machidata.search.query import search

    return search(
        index,
        q,
        filters={**filters, "state": ["live"]},
        facets=(*FACET_GROUPS, "state"),
        exclusive_counts=True,
        **allow,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the index, time the queries, print and return the figures."""
    from machidata.search.index import build_index

    ap = argparse.ArgumentParser(prog="python -m bench search-speed", description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    # The machine may be shared: the load average says how much the figures owe to other work.
    load_start = os.getloadavg()[0]
    entries = generate_large(args.entries)
    docs = _documents(entries)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        index = build_index(Path(tmp) / "index", docs)
        build = time.perf_counter() - t0
        # A member of staff of one 課: 公開・庁内・所属限定 subjects, the own 課's entries, 20 grants.
        allow = {
            "allowed_terms": [f"subject:{c}:none:0" for c in ("public", "internal", "restricted")]
            + ["owner:70101000"],
            "allowed_ids": [str(i) for i in range(0, args.entries, max(1, args.entries // 20))],
        }
        queries = _queries(args.queries, entries)
        page_search(index, "人口", {}, allow)  # warm up: dictionary and caches, as a running server has
        times, cpu, totals = [], [], []
        for q, f in queries:
            t = time.perf_counter()
            c = time.thread_time()
            res = page_search(index, q, f, allow)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            totals.append(res.total)
    times.sort()
    cpu.sort()
    figures = {
        "entries": args.entries,
        "queries": len(queries),
        "build_seconds": round(build, 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        # CPU time of the searching thread: what the figures would be without other work on the machine.
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1),
        "zero_result_queries": sum(1 for n in totals if n == 0),
        "load_average_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "cpu_cores": os.cpu_count(),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
