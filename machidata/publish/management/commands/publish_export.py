"""``machidata publish-export PATH``: the next signed bundle of what is public (internal side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.core.errors import InvalidInput
from machidata.publish.bundle import export_bundle


class Command(BaseCommand):
    """Write the changes since the last bundle: new public versions, metadata, withdrawals."""

    help = "前回からの公開内容の変更を、署名付きの公開バンドルに書き出します（庁内側で実行）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="書き出すファイル（例: bundle-0001.tar）")
        parser.add_argument(
            "--allow-empty", action="store_true", help="変更がなくても書き出します（疎通の確認用）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            export_bundle(
                Path(options["path"]).resolve(),
                say=self.stdout.write,
                allow_empty=bool(options.get("allow_empty")),
            )
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
