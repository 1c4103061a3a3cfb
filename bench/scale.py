"""Scale benchmark: a people-flow (人流) table at 1M → 10M → 100M rows, 8 BI queries on DuckDB and on local Spark.

``python -m bench.scale --rows 1000000 10000000`` (add ``100000000`` for the issue's size; it needs
about 2 GB of disk under ``.bench/data/`` and a long time on a small machine). Each size:

1. generates (once, cached) a people-flow-like table — 時刻 (hourly timestamp over three fiscal
   years), メッシュ (a 9-digit 1/2 mesh code, 2,000 of them), 区 (the mesh's ward), 年齢区分 (8 bands), 人数 —
   as Parquet files of at most 5,000,000 rows each: the shape of a version's file list as the lake
   resolves it (the engines read exactly such a list; the ingest itself is measured by ``python -m bench``);
2. for each engine, in a fresh process (so its peak memory is its own), runs the 8 queries through
   ``machidata.engine.run_query`` — DuckDB with ``memory_limit=4GB`` and 2 threads (it spills to disk
   if it must), Spark ``local[2]`` with a 4 GB driver — and records seconds per query and the
   process's peak resident memory (Python + DuckDB, or Python + the Spark JVM);
3. checks that both engines give the same answers (sorted rows, floats to 9 significant digits),
   prints the times and how they grow from one size to the next (the slope: ×time ÷ ×rows; 1.0 is
   linear), and with ``--doc`` rewrites the scale block of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / ".bench" / "data"
DOC = REPO / "docs" / "benchmarks.md"
GENERATOR_VERSION = 1
FILE_ROWS = 5_000_000
CHUNK = 1_000_000
WARDS = ("中央区", "東区", "西区", "南区", "北区")
AGES = ("0-14", "15-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-")
MESHES = 2_000

TS, MESH, WARD, AGE, COUNT = "時刻", "メッシュ", "区", "年齢区分", "人数"

QUERIES: list[dict[str, Any]] = [
    {
        "key": "fy_ward",
        "title": "年度 × 区の人数",
        "query": {
            "group_by": [{"column": TS, "grain": "fiscal_year"}, WARD],
            "measures": [{"op": "sum", "column": COUNT}],
        },
    },
    {
        "key": "hour_weekday",
        "title": "時 × 曜日の人数（ヒートマップ）",
        "query": {
            "group_by": [{"column": TS, "grain": "hour"}, {"column": TS, "grain": "weekday"}],
            "measures": [{"op": "sum", "column": COUNT}],
        },
    },
    {
        "key": "ward_age_share",
        "title": "区 × 年齢区分の人数と区内の構成比",
        "query": {
            "group_by": [WARD, AGE],
            "measures": [{"op": "sum", "column": COUNT}, {"op": "share_of_row", "column": COUNT}],
        },
    },
    {
        "key": "top_meshes",
        "title": "人数の多いメッシュ 上位10",
        "query": {
            "group_by": [MESH],
            "measures": [{"op": "sum", "column": COUNT, "as": "人数計"}],
            "top_n": {"n": 10, "by": "人数計"},
        },
    },
    {
        "key": "monthly",
        "title": "月ごとの人数",
        "query": {
            "group_by": [{"column": TS, "grain": "month"}],
            "measures": [{"op": "sum", "column": COUNT}],
        },
    },
    {
        "key": "age_share",
        "title": "年齢区分の構成比",
        "query": {"group_by": [AGE], "measures": [{"op": "share_of_total", "column": COUNT}]},
    },
    {
        "key": "fy_ward_change",
        "title": "年度 × 区の人数と前年度比",
        "query": {
            "group_by": [{"column": TS, "grain": "fiscal_year", "as": "年度"}, WARD],
            "measures": [
                {"op": "sum", "column": COUNT},
                {"op": "change_from_previous", "column": COUNT, "along": "年度"},
            ],
        },
    },
    {
        "key": "chuo_fy2024_age",
        "title": "中央区・令和6年度：年齢区分ごとの人数・平均・メッシュの数",
        "query": {
            "filters": [
                {"column": WARD, "op": "eq", "value": "中央区"},
                {"column": TS, "op": "range", "min": "2024-04-01T00:00:00", "max": "2025-03-31T23:59:59"},
            ],
            "group_by": [AGE],
            "measures": [
                {"op": "sum", "column": COUNT},
                {"op": "avg", "column": COUNT},
                {"op": "count_distinct", "column": MESH},
            ],
        },
    },
]


def data_dir(rows: int) -> Path:
    """The cached file list for ``rows`` rows."""
    return DATA_DIR / f"scale-peopleflow-v{GENERATOR_VERSION}-{rows}"


def generate(rows: int) -> list[str]:
    """Write (once) ``rows`` rows as Parquet files of at most FILE_ROWS rows; returns the file list."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = data_dir(rows)
    done = folder / "DONE"
    if done.exists():
        return sorted(str(p) for p in folder.glob("part-*.parquet"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    rng = np.random.default_rng(20240401)
    mesh_codes = np.array([f"{543060000 + i * 37:09d}" for i in range(MESHES)], dtype=object)
    mesh_wards = np.array([WARDS[(i * 7) % len(WARDS)] for i in range(MESHES)], dtype=object)
    start = np.datetime64("2022-04-01T00:00:00", "us")
    hours = 3 * 365 * 24
    schema = pa.schema(
        [
            (TS, pa.timestamp("us")),
            (MESH, pa.string()),
            (WARD, pa.string()),
            (AGE, pa.string()),
            (COUNT, pa.int64()),
        ]
    )
    written, part = 0, 0
    while written < rows:
        path = folder / f"part-{part:05d}.parquet"
        in_file = min(FILE_ROWS, rows - written)
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            left = in_file
            while left:
                n = min(CHUNK, left)
                mesh = rng.integers(0, MESHES, n)
                ts = start + rng.integers(0, hours, n).astype("timedelta64[h]")
                batch = pa.table(
                    {
                        TS: pa.array(ts.astype("datetime64[us]"), pa.timestamp("us")),
                        MESH: pa.array(mesh_codes[mesh], pa.string()),
                        WARD: pa.array(mesh_wards[mesh], pa.string()),
                        AGE: pa.array(
                            np.array(AGES, dtype=object)[rng.integers(0, len(AGES), n)], pa.string()
                        ),
                        COUNT: pa.array(rng.poisson(12, n), pa.int64()),
                    },
                    schema=schema,
                )
                writer.write_table(batch, row_group_size=122_880)
                left -= n
        written += in_file
        part += 1
    done.write_text(str(rows))
    return sorted(str(p) for p in folder.glob("part-*.parquet"))


def _norm(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for r in rows:
        out.append(
            tuple(
                (
                    float(f"{v:.9g}")
                    if isinstance(v, float) and not math.isnan(v)
                    else str(v)
                    if v is not None
                    else ""
                )
                for v in r.values()
            )
        )
    return sorted(out)


def run_one(engine: str, rows: int) -> dict[str, Any]:
    """Run the 8 queries on ``engine`` in this process; times, answers and peak memory."""
    os.environ.setdefault("MACHIDATA_SPARK_DRIVER_MEMORY", "4g")
    os.environ.setdefault("MACHIDATA_SPARK_MASTER", "local[2]")
    from machidata.engine import TableQuery, run_query
    from machidata.engine.backends import use_engine

    files = generate(rows)
    out: dict[str, Any] = {"engine": engine, "rows": rows, "queries": []}
    if engine == "spark":  # start the JVM and the session outside the timings (reported on its own)
        from machidata.engine.spark import session_and_backend

        t0 = time.perf_counter()
        session_and_backend()
        out["session_start_s"] = time.perf_counter() - t0
    started = time.perf_counter()
    with use_engine(engine):  # type: ignore[arg-type]
        for q in QUERIES:
            t0 = time.perf_counter()
            result = run_query(
                files, TableQuery.from_dict(q["query"]), threads=2, memory_limit="4GB", timeout_s=7200
            )
            seconds = time.perf_counter() - t0
            out["queries"].append(
                {"key": q["key"], "seconds": seconds, "answer": _norm(result.table.to_pylist())}
            )
            print(f"  {engine:<6} {rows:>11,} {q['key']:<18} {seconds:8.2f}s", file=sys.stderr, flush=True)
    out["seconds"] = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if engine == "spark":  # add the Spark JVM's own high-water mark (it runs the queries in local mode)
        from machidata.engine.spark import session_and_backend

        session, _ = session_and_backend()
        jvm = session.sparkContext._gateway.proc.pid
        status = Path(f"/proc/{jvm}/status").read_text()
        peak_kb += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    out["peak_mb"] = peak_kb / 1024
    return out


def _child(engine: str, rows: int) -> dict[str, Any]:
    proc = subprocess.run(  # noqa: S603 — our own interpreter and module
        [sys.executable, "-m", "bench.scale", "--one", engine, str(rows)],
        cwd=REPO,
        capture_output=False,
        stdout=subprocess.PIPE,
        check=True,
        text=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _cell(results: dict[int, dict[str, dict[str, Any]]], n: int, e: str, pick: Any) -> str:
    return pick(results[n][e]) if e in results[n] else "—"


def report(results: dict[int, dict[str, dict[str, Any]]]) -> str:
    """A Markdown table of seconds per query, totals, peak memory, and the slopes between sizes."""
    sizes = sorted(results)
    cols = [(n, e) for n in sizes for e in ("duckdb", "spark")]
    label = {"duckdb": "DuckDB", "spark": "Spark"}
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work (load average at the end "
        f"{os.getloadavg()[0]:.1f}), Python {platform.python_version()}. DuckDB: memory_limit 4GB, 2 threads. "
        "Spark: local[2], driver memory 4g; the session start is not in the query times. One run per query. "
        "— : not run.",
        "",
        "| query | " + " | ".join(f"{label[e]} {n:,} rows (s)" for n, e in cols) + " | same answers |",
        "| --- | " + " | ".join("---:" for _ in cols) + " | --- |",
    ]
    for i, q in enumerate(QUERIES):
        cells = [_cell(results, n, e, lambda r, i=i: f"{r['queries'][i]['seconds']:.2f}") for n, e in cols]
        both = [n for n in sizes if {"duckdb", "spark"} <= set(results[n])]
        agree = all(
            results[n]["duckdb"]["queries"][i]["answer"] == results[n]["spark"]["queries"][i]["answer"]
            for n in both
        )
        lines.append(
            f"| {q['title']} | " + " | ".join(cells) + f" | {('yes' if agree else 'NO') if both else '—'} |"
        )
    lines.append(
        "| **8 queries** | "
        + " | ".join(_cell(results, n, e, lambda r: f"{r['seconds']:.1f}") for n, e in cols)
        + " | |"
    )
    lines.append(
        "| peak memory (process + Spark JVM) | "
        + " | ".join(_cell(results, n, e, lambda r: f"{r['peak_mb']:,.0f} MB") for n, e in cols)
        + " | |"
    )
    starts = [f"{results[n]['spark']['session_start_s']:.1f}s" for n in sizes if "spark" in results[n]]
    lines.append("")
    if starts:
        lines.append(f"- Spark session start (JVM, once per process): {', '.join(starts)}")
    for a, b in itertools.pairwise(sizes):
        for e in ("duckdb", "spark"):
            if e in results[a] and e in results[b]:
                grow = results[b][e]["seconds"] / results[a][e]["seconds"]
                lines.append(
                    f"- {label[e]} {a:,} → {b:,} rows: time ×{grow:.2f} for ×{b / a:g} rows "
                    f"(slope {grow / (b / a):.2f} of linear)"
                )
    return "\n".join(lines) + "\n"


def write_doc(block: str) -> None:
    start, end = "<!-- bench:scale:start -->", "<!-- bench:scale:end -->"
    text = DOC.read_text(encoding="utf-8")
    stamped = f"{start}\nMeasured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `python -m bench.scale`.\n\n{block}{end}"
    if start in text:
        text = text[: text.index(start)] + stamped + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n## Scale: people flow on DuckDB and Spark\n\n" + stamped + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    parser.add_argument("--doc", action="store_true", help="rewrite the scale block of docs/benchmarks.md")
    parser.add_argument("--merge", action="store_true", help="add to the results of earlier runs")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for rows in args.rows:
        t0 = time.perf_counter()
        generate(rows)
        print(f"{rows:,} rows ready in {time.perf_counter() - t0:.1f}s", flush=True)
        results[rows] = {e: _child(e, rows) for e in args.engines}
    saved = DATA_DIR / "scale-results.json"
    if args.merge and saved.exists():  # add this run's sizes/engines to earlier ones
        earlier = {int(k): v for k, v in json.loads(saved.read_text()).items()}
        for n, by_engine in results.items():
            earlier.setdefault(n, {}).update(by_engine)
        results = earlier
    saved.write_text(json.dumps(results))
    block = report(results)
    print(block)
    if args.doc:
        write_doc(block)


if __name__ == "__main__":
    main()
