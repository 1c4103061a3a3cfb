"""Production settings pass Django's own deploy checks with no warning (`machidata check`)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
CLI = "from machidata.cli import main; raise SystemExit(main())"


def _machidata(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith(("MACHIDATA_", "DJANGO_"))
    }
    environ.update(
        MACHIDATA_HOME=str(home),
        MACHIDATA_PRODUCTION="1",
        MACHIDATA_SECRET_KEY=secrets.token_urlsafe(64),
        MACHIDATA_ALLOWED_HOSTS="data.city.example.lg.jp",
        PYTHONPATH=str(ROOT),
    )
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_production_settings_pass_every_deploy_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert _machidata(home, "migrate").returncode == 0
    https = _machidata(home, "check")
    assert https.returncode == 0, https.stdout + https.stderr
    assert "問題は見つかりませんでした" in https.stdout
    # Plain HTTP inside the closed network is allowed, and said.
    plain = _machidata(home, "check", MACHIDATA_HTTPS="0")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "MACHIDATA_HTTPS=0" in plain.stdout
    # A short key is one of the problems listed, and the exit status says so.
    weak = _machidata(home, "check", MACHIDATA_SECRET_KEY="short")
    assert weak.returncode == 1
