"""``machidata backup``: one consistent backup of the running home (database, lake, uploads, key)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from machidata.ops.backup import create_backup


class Command(BaseCommand):
    """Write the backup; with --encrypt-to, only the holder of the matching secret key can read it."""

    help = "バックアップを作成します（サーバーを止めずに実行できます）。--encrypt-to で暗号化します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", nargs="?", help="保存先のファイル（省略時は現在のフォルダに日時付きの名前で作成）"
        )
        parser.add_argument(
            "--encrypt-to",
            dest="recipient",
            help="暗号化に使う age の公開鍵（age1…; machidata backup-key で作成）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options.get("path")
        recipient = options.get("recipient")
        if not path:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = f"machidata-backup-{stamp}.tar" + (".age" if recipient else "")
        create_backup(Path(path).resolve(), recipient=recipient, say=self.stdout.write)
