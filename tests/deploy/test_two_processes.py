"""The production layout of docs/deployment.md, started for real: two app processes and one job runner
on one PostgreSQL, driven over HTTP at the same time (issue 15, point 3).

An empty database is made on the PostgreSQL server of ``DATABASE_URL`` (and dropped afterwards);
``machidata migrate`` and the demo's content and accounts (``demo --load-only --no-data``) fill it;
then ``machidata worker --workers 4`` and two ``machidata serve --no-worker --workers 1`` on free ports
of 127.0.0.1 share it and one ``MACHIDATA_HOME``. Through both processes at once:

1. the same searches give the same answers;
2. 8 CSV imports into one empty table, started at the same moment (4 through each process, each in its
   own signed-in session), all succeed as versions 1–8, each version the rows of its own upload: the
   later ones wait for the table's lease (MACHIDATA_LEASE_WAIT_SECONDS) instead of failing;
3. two edits of one dataset with the same ``lock_version`` (the steward through one process, 管理
   through the other): one 200, one 409 that changed nothing, and the refused edit saved again with
   the new ``lock_version``; both processes then read the last one;
4. the job runner's index update after the edits is found by a search through either process, and
   the dataset, the table, its versions and its rows read the same through both.

Runs only on PostgreSQL (the CI PostgreSQL lane gives ``DATABASE_URL``); ``-m deploy`` selects it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import string
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from bench.live import (
    RUNNER_READY,
    TIMEOUT_S,
    api_session,
    api_token,
    cpu_seconds,
    datasets,
    form_token,
    free_port,
    ingest_csv,
    job_runner,
    machidata,
    production_env,
    server,
    sign_in,
    upload,
    wait_job,
    wait_ready,
)

DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = urlsplit(DATABASE_URL).scheme in {"postgres", "postgresql"}

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.slow,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="needs a PostgreSQL server: several app processes share one metadata database only on "
        "PostgreSQL; run with DATABASE_URL=postgresql://… (the CI PostgreSQL lane does)",
    ),
]

STEWARD = ("steward", "demo-steward-2024")  # machidata/demo/content.py ACCOUNTS (editor of 健康づくり推進課)
ADMIN = ("admin", "demo-admin-2024")  # 管理 (データ戦略課)
IMPORTS = 8
RUNNER_THREADS = 4
TABLE = ("two_processes", "二つのプロセスからの取り込み")
SEARCHES = ["人口", "保育", "救急", "ごみ", "子ども", "避難所"]


@contextlib.contextmanager
def empty_database(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url`` for the block (dropped after it); its URL."""
    import psycopg
    from psycopg import sql

    name = f"machidata_deploy_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path="/" + name))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Deployment:
    """The two app processes (``a``, ``b``: base URLs) over one database and ``home``; logs in ``home``."""

    a: str
    b: str
    home: Path
    timings: dict[str, float]
    cpu_setup: float  # CPU seconds of migrate and the demo load
    processes: list[int]  # the runner's and the app processes' pids

    def logs(self) -> str:
        """The end of every log, for a failure's message."""
        parts = []
        for log in sorted(self.home.glob("*.log")):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {log.name} (last 30 lines)\n" + "\n".join(lines[-30:]))
        return "\n".join(parts)


@pytest.fixture
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """migrate + the demo's content into an empty PostgreSQL database, one job runner, two app processes.

    Their ``MACHIDATA_HOME`` (with the logs) is a temporary folder removed afterwards, kept when the test failed."""
    timings: dict[str, float] = {}
    failed_before = request.session.testsfailed
    home = Path(tempfile.mkdtemp(prefix="machidata-deploy-"))
    with empty_database(DATABASE_URL) as url:
        env = production_env(
            home,
            url,
            # 8 imports by one person at once (the default lets one person have 3 waiting or running)
            MACHIDATA_INGEST_PER_USER=str(IMPORTS),
        )
        t0, cpu0 = time.perf_counter(), _children_cpu()
        machidata(env, "migrate", log=home / "setup.log")
        timings["migrate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        machidata(env, "demo", "--load-only", "--no-data", log=home / "setup.log")
        timings["demo content"] = time.perf_counter() - t0
        cpu_setup = _children_cpu() - cpu0
        t0 = time.perf_counter()
        port_a = port_b = free_port()
        while port_b == port_a:
            port_b = free_port()
        with (
            # The runner starts while the app processes do; it must be ready before the test starts.
            job_runner(env, workers=RUNNER_THREADS, log=home / "worker.log", wait=False) as runner,
            # One after the other: each start collects the static files into the same folder.
            server(env, port=port_a, workers=1, threads=4, log=home / "app-a.log", with_runner=False) as a,
            server(env, port=port_b, workers=1, threads=4, log=home / "app-b.log", with_runner=False) as b,
        ):
            wait_ready(runner, log=home / "worker.log", ready_text=RUNNER_READY)
            timings["start"] = time.perf_counter() - t0
            yield Deployment(
                f"http://127.0.0.1:{port_a}",
                f"http://127.0.0.1:{port_b}",
                home,
                timings,
                cpu_setup,
                [runner.pid, a.pid, b.pid],
            )
    if request.session.testsfailed == failed_before:
        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"logs kept in {home}")  # noqa: T201 - where to look after a failure


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released at the same moment; their results in order (an error re-raised)."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    gate = threading.Barrier(len(calls))

    def run(i: int) -> None:
        try:
            gate.wait()
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    if errors:  # the first cause, not a barrier another thread's failure broke
        raise sorted(errors, key=lambda e: isinstance(e, threading.BrokenBarrierError))[0]
    return results


def _json(api: requests.Session, url: str, **params: Any) -> Any:
    answer = api.get(url, params=params, timeout=TIMEOUT_S)
    assert answer.status_code == 200, f"GET {url}: {answer.status_code} {answer.text[:300]}"
    return answer.json()


def _same(api: requests.Session, d: Deployment, path: str, **params: Any) -> Any:
    """GET ``path`` through both processes; the two answers must be equal. Returns the answer."""
    through_a = _json(api, d.a + path, **params)
    through_b = _json(api, d.b + path, **params)
    assert through_a == through_b, f"{path} {params}: the two app processes answer differently"
    return through_a


def _create_table(session: requests.Session, base: str, slug: str) -> None:
    path = f"/catalog/{slug}/tables/new/"
    csrf = form_token(session, base, path)
    answer = session.post(
        base + path,
        data={"csrfmiddlewaretoken": csrf, "name": TABLE[0], "title": TABLE[1]},
        headers={"Referer": base + path},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    assert answer.status_code == 302, f"table not created: {answer.status_code}"


def _concurrent_imports(d: Deployment, slug: str, api: requests.Session) -> dict[str, int]:
    """8 uploads, 4 through each process, each from its own session, all started at the same moment."""
    bases = [d.a if i % 2 == 0 else d.b for i in range(IMPORTS)]
    sessions = [sign_in(base, *STEWARD) for base in bases]
    gate = threading.Barrier(IMPORTS)

    def step(kind: str, path: str, call: Callable[[], requests.Response]) -> requests.Response:
        if kind == "ingest_start":  # every upload is previewed; now all press "start" at once
            gate.wait(timeout=120)
        return call()

    def one(i: int) -> tuple[int, str]:
        try:
            job, _ = upload(
                sessions[i],
                bases[i],
                slug,
                ingest_csv(40 + i, seed=i),  # 40 + i rows: each version shows which upload it holds
                table=TABLE[0],
                note=f"同時の取り込み {i}",
                file_name=f"part{i}.csv",
                step=step,
            )
        except BaseException:
            gate.abort()  # the others stop waiting for this one
            raise
        return job, bases[i]

    t0 = time.perf_counter()
    started = _together([lambda i=i: one(i) for i in range(IMPORTS)])
    jobs = [wait_job(api, base, job, timeout=300) for job, base in started]
    d.timings["8 imports"] = time.perf_counter() - t0
    failed = [
        f"job {j.get('id')}: {j['status']} {j.get('error', '')}" for j in jobs if j["status"] != "succeeded"
    ]
    assert not failed, "imports that did not succeed:\n" + "\n".join(failed) + "\n" + d.logs()
    return {f"同時の取り込み {i}": int(j["result"]["version"]) for i, j in enumerate(jobs)}


def test_two_app_processes_and_a_job_runner_on_postgresql(deployment: Deployment) -> None:
    d = deployment
    steward = sign_in(d.a, *STEWARD)
    token = api_token(steward, d.a, "deploy-steward")
    admin_token = api_token(sign_in(d.b, *ADMIN), d.b, "deploy-admin")
    api, admin_api = api_session(token), api_session(admin_token)

    # 1. Searches before any change: the same answers through both processes, and they find something.
    found = [_same(api, d, "/api/v1/search", q=q)["count"] for q in SEARCHES]
    assert any(found), f"no search found anything: {dict(zip(SEARCHES, found, strict=True))}"

    # 2. 8 imports into one empty table at once.
    editable = [
        x["slug"] for x in datasets(api, d.a) if "edit" in x["allowed_actions"] and not x.get("retired_at")
    ]
    assert editable, "the steward may edit no dataset: is the demo content loaded?"
    slug = sorted(editable)[0]
    _create_table(steward, d.a, slug)
    by_note = _concurrent_imports(d, slug, api)
    assert sorted(by_note.values()) == list(range(1, IMPORTS + 1)), f"versions of the jobs: {by_note}"
    table_path = f"/api/v1/datasets/{slug}/tables/{TABLE[0]}"
    versions = _same(api, d, table_path + "/versions")
    assert sorted(v["number"] for v in versions) == list(range(1, IMPORTS + 1)), versions
    assert all(v["status"] == "committed" for v in versions), versions
    for v in versions:  # each version holds the rows of the upload whose job reported it
        i = int(v["note"].rsplit(" ", 1)[1])
        assert by_note[v["note"]] == v["number"], v
        assert v["rows"] == 40 + i, v
    assert [v["number"] for v in versions if v["is_current"]] == [IMPORTS]
    last = next(int(note.rsplit(" ", 1)[1]) for note, n in by_note.items() if n == IMPORTS)

    # 3. Two edits from the same lock_version at once, through the two processes.
    before = _same(api, d, f"/api/v1/datasets/{slug}")
    lock = before["lock_version"]
    marks = {k: "".join(secrets.choice(string.ascii_lowercase) for _ in range(12)) for k in "ab"}
    texts = {
        "a": f"{before['description']}\n\n更新メモ: 町丁別の集計を追加しました（{marks['a']}）。",
        "b": f"{before['description']}\n\n更新メモ: 出典の表記を直しました（{marks['b']}）。",
    }
    answers = _together(
        [
            lambda: api.patch(
                f"{d.a}/api/v1/datasets/{slug}",
                json={"lock_version": lock, "description": texts["a"]},
                timeout=TIMEOUT_S,
            ),
            lambda: admin_api.patch(
                f"{d.b}/api/v1/datasets/{slug}",
                json={"lock_version": lock, "description": texts["b"]},
                timeout=TIMEOUT_S,
            ),
        ]
    )
    statuses = {"a": answers[0].status_code, "b": answers[1].status_code}
    assert sorted(statuses.values()) == [200, 409], (
        f"{statuses}: {answers[0].text[:200]} {answers[1].text[:200]}"
    )
    won = "a" if statuses["a"] == 200 else "b"
    lost = "b" if won == "a" else "a"
    refused = answers[0 if lost == "a" else 1].json()
    assert refused["current_lock_version"] == lock + 1, refused
    after = _same(api, d, f"/api/v1/datasets/{slug}")
    assert (after["description"], after["lock_version"]) == (texts[won], lock + 1)
    # The refused person reads again and saves with the new lock_version: nothing is lost.
    who, base = (api, d.a) if lost == "a" else (admin_api, d.b)
    again = who.patch(
        f"{base}/api/v1/datasets/{slug}",
        json={"lock_version": lock + 1, "description": texts[lost]},
        timeout=TIMEOUT_S,
    )
    assert again.status_code == 200, again.text[:300]
    final = _same(api, d, f"/api/v1/datasets/{slug}")
    assert (final["description"], final["lock_version"]) == (texts[lost], lock + 2)

    # 4. The runner's index update is seen by both processes; reads agree.
    word = marks[lost]  # a random word only the last saved text holds
    deadline = time.monotonic() + 60
    while True:
        hits = _json(api, d.b + "/api/v1/search", q=word)
        if hits["count"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [h["slug"] for h in hits["items"]] == [slug], f"search for {word!r} through B: {hits}\n{d.logs()}"
    assert _same(api, d, "/api/v1/search", q=word)["count"] == 1
    for q in SEARCHES:
        _same(api, d, "/api/v1/search", q=q)
    _same(api, d, table_path)
    rows = _same(api, d, table_path + "/rows", sort="受付番号", limit=100)
    assert (rows["version"], rows["total"]) == (IMPORTS, 40 + last)
    print(  # noqa: T201 - the cost, shown with -s or -rP
        "two-process deployment test: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in d.timings.items())
        + f"; CPU {d.cpu_setup + sum(cpu_seconds(p) for p in d.processes):.0f} s in all"
        + f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
