"""The 「照会の回答状況」 system table: one row per recipient of a campaign, for on-time rates by 課.

Registered with the catalog's system datasets (readable by all staff), so it carries no campaign
titles, table names or people: only the campaign number, the asking 課, dates, the recipient (a unit
or a facility name) and how it answered.
"""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa
from django.utils import timezone

from machidata.catalog.models import Dataset
from machidata.catalog.system_datasets import Column, SystemTable
from machidata.collect.models import Recipient, RecipientStatus
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


SYSTEM_TABLE: Final = SystemTable(
    "campaign_returns",
    "照会の回答状況",
    "照会の回答先1件につき1行（照会の名前や表は含みません）。課ごとの期限内の回答率などの集計に使います。",
    COLUMNS,
    recipient_rows,
)
