"""The collection room's system tables (issue 11 point 6), registered with the catalog's system datasets:

* 「照会の回答状況」 — one row per recipient of a campaign, for on-time rates by 課;
* 「定期取り込みの結果」 — one row per file a scheduled import saw, for failure rates by 課 and kind;
* 「更新の遅れ」 — one row per dataset with a tracked 更新頻度, how late it is today;
* 「アラート」 — one row per alert that fired.

They are readable by all staff, so they carry no campaign titles, file names, alert messages, values or
people, and a 機密 entry's identity is masked exactly as in the catalog's own 「表と版」 table.
"""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa
from django.utils import timezone

from machidata.catalog.models import Dataset, Frequency, Location
from machidata.catalog.system_datasets import (
    HIDDEN_TITLE,
    TS,
    Column,
    SystemTable,
    staff_visibility,
    wall_clock,
)
from machidata.collect.freshness import TRACKED, freshness
from machidata.collect.models import (
    Alert,
    AlertCondition,
    ImportedFile,
    ImportedFileStatus,
    ImportKind,
    Recipient,
    RecipientStatus,
)
from machidata.jp.fiscal import fiscal_year

COLUMNS: Final = (
    Column("照会番号", pa.int64(), "integer", "照会の番号"),
    Column("照会した課", pa.string(), "string", "照会を始めた課（データ所有者）"),
    Column("締切日", pa.date32(), "date", "照会の締切日"),
    Column("年度", pa.int64(), "integer", "締切日の年度（4月始まり、西暦）"),
    Column("回答先", pa.string(), "string", "課・区役所の名前、または施設の名前"),
    Column("回答先の種類", pa.string(), "string", "組織（課・区役所）または施設"),
    Column("状態", pa.string(), "string", "未回答・要修正・回答済み"),
    Column("回答日", pa.date32(), "date", "受け付けた回答の日（日本時間、未回答は空欄）"),
    Column("期限内", pa.bool_(), "boolean", "締切日までに回答したか（未回答で締切前は空欄）"),
    Column("行数", pa.int64(), "integer", "受け付けた行数"),
)


def recipient_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per recipient, by campaign then recipient."""
    statuses = dict(RecipientStatus.choices)
    today = timezone.localdate()
    rows = []
    for r in Recipient.objects.select_related("campaign__unit").order_by("campaign_id", "id"):
        c = r.campaign
        answered = timezone.localtime(r.answered_at).date() if r.answered_at else None
        on_time = answered <= c.deadline if answered else (False if today > c.deadline else None)
        rows.append(
            (
                c.pk,
                c.unit.name,
                c.deadline,
                fiscal_year(c.deadline),
                r.name,
                "組織" if r.unit_id else "施設",
                str(statuses.get(r.status, r.status)),
                answered,
                on_time,
                r.rows,
            )
        )
    return rows


IMPORT_COLUMNS: Final = (
    Column("取り込み番号", pa.int64(), "integer", "定期取り込みの設定の番号"),
    Column("取り込み元の種類", pa.string(), "string", "共有フォルダ・庁内のURL・他のCKANポータル・統計表"),
    Column("所管課", pa.string(), "string", "取り込む表のデータ所有者（課）"),
    Column(
        "データセット識別子", pa.string(), "string", "取り込む表のデータセット（機密で非表示のものは空欄）"
    ),
    Column("データセット", pa.string(), "string", "データセットのタイトル"),
    Column("日時", TS, "datetime", "ファイルを確かめた日時（日本時間）"),
    Column("年度", pa.int64(), "integer", "その日の年度（4月始まり、西暦）"),
    Column("結果", pa.string(), "string", "取り込み済み・失敗"),
    Column("行数", pa.int64(), "integer", "取り込んだ行数（取り込めなかったときは空欄）"),
)


def import_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per file a scheduled import ingested or refused (skipped duplicates are not files it took)."""
    kinds, results = dict(ImportKind.choices), dict(ImportedFileStatus.choices)
    rows = []
    files = (
        ImportedFile.objects.filter(status__in=[ImportedFileStatus.INGESTED, ImportedFileStatus.FAILED])
        .select_related("source__table__dataset__owner")
        .order_by("source_id", "created_at", "id")
    )
    for f in files:
        d = f.source.table.dataset
        hidden = staff_visibility(d.classification, d.discoverable) == "hidden"
        when = wall_clock(f.created_at)
        rows.append(
            (
                f.source_id,
                str(kinds.get(f.source.kind, f.source.kind)),
                d.owner.name,
                None if hidden else d.identifier,
                HIDDEN_TITLE if hidden else d.title,
                when,
                fiscal_year(when.date()) if when else None,
                str(results.get(f.status, f.status)),
                f.rows if f.status == ImportedFileStatus.INGESTED else None,
            )
        )
    return rows


FRESHNESS_COLUMNS: Final = (
    Column("データセット識別子", pa.string(), "string", "データセットの識別子（機密で非表示のものは空欄）"),
    Column("データセット", pa.string(), "string", "データセットのタイトル"),
    Column("所管課", pa.string(), "string", "データ所有者（課）"),
    Column("更新頻度", pa.string(), "string", "登録された更新頻度"),
    Column("最終更新", TS, "datetime", "いちばん新しい版が確定した日時（日本時間、版がなければ空欄）"),
    Column("次の更新予定日", pa.date32(), "date", "最終更新（版がなければ登録日）に更新頻度を足した日"),
    Column("遅れ日数", pa.int64(), "integer", "今日が次の更新予定日を過ぎた日数（遅れていなければ0）"),
    Column("遅れ", pa.bool_(), "boolean", "次の更新予定日を過ぎているか"),
)


def freshness_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per dataset kept in machidata with a tracked 更新頻度 (毎日…毎年度), by identifier."""
    frequencies = dict(Frequency.choices)
    today = timezone.localdate()
    rows = []
    datasets = (
        Dataset.objects.filter(retired_at__isnull=True, location=Location.MACHIDATA, frequency__in=TRACKED)
        .exclude(pk=own.pk)
        .select_related("owner")
        .order_by("identifier", "pk")
    )
    for d in datasets:
        last, due, days = freshness(d, today=today)
        hidden = staff_visibility(d.classification, d.discoverable) == "hidden"
        rows.append(
            (
                None if hidden else d.identifier,
                HIDDEN_TITLE if hidden else d.title,
                d.owner.name,
                str(frequencies.get(d.frequency, d.frequency)),
                wall_clock(last),
                due,
                days,
                days > 0,
            )
        )
    return rows


ALERT_COLUMNS: Final = (
    Column("ルール番号", pa.int64(), "integer", "アラートのルールの番号"),
    Column("対象の種類", pa.string(), "string", "グラフまたは指標"),
    Column("条件", pa.string(), "string", "しきい値・変化率・予測の範囲外・新しい値"),
    Column("日時", TS, "datetime", "アラートが出た日時（日本時間）"),
    Column("年度", pa.int64(), "integer", "その日の年度（4月始まり、西暦）"),
    Column("通知した", pa.bool_(), "boolean", "知らせを送ったか（間隔の設定で送らなかったときは偽）"),
)


def alert_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per alert that fired, oldest first (no values or messages: they may quote restricted data)."""
    conditions = dict(AlertCondition.choices)
    rows = []
    for a in Alert.objects.select_related("rule").order_by("fired_at", "id"):
        when = wall_clock(a.fired_at)
        rows.append(
            (
                a.rule_id,
                "グラフ" if a.rule.chart_id is not None else "指標",
                str(conditions.get(a.rule.condition, a.rule.condition)),
                when,
                fiscal_year(when.date()) if when else None,
                a.notified,
            )
        )
    return rows


SYSTEM_TABLE: Final = SystemTable(
    "campaign_returns",
    "照会の回答状況",
    "照会の回答先1件につき1行（照会の名前や表は含みません）。課ごとの期限内の回答率などの集計に使います。",
    COLUMNS,
    recipient_rows,
)

SYSTEM_TABLES: Final = (
    SYSTEM_TABLE,
    SystemTable(
        "scheduled_imports",
        "定期取り込みの結果",
        "定期取り込みが確かめたファイル1件につき1行（ファイル名は含みません）。課や取り込み元ごとの失敗の割合などに使います。",
        IMPORT_COLUMNS,
        import_rows,
    ),
    SystemTable(
        "freshness",
        "更新の遅れ",
        "更新頻度が決まっているデータセット1件につき1行。更新予定日を過ぎた日数を、課ごとに数えられます。",
        FRESHNESS_COLUMNS,
        freshness_rows,
    ),
    SystemTable(
        "alerts",
        "アラート",
        "出たアラート1件につき1行（値や内容は含みません）。",
        ALERT_COLUMNS,
        alert_rows,
    ),
)
