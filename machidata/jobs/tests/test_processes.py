"""Real processes: `machidata serve` runs jobs with the real runner; the cache is shared across processes.

Each test works in a temporary MACHIDATA_HOME of its own, migrated by a subprocess, so nothing here
touches the test database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _env(home: Path) -> dict[str, str]:
    # Only this home: no outside database, queue or inline mode leaks in from the caller's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MACHIDATA_") and k != "DATABASE_URL"}
    env.update(
        {
            "MACHIDATA_HOME": str(home),
            "MACHIDATA_JOB_POLL_SECONDS": "0.2",
            "MACHIDATA_LOG_FORMAT": "text",
            "DJANGO_SETTINGS_MODULE": "machidata.config.settings",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        }
    )
    return env


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "machidata.cli", *args],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _python(home: Path, code: str) -> subprocess.CompletedProcess[str]:
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated MACHIDATA_HOME shared by the tests of this module."""
    path = tmp_path_factory.mktemp("machidata-home")
    result = _cli(path, "migrate", "-v", "0")
    assert result.returncode == 0, result.stderr
    return path


def test_cache_is_shared_between_processes(home: Path) -> None:
    token = f"値-{time.time_ns()}"
    setter = _python(
        home, f"from django.core.cache import cache\ncache.set('jobs-test-key', {token!r}, 60)\n"
    )
    assert setter.returncode == 0, setter.stderr
    getter = _python(home, "from django.core.cache import cache\nprint(cache.get('jobs-test-key'))\n")
    assert getter.returncode == 0, getter.stderr
    assert getter.stdout.strip() == token


def test_serve_refuses_pending_migrations(tmp_path: Path) -> None:
    result = _cli(tmp_path, "serve", "--port", "1", timeout=60)
    assert result.returncode != 0
    assert "machidata migrate" in result.stderr
    assert not (tmp_path / "jobs.sqlite3").exists()


def test_worker_refuses_inline_mode(home: Path) -> None:
    env_home = home
    result = subprocess.run(
        [sys.executable, "-m", "machidata.cli", "worker"],
        env=_env(env_home) | {"MACHIDATA_JOBS_IMMEDIATE": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "MACHIDATA_JOBS_IMMEDIATE" in result.stderr


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# No proxies: the server is on loopback, whatever http_proxy says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, token: str = "") -> tuple[int, Any]:
    """GET a JSON URL; (0, None) while nothing listens yet."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310 - loopback URL built by the test
    try:
        with _OPENER.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def _alive(pid: int) -> bool:
    """A process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in {"Z", "X"}


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(home: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "machidata.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "2",
            ],
            env=_env(home),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _pids(log: Path) -> tuple[int, int]:
    import re

    text = log.read_text(errors="replace")
    web = re.search(r"Webサーバーを起動しました（pid (\d+)）", text)
    worker = re.search(r"処理ランナーを起動しました（pid (\d+)）", text)
    assert web, text
    assert worker, text
    return int(web.group(1)), int(worker.group(1))


@pytest.mark.slow
def test_serve_runs_jobs_with_the_real_runner_and_stops_on_sigterm(
    home: Path, served: tuple[subprocess.Popen[bytes], str, Path]
) -> None:
    proc, base, log = served
    _wait_for(lambda: _get(f"{base}/healthz")[0] == 200 or proc.poll() is not None, 90, "/healthz")
    assert proc.poll() is None, log.read_text()
    assert f"{base}/" in log.read_text(), "serve must print the URL it serves on"
    web_pid, worker_pid = _pids(log)

    # Another process (a shell on the same home) starts a job; the real runner must pick it up.
    submitted = _python(
        home,
        """
        import json
        from machidata.access.policy import actor_for
        from machidata.core.testing import make_token, make_user
        from machidata.jobs.services import job_submit
        user = make_user()
        job = job_submit(kind="jobs.check", title="動作確認", params={"steps": 4}, actor=actor_for(user))
        print(json.dumps({"id": job.pk, "status": job.status, "token": make_token(user)}))
        """,
    )
    assert submitted.returncode == 0, submitted.stderr
    info = json.loads(submitted.stdout.strip().splitlines()[-1])
    assert info["status"] == "queued"  # not run inline by the submitting process

    def finished() -> Any:
        status, body = _get(f"{base}/api/v1/jobs/{info['id']}", info["token"])
        return body if status == 200 and body["status"] not in {"queued", "running"} else None

    job = _wait_for(finished, 60, "the job to finish")
    assert job["status"] == "succeeded", job
    assert job["result"] == {"steps": 4}
    assert (job["progress_done"], job["progress_total"]) == (4, 4)
    assert _get(f"{base}/api/v1/jobs/{info['id']}")[0] == 401

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=25) == 0, log.read_text()
    _wait_for(lambda: not _alive(web_pid) and not _alive(worker_pid), 20, "children to exit")
    assert "停止しました。" in log.read_text()
