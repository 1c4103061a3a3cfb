"""One long call of a job in a child process, killed at the job's time limit or when the job is cancelled.

A job that spends minutes inside one library call (a synthetic-control placebo run, an hourly forecast per
ward) cannot stop itself at its time limit. It hands that call to :func:`run_in_child`::

    result = run_in_child(ctx, run_design, frame, spec)   # run_design(report, frame, spec)

The target runs in a fresh (spawned) process and must be a module-level function of a module that imports
without Django (it gets no database); its first argument ``report(done, total=None, phase=None)`` sends
progress to the job. Its return value and its :class:`~machidata.core.errors.MachidataError` come back to the
caller; any other error becomes a generic failure. The parent keeps the job's heartbeat, notices a cancel and
the time limit, and kills the child then (raising JobCancelled or JobTimedOut as ``ctx.progress`` does).

This module imports no Django at load time: the child imports it to find its entry point.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import queue as queue_module
import signal
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from machidata.core.errors import InvalidInput, MachidataError

if TYPE_CHECKING:
    from machidata.jobs.services import JobContext

logger = logging.getLogger("machidata.jobs")

POLL_SECONDS: Final = 0.25
Report = Callable[..., None]


class ChildFailedError(RuntimeError):
    """The child process raised an unexpected error or died; the message carries its traceback for the log."""


def _child_main(
    channel: Any, target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # Its own process group: stopping the child also stops the processes a library starts under it
    # (pysyncon's placebo test runs in a process pool).
    os.setpgid(0, 0)

    def report(done: int, total: int | None = None, phase: str | None = None) -> None:
        channel.put(("progress", int(done), None if total is None else int(total), phase))

    try:
        value = target(report, *args, **kwargs)
    except MachidataError as exc:
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, made just above
        except Exception:  # noqa: BLE001 - a domain error that does not survive pickling: keep its message and details
            channel.put(("domain", exc.message, exc.details))
        else:
            channel.put(("error", exc))
    except BaseException as exc:  # noqa: BLE001 - everything else is reported to the parent, which logs it
        channel.put(("crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    else:
        channel.put(("result", value))


def run_in_child(ctx: JobContext, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``target(report, *args, **kwargs)`` in a child process within the job's time limit; return its value."""
    ctx.check_time()
    mp = multiprocessing.get_context("spawn")  # a fresh interpreter: never a fork of the threaded runner
    channel = mp.Queue()
    # Not a daemon: daemonic processes may not start a library's process pool. The finally below stops it.
    child = mp.Process(target=_child_main, args=(channel, target, args, kwargs), daemon=False)
    child.start()
    try:
        while True:
            try:
                message = channel.get(timeout=max(0.01, min(POLL_SECONDS, ctx.seconds_left())))
            except queue_module.Empty:
                if not child.is_alive():
                    try:  # its last message may arrive just after it exited
                        message = channel.get(timeout=1.0)
                    except queue_module.Empty:
                        raise ChildFailedError(
                            f"the child process exited with code {child.exitcode}"
                        ) from None
                else:
                    ctx.progress(ctx.done)  # heartbeat; raises JobCancelled / JobTimedOut
                    continue
            kind = message[0]
            if kind == "progress":
                ctx.progress(message[1], message[2], message[3])
            elif kind == "result":
                return message[1]
            elif kind == "error":
                raise message[1]
            elif kind == "domain":
                raise InvalidInput(message[1], details=message[2])
            else:
                raise ChildFailedError(message[1])
    finally:
        _stop(child, job_id=ctx.job_id)
        child.join(timeout=5)
        channel.cancel_join_thread()
        channel.close()


def _stop(child: Any, *, job_id: int) -> None:
    """Kill the child and its process group (anything it started), if still there."""
    if child.pid is None:
        return
    running = child.is_alive()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # no group before the child's setpgid
        os.killpg(child.pid, signal.SIGKILL)
    if child.is_alive():
        child.kill()
    if running:
        logger.info("job %s: stopped its child process %s and the processes it started", job_id, child.pid)
