"""``machidata purge``: remove versions of personal-data datasets whose 保存期間 has run out.

``--dry-run`` (the default) lists what would be removed and what is kept and why; ``--apply``
removes it through the lake (each version becomes a tombstone on the version history, audited).
The current version is removed only with ``--include-current --reason "…"`` (an explicit decision);
a version an approved publication pins is never removed; a dataset that is not personal data only
with ``--include-non-personal``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.core.errors import MachidataError
from machidata.privacy import retention


class Command(BaseCommand):
    """List (--dry-run) or remove (--apply) expired versions."""

    help = "保存期間を過ぎた個人情報の版を消去します（--dry-run で確認だけ、--apply で消去）。"

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="消去する版を表示するだけにします（既定）")
        mode.add_argument("--apply", action="store_true", help="実際に消去します")
        parser.add_argument("--dataset", help="対象のデータセット（URL名）。省略時は保存期間のあるすべて")
        parser.add_argument("--today", help="この日を基準に判断します（YYYY-MM-DD、確認用）")
        parser.add_argument(
            "--include-current",
            action="store_true",
            help="保存期間を過ぎた現在の版も消去します（--reason が必要）",
        )
        parser.add_argument("--reason", default="", help="現在の版を消去する決定の理由（決裁番号など）")
        parser.add_argument(
            "--include-non-personal", action="store_true", help="個人情報を含まないデータセットも対象にします"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = retention.SYSTEM_ACTOR
        today = None
        if options.get("today"):
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError(
                    f"--today は YYYY-MM-DD で指定してください（{options['today']}）。"
                ) from exc
        try:
            dataset = (
                retention.dataset_by_slug(actor=actor, slug=options["dataset"])
                if options.get("dataset")
                else None
            )
            plan = retention.purge_plan(
                actor=actor,
                today=today,
                dataset=dataset,
                include_non_personal=options["include_non_personal"],
            )
        except MachidataError as exc:
            raise CommandError(exc.message) from exc
        include_current = bool(options["include_current"])
        for problem in plan.problems:
            self.stdout.write(f"注意: {problem}")
        for item in plan.items:
            mark = (
                "消去"
                if item.action == "purge" or (include_current and item.action == "keep_current")
                else "保存"
            )
            self.stdout.write(f"[{mark}] {item.label}（{item.expires_on:%Y-%m-%d}に満了）: {item.note}")
        targets = plan.to_purge(include_current=include_current)
        if not options["apply"]:
            self.stdout.write(
                f"確認のみ: 消去の対象は{len(targets)}版です。消去するには --apply を付けて実行してください。"
            )
            return
        try:
            result = retention.purge_apply(
                actor=actor, plan=plan, include_current=include_current, reason=options["reason"]
            )
        except MachidataError as exc:
            raise CommandError(exc.message) from exc
        for label in result.versions:
            self.stdout.write(f"消去しました: {label}")
        self.stdout.write(
            f"{len(result.versions)}版を消去しました（ファイル{result.files}件、{result.bytes}バイト）。"
        )
        if result.errors:
            raise CommandError("消去できなかった版があります: " + "; ".join(result.errors))
