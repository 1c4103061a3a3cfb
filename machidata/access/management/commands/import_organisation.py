"""``machidata import-organisation FILE [--staff FILE] --effective-date YYYY-MM-DD [--dry-run] --as USERNAME``."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from machidata.access.orgimport import organisation_import_preview
from machidata.access.services import actor_from_username, organisation_import_apply, system_actor
from machidata.core.errors import InvalidInput


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"施行日「{value}」は YYYY-MM-DD の形で指定してください（例: 2025-04-01）。"
        ) from None


class Command(BaseCommand):
    help = "組織表（と職員名簿）を取り込み、施行日に組織改正を適用します。まず内容を表示し、誤りがあれば何も変更しません。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="組織表（Excel .xlsx または CSV）")
        parser.add_argument(
            "--staff", help="職員名簿（Excel または CSV）。Excel の組織表に別シートで入れてもかまいません"
        )
        parser.add_argument("--effective-date", required=True, help="施行日（YYYY-MM-DD、通常は4月1日）")
        parser.add_argument("--dry-run", action="store_true", help="変更内容を表示するだけで、適用しません")
        parser.add_argument(
            "--as",
            dest="as_user",
            help="実行者として監査ログに記録するユーザー名（省略時はコマンドとOSのユーザー名）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org_file = Path(options["file"])
        staff_file = Path(options["staff"]) if options.get("staff") else None
        for path in (org_file, staff_file):
            if path is not None and not path.is_file():
                raise CommandError(f"ファイル「{path}」が見つかりません。")
        effective_date = _date(options["effective_date"])
        try:
            actor = (
                actor_from_username(options["as_user"])
                if options.get("as_user")
                else system_actor("import-organisation")
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None

        preview = organisation_import_preview(
            org_file=org_file, staff_file=staff_file, effective_date=effective_date
        )
        for line in preview.lines():
            self.stdout.write(line)
        if preview.errors:
            raise CommandError(
                f"組織表に誤りが{len(preview.errors)}件あるため、取り込みませんでした（何も変更していません）。"
            )
        if options["dry_run"]:
            self.stdout.write("--dry-run のため、適用していません。")
            return
        if not preview.has_changes:
            return
        try:
            applied = organisation_import_apply(
                actor=actor, org_file=org_file, staff_file=staff_file, effective_date=effective_date
            )
        except InvalidInput as exc:
            details = "\n".join(f"  - {d}" for d in (exc.details or []))
            raise CommandError(f"{exc.message}\n{details}") from None
        summary = applied.summary()
        self.stdout.write(
            self.style.SUCCESS(
                f"適用しました: 新設 {summary['added']}件、変更 {summary['changed']}件、廃止 {summary['closed']}件、"
                f"データセットの移管 {summary['datasets_transferred']}件、所属・役割の変更 {summary['memberships_changed']}件"
                f"（実行者: {actor.label()}）"
            )
        )
