"""The 「データの要望」 system table: one row per request, for the strategy's monthly counts.

Registered with the catalog's system datasets (readable by all staff), so it carries no titles, texts
or names of people: only dates, status, departments and the kind of answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pyarrow as pa
from django.utils import timezone

from machidata.catalog.models import Dataset
from machidata.catalog.system_datasets import Column, SystemTable
from machidata.datarequests.models import AnswerKind, DataRequest, RequestStatus
from machidata.jp.fiscal import fiscal_year

COLUMNS: Final = (
    Column("受付番号", pa.int64(), "integer", "データの要望の番号"),
    Column("受付日", pa.date32(), "date", "要望を受け付けた日（日本時間）"),
    Column("受付月", pa.string(), "string", "要望を受け付けた月（YYYY-MM）"),
    Column("年度", pa.int64(), "integer", "要望を受け付けた年度（4月始まり、西暦）"),
    Column("状態", pa.string(), "string", "受付・担当課へ回付・回答済み・取り下げ"),
    Column("依頼者の所属", pa.string(), "string", "要望した職員の要望時の所属（課）"),
    Column("回付先", pa.string(), "string", "回付した課（回付前は空欄）"),
    Column(
        "回答の種類", pa.string(), "string", "データがあります・作成します・提供できません（回答前は空欄）"
    ),
    Column("回答日", pa.date32(), "date", "回答した日（日本時間、回答前は空欄）"),
    Column("回答までの日数", pa.int64(), "integer", "受付日から回答日までの日数（回答前は空欄）"),
)


def _day(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value is not None else None


def request_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per data request, oldest first."""
    statuses = dict(RequestStatus.choices)
    kinds = dict(AnswerKind.choices)
    rows = []
    for r in DataRequest.objects.select_related("requester_unit", "routed_unit").order_by("created_at", "id"):
        received = _day(r.created_at)
        answered = _day(r.answered_at)
        rows.append(
            (
                r.pk,
                received,
                received.strftime("%Y-%m") if received else None,
                fiscal_year(received) if received else None,
                str(statuses.get(r.status, r.status)),
                r.requester_unit.name if r.requester_unit else None,
                r.routed_unit.name if r.routed_unit else None,
                str(kinds[r.answer_kind]) if r.answer_kind in kinds else None,
                answered,
                (answered - received).days if answered and received else None,
            )
        )
    return rows


SYSTEM_TABLE: Final = SystemTable(
    "data_requests",
    "データの要望",
    "データの要望1件につき1行（内容や依頼者名は含みません）。月ごとの件数や回答までの日数の集計に使います。",
    COLUMNS,
    request_rows,
)
