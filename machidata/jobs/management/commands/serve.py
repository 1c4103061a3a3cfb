"""``machidata serve``: the production web server (gunicorn) and the job runner, started and watched.

Both run as child processes: the web server on ``machidata.config.wsgi:application`` and the job
runner (``machidata worker``). A crashed runner is restarted with back-off; if the web server dies,
``serve`` stops the runner and exits non-zero (so systemd or a container restarts the whole); SIGINT
and SIGTERM stop both cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

MAX_BACKOFF = 60.0
HEALTHY_RUN = 60.0  # a runner that lived this long is considered healthy: back-off starts over
POLL = 0.2
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the child get SIGTERM if serve itself is killed, so nothing is left orphaned."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _gunicorn_extra() -> list[str]:
    """Options of newer gunicorn releases: no control socket (its default path is shared by every
    instance on the machine, so two servers would fight over it; machidata does not use it)."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def _alive(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is None


STAMP = ".collected"


def static_fingerprint() -> str:
    """A digest of every static source file the finders see (path, size, modification time)."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256(f"{settings.STATIC_URL}\0{settings.STORAGES['staticfiles']}\n".encode())
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_static(*, say: Callable[[str], None]) -> bool:
    """``collectstatic`` unless the files collected last time came from the same sources; returns whether it ran.

    Several app processes may start on one MACHIDATA_HOME (docs/deployment.md): a file lock lets one
    collect while the others wait, then find the stamp current and skip. Collecting the 43 MB of
    static files with hashed names took about 5 s of CPU on every start before.
    """
    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".collect.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            wanted = static_fingerprint()
            stamp = root / STAMP
            if stamp.is_file() and stamp.read_text() == wanted and (root / "staticfiles.json").is_file():
                return False
            say("静的ファイルを集めています…")
            call_command("collectstatic", interactive=False, verbosity=0)
            stamp.write_text(wanted)
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Command(BaseCommand):
    """Serve machidata in production: gunicorn + the job runner, supervised."""

    help = "本番用のWebサーバーと処理ランナーを起動します（Ctrl+C で両方を停止します）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス（既定: 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="待ち受けるポート（既定: 8000）")
        parser.add_argument("--workers", type=int, default=2, help="Webサーバーのプロセス数（既定: 2）")
        parser.add_argument(
            "--threads", type=int, default=4, help="Webサーバーの各プロセスのスレッド数（既定: 4）"
        )
        parser.add_argument(
            "--job-workers",
            type=int,
            default=settings.MACHIDATA_JOB_WORKERS,
            help=f"処理ランナーの同時実行数（既定: {settings.MACHIDATA_JOB_WORKERS}）",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="処理ランナーを起動しません（別に動かす場合）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1 or options["threads"] < 1 or options["job_workers"] < 1:
            raise CommandError("--workers、--threads、--job-workers は1以上の数で指定してください。")
        if not 0 < options["port"] < 65536:
            raise CommandError("--port は1〜65535で指定してください。")
        self._check_migrations()
        if settings.MACHIDATA_PRODUCTION:
            collect_static(say=self._say)
        # whitenoise warns on every start when the folder is missing; outside production it stays empty
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        connections.close_all()  # children open their own; nothing of ours must be inherited
        code = _Supervisor(self, options).run()
        if code:
            sys.exit(code)

    def _say(self, text: str, *, error: bool = False) -> None:
        stream = self.stderr if error else self.stdout
        stream.write(text)
        stream.flush()

    def _check_migrations(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:
            raise CommandError(f"データベースに接続できません: {exc}") from exc
        if plan:
            raise CommandError(
                f"データベースの構造が最新ではありません（未適用の移行が {len(plan)} 件あります）。"
                "先に `machidata migrate` を実行してください。"
            )


class _Supervisor:
    """Starts the two children and watches them until a signal or the web server's death."""

    def __init__(self, command: Command, options: dict[str, Any]) -> None:
        self.command = command
        self.host: str = options["host"]
        self.port: int = options["port"]
        self.web_workers: int = options["workers"]
        self.threads: int = options["threads"]
        self.job_workers: int = options["job_workers"]
        self.with_worker = not options["no_worker"]
        self.stop_signal: int | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    # -- children --

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        # A session of their own: a Ctrl+C in the terminal reaches serve only, which stops the children
        # in order (runner gracefully, then web) instead of all of them at once.
        return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: S603, PLW1509 - fixed argv built from our own options; preexec only sets PDEATHSIG

    def _spawn_web(self) -> subprocess.Popen[bytes]:
        bind = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return self._spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "machidata.config.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(self.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                # uploads of large files take long; the default 30 s would kill the worker mid-upload
                "--timeout",
                "300",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
                *_gunicorn_extra(),
            ]
        )

    def _spawn_worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(
            [sys.executable, "-m", "machidata.cli", "worker", "--workers", str(self.job_workers)]
        )

    # -- signals --

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signum

    def _install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    # -- the loop --

    def run(self) -> int:
        """Run until stopped; returns the exit code (0 after a signal, 1 when the web server died)."""
        say = self.command._say
        self._install_signals()
        self.web = self._spawn_web()
        say(f"Webサーバーを起動しました（pid {self.web.pid}）。")
        if self.with_worker:
            self.worker = self._spawn_worker()
            say(f"処理ランナーを起動しました（pid {self.worker.pid}）。")
        host = f"[{self.host}]" if ":" in self.host else self.host
        say(
            f"まちデータを http://{host}:{self.port}/ で提供しています。停止するには Ctrl+C を押してください。"
        )

        code = 0
        backoff = 1.0
        worker_started = time.monotonic()
        restart_at: float | None = None
        while self.stop_signal is None:
            time.sleep(POLL)
            if self.web.poll() is not None:
                say(
                    f"Webサーバーが停止しました（終了コード {self.web.returncode}）。すべて停止します。",
                    error=True,
                )
                code = 1
                break
            if not self.with_worker:
                continue
            if restart_at is None and not _alive(self.worker):
                if time.monotonic() - worker_started > HEALTHY_RUN:
                    backoff = 1.0
                rc = self.worker.returncode if self.worker is not None else None
                say(
                    f"処理ランナーが停止しました（終了コード {rc}）。{backoff:g}秒後に再起動します。",
                    error=True,
                )
                restart_at = time.monotonic() + backoff
                backoff = min(backoff * 2, MAX_BACKOFF)
            if restart_at is not None and time.monotonic() >= restart_at:
                self.worker = self._spawn_worker()
                worker_started = time.monotonic()
                restart_at = None
                say(f"処理ランナーを再起動しました（pid {self.worker.pid}）。")
        self._stop_children()
        if self.stop_signal is not None:
            say("停止しました。")
        return code

    def _stop_children(self) -> None:
        # SIGTERM to both: the runner lets running jobs finish up to MACHIDATA_JOB_SHUTDOWN_SECONDS (and
        # a runner still starting up simply exits); gunicorn finishes the requests in flight.
        if _alive(self.worker):
            self.worker.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        if _alive(self.web):
            self.web.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + settings.MACHIDATA_JOB_SHUTDOWN_SECONDS + 10
        for proc in (self.worker, self.web):
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.command._say(f"プロセス {proc.pid} が止まらないため強制終了します。", error=True)
                proc.kill()
                proc.wait()
