"""The backup file format: manifest checks, age encryption, refusal of unsafe tar members."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from machidata.core.errors import InvalidInput
from machidata.ops.archive import (
    FORMAT,
    Manifest,
    decrypt,
    encrypt,
    is_encrypted,
    iter_members,
    new_identity,
    parse_recipient,
)


def _manifest(**over: object) -> bytes:
    raw = {
        "format": FORMAT,
        "format_version": 1,
        "created_at": "2026-11-26T00:00:00+00:00",
        "machidata_version": "0.1.0",
        "database": "sqlite",
        "migrations": {},
        "counts": {},
    }
    raw.update(over)
    return json.dumps(raw).encode()


def test_manifest_round_trip() -> None:
    m = Manifest.from_json(_manifest(files={"a": {"sha256": "x", "bytes": 1}}))
    assert Manifest.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "読み取れません"),
        (_manifest(format="something-else"), "machidata のバックアップファイルではありません"),
        (_manifest(format_version=99), "第99版"),
        (json.dumps({"format": FORMAT, "format_version": 1}).encode(), "壊れています"),
    ],
)
def test_bad_manifests_are_refused_in_japanese(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Manifest.from_json(data)


def test_encrypt_then_decrypt_gives_the_same_bytes(tmp_path: Path) -> None:
    secret, public = new_identity()
    plain = tmp_path / "plain.tar"
    plain.write_bytes(b"machidata" * 100_000)
    cipher = tmp_path / "backup.tar.age"
    encrypt(plain, cipher, public)
    assert is_encrypted(cipher)
    assert not is_encrypted(plain)
    assert b"machidata" not in cipher.read_bytes()
    key = tmp_path / "key.txt"
    key.write_text(f"# comment\n{secret}\n", encoding="utf-8")
    out = tmp_path / "out.tar"
    decrypt(cipher, out, key)
    assert out.read_bytes() == plain.read_bytes()


def test_the_wrong_key_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    _, public = new_identity()
    other_secret, _ = new_identity()
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 1000)
    encrypt(plain, tmp_path / "c", public)
    key = tmp_path / "key"
    key.write_text(other_secret, encoding="utf-8")
    with pytest.raises(InvalidInput, match="復号できません"):
        decrypt(tmp_path / "c", tmp_path / "out", key)
    assert not (tmp_path / "out").exists()


def test_a_key_file_without_a_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("hello\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="AGE-SECRET-KEY-"):
        decrypt(tmp_path / "c", tmp_path / "out", key)


def test_a_bad_public_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="age1"):
        parse_recipient("ssh-rsa AAAA")


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> tarfile.TarFile:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r:")


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "lake/../../x"])
def test_members_outside_the_folder_are_refused(name: str) -> None:
    info = tarfile.TarInfo(name)
    info.size = 1
    with pytest.raises(InvalidInput, match="不正な項目"):
        list(iter_members(_tar_with(info, b"x")))


def test_links_are_refused() -> None:
    info = tarfile.TarInfo("lake/link")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    with pytest.raises(InvalidInput, match="不正な項目"):
        list(iter_members(_tar_with(info)))
