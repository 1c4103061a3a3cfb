"""Settings: every knob is documented; the secret key is never fixed and production refuses weak ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import machidata.config.settings as settings_module

ROOT = Path(__file__).resolve().parents[3]


def _knobs() -> set[str]:
    source = Path(settings_module.__file__).read_text()
    return set(re.findall(r'_env(?:_bool|_list)?\("([A-Z_]+)"', source)) | set(
        re.findall(r'os\.environ\.get\("([A-Z_]+)"', source)
    )


def test_every_setting_is_documented():
    knobs = _knobs()
    assert "MACHIDATA_HOME" in knobs
    assert "DATABASE_URL" in knobs
    doc = (ROOT / "docs" / "settings.md").read_text()
    missing = sorted(k for k in knobs if f"`{k}`" not in doc)
    assert not missing, f"undocumented settings: {missing}"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','machidata.config.settings'); django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    full = {k: v for k, v in os.environ.items() if not k.startswith("MACHIDATA_") and k != "DATABASE_URL"}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_secret_key_generated_once_into_home(tmp_path):
    first = _run({"MACHIDATA_HOME": str(tmp_path)})
    second = _run({"MACHIDATA_HOME": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_missing_short_or_known_key(tmp_path):
    for key in ("", "changeme", "short-key", "x" * 60):
        env = {"MACHIDATA_HOME": str(tmp_path / "p"), "MACHIDATA_PRODUCTION": "1"}
        (tmp_path / "p").mkdir(exist_ok=True)
        if key:
            env["MACHIDATA_SECRET_KEY"] = key
        result = _run(env)
        assert result.returncode != 0, key
        assert "MACHIDATA_SECRET_KEY" in result.stderr
    ok = _run(
        {
            "MACHIDATA_HOME": str(tmp_path / "p"),
            "MACHIDATA_PRODUCTION": "1",
            "MACHIDATA_SECRET_KEY": "k8#Zq2!vN4pLw9@Xr7$Tb1^Hm6&Jc3*Fd5(Gs0)Ye-Ua_Ii+Oo=Pp",
        }
    )
    assert ok.returncode == 0, ok.stderr


def test_time_zone_and_language():
    from django.conf import settings

    assert settings.TIME_ZONE == "Asia/Tokyo"
    assert settings.LANGUAGE_CODE == "ja"


@pytest.mark.django_db
def test_sqlite_is_set_up_for_several_processes():
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only settings")
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        mode = cur.fetchone()[0]
    assert mode in {"wal", "memory"}  # the test database may be in memory
