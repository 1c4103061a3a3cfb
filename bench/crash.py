"""``python -m bench crash``: crash consistency of the versioned store under real SIGKILLs and concurrent writers.

Part 1 forks a writer process for each iteration (from ``machidata.lake.tests.crash_writer serve``,
which has Django and deltalake loaded) and kills it with SIGKILL at a random moment: one in five in
its first steps, the rest between its pending version row appearing and a little past the time a
clean write takes to commit, so kills land before the row, mid-Parquet, around the Delta commit and
after it. Part 2 starts
2, 4 and 8 writers at once on the same table, several rounds each. After each part the table is
recovered (as the next writer or the job runner would) and checked against a model built from what
was asked:

- **corrupt or partial**: a committed version whose rows are not exactly its predecessor's rows (for
  an append) plus the rows its writer was given, whose ``_id`` column is not 1…n, whose file list names
  a missing file, or a table whose current version is not its newest committed one;
- **acknowledged lost**: a writer that exited 0 and printed its version number, whose version is not
  committed with its rows.

Both must be 0. Figures go to ``docs/benchmarks.md`` (section "Crash consistency").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import write_section

REPO = Path(__file__).resolve().parents[1]
WRITER = "machidata.lake.tests.crash_writer"
BATCH, SLEEP = (
    100,
    0.03,
)  # rows per batch and a pause per batch, so that a 3,000-row write lasts about a second


@dataclass
class Attempt:
    """One writer process: what it was asked and what it answered."""

    job: str
    mode: str
    rows: int
    acked: int | None = None  # the version number it printed, when it exited 0
    killed: bool = False
    refused: bool = False  # another writer held the table (the Japanese lease message)


@dataclass
class Tally:
    """What one part found."""

    attempts: int = 0
    acked: int = 0
    killed: int = 0
    refused: int = 0
    committed: int = 0
    abandoned: int = 0
    corrupt: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0
    landed: dict[str, int] = field(
        default_factory=dict
    )  # where kills landed: start-up, mid-write, after commit


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHIDATA_", "DATABASE_URL", "DJANGO_"))}
    env.update(MACHIDATA_HOME=str(home), DJANGO_SETTINGS_MODULE="machidata.config.settings", **extra)
    return env


def _run(home: Path, *args: str | int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own writer module, arguments we made
        [sys.executable, "-m", WRITER, *map(str, args)],
        cwd=REPO,
        env=_env(home),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _start(
    home: Path, table_id: int, attempt: Attempt, *, batch_rows: int, sleep: float
) -> subprocess.Popen[str]:
    env = _env(home, CRASH_BATCH_ROWS=str(batch_rows), CRASH_SLEEP=str(sleep), CRASH_TARGET_FILE_SIZE="20000")
    return subprocess.Popen(  # noqa: S603 - our own writer module, arguments we made
        [sys.executable, "-m", WRITER, "write", str(table_id), attempt.mode, attempt.job, str(attempt.rows)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], attempt: Attempt) -> None:
    out, err = proc.communicate(timeout=600)
    if proc.returncode == 0:
        attempt.acked = int(json.loads(out.strip().splitlines()[-1])["number"])
    elif proc.returncode == -signal.SIGKILL:
        attempt.killed = True
    elif "ほかの処理が更新中" in err:
        attempt.refused = True
    else:
        raise RuntimeError(f"writer {attempt.job} failed unexpectedly:\n{err[-3000:]}")


def _names(job: str, rows: int) -> list[str]:
    return [f"{job}-{i}" for i in range(rows)]


def check(home: Path, table_id: int, attempts: list[Attempt], tally: Tally) -> None:
    """Recover the table, then compare every committed version with the model (see the module doc)."""
    from deltalake import DeltaTable

    state = _run(home, "state", table_id)
    by_job = {a.job: a for a in attempts}
    with sqlite3.connect(home / "machidata.sqlite3") as db:
        jobs = dict(
            db.execute("SELECT number, job_id FROM catalog_tableversion WHERE table_id = ?", (table_id,))
        )
        deltas = dict(
            db.execute(
                "SELECT number, delta_version FROM catalog_tableversion WHERE table_id = ?", (table_id,)
            )
        )
        key = db.execute("SELECT storage_key FROM catalog_table WHERE id = ?", (table_id,)).fetchone()[0]
    table_dir = home / "lake" / key
    on_disk = {p.name for p in table_dir.glob("*.parquet")}
    previous: list[str] = []
    last_committed = None
    for v in state["versions"]:
        if v["status"] == "committed":
            tally.committed += 1
        elif v["status"] == "abandoned":
            tally.abandoned += 1
        if v["status"] != "committed":
            continue
        number, job = v["number"], jobs.get(v["number"], "")
        attempt = by_job.get(job)
        if attempt is None:
            tally.corrupt.append(f"version {number}: committed by an unknown writer {job!r}")
            continue
        expected = (previous if attempt.mode == "append" else []) + _names(attempt.job, attempt.rows)
        if v["names"] != expected:
            tally.corrupt.append(
                f"version {number} ({job}): {len(v['names'])} rows, expected {len(expected)}"
            )
        if v["ids"] != list(range(1, len(v["names"]) + 1)):
            tally.corrupt.append(f"version {number} ({job}): _id is not 1…n")
        files = {Path(u).name for u in DeltaTable(str(table_dir), version=deltas[number]).file_uris()}
        if not files <= on_disk:
            tally.corrupt.append(f"version {number} ({job}): {len(files - on_disk)} files missing")
        previous = v["names"]
        last_committed = number
    if state["current"] != last_committed:
        tally.corrupt.append(
            f"current version {state['current']} is not the newest committed {last_committed}"
        )
    committed_jobs = {
        jobs.get(v["number"]): v["number"] for v in state["versions"] if v["status"] == "committed"
    }
    status_of = {jobs.get(v["number"]): v["status"] for v in state["versions"]}
    where = {None: "before the version row", "abandoned": "mid-write", "committed": "after the Delta commit"}
    for a in attempts:
        if a.killed:
            place = where.get(status_of.get(a.job), "other")
            tally.landed[place] = tally.landed.get(place, 0) + 1
        if a.acked is not None and committed_jobs.get(a.job) != a.acked:
            tally.lost.append(f"{a.job}: acknowledged version {a.acked} is not committed")


def _home() -> tuple[Path, int]:
    home = Path(tempfile.mkdtemp(prefix="machidata-crash-"))
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--settings=machidata.config.settings"],
        cwd=REPO,
        env=_env(home),
        check=True,
        capture_output=True,
    )
    return home, int(_run(home, "setup")["table"])


class ForkServer:
    """``crash_writer serve``: Django and deltalake loaded once, one forked child per write (killed from here)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log = (home / "server.log").open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own writer module
            [sys.executable, "-m", WRITER, "serve"],
            cwd=REPO,
            env=_env(
                home, CRASH_BATCH_ROWS=str(BATCH), CRASH_SLEEP=str(SLEEP), CRASH_TARGET_FILE_SIZE="20000"
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.count = 0

    def start(self, table_id: int, attempt: Attempt) -> tuple[Path, Path]:
        self.count += 1
        out, pidfile = self.home / f"out-{self.count}.json", self.home / f"pid-{self.count}"
        args = ["write", str(table_id), attempt.mode, attempt.job, str(attempt.rows)]
        request = {"args": args, "env": {}, "out": str(out), "pidfile": str(pidfile)}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return out, pidfile

    def finish(self, out: Path, attempt: Attempt) -> None:
        assert self.proc.stdout is not None
        rc = json.loads(self.proc.stdout.readline())["rc"]
        if rc == 0:
            attempt.acked = int(json.loads(out.read_text())["number"])
        elif rc == -signal.SIGKILL:
            attempt.killed = True
        else:
            raise RuntimeError(
                f"writer {attempt.job} failed: {(self.home / 'server.log').read_text()[-3000:]}"
            )

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log.close()


def _child_pid(pidfile: Path) -> int:
    while True:
        try:
            return int(pidfile.read_text())
        except (FileNotFoundError, ValueError):
            time.sleep(0.002)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by the server) counts as ended
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_row(home: Path, job: str, pid: int, status: str = "") -> None:
    """Until the writer's version row exists (with ``status``, when given), or the writer has ended."""
    query = "SELECT status FROM catalog_tableversion WHERE job_id = ?"
    while _alive(pid):
        try:
            with sqlite3.connect(home / "machidata.sqlite3", timeout=5) as db:
                row = db.execute(query, (job,)).fetchone()
                if row and (not status or row[0] == status):
                    return
        except sqlite3.OperationalError:  # locked for a moment by the writer
            pass
        time.sleep(0.002)


def _sleep_while(pid: int, seconds: float) -> bool:
    """Sleep up to ``seconds`` while ``pid`` lives; whether it is still alive after."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return False
        time.sleep(0.002)
    return _alive(pid)


def sigkill_part(iterations: int, seed: int) -> Tally:
    """Random SIGKILLs on one table through the fork server, checked every 50 iterations and at the end."""
    rng = random.Random(seed)
    home, table_id = _home()
    server = ForkServer(home)
    tally, attempts = Tally(), []
    # A clean write is timed from its pending row to its committed row; kills are spread over
    # 1.25× that after the pending row appears (mid-Parquet, the Delta commit, just after), and one
    # in five lands before the row exists (the child's first steps).
    probe = Attempt("probe", "replace", 3000)
    out, pidfile = server.start(table_id, probe)
    pid = _child_pid(pidfile)
    _wait_row(home, probe.job, pid)
    started = time.monotonic()
    _wait_row(home, probe.job, pid, "committed")
    write_time = time.monotonic() - started
    server.finish(out, probe)
    attempts.append(probe)
    began = time.monotonic()
    for i in range(iterations):
        attempt = Attempt(f"k{i}", rng.choice(["append", "append", "replace"]), rng.randint(100, 3000))
        out, pidfile = server.start(table_id, attempt)
        pid = _child_pid(pidfile)
        if rng.random() < 0.2:
            alive = _sleep_while(pid, rng.uniform(0, 0.05))
        else:
            _wait_row(home, attempt.job, pid)
            alive = _sleep_while(pid, rng.uniform(0, write_time * 1.25))
        if alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        server.finish(out, attempt)
        attempts.append(attempt)
        if (i + 1) % 50 == 0:
            check(home, table_id, attempts, Tally())  # recovery in between, as the job runner would
            print(f"  {i + 1}/{iterations} 回", flush=True)
    tally.seconds = time.monotonic() - began
    server.close()
    check(home, table_id, attempts, tally)
    _count(tally, attempts[1:])
    return tally


def concurrent_part(levels: list[int], rounds: int, seed: int) -> dict[int, Tally]:
    """``k`` writers at once on one table, ``rounds`` times for each ``k``."""
    rng = random.Random(seed)
    results: dict[int, Tally] = {}
    for k in levels:
        home, table_id = _home()
        tally, attempts = Tally(), []
        began = time.monotonic()
        for r in range(rounds):
            batch = [
                Attempt(f"c{k}-{r}-{j}", rng.choice(["append", "append", "replace"]), rng.randint(50, 800))
                for j in range(k)
            ]
            procs = [_start(home, table_id, a, batch_rows=100, sleep=0.002) for a in batch]
            for proc, a in zip(procs, batch, strict=True):
                _finish(proc, a)
            attempts.extend(batch)
        tally.seconds = time.monotonic() - began
        check(home, table_id, attempts, tally)
        _count(tally, attempts)
        results[k] = tally
    return results


def _count(tally: Tally, attempts: list[Attempt]) -> None:
    tally.attempts = len(attempts)
    tally.acked = sum(a.acked is not None for a in attempts)
    tally.killed = sum(a.killed for a in attempts)
    tally.refused = sum(a.refused for a in attempts)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench crash", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="SIGKILL iterations (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of concurrent writers per level")
    parser.add_argument("--levels", default="2,4,8", help="concurrent writers per round")
    parser.add_argument("--seed", type=int, default=20241127)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    print(f"SIGKILL: {args.iterations} 回", flush=True)
    kills = sigkill_part(args.iterations, args.seed)
    levels = [int(x) for x in args.levels.split(",") if x]
    print(f"同時書き込み: {levels} × {args.rounds} 回", flush=True)
    conc = concurrent_part(levels, args.rounds, args.seed)
    lines = [
        f"Random SIGKILL of a writer process ({args.iterations} iterations, seed {args.seed}; one kill in five "
        "in the writer's first steps, the rest within 1.25× a clean write's pending-to-committed time after its pending "
        "version appears; writers are forked from a server that has Django and deltalake loaded), then recovery and a check of every committed version against "
        "the rows each writer was given:",
        "",
        "| part | writers | acknowledged | killed | refused (table busy) | versions committed | abandoned | "
        "corrupt or partial | acknowledged lost | time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("SIGKILL", kills),
        *(_row(f"{k} at once × {args.rounds}", t) for k, t in conc.items()),
        "",
        "Where the kills landed (from the version each killed writer left): "
        + ", ".join(f"{place} {n}" for place, n in sorted(kills.landed.items()))
        + ". A kill after the Delta commit but before the version row is marked is rolled forward by recovery.",
        "",
        "Corrupt or partial versions and lost acknowledged commits must both be 0. A refused writer got the "
        "Japanese 「この表はほかの処理が更新中です」 and wrote nothing (one writer per table holds the lease).",
    ]
    for t in (kills, *conc.values()):
        for problem in t.corrupt + t.lost:
            lines.append(f"- problem: {problem}")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Crash consistency", text)
    if any(t.corrupt or t.lost for t in (kills, *conc.values())):
        raise SystemExit(1)


def _row(label: str, t: Tally) -> str:
    return (
        f"| {label} | {t.attempts} | {t.acked} | {t.killed} | {t.refused} | {t.committed} | {t.abandoned} | "
        f"{len(t.corrupt)} | {len(t.lost)} | {t.seconds:.0f} s |"
    )
