"""The --deploy check: a plain backup that carries the 仮名加工 keys is warned about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.db import transaction

from machidata.access.policy import system_actor
from machidata.audit.services import audit_record
from machidata.privacy.checks import W001

pytestmark = pytest.mark.django_db


def _backup(encrypted: bool) -> None:
    with transaction.atomic():
        audit_record(actor=system_actor("ops"), action="home.backup", object_type="home", object_id="h",
                     changes={"encrypted": encrypted})  # fmt: skip


def _ids() -> list[str]:
    return [m.id for m in checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)]


def test_warns_only_for_a_plain_backup_holding_keys(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_DEID_KEY_DIR = str(tmp_path / "keys")
    _backup(encrypted=False)
    assert W001 not in _ids()  # no key yet: nothing to leak
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "abc.key").write_bytes(b"k" * 32)
    assert W001 in _ids()
    _backup(encrypted=True)  # the newest backup is encrypted
    assert W001 not in _ids()


def test_no_backup_recorded_no_warning(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_DEID_KEY_DIR = str(tmp_path)
    (tmp_path / "abc.key").write_bytes(b"k" * 32)
    assert W001 not in _ids()


def test_not_run_without_deploy(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_DEID_KEY_DIR = str(tmp_path)
    (tmp_path / "abc.key").write_bytes(b"k" * 32)
    _backup(encrypted=False)
    assert W001 not in [m.id for m in checks.run_checks(tags=[checks.Tags.security])]
