"""``python -m bench load``: a realistic mix of requests against the production server on loopback.

What it does, once per run:

1. a fresh ``MACHIDATA_HOME`` (a temporary folder), ``machidata migrate`` and ``machidata demo
   --load-only`` (the demo content and data, without serving), with production settings
   (``MACHIDATA_PRODUCTION=1``, a generated secret key, ``MACHIDATA_ALLOWED_HOSTS=127.0.0.1``,
   ``MACHIDATA_HTTPS=0``); ``--database-url postgresql://…`` puts the metadata in PostgreSQL
   (the database must be empty);
2. ``machidata serve`` — gunicorn (gthread) and the job runner, exactly as in production — on a free
   port of 127.0.0.1;
3. the demo accounts sign in (session cookie) and each makes an API token through ``/api/v1/tokens``,
   as a real client would; the targets (datasets, tables, dashboards and their charts) are found
   through the API as each account sees them;
4. for each level (default 20 then 50 clients) the clients run for ``--duration`` seconds: each
   client is one thread with its own session, picks a request by the weights in :data:`MIX`, waits
   for the whole answer, then thinks for ``--think`` seconds (uniform) before the next one; one
   extra thread uploads a CSV through the ingest pages every ``--ingest-every`` seconds and follows
   the job to its end (the runner does the work in the background);
5. per level: requests/s, p50/p95/p99 by class (pages, API, dashboards, downloads, ingest), errors
   (any status other than 2xx/3xx, or a timeout, or a connection error), and the peak memory of the
   server's processes (sampled from /proc every 0.5 s: the sum of PSS over the process tree, and the
   largest RSS of a single process).

Each request opens its own connection (``Connection: close``): gunicorn closes an idle keep-alive
connection after 2 s, shorter than the think time, and where a browser silently retries a request
that met such a closed connection, this script would count an error that no person would see.

Results go to ``.bench/results/load-<database>-<stamp>.json`` and the "Load" section of
docs/benchmarks.md (the newest result of each database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.live import (
    TIMEOUT_S,
    UploadFailedError,
    api_session,
    api_token,
    cpu_seconds,
    datasets,
    descendants,
    free_port,
    ingest_csv,
    prepare,
    production_env,
    server,
    sign_in,
    upload,
    wait_job,
)
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".bench" / "results"
JUDGEMENTS = Path(__file__).resolve().parent / "search_judgements.json"

# (kind, class, weight): the share of each request in a client's choices. Classes carry the targets:
# pages and API p95 ≤ 500 ms, dashboards p95 ≤ 2 s (at 50 clients); downloads and ingest are reported.
MIX: list[tuple[str, str, int]] = [
    ("catalog_search", "page", 20),  # /catalog/?q=… (the staff catalog, Japanese queries)
    ("portal_search", "page", 5),  # /open/search/?q=… (the public portal)
    ("dataset_page", "page", 15),  # /catalog/<slug>/
    ("table_page", "page", 5),  # /catalog/<slug>/tables/<name>/
    ("api_rows", "api", 15),  # /api/v1/datasets/<slug>/tables/<name>/rows (token)
    ("api_search", "api", 5),  # /api/v1/search?q=… (token)
    ("api_dataset", "api", 5),  # /api/v1/datasets/<slug> (token)
    ("dashboard_page", "dashboard", 10),  # /charts/dashboards/<uuid>/ (charts rendered in the page)
    ("chart_spec", "dashboard", 10),  # /api/v1/charts/<uuid>/spec (a dashboard chart's data)
    ("download_csv", "download", 10),  # /catalog/<slug>/tables/<name>/download/?format=csv
]
TARGETS_MS: dict[str, float] = {"page": 500.0, "api": 500.0, "dashboard": 2000.0}
CLASSES = ("page", "api", "dashboard", "download", "ingest")
USERS: list[tuple[str, str]] = [  # the demo accounts (machidata/demo/content.py); demo only
    ("staff", "demo-staff-2024"),
    ("steward", "demo-steward-2024"),
    ("steward2", "demo-steward2-2024"),
    ("admin", "demo-admin-2024"),
]
INGEST_USER = ("steward", "demo-steward-2024")
INGEST_TITLE = "負荷試験の取り込み"


# ---- memory of the server's processes ----------------------------------------------------------------


def _kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Every 0.5 s: the sum of PSS over ``pid`` and its descendants, and the largest single RSS."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_pss_kib = 0
        self.peak_rss_kib = 0
        self.processes = 0
        self.by_role: dict[str, int] = {}  # the largest RSS seen of one process of each role
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _role(self, pid: int) -> str:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return "gone"
        if pid == self.pid:
            return "serve"
        if "gunicorn" in cmd:
            return (
                "gunicorn master" if _kib(f"/proc/{pid}/status", "PPid:") == self.pid else "gunicorn worker"
            )
        if "machidata.cli worker" in cmd:
            return "job runner"
        return "job or engine process"

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            pids = descendants(self.pid)
            pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
            rss = {p: _kib(f"/proc/{p}/status", "VmRSS:") for p in pids}
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_rss_kib = max(self.peak_rss_kib, max(rss.values(), default=0))
            self.processes = max(self.processes, len(pids))
            for p, kib in rss.items():
                role = self._role(p)
                self.by_role[role] = max(self.by_role.get(role, 0), kib)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---- clients ------------------------------------------------------------------------------------------


@dataclass
class Targets:
    """What one account may reach, found through the API as that account."""

    datasets: list[str] = field(default_factory=list)
    tables: list[tuple[str, str, list[str]]] = field(default_factory=list)  # slug, name, field names
    dashboards: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)


def discover(base: str, token: str) -> Targets:
    """Datasets the account may read, their tables with a current version, dashboards and their charts."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    found = Targets()
    for d in datasets(api, base):
        if "read" not in d["allowed_actions"]:
            continue
        found.datasets.append(d["slug"])
        for t in api.get(f"{base}/api/v1/datasets/{d['slug']}/tables", timeout=TIMEOUT_S).json():
            if not t.get("current_version") or not t.get("can_read"):
                continue
            detail = api.get(
                f"{base}/api/v1/datasets/{d['slug']}/tables/{t['name']}", timeout=TIMEOUT_S
            ).json()
            names = [f["name"] for f in detail.get("fields") or []]
            found.tables.append((d["slug"], t["name"], names))
    for board in api.get(base + "/api/v1/dashboards/", params={"page_size": 100}, timeout=TIMEOUT_S).json()[
        "items"
    ]:
        found.dashboards.append(str(board["uuid"]))
        for item in board["items"]:
            chart = item.get("chart")
            if chart and api.get(f"{base}/api/v1/charts/{chart}/spec", timeout=TIMEOUT_S).status_code == 200:
                found.charts.append(str(chart))
    return found


@dataclass
class Sample:
    """One request: its kind and class, when it ended (seconds from the level's start), time, outcome."""

    kind: str
    cls: str
    ended: float
    ms: float
    ok: bool
    status: int
    error: str = ""
    path: str = ""


class Recorder:
    """Collects the samples of all threads."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.samples: list[Sample] = []
        self.messages: dict[str, str] = {}  # the first message of each kind of client-side error
        self._lock = threading.Lock()

    def timed(
        self, kind: str, cls: str, call: Callable[[], requests.Response], path: str = ""
    ) -> requests.Response | None:
        """Run one request, timed with perf_counter over the whole answer (bodies are read in full)."""
        t0 = time.perf_counter()
        answer: requests.Response | None = None
        error = ""
        try:
            answer = call()
            _ = answer.content
        except requests.RequestException as exc:
            error = type(exc).__name__
            self.messages.setdefault(f"{kind}: {error}", str(exc)[:300])
        ms = (time.perf_counter() - t0) * 1000
        status = answer.status_code if answer is not None else 0
        ok = answer is not None and 200 <= status < 400
        if answer is not None and not ok:
            error = f"HTTP {status}"
        with self._lock:
            self.samples.append(
                Sample(kind, cls, time.perf_counter() - self.started, ms, ok, status, error, path)
            )
        return answer


def _queries() -> list[str]:
    data = json.loads(JUDGEMENTS.read_text(encoding="utf-8"))
    return [q["query"] for q in data["queries"]]


class Client(threading.Thread):
    """One person: a signed-in browser session for pages, a token for the API."""

    def __init__(
        self,
        *,
        base: str,
        session: requests.Session,
        token: str,
        targets: Targets,
        queries: list[str],
        recorder: Recorder,
        until: float,
        think: tuple[float, float],
        seed: int,
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.session, self.targets, self.queries = base, session, targets, queries
        self.api = api_session(token)
        self.recorder, self.until, self.think = recorder, until, think
        self.rng = random.Random(seed)
        self.kinds = [k for k, _, _ in MIX]
        self.classes = {k: c for k, c, _ in MIX}
        self.weights = [w for _, _, w in MIX]

    def _path(self, kind: str) -> tuple[requests.Session, str, dict[str, Any]]:  # noqa: PLR0911 - one return per kind of MIX
        rng, t = self.rng, self.targets
        if kind == "catalog_search":
            return self.session, "/catalog/", {"q": rng.choice(self.queries)}
        if kind == "portal_search":
            return self.session, "/open/search/", {"q": rng.choice(self.queries)}
        if kind == "dataset_page":
            return self.session, f"/catalog/{rng.choice(t.datasets)}/", {}
        if kind == "table_page":
            slug, name, _ = rng.choice(t.tables)
            return self.session, f"/catalog/{slug}/tables/{name}/", {}
        if kind == "api_rows":
            slug, name, fields = rng.choice(t.tables)
            params: dict[str, Any] = {"limit": 100, "offset": rng.choice([0, 0, 100, 500])}
            if fields and rng.random() < 0.5:
                params["sort"] = ("-" if rng.random() < 0.5 else "") + rng.choice(fields)
            return self.api, f"/api/v1/datasets/{slug}/tables/{name}/rows", params
        if kind == "api_search":
            return self.api, "/api/v1/search", {"q": rng.choice(self.queries)}
        if kind == "api_dataset":
            return self.api, f"/api/v1/datasets/{rng.choice(t.datasets)}", {}
        if kind == "dashboard_page":
            return self.session, f"/charts/dashboards/{rng.choice(t.dashboards)}/", {}
        if kind == "chart_spec":
            return self.api, f"/api/v1/charts/{rng.choice(t.charts)}/spec", {}
        if kind == "download_csv":
            slug, name, _ = rng.choice(t.tables)
            return self.session, f"/catalog/{slug}/tables/{name}/download/", {"format": "csv"}
        raise ValueError(kind)

    def run(self) -> None:
        time.sleep(self.rng.uniform(0, self.think[1]))  # not all at once
        while time.perf_counter() < self.until:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            session, path, params = self._path(kind)
            url = self.base + path
            self.recorder.timed(
                kind,
                self.classes[kind],
                lambda s=session, u=url, p=params: s.get(
                    u, params=p, timeout=TIMEOUT_S, allow_redirects=False
                ),
                path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""),
            )
            time.sleep(self.rng.uniform(*self.think))


class Ingester(threading.Thread):
    """Uploads a CSV through the ingest pages every ``every`` seconds and follows the job to its end."""

    def __init__(
        self,
        *,
        base: str,
        session: requests.Session,
        token: str,
        slug: str,
        recorder: Recorder,
        until: float,
        every: float,
        rows: int,
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.session, self.slug, self.recorder = base, session, slug, recorder
        self.api = api_session(token)
        self.until, self.every, self.rows = until, every, rows
        self.jobs: list[dict[str, Any]] = []
        self.table = ""

    def once(self, n: int) -> None:
        try:
            job_id, self.table = upload(
                self.session,
                self.base,
                self.slug,
                ingest_csv(self.rows, n),
                table_title=INGEST_TITLE,
                note=f"負荷試験 {n}",
                file_name="load_bench.csv",
                step=lambda kind, path, call: self.recorder.timed(kind, "ingest", call, path),
            )
        except UploadFailedError as exc:  # the failed request is already counted by the recorder
            if exc.step == "ingest_start" and exc.status == 302:
                self.jobs.append({"n": n, "status": "no job page", "seconds": None})
            return
        job = wait_job(self.api, self.base, job_id)
        self.jobs.append({"n": n, "job": job_id, "status": job["status"], "seconds": job["seconds"]})

    def run(self) -> None:
        n = 0
        while time.perf_counter() < self.until:
            n += 1
            t0 = time.perf_counter()
            self.once(n)
            time.sleep(max(0.0, self.every - (time.perf_counter() - t0)))


# ---- a level ---------------------------------------------------------------------------------------


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def _summary(samples: list[Sample], seconds: float) -> dict[str, Any]:
    ms = [s.ms for s in samples]
    return {
        "requests": len(samples),
        "rps": round(len(samples) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(_pct(ms, 50), 1),
        "p95_ms": round(_pct(ms, 95), 1),
        "p99_ms": round(_pct(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
        "errors": sum(not s.ok for s in samples),
    }


def run_level(
    *,
    base: str,
    clients: int,
    duration: float,
    think: tuple[float, float],
    people: dict[str, dict[str, Any]],
    queries: list[str],
    ingest_slug: str,
    ingest_every: float,
    ingest_rows: int,
    server_pid: int,
    seed: int,
) -> dict[str, Any]:
    """Run ``clients`` people for ``duration`` seconds (plus the ingest thread); the level's figures."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    until = started + duration
    recorder = Recorder(started)
    users = list(people)
    threads: list[threading.Thread] = []
    for i in range(clients):
        who = people[users[i % len(users)]]
        session = api_session()
        session.cookies.update(who["session"].cookies)
        threads.append(
            Client(
                base=base,
                session=session,
                token=who["token"],
                targets=who["targets"],
                queries=queries,
                recorder=recorder,
                until=until,
                think=think,
                seed=seed + i,
            )
        )
    ingester = None
    if ingest_every > 0 and ingest_slug:
        who = people[INGEST_USER[0]]
        ingest_session = api_session()
        ingest_session.cookies.update(who["session"].cookies)
        ingester = Ingester(
            base=base,
            session=ingest_session,
            token=who["token"],
            slug=ingest_slug,
            recorder=recorder,
            until=until,
            every=ingest_every,
            rows=ingest_rows,
        )
        threads.append(ingester)
    cpu_before = cpu_seconds(server_pid)
    with MemorySampler(server_pid) as memory:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=duration + 4 * TIMEOUT_S + 660)
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(server_pid) - cpu_before
    samples = list(recorder.samples)
    by_class = {c: _summary([s for s in samples if s.cls == c], elapsed) for c in CLASSES}
    by_kind = {
        k: _summary([s for s in samples if s.kind == k], elapsed) for k in sorted({s.kind for s in samples})
    }
    errors: dict[str, int] = {}
    for s in samples:
        if not s.ok:
            key = f"{s.kind}: {s.error}"
            errors[key] = errors.get(key, 0) + 1
    for job in ingester.jobs if ingester else []:
        if job["status"] != "succeeded":  # an upload whose job failed is an error too
            key = f"ingest_job: {job['status']}"
            errors[key] = errors.get(key, 0) + 1
    targets = {
        c: {"p95_ms": by_class[c]["p95_ms"], "target_ms": limit, "met": by_class[c]["p95_ms"] <= limit}
        for c, limit in TARGETS_MS.items()
    }
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "all": _summary(samples, elapsed),
        "by_class": by_class,
        "by_kind": by_kind,
        "errors": errors,
        "error_messages": recorder.messages,
        "server_cpu": {
            "seconds": round(server_cpu, 1),
            "cores_busy": round(server_cpu / elapsed, 2),
            "ms_per_request": round(1000 * server_cpu / len(samples), 1) if samples else None,
        },
        "slowest": [
            {"kind": s.kind, "path": s.path, "ms": round(s.ms, 1), "status": s.status}
            for s in sorted(samples, key=lambda s: -s.ms)[:10]
        ],
        "targets": targets,
        "ingest_jobs": ingester.jobs if ingester else [],
        "memory": {
            "peak_pss_sum_mib": round(memory.peak_pss_kib / 1024, 1),
            "peak_rss_one_process_mib": round(memory.peak_rss_kib / 1024, 1),
            "processes": memory.processes,
            "peak_rss_by_role_mib": {r: round(k / 1024, 1) for r, k in sorted(memory.by_role.items())},
        },
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
    }


# ---- the doc -----------------------------------------------------------------------------------------


def _fmt(ms: float) -> str:
    return "–" if ms != ms else f"{ms:,.0f}"  # noqa: PLR0124 - NaN check


def render(results: list[dict[str, Any]]) -> str:
    """The Markdown block of the Load section: one table per database, newest run of each."""
    lines = [
        "Generated by `python -m bench load` (bench/load.py). Each client is a thread with its own "
        "signed-in session and API token; it waits for the whole answer, then thinks before the next "
        "request. Errors are any status other than 2xx/3xx, a timeout (30 s) or a connection error. "
        "Memory: the peak over the level of the sum of PSS of the server's processes "
        "(`machidata serve`, the gunicorn master and workers, the job runner and its children) and "
        "the largest RSS of one of them. Targets (at 50 clients): p95 ≤ 500 ms for pages and API, "
        "≤ 2 s for dashboards.",
        "",
        "Mix (weights, per client): "
        + ", ".join(f"{k} {w}" for k, _, w in MIX)
        + "; plus one background upload of a CSV through the ingest pages (upload → preview → start, "
        "then the job followed through the API) every `--ingest-every` seconds.",
    ]
    for result in results:
        cfg = result["config"]
        lines += [
            "",
            f"### {result['database']} — run finished {result['finished']}",
            "",
            f"- {cfg['duration']:.0f} s per level"
            + ("" if cfg["duration"] >= 300 else " (the default is 300 s; this run was shortened)")
            + f", think time "
            f"{cfg['think'][0]:g}–{cfg['think'][1]:g} s, gunicorn gthread {cfg['workers']} workers × "
            f"{cfg['threads']} threads + the job runner, {cfg['cpus']} CPUs; one upload of "
            f"{cfg['ingest_rows']:,} rows every {cfg['ingest_every']:g} s.",
            f"- {cfg['note']}" if cfg.get("note") else "",
            "",
            "| clients | class | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | target |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for level in result["levels"]:
            for cls in (*CLASSES, "all"):
                s = level["all"] if cls == "all" else level["by_class"][cls]
                if not s["requests"]:
                    continue
                target = level["targets"].get(cls)
                verdict = (
                    f"p95 ≤ {target['target_ms']:,.0f}: {'met' if target['met'] else '**not met**'}"
                    if target and level["clients"] == 50
                    else ""
                )
                lines.append(
                    f"| {level['clients']} | {cls} | {s['requests']:,} | {s['rps']:.1f} | {_fmt(s['p50_ms'])} | "
                    f"{_fmt(s['p95_ms'])} | {_fmt(s['p99_ms'])} | {_fmt(s['max_ms'])} | {s['errors']} | {verdict} |"
                )
        lines += [
            "",
            "| clients | server CPU (cores busy) | server CPU per request |",
            "|---:|---:|---:|",
        ]
        for level in result["levels"]:
            cpu = level.get("server_cpu")
            if cpu:
                lines.append(
                    f"| {level['clients']} | {cpu['seconds']:.0f} s ({cpu['cores_busy']:.2f}) | "
                    f"{cpu['ms_per_request']:.0f} ms |"
                )
        lines += [
            "",
            "| clients | peak PSS, all server processes | peak RSS, one process | load average before → after | ingest jobs (seconds each) | errors by kind |",
            "|---:|---:|---:|---|---|---|",
        ]
        for level in result["levels"]:
            m = level["memory"]
            jobs = level["ingest_jobs"]
            done = [j for j in jobs if j["status"] == "succeeded"]
            job_text = f"{len(done)}/{len(jobs)} done" + (
                " (" + ", ".join(f"{j['seconds']:.1f}" for j in done) + ")" if done else ""
            )
            errs = ", ".join(f"{k} × {v}" for k, v in level["errors"].items()) or "0"
            la = level["load_average"]
            lines.append(
                f"| {level['clients']} | {m['peak_pss_sum_mib']:,.0f} MiB ({m['processes']} processes) | "
                f"{m['peak_rss_one_process_mib']:,.0f} MiB ("
                + ", ".join(f"{r} {v:,.0f}" for r, v in m.get("peak_rss_by_role_mib", {}).items())
                + f") | {la['before'][0]:.1f} → {la['after'][0]:.1f} | "
                f"{job_text} | {errs} |"
            )
        for level in result["levels"]:
            slow = level.get("slowest", [])[:5]
            if slow:
                lines.append("")
                lines.append(
                    f"Slowest at {level['clients']} clients: "
                    + "; ".join(
                        f"{x['kind']}" + (f" `{x['path']}`" if x["path"] else "") + f" {x['ms']:,.0f} ms"
                        for x in slow
                    )
                    + "."
                )
        lines += [
            "",
            "<details><summary>By kind of request</summary>",
            "",
            "| clients | kind | requests | p50 ms | p95 ms | p99 ms | max ms | errors |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for level in result["levels"]:
            for kind, s in level["by_kind"].items():
                lines.append(
                    f"| {level['clients']} | {kind} | {s['requests']:,} | {_fmt(s['p50_ms'])} | "
                    f"{_fmt(s['p95_ms'])} | {_fmt(s['p99_ms'])} | {_fmt(s['max_ms'])} | {s['errors']} |"
                )
        lines += ["", "</details>"]
    return "\n".join(line for line in lines if line is not None)


def _all_runs() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("load-*.json"))]


def _newest_per_database(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for result in runs:
        newest[result["database"]] = result
    return [newest[k] for k in sorted(newest, key=lambda d: (d != "SQLite", d))]


def render_doc(runs: list[dict[str, Any]]) -> str:
    """The newest run of each database in full, then one line per level of every run kept in .bench/results."""
    lines = [render(_newest_per_database(runs))]
    if len(runs) > len(_newest_per_database(runs)):
        lines += [
            "",
            "### Every run kept (newest first)",
            "",
            "| database | finished | s/level | clients | req/s | p95 page / API / dashboard ms | errors | server CPU ms/request | load average before → after |",
            "|---|---|---:|---:|---:|---|---:|---:|---|",
        ]
        for result in sorted(runs, key=lambda r: r["finished"], reverse=True):
            for level in result["levels"]:
                p95 = " / ".join(_fmt(level["by_class"][c]["p95_ms"]) for c in ("page", "api", "dashboard"))
                cpu = level.get("server_cpu") or {}
                la = level["load_average"]
                lines.append(
                    f"| {result['database']} | {result['finished']} | {result['config']['duration']:.0f} | "
                    f"{level['clients']} | {level['all']['rps']:.1f} | {p95} | {level['all']['errors']} | "
                    f"{_fmt(cpu['ms_per_request']) if cpu else '–'} | {la['before'][0]:.1f} → {la['after'][0]:.1f} |"
                )
    return "\n".join(lines)


# ---- main --------------------------------------------------------------------------------------------


def _ingest_dataset(base: str, token: str) -> str:
    """A dataset the ingest account may edit (first by slug), for the background uploads."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    items = datasets(api, base)
    slugs = sorted(d["slug"] for d in items if "edit" in d["allowed_actions"] and not d.get("retired_at"))
    return slugs[0] if slugs else ""


def main(argv: list[str] | None = None) -> Path | None:  # noqa: PLR0915 - the steps of a run, in order
    """Parse options, prepare a home, serve, run each level, write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, action="append", help="concurrent clients (repeatable; default 20 and 50)"
    )
    parser.add_argument("--duration", type=float, default=300.0, help="seconds per level (default 300)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="think time between a client's requests, uniform (default 1 3 seconds)",
    )
    parser.add_argument(
        "--database-url", default="", help="postgresql://… (an empty database); default SQLite"
    )
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × CPUs)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--ingest-every", type=float, default=30.0, help="seconds between uploads (0: none)")
    parser.add_argument("--ingest-rows", type=int, default=20000, help="rows of each uploaded CSV")
    parser.add_argument("--home", type=Path, help="MACHIDATA_HOME to create (default: a temporary folder)")
    parser.add_argument(
        "--note", default="", help="a sentence for the doc (e.g. that the machine was shared)"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="folder for the result JSON (default .bench/results)"
    )
    parser.add_argument(
        "--report", action="store_true", help="only rewrite the doc from .bench/results/load-*.json"
    )
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)
    if args.report:
        write_section("Load", render_doc(_all_runs()))
        return None
    levels = args.clients or [20, 50]
    cpus = os.cpu_count() or 1
    workers = args.workers or 2 * cpus
    database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    home = args.home or Path(tempfile.mkdtemp(prefix="machidata-load-"))
    home.mkdir(parents=True, exist_ok=True)
    env = production_env(home, args.database_url)
    print(f"home: {home} ({database})", flush=True)
    setup_s = prepare(home, env)
    print(f"migrate + demo load: {setup_s:.0f} s", flush=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {
        "database": database,
        "config": {
            "duration": args.duration,
            "think": list(args.think),
            "workers": workers,
            "threads": args.threads,
            "ingest_every": args.ingest_every,
            "ingest_rows": args.ingest_rows,
            "cpus": cpus,
            "note": args.note,
            "setup_seconds": round(setup_s, 1),
            "mix": MIX,
        },
        "levels": [],
    }
    with server(env, port=port, workers=workers, threads=args.threads, log=home / "serve.log") as proc:
        people: dict[str, dict[str, Any]] = {}
        for username, password in USERS:
            session = sign_in(base, username, password)
            token = api_token(session, base, f"load-{username}")
            people[username] = {"session": session, "token": token, "targets": discover(base, token)}
            t = people[username]["targets"]
            print(
                f"{username}: {len(t.datasets)} datasets, {len(t.tables)} tables, {len(t.dashboards)} dashboards, "
                f"{len(t.charts)} charts",
                flush=True,
            )
        people = {u: p for u, p in people.items() if p["targets"].tables and p["targets"].charts}
        if not people:
            raise SystemExit("no account reaches a table and a dashboard chart: is the demo loaded?")
        ingest_slug = (
            _ingest_dataset(base, people[INGEST_USER[0]]["token"]) if INGEST_USER[0] in people else ""
        )
        queries = _queries()
        for clients in levels:
            print(f"{clients} clients for {args.duration:.0f} s …", flush=True)
            level = run_level(
                base=base,
                clients=clients,
                duration=args.duration,
                think=tuple(args.think),
                people=people,
                queries=queries,
                ingest_slug=ingest_slug,
                ingest_every=args.ingest_every,
                ingest_rows=args.ingest_rows,
                server_pid=proc.pid,
                seed=args.seed + clients,
            )
            result["levels"].append(level)
            a = level["all"]
            print(
                f"  {a['requests']} requests, {a['rps']:.1f}/s, p95 {a['p95_ms']:.0f} ms, errors {a['errors']}; "
                + ", ".join(f"{c} p95 {level['by_class'][c]['p95_ms']:.0f} ms" for c in CLASSES)
                + f"; peak PSS {level['memory']['peak_pss_sum_mib']:.0f} MiB",
                flush=True,
            )
    result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = args.results / f"load-{database.lower()}-{stamp}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"results: {path}", flush=True)
    if not args.no_doc:
        write_section("Load", render_doc(_all_runs()))
    if args.home is None:  # a temporary home goes once the run succeeded (on failure it stays, with its logs)
        shutil.rmtree(home, ignore_errors=True)
    return path


__all__ = ["main"]
