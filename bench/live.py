"""machidata running as in production on 127.0.0.1, driven over HTTP as people do.

Shared by ``python -m bench load`` (bench/load.py) and the two-process deployment test
(tests/deploy/test_two_processes.py):

- :func:`production_env`: the environment of a production process (a fresh secret key, production
  settings, ``DATABASE_URL`` when given) for a given ``MACHIDATA_HOME``;
- :func:`machidata` runs one ``machidata`` command to its end; :func:`prepare` migrates and loads the
  demo; :func:`background` keeps one running (``serve``, ``worker``) until a ``with`` block ends,
  after it answered (``/healthz``) or said it started;
- :func:`sign_in` (the login form, a session cookie) and :func:`api_token` (made through the API);
- :func:`upload` sends a CSV through the ingest pages (upload → preview → start) and returns the job;
  :func:`wait_job` follows a job through the API to its end.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30.0
ACTIVE_JOB = frozenset({"queued", "running", "pending", "waiting"})
RUNNER_READY = "処理ランナーを起動しました"  # what ``machidata worker`` prints once it takes jobs

# What runs one request: (kind, path, the call) → the answer, or None when it could not be had.
# bench/load.py passes its recorder's ``timed`` (each step is timed and counted); the default just calls.
Step = Callable[[str, str, Callable[[], requests.Response]], requests.Response | None]


def _call(kind: str, path: str, call: Callable[[], requests.Response]) -> requests.Response | None:
    return call()


# ---- processes -----------------------------------------------------------------------------------------


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production_env(home: Path, database_url: str = "", **extra: str) -> dict[str, str]:
    """This process's environment without its MACHIDATA_/DJANGO_ settings, plus production settings for
    ``home`` (and ``DATABASE_URL``; empty: SQLite in ``home``); ``extra`` adds or overrides settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHIDATA_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        MACHIDATA_HOME=str(home),
        MACHIDATA_PRODUCTION="1",
        MACHIDATA_SECRET_KEY=secrets.token_urlsafe(50),
        MACHIDATA_ALLOWED_HOSTS="127.0.0.1",
        MACHIDATA_HTTPS="0",
        MACHIDATA_LOG_LEVEL="WARNING",
        # every simulated client comes from 127.0.0.1: one address's public rate limit would throttle them all
        MACHIDATA_PUBLIC_RATE_LIMIT="off",
        MACHIDATA_PUBLIC_SQL_RATE_LIMIT="off",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def machidata(env: dict[str, str], *args: str, log: Path) -> None:
    """Run ``machidata <args>`` to its end with this interpreter; output appended to ``log``; non-zero raises."""
    with log.open("ab") as out:
        done = subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "machidata.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
            check=False,
        )
    if done.returncode:
        raise RuntimeError(f"machidata {' '.join(args)} failed (exit {done.returncode}); see {log}")


def prepare(home: Path, env: dict[str, str], *, data: bool = True) -> float:
    """Migrate and load the demo into ``home`` (``data=False``: its content and accounts only, no tables);
    returns the seconds it took. A home prepared by an earlier run (the same database) is kept."""
    ready = home / ".load-ready"
    if ready.is_file():
        return float(ready.read_text())
    started = time.perf_counter()
    log = home / "setup.log"
    machidata(env, "migrate", log=log)
    machidata(env, "demo", "--load-only", *([] if data else ["--no-data"]), log=log)
    seconds = time.perf_counter() - started
    ready.write_text(f"{seconds:.1f}")
    return seconds


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    log: Path,
    ready_url: str = "",
    ready_text: str = "",
    wait_s: float = 180.0,
) -> None:
    """Wait up to ``wait_s`` for ``ready_url`` to answer 200 and for ``ready_text`` to appear in ``log``;
    a process that stops meanwhile, or is not ready in time, raises with its log's path."""
    deadline = time.monotonic() + wait_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{' '.join(map(str, proc.args[2:]))} stopped (exit {proc.returncode}); see {log}"
            )
        ok = not ready_text or ready_text in log.read_text(encoding="utf-8", errors="replace")
        if ok and ready_url:
            try:
                ok = requests.get(ready_url, timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
        if ok:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{' '.join(map(str, proc.args[2:]))} was not ready within {wait_s:.0f} s; see {log}"
            )
        time.sleep(0.5)


@contextlib.contextmanager
def background(
    env: dict[str, str],
    *args: str,
    log: Path,
    ready_url: str = "",
    ready_text: str = "",
    wait: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """``machidata <args>`` in the background until the block ends (SIGTERM, then a kill after 60 s).

    With ``wait`` the block starts once the process is ready (:func:`wait_ready` with ``ready_url`` and
    ``ready_text``); without, at once (call :func:`wait_ready` later)."""
    out = log.open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "machidata.cli", *args], env=env, cwd=ROOT, stdout=out, stderr=out
    )
    try:
        if wait:
            wait_ready(proc, log=log, ready_url=ready_url, ready_text=ready_text)
        yield proc
    finally:
        _stop(proc)
        out.close()


def server(
    env: dict[str, str],
    *,
    port: int,
    workers: int,
    threads: int,
    log: Path,
    with_runner: bool = True,
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """``machidata serve`` on 127.0.0.1:``port`` (gunicorn, and the job runner unless ``with_runner`` is
    False: ``--no-worker``) until the block ends; it starts once /healthz answers."""
    return background(
        env,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        *([] if with_runner else ["--no-worker"]),
        log=log,
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )


def job_runner(
    env: dict[str, str], *, workers: int, log: Path, wait: bool = True
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """``machidata worker --workers N`` (the job runner alone) until the block ends; with ``wait`` it
    starts once the runner said it started (else ``wait_ready(proc, log=log, ready_text=RUNNER_READY)``)."""
    return background(env, "worker", "--workers", str(workers), log=log, ready_text=RUNNER_READY, wait=wait)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc)."""
    tree, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, with reaped children) of ``pid`` and its descendants, in seconds."""
    ticks = 0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


# ---- people --------------------------------------------------------------------------------------------


def form_token(session: requests.Session, base: str, path: str) -> str:
    """GET a form page and return its CSRF token (the cookie, as Django's JavaScript-free forms do)."""
    answer = session.get(base + path, timeout=TIMEOUT_S)
    answer.raise_for_status()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)
    return found.group(1) if found else session.cookies.get("csrftoken", "")


def sign_in(base: str, username: str, password: str) -> requests.Session:
    """A browser-like session signed in through the login form."""
    session = requests.Session()
    token = form_token(session, base, "/login/")
    answer = session.post(
        base + "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/login/"},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed ({answer.status_code})")
    return session


def api_token(session: requests.Session, base: str, name: str) -> str:
    """Make a personal API token through the API, with the session (as the tokens page does)."""
    answer = session.post(
        base + "/api/v1/tokens",
        json={"name": name},
        headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": base + "/"},
        timeout=TIMEOUT_S,
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


def api_session(token: str = "") -> requests.Session:
    """An HTTP session that opens one connection per request (``Connection: close``), with a token if given."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def datasets(api: requests.Session, base: str) -> list[dict[str, Any]]:
    """Every catalog entry the API shows this caller, page by page."""
    items: list[dict[str, Any]] = []
    while True:
        page = api.get(
            base + "/api/v1/datasets", params={"limit": 100, "offset": len(items)}, timeout=TIMEOUT_S
        )
        page.raise_for_status()
        got = page.json()["items"]
        items += got
        if not got or len(items) >= page.json()["count"]:
            return items


# ---- ingest ----------------------------------------------------------------------------------------------


def ingest_csv(rows: int, seed: int) -> bytes:
    """A CSV of ``rows`` reception records (受付番号, 受付日, 区, 件数, 金額), the same for the same seed."""
    rng = random.Random(seed)
    wards = ["中央区", "東区", "西区", "南区", "北区"]
    out = io.StringIO()
    out.write("受付番号,受付日,区,件数,金額（円）\n")
    for i in range(rows):
        out.write(f"{i + 1:06d},2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(wards)},")
        out.write(f"{rng.randint(0, 50)},{rng.randint(1000, 900000)}\n")
    return out.getvalue().encode("utf-8")


class UploadFailedError(RuntimeError):
    """A step of the ingest pages did not answer as it should (``status`` 0: no answer at all)."""

    def __init__(self, step: str, status: int, text: str = "") -> None:
        super().__init__(f"{step}: {'no answer' if not status else f'HTTP {status}'} {text[:300]}".rstrip())
        self.step, self.status = step, status


def upload(
    session: requests.Session,
    base: str,
    slug: str,
    content: bytes,
    *,
    table: str = "",
    table_title: str = "",
    note: str = "",
    mode: str = "replace",
    file_name: str = "upload.csv",
    step: Step = _call,
) -> tuple[int, str]:
    """Send a file through the ingest pages of dataset ``slug`` as the signed-in ``session``: the upload
    form, the preview, "start". ``table`` names the table; without it, the table titled ``table_title``
    (a new one with that title when there is none). Returns the job's id and the table's name (empty
    when a new table is made); each request goes through ``step``; a step that fails raises UploadFailedError."""

    def check(kind: str, answer: requests.Response | None, status: int) -> requests.Response:
        if answer is None or answer.status_code != status:
            raise UploadFailedError(
                kind, answer.status_code if answer is not None else 0, answer.text if answer else ""
            )
        return answer

    def post(kind: str, path: str, **kwargs: Any) -> requests.Response | None:
        url = base + path
        return step(
            kind,
            "POST " + path,
            lambda: session.post(
                url, headers={"Referer": url}, timeout=TIMEOUT_S, allow_redirects=False, **kwargs
            ),
        )

    form = f"/catalog/{slug}/ingest/"
    page = check(
        "ingest_form", step("ingest_form", form, lambda: session.get(base + form, timeout=TIMEOUT_S)), 200
    )
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    csrf = found.group(1) if found else ""
    if not table and table_title:
        names = re.findall(r'<option value="([^"]+)"[^>]*>' + re.escape(table_title), page.text)
        table = names[0] if names else ""
    data = {"csrfmiddlewaretoken": csrf, "table": table, "mode": mode, "note": note}
    if not table:
        data["new_table_title"] = table_title
    check(
        "ingest_upload",
        post("ingest_upload", form, data=data, files={"file": (file_name, content, "text/csv")}),
        302,
    )
    preview = f"/catalog/{slug}/ingest/preview/"
    check(
        "ingest_preview",
        step("ingest_preview", preview, lambda: session.get(base + preview, timeout=TIMEOUT_S)),
        200,
    )
    started = check(
        "ingest_start", post("ingest_start", preview, data={"csrfmiddlewaretoken": csrf, "start": "1"}), 302
    )
    job = re.search(r"/jobs/(\d+)/", started.headers.get("Location", ""))
    if not job:  # back to the preview: refused (e.g. too many of this person's imports waiting)
        raise UploadFailedError("ingest_start", 302, "redirected to " + started.headers.get("Location", ""))
    return int(job.group(1)), table


def wait_job(api: requests.Session, base: str, job_id: int, *, timeout: float = 600.0) -> dict[str, Any]:
    """Follow ``/api/v1/jobs/<id>`` every half second until the job ends; its last answer (``status`` is
    "HTTP nnn" when the API refused, and stays "queued"/"running" when ``timeout`` passed)."""
    started = time.perf_counter()
    while True:
        answer = api.get(f"{base}/api/v1/jobs/{job_id}", timeout=TIMEOUT_S)
        job: dict[str, Any] = answer.json() if answer.ok else {"status": f"HTTP {answer.status_code}"}
        if job.get("status") not in ACTIVE_JOB or time.perf_counter() - started > timeout:
            job["seconds"] = round(time.perf_counter() - started, 2)
            return job
        time.sleep(0.5)
