"""Deployment check: backups that carry the 仮名加工 keys must be encrypted.

``machidata backup`` copies the keys (``deid-keys/``) so a restored home can recompute a release's
pseudonyms; a plain backup then holds the very keys 法第73条 keeps apart from the data. The check
(``python -m django check --deploy``) warns when the key folder holds keys and the latest backup
recorded in the audit log (``home.backup``) was written without ``--encrypt-to``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

W001 = "machidata.privacy.W001"


def _key_dir() -> Path:
    # deid.keys.key_dir() creates the folder; a check only looks.
    configured = str(getattr(settings, "MACHIDATA_DEID_KEY_DIR", "") or "")
    return Path(configured) if configured else Path(settings.MACHIDATA_HOME) / "keys" / "deid"


def _holds_keys() -> bool:
    folder = _key_dir()
    return folder.is_dir() and any(folder.glob("*.key"))


def _latest_backup_encrypted() -> bool | None:
    """Whether the newest recorded backup was encrypted; None when no backup is recorded (or no DB yet)."""
    from machidata.audit.models import AuditEvent

    try:
        event = AuditEvent.objects.filter(action="home.backup").order_by("-id").first()
    except DatabaseError:
        return None
    if event is None:
        return None
    return bool((event.changes or {}).get("encrypted"))


@register(Tags.security, deploy=True)
def backup_keys_encrypted(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when a plain backup carries the 仮名加工 keys."""
    if not _holds_keys() or _latest_backup_encrypted() is not False:
        return []
    return [
        Warning(
            "最新のバックアップは暗号化されていませんが、仮名加工の鍵（deid-keys/）を含んでいます。",
            hint="`machidata backup-key` で鍵を作り、`machidata backup … --encrypt-to age1…` で暗号化してください"
            "（docs/operations.md）。暗号化していないバックアップは、鍵ごと安全な場所へ移すか削除してください。",
            id=W001,
        )
    ]
