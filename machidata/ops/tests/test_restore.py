"""Backup → restore → the same bytes, in separate processes with their own homes and databases.

Also the upgrade path: a home made by release 0.1.0 (``fixtures/home-0.1.0-2026-11-26.tar.gz``,
committed once and never regenerated) is restored and migrated by this code, and its rows read the
same. On the PostgreSQL lane (DATABASE_URL set) the round trips use two scratch databases on that
server; the fixture is a SQLite home and is always restored into SQLite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from machidata.ops.archive import new_identity
from machidata.ops.tests.home_script import FIRST, SECOND, THIRD

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "fixtures" / "home-0.1.0-2026-11-26.tar.gz"
CLI = "from machidata.cli import main; raise SystemExit(main())"


@pytest.fixture
def databases() -> Iterator[tuple[str | None, str | None]]:
    """Two empty scratch databases on the lane's PostgreSQL, or (None, None) on SQLite."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None, None
        return
    import psycopg

    names = [f"md_ops_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield tuple(urlunsplit(parts._replace(path=f"/{n}")) for n in names)  # type: ignore[misc]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(
    args: list[str], home: Path, db: str | None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        MACHIDATA_HOME=str(home), DJANGO_SETTINGS_MODULE="machidata.config.settings", PYTHONPATH=str(ROOT)
    )
    if db:
        env["DATABASE_URL"] = db
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _script(command: str, home: Path, db: str | None, *extra: str) -> dict[str, dict[str, object]]:
    out = _run(["-m", "machidata.ops.tests.home_script", command, *extra], home, db)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _names(state: dict[str, dict[str, object]]) -> list[object]:
    return sorted((v["names"] for v in state.values()), key=len)


def test_encrypted_backup_restores_every_version_byte_for_byte(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    db_a, db_b = databases
    a, b = tmp_path / "a", tmp_path / "b"
    source = _script("populate", a, db_a)
    assert _names(source) == [FIRST, FIRST + SECOND]
    secret, public = new_identity()
    key = tmp_path / "key.txt"
    key.write_text(secret, encoding="utf-8")
    backup = tmp_path / "backup.tar.age"
    _run(["-c", CLI, "backup", str(backup), "--encrypt-to", public], a, db_a)

    done = _run(["-c", CLI, "restore", str(backup), "--identity", str(key)], b, db_b)
    assert "すべての版が元と同じ" in done.stdout
    assert _script("state", b, db_b) == source
    assert _run(["-c", CLI, "verify-audit"], b, db_b).returncode == 0
    assert (b / "secret_key").read_text() == (a / "secret_key").read_text()

    again = _run(["-c", CLI, "restore", str(backup), "--identity", str(key)], b, db_b, check=False)
    assert again.returncode == 1
    assert "復元先が空ではありません" in again.stderr
    assert _script("state", b, db_b) == source


def test_a_commit_after_the_database_copy_is_undone_at_restore(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    db_a, db_b = databases
    a, b = tmp_path / "a", tmp_path / "b"
    _script("populate", a, db_a)
    backup = tmp_path / "backup.tar"
    known = _script("race-backup", a, db_a, str(backup))
    assert len(_script("state", a, db_a)) == 3  # the source home did commit the late version

    done = _run(["-c", CLI, "restore", str(backup)], b, db_b)
    assert "戻した表 1" in done.stdout
    restored = _script("state", b, db_b)
    assert restored == known
    assert all("遅れて届いた行" not in v["names"] for v in restored.values())  # type: ignore[operator]


def test_a_home_from_release_0_1_0_restores_and_upgrades(tmp_path: Path) -> None:
    with tarfile.open(FIXTURE) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    home = tmp_path / "home"
    done = _run(["-c", CLI, "restore", str(FIXTURE)], home, None)
    assert "すべての版が元と同じ" in done.stdout
    state = _script("state", home, None)
    assert {k: v["digest"] for k, v in state.items()} == manifest["versions"]
    assert _names(state) == [FIRST, FIRST + SECOND]


def test_deid_keys_travel_with_the_backup_and_come_back_0600(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    db_a, db_b = databases
    a, b = tmp_path / "a", tmp_path / "b"
    _script("populate", a, db_a)
    key = _script("deid-key", a, db_a)
    backup = tmp_path / "backup.tar"
    _run(["-c", CLI, "backup", str(backup)], a, db_a)
    with tarfile.open(backup) as tar:
        assert f"deid-keys/{key['id']}.key" in tar.getnames()
    done = _run(["-c", CLI, "restore", str(backup)], b, db_b)
    assert "仮名加工の鍵を戻しました: 1件" in done.stdout
    assert _script("keys", b, db_b) == {key["id"]: {"hex": key["hex"], "mode": "0o600"}}


def test_a_backup_made_before_a_purge_does_not_bring_the_versions_back(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    db_a, db_b = databases
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _script("populate", a, db_a)
    before = tmp_path / "before.tar"
    _run(["-c", CLI, "backup", str(before)], a, db_a)
    purged = _script("purge-old", a, db_a)
    assert _names(purged["state"]) == [THIRD]  # type: ignore[arg-type]
    assert purged["files"]
    ledger = a / "lake" / ".purged-versions.jsonl"
    assert ledger.is_file()

    # 1. Restoring the old backup with the running home's tombstone list removes them again.
    done = _run(["-c", CLI, "restore", str(before), "--purged", str(ledger)], b, db_b)
    assert "消去の記録に従って消去した版: 2版" in done.stdout
    assert _script("state", b, db_b) == {}
    key = purged["storage_key"]
    assert not any((b / "lake" / str(key) / f).exists() for f in purged["files"])  # type: ignore[union-attr]

    # 2. Pruning the old backup takes the files out of the archive itself.
    _run(["-c", CLI, "backup-prune", str(before), "--purged", str(ledger)], a, db_a)
    with tarfile.open(before) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert not any(f"lake/{key}/{f}" in names for f in purged["files"])  # type: ignore[union-attr]
    assert manifest["versions"] == {}
    assert "lake/.purged-versions.jsonl" in names
    if db_a is None:  # a third scratch database exists only on SQLite
        done = _run(["-c", CLI, "restore", str(before)], c, None)
        assert "すべての版が元と同じ" in done.stdout
        assert _script("state", c, None) == {}
