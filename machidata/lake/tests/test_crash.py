"""Crash safety: writers in subprocesses killed at each fault point (and at random), then checked.

The tests share one MACHIDATA_HOME with a file-based SQLite database (migrated in a subprocess), each
with its own table. Writers run in child processes of ``python -m machidata.lake.tests.crash_writer
serve`` (a fork server, to skip start-up costs) and die with ``os._exit(137)`` where
``MACHIDATA_LAKE_FAULT`` says; one test also kills a plain writer process with a real SIGKILL. The database is inspected with ``sqlite3``
directly and the lake with ``deltalake``, so nothing here shares state with the dead process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from machidata.lake.faults import POINTS as FAULT_POINTS

REPO = Path(__file__).resolve().parents[3]
WRITER = "machidata.lake.tests.crash_writer"
KILLED = 137


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A migrated file-based MACHIDATA_HOME and a fork server of writers running against it."""
    home = tmp_path_factory.mktemp("lakehome")
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--settings=machidata.config.settings"],
        cwd=REPO,
        env=_env(home),
        check=True,
        capture_output=True,
    )
    srv = Server(home)
    yield srv
    srv.close()


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHIDATA_", "DATABASE_URL"))}
    env.update(MACHIDATA_HOME=str(home), DJANGO_SETTINGS_MODULE="machidata.config.settings", **extra)
    return env


class Server:
    """The fork server: each request runs in a fresh child process (which a fault point kills)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log = (home / "server.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", WRITER, "serve"],
            cwd=REPO,
            env=_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.count = 0

    def run(self, args: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.count += 1
        out = self.home / f"out-{self.count}.json"
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"args": args, "env": env, "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, (self.home / "server.log").read_text()[-3000:]
        rc = json.loads(answer)["rc"]
        return rc, (json.loads(out.read_text()) if rc == 0 else {})

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


class Home:
    """One test's table in the shared home, with helpers to run writers and look at the results."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.path = server.home
        self.table_id = 0

    def run(self, *args: str | int, expect: int = 0, **env: str) -> dict[str, Any]:
        rc, out = self.server.run([str(a) for a in args], env)
        assert rc == expect, (self.path / "server.log").read_text()[-3000:]
        return out

    def write(self, mode: str, job: str, rows: int, *, fault: str = "", **env: str) -> dict[str, Any]:
        extra = {"MACHIDATA_LAKE_FAULT": fault} if fault else {}
        return self.run(
            "write", self.table_id, mode, job, rows, expect=KILLED if fault else 0, **extra, **env
        )

    def state(self) -> dict[str, Any]:
        return self.run("state", self.table_id)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path / "machidata.sqlite3") as db:
            return db.execute(query, params).fetchall()

    def current_number(self) -> int | None:
        rows = self.sql(
            "SELECT v.number FROM catalog_table t LEFT JOIN catalog_tableversion v ON v.id = t.current_version_id "
            "WHERE t.id = ?",
            self.table_id,
        )
        return rows[0][0]

    def statuses(self) -> list[tuple[int, str]]:
        return self.sql(
            "SELECT number, status FROM catalog_tableversion WHERE table_id = ? ORDER BY number",
            self.table_id,
        )

    def purges(self) -> list[dict[str, Any]]:
        rows = self.sql(
            "SELECT changes FROM audit_auditevent WHERE action = 'lake.purge' AND object_id = ?",
            str(self.table_id),
        )
        return [json.loads(r[0]) for r in rows]

    def table_dir(self) -> Path:
        key = self.sql("SELECT storage_key FROM catalog_table WHERE id = ?", self.table_id)[0][0]
        return self.path / "lake" / key

    def parquet_files(self) -> set[str]:
        return {p.name for p in self.table_dir().glob("*.parquet")}

    def delta(self) -> DeltaTable:
        return DeltaTable(str(self.table_dir()))


@pytest.fixture
def home(server: Server) -> Home:
    """A new empty table in the shared home."""
    h = Home(server)
    h.table_id = h.run("setup")["table"]
    return h


def names(tag: str, n: int) -> list[str]:
    return [f"{tag}-{i}" for i in range(n)]


def committed(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in state["versions"] if v["status"] == "committed"]


# Writes that die before their Delta commit: the version is abandoned and nothing of it is visible.
@pytest.mark.parametrize("fault", ["after_pending_row", "during_delta_write"])
def test_crash_before_commit_keeps_the_previous_version(home: Home, fault: str) -> None:
    home.write("replace", "a", 6)
    before_files = home.parquet_files()
    big = {"CRASH_BATCH_ROWS": "4000", "CRASH_TARGET_FILE_SIZE": "20000", "MACHIDATA_LAKE_FAULT_BATCHES": "6"}
    if fault == "during_delta_write":  # die only once the writer has put a file on disk (not a timing guess)
        big["MACHIDATA_LAKE_FAULT_WAIT_FILES"] = f"{home.table_dir()}:{len(before_files)}"
    home.write("append", "b", 40_000, fault=fault, **big)
    # Straight after the crash: version 1 still current, version 2 pending, the Delta head untouched.
    assert home.current_number() == 1
    assert home.statuses() == [(1, "committed"), (2, "pending")]
    assert home.delta().version() == 0
    orphans_after_crash = home.parquet_files()
    if fault == "during_delta_write":
        assert orphans_after_crash - before_files, "the crashed writer should have left Parquet files"
    # The next write recovers: abandons version 2, removes the orphans, and succeeds.
    assert home.write("append", "c", 2)["number"] == 3
    state = home.state()
    assert [(v["number"], v["status"]) for v in state["versions"]] == [
        (1, "committed"),
        (2, "abandoned"),
        (3, "committed"),
    ]
    assert state["current"] == 3
    assert state["versions"][2]["names"] == names("a", 6) + names("c", 2)
    assert state["versions"][2]["ids"] == list(range(1, 9))
    assert state["versions"][0]["names"] == names("a", 6)
    leftovers = home.parquet_files() - before_files
    assert len(leftovers) == 1  # only the file of version 3
    if fault == "during_delta_write":
        purges = home.purges()
        assert len(purges) == 1
        assert set(purges[0]["files"]) == (orphans_after_crash - before_files)


# Writes that die after their Delta commit: the job finished, so recovery rolls the row forward.
@pytest.mark.parametrize("fault", ["after_delta_commit", "before_row_commit"])
def test_crash_after_commit_is_rolled_forward_then_appended(home: Home, fault: str) -> None:
    home.write("replace", "a", 5)
    home.write("append", "b", 3, fault=fault)
    assert home.current_number() == 1
    assert home.statuses() == [(1, "committed"), (2, "pending")]
    assert home.delta().version() == 1
    # The next append sees version 2 (rolled forward) and continues its ids.
    assert home.write("append", "c", 2)["number"] == 3
    state = home.state()
    assert [v["status"] for v in state["versions"]] == ["committed"] * 3
    assert state["versions"][1]["names"] == names("a", 5) + names("b", 3)
    assert state["versions"][1]["rows"] == 8
    assert state["versions"][2]["names"] == names("a", 5) + names("b", 3) + names("c", 2)
    assert state["versions"][2]["ids"] == list(range(1, 11))
    assert state["current"] == 3


def test_rowless_commit_never_leaks_into_a_later_append(home: Home) -> None:
    home.write("replace", "a", 4)
    home.write("append", "b", 3, fault="after_delta_commit")
    # The job was cancelled meanwhile: its row is abandoned, so its Delta commit has no row.
    home.sql("UPDATE catalog_tableversion SET status = 'abandoned' WHERE number = 2")
    assert home.write("append", "c", 2)["number"] == 3
    state = home.state()
    assert [v["status"] for v in state["versions"]] == ["committed", "abandoned", "committed"]
    assert state["versions"][2]["names"] == names("a", 4) + names("c", 2)
    assert state["versions"][2]["ids"] == [1, 2, 3, 4, 5, 6]
    # The head was restored to version 1's Delta version before the append.
    ops = [h["operation"] for h in sorted(home.delta().history(), key=lambda h: h["version"])]
    assert ops == ["WRITE", "WRITE", "RESTORE", "WRITE"]


def test_crash_of_the_very_first_write(home: Home) -> None:
    home.write(
        "replace", "a", 3, fault="during_delta_write", CRASH_BATCH_ROWS="1", MACHIDATA_LAKE_FAULT_BATCHES="2"
    )
    assert home.current_number() is None
    state = home.state()
    assert state["versions"] == [{"number": 1, "status": "abandoned", "rows": None, "mode": "replace"}]
    assert home.write("append", "b", 2)["number"] == 2
    assert committed(home.state())[0]["names"] == names("b", 2)


@pytest.mark.slow
def test_random_crashes(home: Home) -> None:
    """Seeded loop: random modes, sizes and fault points; the result must match a simple model."""
    rng = random.Random(20240401)
    # Every fault point twice and two clean writes, in a seeded random order.
    faults = [*FAULT_POINTS, *FAULT_POINTS, "", ""]
    rng.shuffle(faults)
    model: list[list[str]] = []  # rows of each committed version, in order
    expected_status: list[str] = []
    for i, fault in enumerate(faults):
        mode = rng.choice(["replace", "append"])
        rows = rng.randint(1, 9)
        after_batches = str(rng.randint(0, 2))  # where during_delta_write strikes
        tag = f"j{i}"
        home.write(mode, tag, rows, fault=fault, MACHIDATA_LAKE_FAULT_BATCHES=after_batches)
        expected_status.append(
            "abandoned" if fault in ("after_pending_row", "during_delta_write") else "committed"
        )
        if expected_status[-1] == "committed":
            base = model[-1] if (mode == "append" and model) else []
            model.append(base + names(tag, rows))
    state = home.state()
    assert [v["status"] for v in state["versions"]] == expected_status
    versions = committed(state)
    assert [v["names"] for v in versions] == model
    for v in versions:
        assert v["ids"] == list(range(1, len(v["names"]) + 1))
        assert v["rows"] == len(v["names"])
    assert state["current"] == (versions[-1]["number"] if versions else None)
    # Every file of every committed version is still there.
    for v in versions:
        delta_version = home.sql(
            "SELECT delta_version FROM catalog_tableversion WHERE table_id = ? AND number = ?",
            home.table_id,
            v["number"],
        )[0][0]
        assert {
            Path(u).name for u in DeltaTable(str(home.table_dir()), version=delta_version).file_uris()
        } <= (home.parquet_files())
    # The next write still succeeds.
    assert home.write("append", "last", 1)["number"] == len(expected_status) + 1


def test_sigkill_from_outside_mid_write(home: Home) -> None:
    """A real SIGKILL while Parquet files are being written, from another process."""
    home.write("replace", "a", 3)
    before = home.parquet_files()
    env = _env(home.path, CRASH_BATCH_ROWS="2000", CRASH_TARGET_FILE_SIZE="10000", CRASH_SLEEP="0.05")
    proc = subprocess.Popen(
        [sys.executable, "-m", WRITER, "write", str(home.table_id), "append", "k", "2000000"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (home.parquet_files() - before) and time.monotonic() < deadline:
            assert proc.poll() is None, "the writer ended before it could be killed"
            time.sleep(0.05)
        assert home.parquet_files() - before, "no Parquet file appeared within a minute"
        # Meanwhile another writer is refused: the lease is held by the live process.
        assert home.sql("SELECT lease_holder FROM catalog_table WHERE id = ?", home.table_id)[0][0]
        home.run("write", home.table_id, "append", "intruder", 1, expect=1)
        assert "この表はほかの処理が更新中です" in (home.path / "server.log").read_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert home.current_number() == 1
    assert home.delta().version() == 0
    state = home.state()
    assert [(v["number"], v["status"]) for v in state["versions"]] == [(1, "committed"), (2, "abandoned")]
    assert home.parquet_files() == before
    assert home.purges()
    assert home.write("append", "b", 1)["number"] == 3


@pytest.mark.slow
def test_concurrent_writers_on_one_table(home: Home) -> None:
    """Four writer processes at once: each either commits exactly its rows or is refused; none is lost."""
    home.write("replace", "base", 2)
    env = _env(home.path, CRASH_BATCH_ROWS="50", CRASH_SLEEP="0.01")
    jobs = [f"w{j}" for j in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", WRITER, "write", str(home.table_id), "append", job, "300"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    acked: dict[str, int] = {}
    for job, proc in zip(jobs, procs, strict=True):
        out, err = proc.communicate(timeout=300)
        if proc.returncode == 0:
            acked[job] = json.loads(out.strip().splitlines()[-1])["number"]
        else:
            assert "この表はほかの処理が更新中です" in err, err[-2000:]
    assert acked, "no writer got through"
    versions = committed(home.state())
    by_number = {v["number"]: v for v in versions}
    job_of = dict(
        home.sql("SELECT number, job_id FROM catalog_tableversion WHERE table_id = ?", home.table_id)
    )
    # Every acknowledged commit is there, and every committed version is its predecessor plus its own rows.
    assert all(by_number[n] and job_of[n] == job for job, n in acked.items())
    previous: list[str] = []
    for v in versions:
        job = job_of[v["number"]]
        expected = names(job, 2) if job == "base" else previous + names(job, 300)
        assert v["names"] == expected
        assert v["ids"] == list(range(1, len(expected) + 1))
        previous = v["names"]
    assert home.current_number() == versions[-1]["number"]


# A retention purge killed half-way: the version is already 消去済み (never a committed version with
# missing files), and the next recovery of the table deletes what the killed purge left.
@pytest.mark.parametrize("fault", ["purge_after_mark", "purge_during_delete"])
def test_purge_killed_half_way_leaves_the_lake_consistent(home: Home, fault: str) -> None:
    home.write("replace", "a", 6, CRASH_TARGET_FILE_SIZE="1")
    v1_files = home.parquet_files()
    home.write("replace", "b", 4)
    home.write("replace", "c", 5)
    home.run("purge", home.table_id, 1, expect=KILLED, MACHIDATA_LAKE_FAULT=fault)
    assert home.statuses() == [(1, "purged"), (2, "committed"), (3, "committed")]
    left = home.parquet_files() & v1_files
    assert left, "the fault fired before every file was deleted"
    state = home.state()  # recovery finishes the purge
    assert not (home.parquet_files() & v1_files)
    assert [v["names"] for v in committed(state)] == [names("b", 4), names("c", 5)]
    assert home.current_number() == 3
    assert len(home.delta().file_uris()) >= 1
