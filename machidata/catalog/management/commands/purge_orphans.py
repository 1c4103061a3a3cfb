"""`machidata purge-orphans`: remove data files no version references, recording each in the audit log."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.catalog.models import Table
from machidata.core.errors import MachidataError


class Command(BaseCommand):
    """Purge files that no Delta commit references (left by crashed writers); versions are never touched."""

    help = "どの版からも参照されていないデータファイル（書き込み途中で止まった処理の残り）を削除し、監査ログに記録します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--table", type=int, help="対象の表のID（省略時はすべての表）")

    def handle(self, *args: Any, table: int | None = None, **options: Any) -> None:
        from machidata.lake.protocol import purge_orphans

        tables = Table.objects.order_by("pk")
        if table is not None:
            tables = tables.filter(pk=table)
            if not tables.exists():
                raise CommandError(f"表 {table} はありません。")
        removed = 0
        for t in tables:
            try:
                files = purge_orphans(t)
            except MachidataError as exc:
                raise CommandError(f"表「{t.title}」: {exc.message}") from exc
            removed += len(files)
            for f in files:
                self.stdout.write(f"削除: {f}")
        self.stdout.write(f"{removed} 件のファイルを削除しました。")
