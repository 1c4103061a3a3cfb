"""``machidata worker``: run the job runner (huey consumer) in this process until stopped."""

from __future__ import annotations

import os
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from machidata.jobs.runner import ensure_queue, huey
from machidata.jobs.services import job_fail_orphans, job_recover_stale


class Command(BaseCommand):
    """Start the job runner: N threads take jobs from the queue; periodic schedules run too."""

    help = "処理ランナー（取り込みなどのバックグラウンド処理）を起動します。SIGTERM で実行中の処理を待って停止、Ctrl+C ですぐ停止します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.MACHIDATA_JOB_WORKERS,
            help=f"同時に実行する処理の数（既定: {settings.MACHIDATA_JOB_WORKERS}）",
        )

    def handle(self, *args: Any, workers: int, **options: Any) -> None:
        if workers < 1:
            raise CommandError("--workers は1以上の数で指定してください。")
        if settings.MACHIDATA_JOBS_IMMEDIATE:
            raise CommandError(
                "MACHIDATA_JOBS_IMMEDIATE が有効なため、処理はその場で実行されます。処理ランナーを使うには設定を外してください。"
            )
        ensure_queue()
        # Jobs left "running" by a runner that died are failed now rather than shown as running forever.
        recovered = job_recover_stale()
        # Tables whose writer died mid-write are rolled forward or restored before any new job runs.
        from machidata.lake.protocol import recover_all

        repaired = [r for r in recover_all() if r.rolled_forward or r.abandoned or r.restored_to is not None]
        connections.close_all()
        if recovered:
            self.stdout.write(f"停止した処理 {recovered} 件を「失敗」にしました。")
        if repaired:
            self.stdout.write(f"書き込み途中で止まった表 {len(repaired)} 件を復旧しました。")
        # Threads, not processes: job functions share one Django setup and open their own DB connections.
        consumer = huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=True,
            initial_delay=0.1,
            backoff=1.15,
            max_delay=settings.MACHIDATA_JOB_POLL_SECONDS,
            scheduler_interval=1,
            check_worker_health=True,
            shutdown_timeout=settings.MACHIDATA_JOB_SHUTDOWN_SECONDS,
            # SIGTERM (systemd, containers, `serve`) lets running jobs finish up to the shutdown timeout;
            # SIGINT (Ctrl+C) stops at once. Jobs left unfinished are marked failed below either way.
            graceful_signal="TERM",
        )
        self.stdout.write(f"処理ランナーを起動しました（同時実行 {workers}、pid {os.getpid()}）。")
        self.stdout.flush()
        try:
            consumer.run()
        finally:
            # Threads still inside a job are abandoned when the process exits: record that on their rows.
            job_fail_orphans(pid=os.getpid(), host=socket.gethostname()[:255])
            connections.close_all()
        self.stdout.write("処理ランナーを停止しました。")
