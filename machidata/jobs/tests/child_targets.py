"""Targets for run_in_child tests: module-level, importable without Django (the child has no database)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from machidata.core.errors import InvalidInput


def count_slowly(report: Any, steps: int, pause: float) -> dict[str, int]:
    report(0, steps, "数えています")
    for done in range(1, steps + 1):
        time.sleep(pause)
        report(done)
    return {"steps": steps, "pid": os.getpid()}


def sleep_forever(report: Any, pid_file: str) -> None:
    """One long call that never reports progress (like a library fit): only killing stops it."""
    Path(pid_file).write_text(str(os.getpid()))
    report(0, 1, "一度に計算しています")
    time.sleep(600)


def sleep_with_grandchild(report: Any, pid_file: str) -> None:
    """Like a library that starts its own worker process and waits for it."""
    worker = subprocess.Popen(["sleep", "600"])
    Path(pid_file).write_text(f"{os.getpid()} {worker.pid}")
    report(0, 1, "別のプロセスで計算しています")
    worker.wait()


def refuse(report: Any) -> None:
    raise InvalidInput("期間が足りません。", details={"periods": "介入前が 2 期しかありません。"})


def crash(report: Any) -> None:
    raise ZeroDivisionError("internal detail")
