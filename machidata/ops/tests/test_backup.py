"""create_backup and the checks restore_backup makes before it writes anything (in-process)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput
from machidata.core.testing import Org, make_dataset
from machidata.lake.protocol import write_version
from machidata.lake.readers import version_digest
from machidata.ops import database
from machidata.ops.archive import MANIFEST, new_identity
from machidata.ops.backup import create_backup
from machidata.ops.restore import restore_backup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_HOME = tmp_path / "home"
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def table(org: Org, home: Path) -> Table:
    dataset = make_dataset(org.health_div)
    table = Table.objects.create(dataset=dataset, name="t", title="表", storage_key=uuid.uuid4().hex)
    schema = pa.schema([("name", pa.string())])
    for mode, names in (("replace", ["a", "b"]), ("append", ["c"])):
        batch = pa.record_batch([pa.array(names)], schema=schema)
        write_version(table=table, batches=[batch], schema=schema, mode=mode, job_id=uuid.uuid4().hex)
    return table


def _read(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    return json.loads(members.pop(MANIFEST)), members


def test_backup_holds_the_database_every_lake_file_and_each_version_digest(
    table: Table, tmp_path: Path
) -> None:
    dest = tmp_path / "b.tar"
    create_backup(dest, say=lambda _: None)
    manifest, members = _read(dest)
    assert set(manifest["files"]) == set(members)
    for name, data in members.items():
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert database.DUMP_NAMES[manifest["database"]] in members
    lake_files = {
        f"lake/{p.relative_to(tmp_path / 'home' / 'lake').as_posix()}"
        for p in (tmp_path / "home" / "lake").rglob("*")
        if p.is_file()
    }
    assert lake_files <= set(members)
    versions = {f"{table.storage_key}/{v.number}": version_digest(v) for v in table.versions.all()}
    assert len(versions) == 2
    assert manifest["versions"] == versions
    assert manifest["counts"]["versions"] == 2
    assert "catalog" in manifest["migrations"]
    assert AuditEvent.objects.filter(action="home.backup").count() == 1


def test_backup_never_overwrites_and_checks_the_key_first(table: Table, tmp_path: Path) -> None:
    dest = tmp_path / "b.tar"
    dest.write_bytes(b"keep")
    with pytest.raises(InvalidInput, match="すでにあります"):
        create_backup(dest)
    assert dest.read_bytes() == b"keep"
    with pytest.raises(InvalidInput, match="age1"):
        create_backup(tmp_path / "c.tar", recipient="not-a-key")
    assert not (tmp_path / "c.tar").exists()
    assert not list(tmp_path.glob(".machidata-backup-*"))


def test_an_encrypted_backup_is_unreadable_without_the_key(table: Table, tmp_path: Path) -> None:
    _, public = new_identity()
    dest = tmp_path / "b.tar.age"
    create_backup(dest, recipient=public)
    with pytest.raises(tarfile.TarError), tarfile.open(dest):
        pass
    with pytest.raises(InvalidInput, match="--identity"):
        restore_backup(dest)


@pytest.fixture
def backup(table: Table, tmp_path: Path) -> Path:
    dest = tmp_path / "b.tar"
    create_backup(dest)
    return dest


def _rewrite(src: Path, dest: Path, change: Any) -> Path:
    """Copy a backup tar, letting ``change(name, data)`` alter each member's bytes."""
    with tarfile.open(src) as tar, tarfile.open(dest, "w") as out:
        for m in tar.getmembers():
            data = change(m.name, tar.extractfile(m).read())  # type: ignore[union-attr]
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return dest


def test_restore_refuses_a_missing_file_and_a_non_backup(home: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="ありません"):
        restore_backup(tmp_path / "none.tar")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file" * 50)
    with pytest.raises(InvalidInput, match="読めません"):
        restore_backup(junk)


def test_restore_refuses_a_backup_from_a_newer_machidata(backup: Path, tmp_path: Path) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        m = json.loads(data)
        m["migrations"]["catalog"].append("9999_from_the_future")
        m["machidata_version"] = "9.0.0"
        return json.dumps(m).encode()

    with pytest.raises(InvalidInput, match=r"新しい版の machidata（9\.0\.0）.*9999_from_the_future"):
        restore_backup(_rewrite(backup, tmp_path / "n.tar", newer))


def test_restore_refuses_another_database_engine(backup: Path, tmp_path: Path) -> None:
    other = "postgresql" if database.vendor() == "sqlite" else "sqlite"

    def engine(name: str, data: bytes) -> bytes:
        return data if name != MANIFEST else json.dumps({**json.loads(data), "database": other}).encode()

    with pytest.raises(InvalidInput, match="同じ種類のデータベース"):
        restore_backup(_rewrite(backup, tmp_path / "e.tar", engine))


def test_restore_refuses_a_home_that_is_not_empty(backup: Path) -> None:
    with pytest.raises(InvalidInput, match="復元先が空ではありません"):
        restore_backup(backup)


@pytest.mark.parametrize("victim", ["lake", "database"])
def test_restore_refuses_a_damaged_backup_before_writing(
    backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, victim: str
) -> None:
    def flip(name: str, data: bytes) -> bytes:
        if name.startswith(f"{victim}/") and data:
            return bytes([data[0] ^ 1]) + data[1:]
        return data

    settings.MACHIDATA_HOME = tmp_path / "empty-home"
    monkeypatch.setattr(database, "is_empty", lambda: True)  # pretend the target is empty …

    def must_not_load(_: Path) -> None:
        raise AssertionError("a damaged backup must be refused before the database is touched")

    monkeypatch.setattr(database, "load", must_not_load)  # … and prove nothing is loaded
    with pytest.raises(InvalidInput, match="壊れています"):
        restore_backup(_rewrite(backup, tmp_path / "d.tar", flip))
    assert not list((tmp_path / "empty-home" / "tmp").glob("restore-*"))
    assert not (tmp_path / "empty-home" / "lake").exists()


def test_restore_refuses_a_truncated_backup(backup: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.tar"
    short.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    with pytest.raises(InvalidInput):
        restore_backup(short)
