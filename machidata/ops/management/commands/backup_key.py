"""``machidata backup-key``: a key pair for encrypted backups (age, X25519)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.ops.archive import new_identity


class Command(BaseCommand):
    """Write the secret key to a new file (mode 600) and print the public key for --encrypt-to."""

    help = "暗号化バックアップ用の鍵を作ります。秘密鍵はファイルに保存し、公開鍵を表示します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="秘密鍵を保存する新しいファイル（サーバーとは別の場所に保管してください）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        secret, public = new_identity()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(f"「{path}」はすでにあります（鍵は上書きしません）。") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"# machidata backup key\n# public key: {public}\n{secret}\n")
        self.stdout.write(f"秘密鍵を保存しました: {path}")
        self.stdout.write(f"公開鍵（machidata backup --encrypt-to に指定）: {public}")
