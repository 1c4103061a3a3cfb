"""``machidata verify-audit``: recompute the audit log's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_verify_chain


class Command(BaseCommand):
    """Exit 0 when the chain is intact, 1 with the id of the first broken event otherwise."""

    help = "監査ログの改ざん検知（ハッシュ連鎖）を確認します。問題がなければ終了コード0、途切れていれば1。"

    def handle(self, *args: Any, **options: Any) -> None:
        ok, broken = audit_verify_chain()
        count = AuditEvent.objects.count()
        if ok:
            self.stdout.write(self.style.SUCCESS(f"改ざんは検知されていません（{count}件を確認）。"))
            return
        self.stderr.write(
            self.style.ERROR(f"改ざんの可能性があります: ID {broken} の記録でハッシュ連鎖が途切れています。")
        )
        raise SystemExit(1)
