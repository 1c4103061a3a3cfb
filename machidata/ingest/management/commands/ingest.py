"""`machidata ingest FILE --dataset SLUG`: ingest a file into a table from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machidata.access.models import Classification, Unit
from machidata.core.errors import MachidataError


class Command(BaseCommand):
    """Ingest a CSV/Excel/JSON/GeoJSON/Parquet file as the next version of a table, with a progress bar."""

    help = (
        "ファイルを表に取り込み、新しい版を作ります。データセットがなければ作成します"
        "（所管課は --department、既定は --as の職員の所属課。公開区分の既定は「所属限定」）。"
        "最後に結果を JSON で表示します。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", help="取り込むファイル（CSV, TSV, xlsx, xls, ods, JSON, GeoJSON, Parquet）"
        )
        parser.add_argument("--dataset", required=True, help="データセットのURL名（なければ作成）")
        parser.add_argument("--table", help="表の名前（既定: ファイル名から）")
        parser.add_argument("--title", help="表のタイトル（新しい表のとき）")
        parser.add_argument(
            "--mode", choices=["replace", "append"], default="replace", help="置き換え（既定）か追加"
        )
        parser.add_argument(
            "--sheet", action="append", help="Excel のシート名（複数指定で同じ形のシートを結合）"
        )
        parser.add_argument("--encoding", help="文字コードの指定（cp932, utf-8, utf-8-sig, euc-jp, utf-16）")
        parser.add_argument("--delimiter", help="区切り文字の指定")
        parser.add_argument("--header-row", type=int, help="見出しの行番号（1から）")
        parser.add_argument("--department", help="新しいデータセットの所管課の所属コード")
        parser.add_argument(
            "--classification",
            choices=[c.value for c in Classification],
            default=Classification.RESTRICTED.value,
            help="新しいデータセットの公開区分（既定: restricted＝所属限定）",
        )
        parser.add_argument(
            "--type",
            dest="types",
            action="append",
            metavar="列名=型",
            help="列の型を指定（推定より優先。例: --type 受付番号=string。型: string, integer, number, "
            "boolean, date, datetime, time, year, yearmonth）。繰り返し指定できます",
        )
        parser.add_argument(
            "--unit",
            dest="units",
            action="append",
            metavar="列名=単位",
            help="列の単位を指定（例: --unit 人口=人）",
        )
        parser.add_argument(
            "--column-title",
            dest="column_titles",
            action="append",
            metavar="列名=項目名",
            help="列の項目名を指定（例: --column-title 人口=人口（人））",
        )
        parser.add_argument(
            "--missing",
            action="append",
            metavar="記号=意味",
            help="空欄を表す記号の意味（例: --missing x=suppressed --missing -=none。"
            "意味: none＝該当なし, suppressed＝秘匿, unknown＝不詳。「-」で始まる記号は --missing=-=none と書きます）",
        )
        parser.add_argument("--note", default="", help="版のメモ")
        parser.add_argument(
            "--as", dest="as_user", help="実行する職員のユーザー名（省略時はサーバーの運用者）"
        )
        parser.add_argument("--quiet", action="store_true", help="進み具合を表示しない")

    def handle(self, *args: Any, **o: Any) -> None:
        from machidata.access.services import actor_from_username, cli_operator_actor
        from machidata.catalog.models import Dataset
        from machidata.catalog.services import dataset_create
        from machidata.ingest.services import ingest_file, summary_of, table_get_or_create, table_name_from

        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"ファイル「{path}」が見つかりません。")
        try:
            overrides = _overrides(o)  # checked before anything is created
            actor = actor_from_username(o["as_user"]) if o["as_user"] else cli_operator_actor()
            dataset = Dataset.objects.filter(slug=o["dataset"]).first()
            if dataset is None:
                owner = self._owner(o["department"], actor)
                dataset = dataset_create(
                    actor=actor,
                    data={
                        "slug": o["dataset"],
                        "title": o["title"] or path.stem,
                        "owner": owner,
                        "classification": o["classification"],
                    },
                )
            table = table_get_or_create(
                actor=actor,
                dataset=dataset,
                name=o["table"] or table_name_from(path.name),
                title=o["title"] or "",
            )
            options = {
                k: v
                for k, v in {
                    "sheets": o["sheet"],
                    "encoding": o["encoding"],
                    "delimiter": o["delimiter"],
                    "header_row": o["header_row"],
                }.items()
                if v
            }
            version = ingest_file(
                actor=actor,
                table=table,
                path=path,
                source_name=path.name,
                mode=o["mode"],
                options=options,
                note=o["note"],
                progress=(lambda *a: None) if o["quiet"] else _Bar(path.stat().st_size),
                overrides=overrides,
            )
        except MachidataError as exc:
            raise CommandError(exc.message) from exc
        if not o["quiet"]:
            sys.stderr.write("\n")
        self.stdout.write(json.dumps(summary_of(version).as_dict(), ensure_ascii=False, indent=2))

    @staticmethod
    def _owner(code: str | None, actor: Any) -> Unit:
        if code:
            unit = Unit.objects.active_on().filter(code=code).first()
            if unit is None:
                raise CommandError(f"所属コード「{code}」の所属はありません。")
            return unit
        unit = Unit.objects.filter(pk__in=actor.editor_unit_ids).order_by("code").first()
        if unit is None:
            raise CommandError(
                "新しいデータセットを作るには --department で所管課の所属コードを指定してください。"
            )
        return unit


def _overrides(o: dict[str, Any]) -> dict[str, Any]:
    """``--type/--unit/--column-title/--missing`` as the overrides of ``ingest.overrides`` (checked)."""
    from machidata.ingest.overrides import clean_overrides, parse_pairs

    fields: dict[str, dict[str, Any]] = {}
    for key, option, what in (
        ("type", "types", "--type"),
        ("unit", "units", "--unit"),
        ("title", "column_titles", "--column-title"),
    ):
        for column, value in parse_pairs(o.get(option), what=what).items():
            fields.setdefault(column, {})[key] = value
    missing = parse_pairs(o.get("missing"), what="--missing")
    return clean_overrides({"fields": fields, "missing": missing})


class _Bar:
    """A one-line text progress bar on stderr (phase and rows)."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.phase = ""

    def __call__(self, done: int, total: int | None = None, phase: str | None = None) -> None:
        if phase:
            self.phase = phase
        sys.stderr.write(f"\r\x1b[2K{self.phase} … {done:,}")
        sys.stderr.flush()
