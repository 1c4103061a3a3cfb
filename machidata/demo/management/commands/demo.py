"""``machidata demo``: migrate, load the demo content and data, print the demo accounts, then serve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from machidata.demo.services import accounts_table, load_demo, load_demo_data


class Command(BaseCommand):
    """Start a demo of machidata with Kumamoto City's organisation, catalog and data."""

    help = "デモ用の内容（熊本市の組織・カタログ・アカウント）と、実データ・合成データの表を読み込んで起動します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--load-only", action="store_true", help="読み込みとアカウントの表示だけ行い、起動しません"
        )
        parser.add_argument(
            "--no-data",
            action="store_true",
            help="データの取り込み（実データ・救急出動記録・システムデータ）を省略します（速く終わります）",
        )
        parser.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス（既定: 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="待ち受けるポート（既定: 8000）")

    def say(self, text: str, end: str = "\n") -> None:
        """One progress line (or its start, with ``end=""``), shown at once."""
        self.stdout.write(text, ending=end)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        summary = load_demo(home=settings.MACHIDATA_HOME)
        if summary.changed:
            created = sum(summary.created.values())
            updated = sum(summary.updated.values())
            self.stdout.write(f"デモ用の内容を読み込みました（追加 {created} 件、更新 {updated} 件）。")
        else:
            self.stdout.write("デモ用の内容はすでに読み込まれています（変更なし）。")
        if not options["no_data"]:
            data = load_demo_data(home=Path(settings.MACHIDATA_HOME), say=self.say)
            self.stdout.write(
                f"データの取り込み: 新しい版 {len(data.ingested)} 件、取り込み済み {len(data.skipped)} 件"
                + (f"、見つからず {len(data.missing)} 件" if data.missing else "")
                + (f"、失敗 {len(data.failed)} 件" if data.failed else "")
                + f"（{time.monotonic() - started:.0f}秒）。"
            )
        from machidata.search.services import index_apply_pending

        # The runner would apply these within a minute; do it now so the first search finds the demo.
        self.say("検索索引を更新しています … ", end="")
        self.say(f"{index_apply_pending()}件")
        self.stdout.write("")
        self.stdout.write("デモ用アカウント（デモ専用です。本番では使わないでください）:")
        self.stdout.write(accounts_table())
        if options["load_only"]:
            return
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write("")
        self.stdout.write(f"起動します: {url}  （Ctrl+C で停止）")
        call_command("serve", host=options["host"], port=options["port"])
