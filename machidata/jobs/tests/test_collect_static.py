"""`machidata serve` collects static files only when their sources changed since the last collection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import override_settings

from machidata.jobs.management.commands.serve import collect_static


def test_collects_once_then_again_only_after_a_source_changes(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    source = extra / "city-note.txt"
    source.write_text("熊本市", encoding="utf-8")
    root = tmp_path / "static"
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    said: list[str] = []
    with override_settings(
        STATIC_ROOT=str(root),
        STATICFILES_DIRS=[str(extra)],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": plain,
        },
    ):
        (root).mkdir()
        (root / "staticfiles.json").write_text("{}")  # what the manifest storage leaves behind
        assert collect_static(say=said.append) is True
        assert (root / "city-note.txt").read_text(encoding="utf-8") == "熊本市"
        assert collect_static(say=said.append) is False  # nothing changed: nothing collected
        source.write_text("熊本市 中央区", encoding="utf-8")
        os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10_000_000_000))
        assert collect_static(say=said.append) is True
        assert (root / "city-note.txt").read_text(encoding="utf-8") == "熊本市 中央区"
    assert said == ["静的ファイルを集めています…"] * 2


@pytest.mark.parametrize("missing", [".collected", "staticfiles.json"])
def test_a_missing_stamp_or_manifest_collects_again(tmp_path: Path, missing: str) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "staticfiles.json").write_text("{}")
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(
        STATIC_ROOT=str(root),
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": plain,
        },
    ):
        assert collect_static(say=lambda _: None) is True
        (root / missing).unlink()
        assert collect_static(say=lambda _: None) is True
