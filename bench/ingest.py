"""Ingest benchmark: machidata's whole ingest against pandas and DuckDB on the same generated rows.

``python -m bench`` (``make bench``) runs 1M rows; ``python -m bench --full`` runs 1M and 10M;
``python -m bench --rows 3000000`` any size. Each run:

1. generates (once, cached under ``.bench/data/``) a municipal-like table of 12 columns in two
   flavours — ``clean`` (ISO dates, plain numbers) and ``messy`` (5 of the 12 columns with 和暦 dates
   in mixed forms, full-width digits with thousands separators, ▲ negatives, 円 and % units, ○/×) —
   each written as UTF-8 and as CP932 CSV, streamed in chunks so memory stays bounded;
2. measures, each in a fresh subprocess so that peak RSS (``wait4`` rusage ``ru_maxrss``) belongs
   to one tool only, every tool on every file it applies to, ``--repeat`` times (default 2):

   * ``machidata``: ``machidata.ingest.services.ingest_file`` (readers → personal-data screen →
     inference → normalise/validate → ``lake.protocol.write_version``) into a fresh table of a
     migrated temporary MACHIDATA_HOME, on all four files. Phases are timed from the outside by
     wrapping module functions in the child process (no machidata code is changed);
   * ``pandas``: ``pandas.read_csv(encoding="cp932")`` + ``DataFrame.to_parquet`` on the CP932 files;
   * ``duckdb``: ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)`` on the UTF-8 files;
   * ``read``: machidata's reader alone (``read_source`` over the whole file: decode + parse), as a
     cross-check of the read phase;

3. prints one row per measurement (wall time of the work inside the child, MB/s of the input file,
   peak RSS, ratio against DuckDB's UTF-8 time on the same flavour and rows in the same repetition)
   and machidata's phase breakdown, stores everything in ``.bench/results/`` as JSON and rewrites
   the generated block of ``docs/benchmarks.md`` for that row count (``--no-doc`` leaves it alone).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench"
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"
DOC = REPO / "docs" / "benchmarks.md"
CHUNK_ROWS = 250_000
GENERATOR_VERSION = 1  # bump when the generated content changes (cached files are named by it)

COLUMNS = ["受付番号", "受付日", "区", "町名", "住所", "種別", "件数", "金額", "率", "時刻", "有無", "備考"]
MESSY_COLUMNS = ["受付日", "件数", "金額", "率", "有無"]
WARDS = ["中央区", "東区", "西区", "南区", "北区"]
TOWNS = ["水前寺", "健軍", "帯山", "出水", "九品寺", "本荘", "大江", "黒髪", "新屋敷", "京町",
         "花畑町", "辛島町", "上通町", "下通", "島崎", "花園", "春日", "田崎", "長嶺南", "画図町",
         "御幸笛田", "川尻", "城南町舞原", "富合町", "植木町岩野", "清水本町", "龍田", "楠", "武蔵ケ丘",
         "八景水谷"]  # fmt: skip
KINDS = ["道路", "公園", "ごみ収集", "騒音", "上下水道", "福祉", "子育て", "その他"]
NOTES = ["現地確認済み", "担当課へ引継ぎ", "再発のため巡回強化", "住民説明会で回答", "緊急対応",
         "次年度予算で対応予定", "関係機関と協議中", "写真添付あり", "電話にて回答", "要再調査"]  # fmt: skip
FIRST_DAY = dt.date(2019, 5, 1)  # 令和元年5月1日
DAYS = (dt.date(2025, 3, 31) - FIRST_DAY).days + 1
FULL = str.maketrans("0123456789,", "０１２３４５６７８９，")


# ---- generation ----------------------------------------------------------------------------------


def _vocab() -> dict[str, dict[str, Any]]:
    """Per flavour, the texts each column draws from (a column is a ``take`` from its vocabulary)."""
    import pyarrow as pa

    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]
    iso = [d.isoformat() for d in days]
    messy_dates = []
    for d in days:  # four spellings per day, picked at random per row
        y = d.year - 2018
        era = "元" if y == 1 else str(y)
        messy_dates += [f"令和{era}年{d.month}月{d.day}日", f"R{y}.{d.month}.{d.day}",
                        f"令和 {y:02d}年{d.month:02d}月{d.day:02d}日", f"{d.year}/{d.month}/{d.day}"]  # fmt: skip
    counts = range(-999, 100_000)  # 件数: value + 999 indexes the vocabulary
    messy_counts = [(f"▲{-v:,}" if v < 0 else f"{v:,}").translate(FULL) for v in counts]
    amounts = range(0, 10_000_000, 100)  # 金額: multiples of 100 yen
    rates = [i / 10 for i in range(1001)]
    times = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
    common = {"times": pa.array(times), "wards": pa.array(WARDS), "towns": pa.array(TOWNS),
              "kinds": pa.array(KINDS), "notes": pa.array(["", *NOTES])}  # fmt: skip
    return {
        "clean": {
            **common,
            "dates": pa.array(iso),
            "date_forms": 1,
            "counts": pa.array([str(v) for v in counts]),
            "amounts": pa.array([str(v) for v in amounts]),
            "rates": pa.array([f"{r:.1f}" for r in rates]),
            "flags": pa.array(["true", "false"]),
            "missing": "",
        },
        "messy": {
            **common,
            "dates": pa.array(messy_dates),
            "date_forms": 4,
            "counts": pa.array(messy_counts),
            "amounts": pa.array([f'"{v:,}円"' for v in amounts]),  # the comma needs quotes
            "rates": pa.array([f"{r:.1f}%" for r in rates]),
            "flags": pa.array(["○", "×"]),
            "missing": "－",
        },
    }


def _chunk_lines(start: int, n: int, vocab: dict[str, Any], seed: int) -> str:
    """CSV lines for rows ``start+1 … start+n`` (deterministic per chunk)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)

    def take(arr: Any, idx: Any) -> Any:
        return arr.take(pa.array(idx))

    def num(a: Any) -> Any:
        return pc.cast(pa.array(a), pa.string())

    ward_i = rng.integers(0, len(WARDS), n)
    town_i = rng.integers(0, len(TOWNS), n)
    wards, towns = take(vocab["wards"], ward_i), take(vocab["towns"], town_i)
    chome, ban, go = rng.integers(1, 8, n), rng.integers(1, 40, n), rng.integers(1, 30, n)
    address = pc.binary_join_element_wise(
        "熊本市", wards, towns, num(chome), "丁目", num(ban), "-", num(go), ""
    )
    counts = rng.integers(0, 5000, n)
    counts = np.where(rng.random(n) < 0.03, -rng.integers(1, 999, n), counts)  # ▲ negatives
    count_text = take(vocab["counts"], counts + 999)
    if vocab["missing"]:
        count_text = pc.if_else(pa.array(rng.random(n) < 0.01), vocab["missing"], count_text)
    forms = vocab["date_forms"]
    day_i = rng.integers(0, DAYS, n) * forms + rng.integers(0, forms, n)
    note_i = np.where(rng.random(n) < 0.6, 0, rng.integers(1, len(NOTES) + 1, n))
    cols = [
        num(np.arange(start + 1, start + n + 1)),
        take(vocab["dates"], day_i),
        wards,
        towns,
        address,
        take(vocab["kinds"], rng.integers(0, len(KINDS), n)),
        count_text,
        take(vocab["amounts"], rng.integers(0, 20_000, n)),
        take(vocab["rates"], rng.integers(0, 1001, n)),
        take(vocab["times"], rng.integers(0, 1440, n)),
        take(vocab["flags"], rng.integers(0, 2, n)),
        take(vocab["notes"], note_i),
    ]
    lines = pc.binary_join_element_wise(*cols, ",")
    return "\n".join(lines.to_pylist()) + "\n"


def data_path(rows: int, flavour: str, encoding: str) -> Path:
    """Where the generated file lives (``.bench/data/``)."""
    return DATA_DIR / f"v{GENERATOR_VERSION}-{flavour}-{rows}.{encoding}.csv"


def generate(rows: int, flavour: str) -> tuple[Path, Path]:
    """The UTF-8 and CP932 files of ``rows`` rows (generated once, streamed chunk by chunk)."""
    utf8, cp932 = data_path(rows, flavour, "utf8"), data_path(rows, flavour, "cp932")
    if utf8.exists() and cp932.exists():
        return utf8, cp932
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()[flavour]
    t0 = time.perf_counter()
    tmp_u, tmp_c = utf8.with_suffix(".tmp"), cp932.with_suffix(".tmp2")
    with tmp_u.open("wb") as fu, tmp_c.open("wb") as fc:
        header = ",".join(COLUMNS) + "\n"
        fu.write(header.encode("utf-8"))
        fc.write(header.encode("cp932"))
        for k, start in enumerate(range(0, rows, CHUNK_ROWS)):
            text = _chunk_lines(
                start, min(CHUNK_ROWS, rows - start), vocab, seed=k * 2 + (flavour == "messy")
            )
            fu.write(text.encode("utf-8"))
            fc.write(text.encode("cp932"))
    tmp_u.rename(utf8)
    tmp_c.rename(cp932)
    print(
        f"generated {flavour} {rows:,} rows: {utf8.stat().st_size / 1e6:,.0f} MB UTF-8, "
        f"{cp932.stat().st_size / 1e6:,.0f} MB CP932 in {time.perf_counter() - t0:,.0f} s",
        flush=True,
    )
    return utf8, cp932


# ---- the measured work (runs in a child process) --------------------------------------------------


class _Timers:
    """Seconds accumulated per phase, by wrapping module functions from the outside."""

    def __init__(self) -> None:
        self.t: dict[str, float] = {}
        self.n: dict[str, int] = {}

    def add(self, key: str, seconds: float) -> None:
        self.t[key] = self.t.get(key, 0.0) + seconds
        self.n[key] = self.n.get(key, 0) + 1

    def wrap(self, module: Any, name: str, key: str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(key, time.perf_counter() - t0)
                self.add(key + "_cpu", time.thread_time() - c0)  # this thread's CPU: no GIL waits

        setattr(module, name, timed)

    def timed_iter(self, it: Any, key: str) -> Any:
        while True:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                item = next(it)
            except StopIteration:
                self.add(key, time.perf_counter() - t0)
                self.add(key + "_cpu", time.thread_time() - c0)
                return
            self.add(key, time.perf_counter() - t0)
            self.add(key + "_cpu", time.thread_time() - c0)
            yield item


def _instrument() -> _Timers:
    """Wrap the pipeline's steps so their time is recorded (the code under test is unchanged)."""
    from machidata.ingest import infer, normalise, readability, readers, screen, services, validate
    from machidata.ingest.readers import encoding
    from machidata.lake import protocol

    timers = _Timers()
    for module, name, key in [
        (screen, "screen_sample", "screen"),
        (infer, "infer_schema", "infer"),
        (normalise, "normalise_batch", "normalise"),
        (validate, "validate_batch", "validate"),
        (readability, "readability_report", "readability"),
        (services, "sha256_of", "sha256"),
        (encoding.DecodingReader, "_fill", "decode"),
    ]:
        timers.wrap(module, name, key)

    original_read = readers.read_source

    def read_source(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        source = original_read(*args, **kwargs)
        timers.add("open", time.perf_counter() - t0)
        source.batches = timers.timed_iter(source.batches, "read")
        return source

    readers.read_source = read_source

    original_deltalake = protocol.write_deltalake

    def write_deltalake(uri: Any, data: Any, **kwargs: Any) -> Any:
        import pyarrow as pa

        fed = pa.RecordBatchReader.from_batches(data.schema, timers.timed_iter(iter(data), "upstream"))
        t0 = time.perf_counter()
        try:
            return original_deltalake(uri, fed, **kwargs)
        finally:
            timers.add("deltalake", time.perf_counter() - t0)

    protocol.write_deltalake = write_deltalake
    timers.wrap(protocol, "write_version", "write_version")
    return timers


def _setup_table(rows_label: str) -> tuple[Any, Any]:
    """The CLI operator and a fresh table (the org unit and dataset are made on first use)."""
    import uuid

    from machidata.access.models import Unit
    from machidata.access.services import cli_operator_actor
    from machidata.catalog.models import Dataset
    from machidata.core.testing import make_dataset, make_org
    from machidata.ingest.services import table_get_or_create

    actor = cli_operator_actor()
    unit = Unit.objects.filter(code="100100").first() or make_org().data_strategy
    dataset = Dataset.objects.filter(slug="bench").first() or make_dataset(unit, slug="bench", title="ベンチ")
    table = table_get_or_create(actor=actor, dataset=dataset, name=f"t-{rows_label}-{uuid.uuid4().hex[:8]}")
    return actor, table


def work_machidata(path: Path) -> dict[str, Any]:
    """The whole ingest of ``path`` into a fresh table, with its phases."""
    import django

    django.setup()
    from machidata.ingest.services import ingest_file

    actor, table = _setup_table(path.stem)
    timers = _instrument()
    phases: list[tuple[float, str]] = []
    helper0 = _children_cpu()
    c0 = _cpu_now()
    t0 = time.perf_counter()

    def progress(done: int, total: int | None = None, phase: str | None = None) -> None:
        if phase and (not phases or not phases[-1][1].endswith("行を取り込んでいます")):
            phases.append((time.perf_counter() - t0, phase))

    version = ingest_file(actor=actor, table=table, path=path, source_name=path.name, progress=progress)
    wall = time.perf_counter() - t0
    cpu = _cpu_now() - c0
    t = timers.t
    pipeline = t.get("read", 0) + t.get("normalise", 0) + t.get("validate", 0)
    breakdown = {
        "open": t.get("open", 0),  # detection: sample, encoding, delimiter, header
        # waiting for the reader's next batch: pyarrow CSV parse (+ CP932 decode) + tail handling
        "read": t.get("read", 0),
        # wall time in DecodingReader._fill (CP932 → UTF-8) on pyarrow's reader thread: it overlaps
        # the other phases (and includes GIL waits), so it is not added to the total
        "decode": t.get("decode", 0),
        "screen": t.get("screen", 0),
        "infer": t.get("infer", 0),
        "normalise": t.get("normalise", 0),
        "validate": t.get("validate", 0),
        "readability": t.get("readability", 0),
        "sha256": t.get("sha256", 0),
        # Delta/Parquet write: time inside write_deltalake not spent pulling our batches
        "write": t.get("deltalake", 0) - t.get("upstream", 0),
        # the writer waiting for the worker thread's next normalised batch (read, normalise and
        # validate run on that thread, overlapping the write: they are not added to the total)
        "wait": t.get("upstream", 0),
        # lease, recovery, pending row, commit lookup, stats and the committed row
        "commit": t.get("write_version", 0) - t.get("deltalake", 0),
    }
    # on other threads, overlapping (sha256 runs on its own thread while the sample is screened)
    concurrent = {"decode", "read", "normalise", "validate", "sha256"}
    accounted = sum(v for k, v in breakdown.items() if k not in concurrent)
    breakdown["other"] = wall - accounted
    # CPU seconds of the thread that ran each phase (GIL waits excluded; pyarrow's own threads and
    # the decoding helper process are not in these, only in the process total `cpu`)
    phases_cpu = {k: t.get(k + "_cpu", 0.0) for k in ("read", "decode", "screen", "infer", "normalise",
                                                       "validate", "readability", "sha256")}  # fmt: skip
    phases_cpu["helper"] = _children_cpu() - helper0
    return {
        "wall": wall,
        "cpu": cpu,
        "phases_cpu": phases_cpu,
        "rows": version.rows,
        "version": version.number,
        "bytes_written": version.bytes,
        "columns": [f"{f['name']}:{f.get('type')}" for f in version.schema.get("fields", [])],
        "phases": breakdown,
        "calls": timers.n,
        "progress_phases": [(round(s, 3), p) for s, p in phases],
        "pipeline_pull": pipeline,
        "issues": (version.reports or {}).get("validation", {}).get("total"),
    }


def _cpu_now() -> float:
    """CPU seconds of this process (all threads) and of its reaped children (the decoding helper)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def work_read(path: Path) -> dict[str, Any]:
    """machidata's reader alone: detect, decode and parse the whole file."""
    from machidata.ingest.readers import ReadOptions, read_source

    c0, t0 = _cpu_now(), time.perf_counter()
    source = read_source(path, ReadOptions())
    rows = sum(b.num_rows for b in source.batches)
    wall, cpu = time.perf_counter() - t0, _cpu_now() - c0
    return {"wall": wall, "cpu": cpu, "rows": rows, "encoding": source.detection.get("encoding")}


def work_pandas(path: Path, out: Path) -> dict[str, Any]:
    """What an analyst does today: pandas.read_csv(encoding="cp932") then to_parquet."""
    import pandas as pd

    c0, t0 = _cpu_now(), time.perf_counter()
    df = pd.read_csv(path, encoding="cp932")
    df.to_parquet(out)
    return {"wall": time.perf_counter() - t0, "cpu": _cpu_now() - c0, "rows": len(df)}


def work_duckdb(path: Path, out: Path) -> dict[str, Any]:
    """The practical limit: DuckDB read_csv → Parquet (UTF-8 file)."""
    import duckdb

    con = duckdb.connect()
    c0, t0 = _cpu_now(), time.perf_counter()
    src, dst = (str(p).replace("'", "''") for p in (path, out))  # our own paths; quoted for SQL
    con.execute(f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}' (FORMAT parquet)")  # noqa: S608
    wall, cpu = time.perf_counter() - t0, _cpu_now() - c0
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchone()[0]  # type: ignore[index]  # noqa: S608
    return {"wall": wall, "cpu": cpu, "rows": rows}


def _vmhwm() -> int | None:
    """Peak resident set of this process in bytes (VmHWM: reset at exec, unlike wait4's ru_maxrss)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def child_main(tool: str, path: str, out: str) -> None:
    """Entry of a measurement subprocess: do the work, print one JSON line."""
    p, o = Path(path), Path(out)
    if tool == "machidata":
        result = work_machidata(p)
    elif tool == "read":
        result = work_read(p)
    elif tool == "pandas":
        result = work_pandas(p, o)
    else:
        result = work_duckdb(p, o)
    result["vmhwm"] = _vmhwm()
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


# ---- the parent: run every measurement in a fresh process ---------------------------------------


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MACHIDATA_HOME"] = str(home)
    env["DJANGO_SETTINGS_MODULE"] = "machidata.config.settings"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure(tool: str, path: Path, home: Path) -> dict[str, Any]:
    """Run one tool on one file in a fresh process; its own result plus peak RSS and process time."""
    out = Path(tempfile.mkdtemp(prefix="out-", dir=BENCH_DIR)) / "out.parquet"
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = _Popen(
        [sys.executable, "-m", "bench.ingest", "--child", tool, str(path), str(out)],
        env=_env(home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate()  # reaps the child; rusage comes from wait4 below
    elapsed = time.perf_counter() - t0
    rss_kb = proc.rusage.ru_maxrss if proc.rusage is not None else None
    _cleanup(out.parent)
    line = next((x for x in stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"{tool} on {path.name} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(line[len("RESULT ") :])
    result.update(
        tool=tool,
        file=path.name,
        size=path.stat().st_size,
        # VmHWM of the child itself; wait4's ru_maxrss also counts the parent's pages that the child
        # held between fork and exec, so it is only a fallback
        peak_rss=result.get("vmhwm") or (rss_kb or 0) * 1024,
        ru_maxrss=(rss_kb or 0) * 1024,
        process_wall=elapsed,
        load_before=load,
    )
    result["mb_s"] = result["size"] / 1e6 / result["wall"]
    return result


def _cleanup(folder: Path) -> None:
    for child in folder.glob("*"):
        child.unlink()
    folder.rmdir()


class _Popen(subprocess.Popen):  # type: ignore[type-arg]
    """Popen that reaps its child with wait4, so the child's own peak RSS is known."""

    rusage: Any = None

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:  # CPython's POSIX reaping hook
        pid, status, rusage = os.wait4(self.pid, wait_flags)
        if pid:
            self.rusage = rusage
        return pid, status


def migrate(home: Path) -> None:
    """A migrated database in ``home`` (as ``machidata migrate`` does)."""
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v", "0"], env=_env(home), cwd=REPO, check=True
    )


def plan(rows: int) -> list[tuple[str, str, str, Path]]:
    """(tool, flavour, encoding, file) for every measurement of one repetition."""
    items: list[tuple[str, str, str, Path]] = []
    for flavour in ("clean", "messy"):
        utf8, cp932 = generate(rows, flavour)
        items += [
            ("duckdb", flavour, "utf8", utf8),
            ("machidata", flavour, "utf8", utf8),
            ("machidata", flavour, "cp932", cp932),
            ("read", flavour, "cp932", cp932),
            ("pandas", flavour, "cp932", cp932),
        ]
    return items


TARGETS = {("clean", "cp932"): 1.8, ("messy", "cp932"): 2.3, ("clean", "utf8"): 1.25}


def run(rows: int, repeat: int, tools: set[str], flavours: set[str] | None = None) -> list[dict[str, Any]]:
    """Every measurement of ``rows`` rows, ``repeat`` times; ratios against DuckDB of the same repetition."""
    items = [
        i for i in plan(rows) if (i[0] in tools or i[0] == "duckdb") and (not flavours or i[1] in flavours)
    ]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="machidata-bench-", dir=BENCH_DIR) as tmp:
        home = Path(tmp)
        migrate(home)
        for rep in range(1, repeat + 1):
            duck: dict[str, float] = {}
            duck_cpu: dict[str, float] = {}
            for tool, flavour, enc, path in items:
                r = measure(tool, path, home)
                r.update(rows_requested=rows, repetition=rep, flavour=flavour, encoding=enc)
                if tool == "duckdb":
                    duck[flavour], duck_cpu[flavour] = r["wall"], r["cpu"]
                r["ratio_vs_duckdb_utf8"] = r["wall"] / duck[flavour]
                r["cpu_ratio_vs_duckdb_utf8"] = r["cpu"] / duck_cpu[flavour]
                results.append(r)
                print(_line(r), flush=True)
                if tool == "machidata":
                    print("    " + _phases(r), flush=True)
    return results


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['rows_requested']:>11,} #{r['repetition']} {r['tool']:<9} {r['flavour']:<5} {r['encoding']:<5} "
        f"{r['size'] / 1e6:>7,.0f} MB {r['wall']:>7.2f} s (CPU {r.get('cpu', 0):5.2f} s) {r['mb_s']:>6.1f} MB/s "
        f"RSS {r['peak_rss'] / 2**20:>6,.0f} MiB  ×{r['ratio_vs_duckdb_utf8']:.2f}  (load {r['load_before']:.1f})"
    )


def _phases(r: dict[str, Any]) -> str:
    wall = "  ".join(f"{k} {v:.2f}" for k, v in r["phases"].items())
    cpu = "  ".join(f"{k} {v:.2f}" for k, v in r.get("phases_cpu", {}).items())
    return f"{wall}\n    CPU: {cpu}"


# ---- the report ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, Python and package versions."""
    import importlib.metadata as md

    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
             if x.startswith("model name")), "")  # fmt: skip
    versions = {}
    for name in ("pyarrow", "duckdb", "deltalake", "pandas", "numpy", "Django"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "-"
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(), "versions": versions}  # fmt: skip


def _cpu_table(results: list[dict[str, Any]]) -> list[str]:
    """machidata's CPU seconds per phase, one row per run."""
    keys = list(next((r.get("phases_cpu", {}) for r in results if r["tool"] == "machidata"), {}))
    if not keys:
        return []
    out = [
        "",
        "machidata CPU seconds per phase (CPU time of the thread running it, so waits for the GIL or a "
        "core are excluded; `helper` is the decoding helper process; pyarrow's own threads and the "
        "Delta writer appear only in the process total):",
        "",
        "| # | file | CPU total | " + " | ".join(keys) + " |",
        "|---|---|---:|" + "---:|" * len(keys),
    ]
    for r in results:
        if r["tool"] == "machidata":
            out.append(
                f"| {r['repetition']} | {r['flavour']} {r['encoding']} | {r.get('cpu', 0):.2f} | "
                + " | ".join(f"{r['phases_cpu'][k]:.2f}" for k in keys)
                + " |"
            )
    return out


def markdown(rows: int, results: list[dict[str, Any]], info: dict[str, Any], when: str) -> str:
    """The generated block of docs/benchmarks.md for one row count."""
    out = [
        f"### {rows:,} rows — run finished {when}",
        "",
        f"Machine: {info['cores']} cores ({info['cpu']}), {info['memory_gb']} GB RAM, Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + ". Load average before each measurement is in the last column (2 cores: above ~2 means "
        "other processes were competing).",
        "",
        "| # | tool | file | MB | seconds | CPU s | MB/s | peak RSS MiB | × DuckDB UTF-8 | CPU × DuckDB | target | load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        target = TARGETS.get((r["flavour"], r["encoding"])) if r["tool"] == "machidata" else None
        verdict = ""
        if target is not None:
            verdict = f"≤ {target}× {'met' if r['ratio_vs_duckdb_utf8'] <= target else '**missed**'}"
        out.append(
            f"| {r['repetition']} | {r['tool']} | {r['flavour']} {r['encoding']} | {r['size'] / 1e6:,.0f} | "
            f"{r['wall']:.2f} | {r.get('cpu', 0):.2f} | {r['mb_s']:.1f} | {r['peak_rss'] / 2**20:,.0f} | "
            f"{r['ratio_vs_duckdb_utf8']:.2f} | {r.get('cpu_ratio_vs_duckdb_utf8', 0):.2f} | {verdict} | "
            f"{r['load_before']:.1f} |"
        )
    keys = list(next((r["phases"] for r in results if r["tool"] == "machidata"), {}))
    if keys:
        out += [
            "",
            "machidata phases (seconds; `decode` is time in the CP932 decoder on pyarrow's reader "
            "thread; `read`, `normalise` and `validate` run on the ingest's worker thread while the "
            "writer encodes the previous batch, and `wait` is the writer waiting for them; `sha256` runs on "
            "its own thread while the sample is screened — these five overlap the other phases and are "
            "not added to the total; see *How phases are measured*):",
            "",
            "| # | file | total | " + " | ".join(keys) + " |",
            "|---|---|---:|" + "---:|" * len(keys),
        ]
        for r in results:
            if r["tool"] == "machidata":
                out.append(
                    f"| {r['repetition']} | {r['flavour']} {r['encoding']} | {r['wall']:.2f} | "
                    + " | ".join(f"{r['phases'][k]:.2f}" for k in keys)
                    + " |"
                )
    out += _cpu_table(results)
    medians = []
    for (flavour, enc), target in TARGETS.items():
        ratios = [r["ratio_vs_duckdb_utf8"] for r in results
                  if r["tool"] == "machidata" and r["flavour"] == flavour and r["encoding"] == enc]  # fmt: skip
        if ratios:
            verdict = "met" if statistics.median(ratios) <= target else "missed"
            medians.append(
                f"- {flavour} {enc.upper()}: ratios {', '.join(f'{x:.2f}' for x in ratios)} "
                f"(median {statistics.median(ratios):.2f}) against ≤ {target}× — **{verdict}**"
            )
    for flavour in ("clean", "messy"):
        runs = [r for r in results
                if r["tool"] == "machidata" and r["encoding"] == "cp932" and r["flavour"] == flavour]  # fmt: skip
        if runs:
            size, peak = runs[0]["size"], max(r["peak_rss"] for r in runs)
            verdict = ""
            if size >= 0.95e9:
                verdict = f" — **{'met' if peak < 1e9 else 'missed'}** (< 1 GB for a ~1 GB CP932 file)"
            peaks = ", ".join(f"{r['peak_rss'] / 2**20:,.0f}" for r in runs)
            medians.append(
                f"- peak RSS of machidata on the {size / 1e9:.2f} GB {flavour} CP932 file: {peaks} MiB{verdict}"
            )
    return "\n".join(
        [*out, "", "Targets (machidata time ÷ DuckDB UTF-8 time, same repetition):", "", *medians]
    )


def write_doc(rows: int, block: str) -> None:
    """Replace (or append) the generated block for ``rows`` in docs/benchmarks.md."""
    start, end = f"<!-- bench:ingest:{rows}:start -->", f"<!-- bench:ingest:{rows}:end -->"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    new = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + new + rest.split(end, 1)[1]
    else:
        anchor = "<!-- bench:ingest:results -->"
        text = text.replace(anchor, f"{anchor}\n\n{new}", 1) if anchor in text else text + f"\n{new}\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Command line of the ingest benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", help="row counts (default 1,000,000)")
    parser.add_argument("--full", action="store_true", help="1,000,000 and 10,000,000 rows")
    parser.add_argument("--repeat", type=int, default=2, help="repetitions of every measurement")
    parser.add_argument(
        "--tools", default="machidata,read,pandas,duckdb", help="comma-separated subset (duckdb always runs)"
    )
    parser.add_argument("--flavours", default="clean,messy", help="comma-separated subset of clean,messy")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--generate-only", action="store_true", help="only generate the files")
    parser.add_argument(
        "--report", type=Path, action="append", help="rewrite the doc block from saved results JSON"
    )
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "FILE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return
    if args.report:
        for saved in args.report:
            data = json.loads(saved.read_text(encoding="utf-8"))
            when = dt.datetime.strptime(saved.stem.rsplit("-", 1)[1], "%Y%m%dT%H%M%S")
            block = markdown(
                data["rows"], data["results"], data["machine"], when.strftime("%Y-%m-%d %H:%M UTC")
            )
            print(block)
            write_doc(data["rows"], block)
        return
    sizes = args.rows or ([1_000_000, 10_000_000] if args.full else [1_000_000])
    BENCH_DIR.mkdir(exist_ok=True)
    if args.generate_only:
        for rows in sizes:
            for flavour in ("clean", "messy"):
                generate(rows, flavour)
        return
    info = machine()
    print(json.dumps(info, ensure_ascii=False), flush=True)
    for rows in sizes:
        results = run(rows, args.repeat, set(args.tools.split(",")), set(args.flavours.split(",")))
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS_DIR / f"ingest-{rows}-{stamp}.json").write_text(
            json.dumps({"machine": info, "rows": rows, "results": results}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")  # when the run finished
        block = markdown(rows, results, info, when)
        print(block, flush=True)
        if not args.no_doc:
            write_doc(rows, block)


if __name__ == "__main__":
    main()
