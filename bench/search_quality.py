"""Search quality (issue 4): nDCG@10 and recall@10 of machidata and three baselines on the judged set.

    python -m bench.search_quality [--json out.json] [--per-query]

The judged set (``bench/search_judgements.json``) was written and frozen before any tuning; it
covers the demo catalog (machidata/demo/content.py) plus the generated catalog
(``bench/search_catalog.py``, checked against the fingerprint recorded in the judged set).
Systems, all over the same documents and the same searched fields:

* ``machidata``: :mod:`machidata.search` (tantivy, Sudachi normalisation, bigrams, readings, synonyms);
* ``like``: SQL ``LIKE '%q%'`` over the fields, newest first (sqlite3 in memory);
* ``fts5-trigram``: SQLite FTS5 with the trigram tokenizer, bm25 with the same field weights;
* ``bigram-bm25``: a plain character-bigram BM25 (one field, no Japanese normalisation).

Metrics: nDCG@10 with gain 2^grade − 1; recall@10 = |relevant ∩ top 10| / min(10, |relevant|) where
relevant means grade ≥ 1. Latency: p50/p95 of machidata's search with 絞り込み counts and an access
filter over the judged queries, and the index build time (the 100k-entry speed benchmark is
``bench/search_speed.py``, next).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sqlite3
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.search_catalog import DEMO_CONCEPTS, catalog_sha256, generate, searchable

JUDGEMENTS = Path(__file__).with_name("search_judgements.json")
K = 10
SEARCHED = ("title", "keywords", "category", "department", "description", "columns", "other")
WEIGHTS = {
    "title": 5.0,
    "keywords": 3.0,
    "category": 2.0,
    "department": 2.0,
    "description": 1.0,
    "columns": 0.8,
    "other": 0.5,
}


# ---- the documents ------------------------------------------------------------------------------------


def _vocab() -> dict[str, Any]:
    from machidata.demo import content

    units = {code: (name, parent) for code, name, _kind, parent in content.UNITS}
    return {
        "units": units,
        "categories": dict(content.CATEGORIES),
        "licences": {c: n for c, n, _u, _o in content.LICENCES},
        "formats": dict(content.FORMATS),
        "locations": {
            "machidata": "まちデータ（本システム）",
            "file_share": "共有フォルダ",
            "business_system": "業務システム",
            "external_url": "外部サイト",
            "paper": "紙",
        },
    }


def _department(code: str, units: dict[str, tuple[str, str | None]]) -> list[str]:
    out = []
    cur: str | None = code
    while cur:
        name, parent = units[cur]
        out.append(name)
        cur = parent
    return out


def documents() -> list[dict[str, Any]]:
    """Demo and generated entries as flat records with the searched fields as text."""
    from machidata.demo.content import DATASETS

    v = _vocab()
    records = []
    demo_base = datetime(2025, 4, 1, tzinfo=UTC)
    for i, d in enumerate(DATASETS):
        records.append(
            {
                **{
                    k: d.get(k)
                    for k in ("identifier", "title", "description", "keywords", "classification", "formats")
                },
                "owner": d["owner"],
                "category_code": d["category"],
                "licence_code": d["licence"],
                "columns": [],
                "location": d["location"],
                "location_detail": d.get("location_detail", ""),
                "spatial": d.get("spatial", ""),
                "lg_code": d.get("lg_code", ""),
                "source_detail": d.get("source_detail", ""),
                # The demo loader stamps entries at load time; spread them so "newest first" is defined.
                "updated_at": (demo_base.replace(day=1 + i % 28, month=1 + i % 12)).isoformat(),
            }
        )
    for raw in generate():
        e = searchable(raw)
        records.append(
            {
                **{
                    k: e[k]
                    for k in (
                        "identifier",
                        "title",
                        "description",
                        "keywords",
                        "classification",
                        "formats",
                        "columns",
                    )
                },
                "owner": e["owner"],
                "category_code": e["category"],
                "licence_code": e["licence"],
                "location": e["location"],
                "location_detail": e["location_detail"],
                "spatial": e["spatial"],
                "lg_code": e["lg_code"],
                "source_detail": "",
                "updated_at": e["updated_at"],
            }
        )
    for r in records:
        r["category"] = v["categories"].get(r["category_code"], "")
        r["department"] = _department(r["owner"], v["units"])
        r["other"] = [
            x
            for x in (
                r["identifier"],
                v["licences"].get(r["licence_code"], ""),
                v["locations"].get(r["location"], ""),
                r["location_detail"],
                r["spatial"],
                r["lg_code"],
                r["source_detail"],
                *(v["formats"].get(f, f) for f in r["formats"]),
            )
            if x
        ]
    return records


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else " ".join(value)


# ---- the systems --------------------------------------------------------------------------------------


class Machidata:
    """machidata.search over a temporary index directory."""

    name = "machidata"

    def __init__(self, records: list[dict[str, Any]], workdir: Path) -> None:
        from machidata.search.index import SearchDocument, build_index

        docs = [
            SearchDocument(
                identifier=r["identifier"],
                title=r["title"],
                description=r["description"],
                keywords=list(r["keywords"]),
                category=r["category"],
                department=r["department"],
                columns=list(r["columns"]),
                other=r["other"],
                facets={
                    "department": [r["owner"]],
                    "category": [r["category_code"]],
                    "classification": [r["classification"]],
                    "format": list(r["formats"]),
                    "licence": [r["licence_code"]],
                },
                acl=[f"class:{r['classification']}", f"owner:{r['owner']}"],
                updated_at=datetime.fromisoformat(r["updated_at"]),
            )
            for r in records
        ]
        t0 = time.perf_counter()
        self.index = build_index(workdir / "index", docs)
        self.build_seconds = time.perf_counter() - t0

    def search(self, q: str, **kw: Any) -> list[str]:
        from machidata.search.query import search

        res = search(self.index, q, per_page=K, suggest=False, **kw)
        return [h.identifier for h in res.hits]


class Like:
    """SQL LIKE '%q%' over the searched fields, newest first."""

    name = "like"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.db = sqlite3.connect(":memory:")
        cols = ", ".join(f"{c} TEXT" for c in SEARCHED)
        self.db.execute(f"CREATE TABLE docs (id TEXT, {cols}, updated TEXT)")
        self.db.executemany(
            f"INSERT INTO docs VALUES (?, {', '.join('?' for _ in SEARCHED)}, ?)",  # noqa: S608 - placeholders only
            [(r["identifier"], *(_as_text(r[c]) for c in SEARCHED), r["updated_at"]) for r in records],
        )

    def search(self, q: str) -> list[str]:
        pat = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in SEARCHED)
        sql = f"SELECT id FROM docs WHERE {where} ORDER BY updated DESC LIMIT {K}"  # noqa: S608 - fixed column names
        return [row[0] for row in self.db.execute(sql, [pat] * len(SEARCHED))]


class Fts5Trigram:
    """SQLite FTS5, trigram tokenizer, bm25 with the same field weights; words ANDed as phrases."""

    name = "fts5-trigram"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            f"CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, {', '.join(SEARCHED)}, tokenize='trigram')"
        )
        self.db.executemany(
            f"INSERT INTO fts VALUES (?, {', '.join('?' for _ in SEARCHED)})",  # noqa: S608 - placeholders only
            [(r["identifier"], *(_as_text(r[c]) for c in SEARCHED)) for r in records],
        )
        self.weights = ", ".join(str(WEIGHTS[c]) for c in SEARCHED)

    def search(self, q: str) -> list[str]:
        words = [w for w in q.split() if w]
        if not words:
            return []
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        sql = f"SELECT id FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 0, {self.weights}) LIMIT {K}"  # noqa: S608
        try:
            return [row[0] for row in self.db.execute(sql, [match])]
        except sqlite3.OperationalError:
            return []


class BigramBM25:
    """A plain character-bigram BM25 (k1=1.2, b=0.75) over all fields as one text, no normalisation."""

    name = "bigram-bm25"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.ids = [r["identifier"] for r in records]
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths = []
        for i, r in enumerate(records):
            text = " ".join(_as_text(r[c]) for c in SEARCHED)
            grams = self._grams(text)
            self.lengths.append(len(grams))
            for g, n in Counter(grams).items():
                self.postings[g].append((i, n))
        self.avg = sum(self.lengths) / len(self.lengths)

    @staticmethod
    def _grams(text: str) -> list[str]:
        out: list[str] = []
        for run in re.findall(r"[^\s、。・（）()「」,.]+", text):
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            out.extend(run)  # unigrams, used only by one-character queries
        return out

    def search(self, q: str) -> list[str]:
        terms: list[str] = []
        for run in re.findall(r"[^\s、。・（）()「」,.]+", q):
            terms.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        scores: dict[int, float] = defaultdict(float)
        n = len(self.ids)
        for t in terms:
            plist = self.postings.get(t, [])
            if not plist:
                continue
            idf = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
            for i, tf in plist:
                scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.avg))
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:K]
        return [self.ids[i] for i, _ in best]


# ---- metrics ----------------------------------------------------------------------------------------


def ndcg(ranked: list[str], judged: dict[str, int], k: int = K) -> float:
    """nDCG@k with gain 2^grade − 1."""
    dcg = sum((2 ** judged.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], judged: dict[str, int], k: int = K) -> float:
    """|relevant ∩ top k| / min(k, |relevant|), relevant = grade ≥ 1."""
    relevant = {d for d, g in judged.items() if g >= 1}
    if not relevant:
        return 1.0
    return len(relevant & set(ranked[:k])) / min(k, len(relevant))


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def evaluate(system: Callable[[str], list[str]], queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean nDCG@10 / recall@10 and per-query figures and latencies for one system."""
    per = []
    times = []
    for q in queries:
        t0 = time.perf_counter()
        ranked = system(q["query"])
        times.append((time.perf_counter() - t0) * 1000)
        per.append(
            {
                "id": q["id"],
                "query": q["query"],
                "kind": q["kind"],
                "ndcg": ndcg(ranked, q["judgements"]),
                "recall": recall(ranked, q["judgements"]),
                "top": ranked[:3],
            }
        )
    return {
        "ndcg": statistics.fmean(p["ndcg"] for p in per),
        "recall": statistics.fmean(p["recall"] for p in per),
        "p50_ms": _pct(times, 50),
        "p95_ms": _pct(times, 95),
        "per_query": per,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every system on the judged set and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the full results here")
    ap.add_argument("--per-query", action="store_true", help="print each query's figures")
    args = ap.parse_args(argv)

    judged = json.loads(JUDGEMENTS.read_text(encoding="utf-8"))
    gen = generate()
    if catalog_sha256(gen) != judged["generated_catalog"]["sha256"]:
        raise SystemExit("the generated catalog differs from the one the judged set was written for")
    queries = judged["queries"]
    records = documents()
    unjudged = [
        r["identifier"]
        for r in records
        if r["identifier"].startswith("431001-") and r["identifier"] not in DEMO_CONCEPTS
    ]
    if unjudged:
        # New demo entries count as grade 0 everywhere until someone judges them (a correction).
        print(f"warning: demo entries not in the judged set (grade 0 for every query): {', '.join(unjudged)}")
    out: dict[str, Any] = {
        "documents": len(records),
        "queries": len(queries),
        "frozen_at": judged["frozen_at"],
        "systems": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        md = Machidata(records, Path(tmp))
        out["machidata_build_seconds"] = md.build_seconds
        # Search as a staff member of 警防課 would: 公開 + 庁内 + own department's entries, with counts.
        staff_terms = ["class:public", "class:internal", "owner:70101000"]
        systems: list[tuple[str, Callable[[str], list[str]]]] = [
            ("machidata", md.search),
            ("like", Like(records).search),
            ("fts5-trigram", Fts5Trigram(records).search),
            ("bigram-bm25", BigramBM25(records).search),
        ]
        for name, fn in systems:
            out["systems"][name] = evaluate(fn, queries)
        # Latency with an access filter and 絞り込み counts (what a page costs); not used for quality.
        times = []
        from machidata.search.query import search

        for _ in range(3):
            for q in queries:
                t0 = time.perf_counter()
                search(md.index, q["query"], allowed_terms=staff_terms, per_page=K)
                times.append((time.perf_counter() - t0) * 1000)
        out["machidata_filtered_p50_ms"] = _pct(times, 50)
        out["machidata_filtered_p95_ms"] = _pct(times, 95)

    print(f"{len(records)} documents, {len(queries)} judged queries (frozen {judged['frozen_at']})")
    print(f"{'system':<14} {'nDCG@10':>8} {'recall@10':>10} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in out["systems"].items():
        print(f"{name:<14} {r['ndcg']:>8.3f} {r['recall']:>10.3f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f}")
    print(
        f"machidata with access filter + 絞り込み counts: p50 {out['machidata_filtered_p50_ms']:.2f} ms, p95 {out['machidata_filtered_p95_ms']:.2f} ms"
    )
    print(f"machidata index build: {out['machidata_build_seconds']:.2f} s for {len(records)} documents")
    if args.per_query:
        names = list(out["systems"])
        print("\n" + " ".join(f"{n[:9]:>9}" for n in names) + "  query (nDCG@10 / recall@10)")
        for i, q in enumerate(queries):
            cells = " ".join(
                f"{out['systems'][n]['per_query'][i]['ndcg']:.2f}/{out['systems'][n]['per_query'][i]['recall']:.2f}"
                for n in names
            )
            print(f"{cells}  {q['id']} {q['query']} [{q['kind']}]")
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
