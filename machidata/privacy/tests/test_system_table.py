"""The 「利用申請」 system table: lead time from request to decision, in Japanese time, without names or purposes."""

from __future__ import annotations

import datetime as dt

import pytest

from machidata.catalog import system_datasets as sd
from machidata.catalog.models import Dataset
from machidata.core.testing import Actors
from machidata.privacy import services
from machidata.privacy.models import AccessRequest
from machidata.privacy.system_table import SYSTEM_TABLE, request_rows
from machidata.privacy.tests.conftest import as_actor, period

pytestmark = pytest.mark.django_db
JST = dt.timezone(dt.timedelta(hours=9))


def test_rows_measure_lead_time(cast: Actors, restricted: Dataset) -> None:
    start, end = period()
    req = services.access_request_create(
        actor=as_actor(cast, "staff"), dataset=restricted, purpose="秘密の目的", starts_on=start, ends_on=end,
        legal_basis="internal",
    )  # fmt: skip
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    # filed 31 March 23:30 JST (fiscal 2025), decided 2 April 09:30 JST: 2 calendar days, 34 hours
    AccessRequest.objects.filter(pk=req.pk).update(
        created_at=dt.datetime(2026, 3, 31, 23, 30, tzinfo=JST),
        decided_at=dt.datetime(2026, 4, 2, 9, 30, tzinfo=JST),
    )
    pending = services.access_request_create(
        actor=as_actor(cast, "other_editor"), dataset=restricted, purpose="別の目的", starts_on=start, ends_on=end,
        legal_basis="other_purpose", legal_ground="第69条第2項第2号（相当の理由）",
    )  # fmt: skip
    rows = {r[0]: r for r in request_rows(restricted)}
    names = [c.name for c in SYSTEM_TABLE.columns]
    done = dict(zip(names, rows[req.pk], strict=True))
    assert done["申請日"] == dt.date(2026, 3, 31)
    assert done["年度"] == 2025
    assert done["状態"] == "許可"
    assert done["申請者の所属"] == "警防課"
    assert done["データ所有者"] == "健康づくり推進課"
    assert done["決定までの日数"] == 2
    assert done["決定までの時間"] == 34.0
    open_row = dict(zip(names, rows[pending.pk], strict=True))
    assert open_row["決定日"] is None
    assert open_row["決定までの日数"] is None
    assert open_row["法的根拠"].startswith("目的外利用")
    flat = repr(list(rows.values()))
    assert "秘密の目的" not in flat
    assert cast.users["staff"].get_username() not in flat
    assert SYSTEM_TABLE in sd.system_tables()
