"""``machidata import-inventory FILE [--sheet] [--template] [--save-template] [--header-row] [--valid-rows-only] [--dry-run] --as USERNAME``."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from machidata.access.policy import actor_for
from machidata.catalog.inventory import (
    TARGETS,
    ImportOptions,
    ImportReport,
    check_file,
    file_sha256,
    inventory_import,
    inventory_template_for,
    inventory_template_get,
    inventory_template_save,
    read_sheet,
    suggest_mapping,
)
from machidata.core.errors import MachidataError


class Command(BaseCommand):
    help = (
        "データ棚卸表（Excel/CSV）をカタログに取り込みます。整理番号で照合し、新規は作成、変更は更新します。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="棚卸表のファイル（.xlsx / .xls / .csv）")
        parser.add_argument("--sheet", help="シート名（省略時は最初のシート）")
        parser.add_argument("--template", help="保存済みのテンプレート（列の対応）の名前")
        parser.add_argument("--save-template", metavar="NAME", help="今回の列の対応をこの名前で保存します")
        parser.add_argument("--header-row", type=int, help="見出し行の番号（省略時は自動で探します）")
        parser.add_argument(
            "--valid-rows-only",
            action="store_true",
            help="エラーのない行だけ取り込みます（既定: 1行でもエラーがあれば何もしない）",
        )
        parser.add_argument(
            "--generate-identifiers",
            action="store_true",
            help="整理番号が空の行に新しい整理番号を付けて登録します",
        )
        parser.add_argument("--dry-run", action="store_true", help="取り込まずに結果だけ表示します")
        parser.add_argument(
            "--as", dest="as_user", required=True, help="実行する職員のユーザー名（その権限で取り込みます）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["as_user"], is_active=True).first()
        if user is None:
            raise CommandError(f"ユーザー「{options['as_user']}」が見つかりません。")
        actor = actor_for(user)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"ファイル「{path}」がありません。")
        try:
            report = self._run(actor, path, options)
        except MachidataError as exc:
            raise CommandError(self._error_text(exc)) from None
        self._print(report)
        if report.blocked or (report.errors and options["dry_run"] and not options["valid_rows_only"]):
            raise CommandError("エラーがあるため取り込みませんでした。", returncode=1)

    def _run(self, actor: Any, path: Path, options: dict[str, Any]) -> ImportReport:
        content = path.read_bytes()
        ext = check_file(path.name, len(content))
        template = inventory_template_get(name=options["template"]) if options.get("template") else None
        sheet_name = options.get("sheet") or (template.sheet if template and template.sheet else None)
        header_row = options.get("header_row") or (template.header_row if template else None)
        sheet = read_sheet(content, ext=ext, file_name=path.name, sheet=sheet_name, header_row=header_row)
        if template is None:
            template = inventory_template_for(headers=sheet.headers)
            if template is not None:
                self.stdout.write(f"列見出しが同じテンプレート「{template.name}」を使います。")
        mapping = (
            {h: template.mapping.get(h, "") for h in sheet.headers}
            if template
            else suggest_mapping(sheet.headers)
        )
        self.stdout.write(
            f"シート「{sheet.name}」 見出し行 {sheet.header_row} 行目 / データ {len(sheet.rows)} 行"
        )
        for header in sheet.headers:
            target = mapping.get(header, "")
            self.stdout.write(f"  {header} → {TARGETS.get(target, '（取り込まない）')}")
        if options.get("save_template"):
            inventory_template_save(
                actor=actor,
                name=options["save_template"],
                mapping=mapping,
                headers=sheet.headers,
                sheet=sheet.name,
                header_row=sheet.header_row,
            )
            self.stdout.write(f"列の対応をテンプレート「{options['save_template']}」として保存しました。")
        return inventory_import(
            actor=actor,
            sheet=sheet,
            file_name=path.name,
            sha256=file_sha256(content),
            options=ImportOptions(
                mapping=mapping,
                generate_identifiers=options["generate_identifiers"],
                valid_rows_only=options["valid_rows_only"],
                dry_run=options["dry_run"],
                template_name=template.name if template else (options.get("save_template") or ""),
            ),
        )

    @staticmethod
    def _error_text(exc: MachidataError) -> str:
        lines = [exc.message]
        if isinstance(exc.details, dict):
            for key, messages in exc.details.items():
                for msg in messages if isinstance(messages, list) else []:
                    if msg != exc.message:
                        lines.append(f"  {key}: {msg}" if key else f"  {msg}")
        return "\n".join(lines)

    def _print(self, report: ImportReport) -> None:
        counts = report.counts
        summary = (
            f"作成 {counts['created']}件 / 更新 {counts['updated']}件 / "
            f"変更なし {counts['unchanged']}件 / エラー {counts['failed']}件"
        )
        if report.committed:
            self.stdout.write(self.style.SUCCESS(f"取り込みました: {summary}"))
        elif report.dry_run:
            self.stdout.write(f"試行（取り込みはしていません）: {summary}")
        else:
            self.stdout.write(self.style.ERROR(f"取り込みを中止しました（何も変更していません）: {summary}"))
        errors = report.errors
        if errors:
            self.stdout.write("")
            self.stdout.write("行\t列\t値\t内容")
            for e in errors:
                self.stdout.write(f"{e.row}\t{e.column or '-'}\t{e.value}\t{e.message}")
