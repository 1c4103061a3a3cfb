"""``machidata verify-audit``: check the audit log's hashes, seals and the seals kept outside the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from machidata.audit.seals import audit_seal, audit_verify, seal_file


class Command(BaseCommand):
    """Exit 0 when nothing is wrong, 1 with each problem otherwise."""

    help = "監査ログの改ざん検知（各記録のハッシュ、封印、データベースの外の封印記録）を確認します。問題がなければ終了コード0、あれば1。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seal", action="store_true", help="確認の前に、封印できる記録をいま封印します")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("seal"):
            sealed = audit_seal()
            self.stdout.write(f"封印しました: {len(sealed)}件の封印")
        report = audit_verify()
        summary = (
            f"{report.events}件を確認（封印{report.seals}件で{report.sealed_events}件を保護、"
            f"未封印{report.unsealed_events}件、外部の封印記録: {seal_file()}）"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"改ざんは検知されていません。{summary}"))
            return
        self.stderr.write(self.style.ERROR(f"改ざんの可能性があります。{summary}"))
        for problem in report.problems:
            self.stderr.write(f"- {problem}")
        raise SystemExit(1)
