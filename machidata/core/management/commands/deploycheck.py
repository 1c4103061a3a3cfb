"""`machidata check`: is this instance ready for production use?"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    """Point out every setting that is not ready for production, in Japanese; exit 1 if any."""

    help = "本番運用の設定（秘密鍵・DEBUG・ホスト名・データベース・移行）を点検します。"

    def handle(self, *args: Any, **options: Any) -> None:
        problems: list[str] = []
        if not settings.MACHIDATA_PRODUCTION:
            problems.append("MACHIDATA_PRODUCTION=1 が設定されていません（本番モードではありません）。")
        if settings.DEBUG:
            problems.append("MACHIDATA_DEBUG が有効です。本番では無効にしてください。")
        if set(settings.ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "[::1]", "testserver"}:
            problems.append("MACHIDATA_ALLOWED_HOSTS に公開するホスト名を設定してください。")
        if len(settings.SECRET_KEY) < 50:
            problems.append("秘密鍵（MACHIDATA_SECRET_KEY）が短すぎます。")
        if connection.vendor == "sqlite":
            self.stdout.write(
                "注意: メタデータは SQLite です。複数台で運用する場合は DATABASE_URL で PostgreSQL を指定してください。"
            )
        try:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                problems.append(
                    "未適用のデータベース移行があります。`machidata migrate` を実行してください。"
                )
        except Exception as exc:  # noqa: BLE001 - report any database failure as one line
            problems.append(f"データベースに接続できません: {exc}")
        if settings.MACHIDATA_PRODUCTION and not settings.MACHIDATA_HTTPS:
            self.stdout.write(
                "注意: MACHIDATA_HTTPS=0 です（平文 HTTP）。閉域網の外から届く経路がないことを確認してください。"
            )
        try:  # Django's own deploy checks: a warning is a problem too
            call_command("check", deploy=True, fail_level="WARNING", verbosity=0)
        except Exception as exc:  # noqa: BLE001 - Django's own deploy checks, summarised
            problems.append(f"Django の点検で問題が見つかりました: {exc}")
        if problems:
            for p in problems:
                self.stderr.write(f"・{p}")
            raise CommandError(f"{len(problems)}件の問題があります。")
        self.stdout.write("問題は見つかりませんでした。")
