"""``machidata restore``: a backup into an empty home, migrated to this version and verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.ops.restore import restore_backup


class Command(BaseCommand):
    """Restore, then report the upgrade steps applied and whether every version matched."""

    help = "バックアップを空の MACHIDATA_HOME とデータベースに復元し、すべての版を検証します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="バックアップファイル")
        parser.add_argument("--identity", help="暗号化されたバックアップの秘密鍵ファイル（AGE-SECRET-KEY-…）")
        parser.add_argument(
            "--purged",
            help="消去の記録（運用中の環境の lake/.purged-versions.jsonl）。バックアップ後に消去した版を復元後に消去し直します",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        identity = Path(options["identity"]) if options.get("identity") else None
        purged = Path(options["purged"]) if options.get("purged") else None
        report = restore_backup(
            Path(options["path"]), identity=identity, purged=purged, say=self.stdout.write
        )
        if report.purged_versions:
            self.stdout.write(f"消去の記録に従って消去した版: {len(report.purged_versions)}版")
        if report.deid_keys:
            self.stdout.write(f"仮名加工の鍵を戻しました: {report.deid_keys}件")
        if report.migrated:
            self.stdout.write(f"新しい版への更新を適用しました: {len(report.migrated)}件")
        self.stdout.write(
            f"復元しました: {report.files}ファイル、{report.versions_checked}版を検証"
            f"（レイクの点検で戻した表 {report.recovered_tables}、削除した未参照ファイル {report.purged_files}）。"
        )
        if not report.ok:
            problems = [
                *(f"内容が違う版: {k}" for k in report.mismatched),
                *(f"ない版: {k}" for k in report.missing),
            ]
            problems += [f"監査ログ: {p}" for p in report.audit_problems]
            raise CommandError("復元したデータの検証に失敗しました: " + "; ".join(problems[:10]))
        self.stdout.write(
            self.style.SUCCESS(
                "すべての版が元と同じであることを確認しました。サーバーを起動し直してください。"
            )
        )
