"""BI query benchmark: 8 dashboard queries through machidata's TableQuery path, hand-written DuckDB SQL and SQLite.

``python -m bench bi`` runs 1,000,000 rows; ``python -m bench bi --rows 10000000`` the issue's size.
Each run:

1. generates (once, cached under ``.bench/data/``) a synthetic 救急出動記録 table of ``--rows`` rows by
   stacking copies of :func:`machidata.demo.ambulance.generate_ambulance` (one seed per copy, each
   copy moved back three years, so there are many fiscal years), as one Parquet file with
   DuckDB-sized row groups, and the same rows as a SQLite database (timestamps as ISO text, no
   index: what Datasette serves). SQLite gets at most ``--sqlite-max-rows`` rows (default 1,000,000)
   because it is far slower; the table says when it ran on fewer rows;
2. runs 8 typical dashboard queries, each ``--repeat`` times (default 5), interleaved:

   * ``machidata``: ``machidata.engine.run_query(files, TableQuery)`` — validation, Ibis compile, a
     fresh sandboxed DuckDB connection per query (as every request gets), the groups' count;
   * ``duckdb``: the same question as hand-written SQL over ``read_parquet`` on one warm connection
     with the same thread count (the limit);
   * ``sqlite``: hand-written SQLite SQL on the database (strftime for time buckets, a window for
     the median);

3. checks that the three answers agree (sorted rows, floats to 9 digits), prints median and best
   seconds per query and the ratio machidata ÷ DuckDB against the issue's target
   (≤ max(1.2× DuckDB, DuckDB + 25 ms)), the sum of the 8 queries (one dashboard, nothing cached),
   and rewrites the block of ``docs/benchmarks.md`` for that row count (``--no-doc`` leaves it alone);
4. then (unless ``--no-dashboard``; ``--dashboard-only`` skips 1–3's queries) the same 8 queries as an
   8-chart dashboard through a freshly started ``machidata serve``: cold, from the result cache and with
   it off (:mod:`bench.bi_dashboard`).
"""

# ruff: noqa: S608 — the peers' SQL is written by hand from this file's constants (that is the benchmark)
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bi_dashboard

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / ".bench" / "data"
RESULTS_DIR = REPO / ".bench" / "results"
DOC = REPO / "docs" / "benchmarks.md"
GENERATOR_VERSION = 1
ROW_GROUP = 122_880  # DuckDB's own row-group size: both engines split work by row group
THREADS = 2  # machidata's default engine threads (MACHIDATA_ENGINE_THREADS)
TS, WARD, TOWN, TYPE, AGE, MIN = "覚知日時", "区", "町名", "事故種別", "年齢区分", "現場到着所要時間（分）"
WEEKDAYS = "月火水木金土日"

# ---- data ------------------------------------------------------------------------------------------


def parquet_path(rows: int) -> Path:
    """The cached Parquet file for ``rows`` rows."""
    return DATA_DIR / f"bi-ambulance-v{GENERATOR_VERSION}-{rows}.parquet"


def sqlite_path(rows: int) -> Path:
    """The cached SQLite database for ``rows`` rows."""
    return DATA_DIR / f"bi-ambulance-v{GENERATOR_VERSION}-{rows}.sqlite"


def generate(rows: int) -> Path:
    """Write (once) ``rows`` rows of the synthetic ambulance table as Parquet; returns its path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from machidata.demo.ambulance import SCHEMA, generate_ambulance

    path = parquet_path(rows)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    written, copy = 0, 0
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        while written < rows:
            part = generate_ambulance(seed=1000 + copy)
            shift = np.timedelta64(1096 * copy, "D")  # about three years back per copy
            ts = part.column(TS).to_numpy() - shift
            part = part.set_column(0, TS, pa.array(ts.astype("datetime64[us]"), pa.timestamp("us")))
            part = part.slice(0, min(part.num_rows, rows - written))
            writer.write_table(part, row_group_size=ROW_GROUP)
            written += part.num_rows
            copy += 1
    tmp.rename(path)
    return path


def load_sqlite(parquet: Path, rows: int) -> Path:
    """Write (once) the first ``rows`` rows into a SQLite table ``t`` (timestamps as ISO text, no index)."""
    import pyarrow.parquet as pq

    path = sqlite_path(rows)
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    names = pq.read_schema(parquet).names
    columns = ", ".join(f'"{n}"' for n in names)
    con.execute(f"CREATE TABLE t ({columns})")
    left = rows
    for whole in pq.ParquetFile(parquet).iter_batches(batch_size=100_000):
        batch = whole.slice(0, min(whole.num_rows, left))
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        cols[0] = [v.isoformat(sep=" ") for v in cols[0]]
        con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(names))})", zip(*cols, strict=True))
        left -= batch.num_rows
        if left <= 0:
            break
    con.commit()
    con.close()
    tmp.rename(path)
    return path


# ---- the 8 queries ---------------------------------------------------------------------------------

_FY_DUCK = f'year("{TS}") - (month("{TS}") < 4)::INT'
_FY_LITE = f"CAST(strftime('%Y', \"{TS}\") AS INT) - (CAST(strftime('%m', \"{TS}\") AS INT) < 4)"

QUERIES: list[dict[str, Any]] = [
    {
        "key": "fy_ward",
        "title": "年度 × 区の件数",
        "query": {"group_by": [{"column": TS, "grain": "fiscal_year"}, WARD], "measures": [{"op": "count"}]},
        "duckdb": f'SELECT {_FY_DUCK} AS fy, "{WARD}", count(*) FROM src GROUP BY ALL',
        "sqlite": f'SELECT {_FY_LITE} AS fy, "{WARD}", count(*) FROM t GROUP BY 1, 2',
    },
    {
        "key": "hour_weekday",
        "title": "時 × 曜日の件数（ヒートマップ）",
        "query": {
            "group_by": [{"column": TS, "grain": "hour"}, {"column": TS, "grain": "weekday"}],
            "measures": [{"op": "count"}],
        },
        "duckdb": f"SELECT hour(\"{TS}\") AS h, ['月','火','水','木','金','土','日'][isodow(\"{TS}\")] AS wd, count(*) FROM src GROUP BY ALL",
        "sqlite": f"SELECT CAST(strftime('%H', \"{TS}\") AS INT) AS h, substr('{WEEKDAYS}', (CAST(strftime('%w', \"{TS}\") AS INT) + 6) % 7 + 1, 1) AS wd, count(*) FROM t GROUP BY 1, 2",
    },
    {
        "key": "median_minutes_ward",
        "title": "区ごとの現場到着所要時間の中央値",
        "query": {"group_by": [WARD], "measures": [{"op": "median", "column": MIN}, {"op": "count"}]},
        "duckdb": f'SELECT "{WARD}", median("{MIN}"), count(*) FROM src GROUP BY ALL',
        "sqlite": (
            f'WITH r AS (SELECT "{WARD}" AS w, "{MIN}" AS m, count(*) OVER (PARTITION BY "{WARD}") AS n, '
            f'row_number() OVER (PARTITION BY "{WARD}" ORDER BY "{MIN}" NULLS LAST) AS rn, '
            f'count("{MIN}") OVER (PARTITION BY "{WARD}") AS c FROM t) '
            "SELECT w, avg(m), max(n) FROM r WHERE rn IN ((c + 1) / 2, (c + 2) / 2) GROUP BY w"
        ),
    },
    {
        "key": "top_towns",
        "title": "件数の多い町 上位10",
        "query": {"group_by": [TOWN], "measures": [{"op": "count"}], "top_n": {"n": 10, "by": "件数"}},
        "duckdb": f'SELECT "{TOWN}", count(*) AS n FROM src GROUP BY ALL ORDER BY n DESC, "{TOWN}" LIMIT 10',
        "sqlite": f'SELECT "{TOWN}", count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10',
    },
    {
        "key": "monthly",
        "title": "月ごとの件数",
        "query": {"group_by": [{"column": TS, "grain": "month"}], "measures": [{"op": "count"}]},
        "duckdb": f"SELECT date_trunc('month', \"{TS}\")::DATE AS m, count(*) FROM src GROUP BY ALL",
        "sqlite": f"SELECT strftime('%Y-%m-01', \"{TS}\") AS m, count(*) FROM t GROUP BY 1",
    },
    {
        "key": "type_share",
        "title": "事故種別の構成比",
        "query": {"group_by": [TYPE], "measures": [{"op": "count"}, {"op": "share_of_total"}]},
        "duckdb": f'SELECT "{TYPE}", count(*) AS n, n / sum(n) OVER () FROM src GROUP BY ALL',
        "sqlite": f'SELECT "{TYPE}", count(*) AS n, count(*) * 1.0 / sum(count(*)) OVER () FROM t GROUP BY 1',
    },
    {
        "key": "fy_type_change",
        "title": "年度 × 事故種別の件数と前年度比",
        "query": {
            "group_by": [{"column": TS, "grain": "fiscal_year", "as": "年度"}, TYPE],
            "measures": [{"op": "count"}, {"op": "change_from_previous", "along": "年度"}],
        },
        "duckdb": (
            f'WITH g AS (SELECT {_FY_DUCK} AS fy, "{TYPE}" AS k, count(*) AS n FROM src GROUP BY ALL) '
            "SELECT fy, k, n, CASE WHEN lag(fy) OVER w = fy - 1 THEN n / lag(n) OVER w END FROM g "
            "WINDOW w AS (PARTITION BY k ORDER BY fy)"
        ),
        "sqlite": (
            f'WITH g AS (SELECT {_FY_LITE} AS fy, "{TYPE}" AS k, count(*) AS n FROM t GROUP BY 1, 2) '
            "SELECT fy, k, n, CASE WHEN lag(fy) OVER w = fy - 1 THEN n * 1.0 / lag(n) OVER w END FROM g "
            "WINDOW w AS (PARTITION BY k ORDER BY fy)"
        ),
    },
    {
        "key": "chuo_age",
        "title": "中央区・令和6年度：年齢区分ごとの件数・平均所要時間・町の数",
        "query": {
            "filters": [
                {"column": WARD, "op": "eq", "value": "中央区"},
                {"column": TS, "op": "range", "min": "2024-04-01T00:00:00", "max": "2025-03-31T23:59:59"},
            ],
            "group_by": [AGE],
            "measures": [
                {"op": "count"},
                {"op": "avg", "column": MIN},
                {"op": "count_distinct", "column": TOWN},
            ],
        },
        "duckdb": (
            f'SELECT "{AGE}", count(*), avg("{MIN}"), count(DISTINCT "{TOWN}") FROM src '
            f"WHERE \"{WARD}\" = '中央区' AND \"{TS}\" BETWEEN TIMESTAMP '2024-04-01 00:00:00' AND TIMESTAMP '2025-03-31 23:59:59' GROUP BY ALL"
        ),
        "sqlite": (
            f'SELECT "{AGE}", count(*), avg("{MIN}"), count(DISTINCT "{TOWN}") FROM t '
            f"WHERE \"{WARD}\" = '中央区' AND \"{TS}\" BETWEEN '2024-04-01 00:00:00' AND '2025-03-31 23:59:59' GROUP BY 1"
        ),
    },
]


def _norm(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows comparable across engines: dates as ISO text, floats to 9 significant digits, sorted."""

    def cell(v: Any) -> Any:
        if isinstance(v, dt.date):
            return v.isoformat()[:10]
        if isinstance(v, float):
            return float(f"{v:.9g}") if math.isfinite(v) else None
        return v

    return sorted((tuple(cell(v) for v in r) for r in rows), key=repr)


# ---- runners ---------------------------------------------------------------------------------------


def _machidata(files: list[str]) -> Callable[[dict[str, Any]], list[tuple[Any, ...]]]:
    from machidata.engine import TableQuery, run_query

    def run(q: dict[str, Any]) -> list[tuple[Any, ...]]:
        result = run_query(files, TableQuery.from_dict(q["query"]), threads=THREADS, timeout_s=600)
        table = result.table
        return list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))

    return run


def _duckdb(path: Path) -> Callable[[dict[str, Any]], list[tuple[Any, ...]]]:
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": THREADS})
    con.execute(
        f"CREATE VIEW src AS SELECT * FROM read_parquet('{path}')"
    )  # a view is inlined into each query

    def run(q: dict[str, Any]) -> list[tuple[Any, ...]]:
        return con.execute(q["duckdb"]).fetchall()

    return run


def _sqlite(path: Path) -> Callable[[dict[str, Any]], list[tuple[Any, ...]]]:
    con = sqlite3.connect(path)

    def run(q: dict[str, Any]) -> list[tuple[Any, ...]]:
        return con.execute(q["sqlite"]).fetchall()

    return run


def _load() -> float:
    return os.getloadavg()[0]


def measure(rows: int, repeat: int, sqlite_max: int) -> dict[str, Any]:
    """Run every query ``repeat`` times with each tool; returns the raw timings and the checks."""
    parquet = generate(rows)
    lite_rows = min(rows, sqlite_max)
    lite_parquet = parquet if lite_rows == rows else generate(lite_rows)
    lite = load_sqlite(lite_parquet, lite_rows)
    tools = {
        "machidata": _machidata([str(parquet)]),
        "duckdb": _duckdb(parquet),
        "sqlite": _sqlite(lite),
    }
    # Compare machidata with DuckDB on the same rows, and both with SQLite on SQLite's rows.
    check_md = _machidata([str(lite_parquet)]) if lite_rows != rows else tools["machidata"]
    out: dict[str, Any] = {"rows": rows, "sqlite_rows": lite_rows, "repeat": repeat, "queries": []}
    for q in QUERIES:
        times: dict[str, list[float]] = {t: [] for t in tools}
        loads: list[float] = []
        answers: dict[str, list[tuple[Any, ...]]] = {}
        for _ in range(repeat):
            loads.append(_load())
            for name, run in tools.items():
                if name == "sqlite" and len(times[name]) >= min(repeat, 2) and lite_rows >= 1_000_000:
                    continue  # SQLite takes seconds per query; two runs are enough to read it
                start = time.perf_counter()
                answer = run(q)
                times[name].append(time.perf_counter() - start)
                answers[name] = answer
        agree_duck = _norm(answers["machidata"]) == _norm(answers["duckdb"])
        agree_lite = _norm(check_md(q)) == _norm(answers["sqlite"])
        out["queries"].append(
            {
                "key": q["key"],
                "title": q["title"],
                "times": times,
                "load": loads,
                "agree_duckdb": agree_duck,
                "agree_sqlite": agree_lite,
                "groups": len(answers["machidata"]),
            }
        )
        print(
            f"{q['key']:<22} machidata {statistics.median(times['machidata']):.3f}s  duckdb {statistics.median(times['duckdb']):.3f}s  "
            f"sqlite {statistics.median(times['sqlite']):.3f}s  agree {agree_duck}/{agree_lite}  load {loads[0]:.1f}",
            flush=True,
        )
    return out


# ---- report ----------------------------------------------------------------------------------------


def _target(md: float, duck: float) -> tuple[float, bool]:
    limit = max(1.2 * duck, duck + 0.025)
    return limit, md <= limit


def report(res: dict[str, Any], finished: str) -> str:
    """The Markdown block for docs/benchmarks.md."""
    import duckdb
    import ibis
    import pyarrow as pa

    rows, lite_rows = res["rows"], res["sqlite_rows"]
    lite_note = (
        ""
        if lite_rows == rows
        else f" (SQLite on the first {lite_rows:,} rows only: it is too slow at {rows:,})"
    )
    lines = [
        f"### {rows:,} rows — run finished {finished}",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, duckdb {duckdb.__version__}, ibis {ibis.__version__}, "
        f"pyarrow {pa.__version__}, SQLite {sqlite3.sqlite_version}; {THREADS} DuckDB threads for both machidata and raw DuckDB; "
        f"{res['repeat']} runs per query (SQLite: 2 at ≥ 1M rows), median and best shown{lite_note}. "
        "Load = 1-minute load average before the query's first run (2 cores: above ~2 means other processes were competing).",
        "",
        "| query | groups | machidata s (best) | machidata 1st run s | DuckDB SQL s (best) | × DuckDB | target ≤ max(1.2×, +25 ms) | SQLite s | SQLite ÷ machidata | same answer | load |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|",
    ]
    sums = {"machidata": 0.0, "duckdb": 0.0, "sqlite": 0.0, "first": 0.0}
    met = 0
    for q in res["queries"]:
        t = q["times"]
        md, duck, lite = (statistics.median(t[k]) for k in ("machidata", "duckdb", "sqlite"))
        sums["machidata"] += md
        sums["duckdb"] += duck
        sums["sqlite"] += lite
        sums["first"] += t["machidata"][0]
        limit, ok = _target(md, duck)
        met += ok
        same = ("✓" if q["agree_duckdb"] else "✗ DuckDB") + (" ✓" if q["agree_sqlite"] else " ✗ SQLite")
        lines.append(
            f"| {q['title']} | {q['groups']:,} | {md:.3f} ({min(t['machidata']):.3f}) | {t['machidata'][0]:.3f} | {duck:.3f} ({min(t['duckdb']):.3f}) | "
            f"{md / duck:.2f} | ≤ {limit:.3f} {'met' if ok else '**missed**'} | {lite:.2f} | {lite / md:.0f}× | {same} | {q['load'][0]:.1f} |"
        )
    lines += [
        "",
        f"- Targets met: {met} of {len(res['queries'])} queries.",
        f"- One 8-chart dashboard, queries run one after another, no result cache: machidata {sums['first']:.2f} s on its "
        f"first run in a fresh process (nothing compiled yet), {sums['machidata']:.2f} s as the sum of the medians (compiled "
        f"SQL cached); DuckDB SQL {sums['duckdb']:.2f} s; SQLite {sums['sqlite']:.1f} s{' (on fewer rows)' if lite_rows != rows else ''}. "
        "Target ≤ 2 s at 10M rows on a quiet machine.",
        "- machidata's median includes what every request pays: validation, a fresh sandboxed DuckDB connection "
        "(pre-opened in the background after the previous query), reading the Parquet footer, the groups' "
        "count (a scalar subquery over the grouped rows); its first run also compiles through Ibis (tens of ms, then cached per process by query and schema).",
    ]
    return "\n".join(lines)


def write_doc(rows: int, block: str, label: str | None = None) -> None:
    """Replace (or add) the generated block for ``rows`` in docs/benchmarks.md."""
    tag = f"{rows}" + (f"-{label}" if label else "")
    start, end = f"<!-- bench:bi:{tag}:start -->", f"<!-- bench:bi:{tag}:end -->"
    text = DOC.read_text(encoding="utf-8")
    new = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + new + rest.split(end, 1)[1]
    else:
        anchor = "<!-- bench:bi:results -->"
        text = text.replace(anchor, f"{anchor}\n\n{new}", 1) if anchor in text else text + f"\n{new}\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Parse options, measure, print and record."""
    parser = argparse.ArgumentParser(prog="python -m bench bi", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the generated table (default 1,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per query and tool (default 5)")
    parser.add_argument(
        "--sqlite-max-rows", type=int, default=1_000_000, help="SQLite runs on at most this many rows"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--label", help="suffix of the doc block (keep several runs of one size)")
    parser.add_argument("--report", type=Path, help="rewrite the doc block from a saved results JSON file")
    board = parser.add_argument_group("the 8-chart dashboard through the server (bench/bi_dashboard.py)")
    board.add_argument("--no-dashboard", action="store_true", help="only the queries, no server")
    board.add_argument("--dashboard-only", action="store_true", help="only the dashboard, not the queries")
    board.add_argument("--home", type=Path, help="MACHIDATA_HOME for the server (reused once prepared)")
    board.add_argument("--cold-runs", type=int, default=3, help="freshly started servers (default 3)")
    board.add_argument("--cached-runs", type=int, default=10, help="cached requests after each (default 10)")
    board.add_argument(
        "--uncached-runs", type=int, default=3, help="requests with the result cache off (default 3)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.report is not None:
        res = json.loads(args.report.read_text(encoding="utf-8"))
        dashboard = "cold" in res
        block = bi_dashboard.report(res) if dashboard else report(res, res.get("finished", args.report.stem))
        print(block)
        if not args.no_doc:
            (bi_dashboard.write_doc if dashboard else write_doc)(res["rows"], block, args.label)
        return
    if not args.dashboard_only:
        _queries(args)
    if not args.no_dashboard:
        board_res = bi_dashboard.run(
            generate(args.rows), args.rows, home=args.home, cold_runs=args.cold_runs,
            cached_runs=args.cached_runs, uncached_runs=args.uncached_runs,
        )  # fmt: skip
        block = bi_dashboard.report(board_res)
        print(block)
        if not args.no_doc:
            bi_dashboard.write_doc(args.rows, block, args.label)


def _queries(args: argparse.Namespace) -> None:
    """The 8 queries through machidata, DuckDB and SQLite; results saved and (unless --no-doc) written."""
    res = measure(args.rows, args.repeat, args.sqlite_max_rows)
    finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    res["finished"] = finished
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS_DIR / f"bi-{args.rows}-{stamp}.json").write_text(
        json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    block = report(res, finished)
    print(block)
    if not args.no_doc:
        write_doc(args.rows, block, args.label)
