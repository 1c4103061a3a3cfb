"""The 「利用申請」 system table: one row per access request, for the lead time from request to decision.

The strategy counts 「データの提供を受けるまでの依頼や手続」 as an obstacle, so how long a 利用申請 takes
is measured. Readable by all staff, so it carries no purposes, texts or names of people.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pyarrow as pa
from django.utils import timezone

from machidata.catalog.models import Dataset
from machidata.catalog.system_datasets import Column, SystemTable
from machidata.jp.fiscal import fiscal_year
from machidata.privacy.models import AccessRequest, AccessStatus, LegalBasis

COLUMNS: Final = (
    Column("申請番号", pa.int64(), "integer", "利用申請の番号"),
    Column("申請日", pa.date32(), "date", "申請した日（日本時間）"),
    Column("申請月", pa.string(), "string", "申請した月（YYYY-MM）"),
    Column("年度", pa.int64(), "integer", "申請した年度（4月始まり、西暦）"),
    Column("状態", pa.string(), "string", "申請中・許可・差戻し・却下・取り下げ・許可の取消し"),
    Column("申請者の所属", pa.string(), "string", "申請した職員の申請時の所属（課）"),
    Column("データ所有者", pa.string(), "string", "データセットの所管課"),
    Column("法的根拠", pa.string(), "string", "所掌事務の範囲内の内部利用・目的外利用"),
    Column("決定日", pa.date32(), "date", "許可・差戻し・却下・取り下げの日（決定前は空欄）"),
    Column("決定までの日数", pa.int64(), "integer", "申請日から決定日までの日数（決定前は空欄）"),
    Column("決定までの時間", pa.float64(), "number", "申請から決定までの時間（時間単位、決定前は空欄）"),
)


def _day(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value is not None else None


def request_rows(own: Dataset) -> list[tuple[Any, ...]]:
    """One row per 利用申請, oldest first."""
    statuses = dict(AccessStatus.choices)
    bases = dict(LegalBasis.choices)
    rows = []
    for r in AccessRequest.objects.select_related("requester_unit", "dataset__owner").order_by(
        "created_at", "id"
    ):
        filed, decided = _day(r.created_at), _day(r.decided_at)
        hours = (r.decided_at - r.created_at).total_seconds() / 3600 if r.decided_at else None
        rows.append(
            (
                r.pk,
                filed,
                filed.strftime("%Y-%m") if filed else None,
                fiscal_year(filed) if filed else None,
                str(statuses.get(r.status, r.status)),
                r.requester_unit.name if r.requester_unit else None,
                r.dataset.owner.name,
                str(bases.get(r.legal_basis, r.legal_basis)),
                decided,
                (decided - filed).days if decided and filed else None,
                round(hours, 2) if hours is not None else None,
            )
        )
    return rows


SYSTEM_TABLE: Final = SystemTable(
    "access_requests",
    "利用申請",
    "利用申請1件につき1行（利用目的や申請者名は含みません）。申請から決定までの日数の集計に使います。",
    COLUMNS,
    request_rows,
)
