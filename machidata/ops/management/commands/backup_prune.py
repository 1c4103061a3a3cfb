"""``machidata backup-prune``: take purged versions out of backups made before the purge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.core.errors import MachidataError
from machidata.ops.prune import prune_backup


class Command(BaseCommand):
    """Rewrite each backup in place without the files of the versions the tombstone list names."""

    help = "保存期間で消去した版を、消去より前に作ったバックアップファイルからも取り除きます。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="バックアップファイル（複数可）")
        parser.add_argument(
            "--purged", required=True, help="消去の記録（運用中の環境の lake/.purged-versions.jsonl）"
        )
        parser.add_argument(
            "--identity", help="暗号化されたバックアップの秘密鍵ファイル（同じ鍵で暗号化し直します）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        identity = Path(options["identity"]) if options.get("identity") else None
        for path in options["paths"]:
            try:
                prune_backup(
                    Path(path), ledger=Path(options["purged"]), identity=identity, say=self.stdout.write
                )
            except MachidataError as exc:
                raise CommandError(f"{path}: {exc.message}") from exc
