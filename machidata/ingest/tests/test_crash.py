"""Crash safety of the whole ingest: `machidata ingest` killed at each fault point, then checked.

Each crashed run is a real separate process that dies like SIGKILL (``os._exit(137)``, no cleanup)
at a deterministic point; a final run is killed from outside with SIGKILL mid-write. After every
crash the previous version must be intact and current (or, when the Delta commit was complete, rolled
forward whole), no rows of a crashed run may appear in a later version, and the next ingest succeeds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SETUP = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from machidata.core.testing import make_org, make_dataset
org = make_org()
make_dataset(org.health_div, slug="crash", title="クラッシュ試験")
"""
STATE = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
django.setup()
import pyarrow.dataset as ds
from machidata.catalog.models import Table
from machidata.lake.protocol import recover_table
from machidata.lake.readers import files_for
t = Table.objects.get(name="t")
recover_table(t)
t.refresh_from_db()
v = t.current_version
names = ds.dataset(files_for(v)).to_table(columns=["名前"]).column(0).to_pylist()
print(json.dumps({"current": v.number, "rows": v.rows, "names": names,
                  "versions": [[x.number, x.status] for x in t.versions.order_by("number")]}))
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MACHIDATA_") and k != "DATABASE_URL"}
    env.update({"MACHIDATA_HOME": str(home), "DJANGO_SETTINGS_MODULE": "machidata.config.settings", **extra})
    return env


def _csv(path: Path, tag: str, n: int) -> Path:
    path.write_bytes(("名前,人数\n" + "".join(f"{tag}-{i},{i}\n" for i in range(n))).encode("cp932"))
    return path


def _ingest(
    home: Path, path: Path, *, mode: str = "append", **fault: str
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "machidata.cli", "ingest", str(path), "--dataset", "crash", "--table", "t",
           "--mode", mode, "--quiet"]  # fmt: skip
    return subprocess.run(cmd, env=_env(home, **fault), cwd=ROOT, capture_output=True, text=True, check=False)


def _state(home: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STATE], env=_env(home), cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    subprocess.run([sys.executable, "-c", SETUP], env=_env(h), cwd=ROOT, check=True, capture_output=True)
    first = _ingest(h, _csv(tmp_path / "v1.csv", "v1", 50), mode="replace")
    assert first.returncode == 0, first.stderr
    return h


POINTS = [
    "during_parse",
    "after_pending_row",
    "during_delta_write",
    "after_delta_commit",
    "before_row_commit",
]


@pytest.mark.parametrize("point", POINTS)
def test_crash_at_each_point_leaves_a_consistent_table(home: Path, tmp_path: Path, point: str) -> None:
    big = _csv(
        tmp_path / "crash.csv", "crash", 140_000
    )  # several batches, so during_delta_write fires mid-file
    crashed = _ingest(home, big, MACHIDATA_LAKE_FAULT=point, MACHIDATA_LAKE_FAULT_BATCHES="1")
    assert crashed.returncode == 137, crashed.stderr
    state = _state(home)
    crash_rows = sum(1 for n in state["names"] if n.startswith("crash-"))
    if point in {"after_delta_commit", "before_row_commit"}:
        # The Delta commit was complete: recovery rolls it forward whole, never half.
        assert state["current"] == 2
        assert crash_rows == 140_000
    else:
        assert state["current"] == 1
        assert crash_rows == 0
    assert sum(1 for n in state["names"] if n.startswith("v1-")) == 50
    after = _ingest(home, _csv(tmp_path / "after.csv", "after", 10))
    assert after.returncode == 0, after.stderr
    final = _state(home)
    assert sum(1 for n in final["names"] if n.startswith("after-")) == 10
    assert sum(1 for n in final["names"] if n.startswith("crash-")) == crash_rows  # nothing leaked in
    assert final["rows"] == len(final["names"])


def test_sigkill_from_outside_mid_ingest(home: Path, tmp_path: Path) -> None:
    big = _csv(tmp_path / "big.csv", "big", 600_000)
    cmd = [sys.executable, "-m", "machidata.cli", "ingest", str(big), "--dataset", "crash", "--table", "t",
           "--mode", "append", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=_env(home), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    state = _state(home)
    big_rows = sum(1 for n in state["names"] if n.startswith("big-"))
    assert big_rows in {0, 600_000}  # all or nothing, whatever moment the kill hit
    after = _ingest(home, _csv(tmp_path / "after.csv", "after", 5))
    assert after.returncode == 0, after.stderr
    assert sum(1 for n in _state(home)["names"] if n.startswith("after-")) == 5
