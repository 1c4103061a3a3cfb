"""``machidata publish-import PATH``: verify a bundle and apply it (public side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.core.errors import InvalidInput
from machidata.publish.bundle import import_bundle


class Command(BaseCommand):
    """Check the signature, the files and the sequence before anything is written, then apply."""

    help = "公開バンドルの署名と中身を確かめてから取り込みます（公開側で実行）。同じものの再取り込みは何もしません。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="取り込むファイル")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import_bundle(Path(options["path"]).resolve(), say=self.stdout.write)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
