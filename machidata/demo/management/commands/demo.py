"""``machidata demo``: migrate, load the demo content, print the demo accounts, then serve."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from machidata.demo.services import accounts_table, load_demo


class Command(BaseCommand):
    """Start a demo of machidata with Kumamoto City's organisation and catalog."""

    help = "デモ用の内容（熊本市の組織・カタログ・アカウント）を読み込んで起動します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--load-only", action="store_true", help="読み込みとアカウントの表示だけ行い、起動しません"
        )
        parser.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス（既定: 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="待ち受けるポート（既定: 8000）")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        summary = load_demo(home=settings.MACHIDATA_HOME)
        if summary.changed:
            created = sum(summary.created.values())
            updated = sum(summary.updated.values())
            self.stdout.write(f"デモ用の内容を読み込みました（追加 {created} 件、更新 {updated} 件）。")
        else:
            self.stdout.write("デモ用の内容はすでに読み込まれています（変更なし）。")
        self.stdout.write("")
        self.stdout.write("デモ用アカウント（デモ専用です。本番では使わないでください）:")
        self.stdout.write(accounts_table())
        if options["load_only"]:
            return
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write("")
        self.stdout.write(f"起動します: {url}  （Ctrl+C で停止）")
        call_command("serve", host=options["host"], port=options["port"])
