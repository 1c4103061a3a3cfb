"""The 「データの要望」 system table: one row per request, dates in Japanese time, no titles or names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from machidata.catalog import system_datasets as sd
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import lake_home  # noqa: F401 - fixture
from machidata.core.testing import Actors
from machidata.datarequests.models import DataRequest
from machidata.datarequests.services import data_request_answer, data_request_route, data_request_withdraw
from machidata.datarequests.system_table import request_rows
from machidata.datarequests.tests.conftest import as_actor, file_request
from machidata.lake.readers import files_for

UTC = dt.UTC


def _at(req: DataRequest, **stamps: dt.datetime) -> None:
    DataRequest.objects.filter(pk=req.pk).update(**stamps)


@pytest.mark.django_db
def test_rows_count_by_month_and_fiscal_year_in_japanese_time(cast: Actors) -> None:
    admin, editor, requester = (as_actor(cast, n) for n in ("admin", "owner_editor", "requester"))
    late_march = file_request(cast, title="三月末")
    data_request_route(actor=admin, request=late_march, unit_id=cast.org.health_div.pk)
    data_request_answer(actor=editor, request=late_march, kind="cannot_provide", text="理由")
    # 2024-03-31 23:30 in Tokyo is still March and 令和5年度; answered 2024-04-10 09:00 Tokyo.
    _at(
        late_march,
        created_at=dt.datetime(2024, 3, 31, 14, 30, tzinfo=UTC),
        answered_at=dt.datetime(2024, 4, 10, 0, 0, tzinfo=UTC),
    )
    april = file_request(cast, title="四月")
    _at(april, created_at=dt.datetime(2024, 3, 31, 15, 30, tzinfo=UTC))  # 2024-04-01 00:30 in Tokyo
    withdrawn = file_request(cast, title="取り下げ")
    data_request_withdraw(actor=requester, request=withdrawn)
    _at(withdrawn, created_at=dt.datetime(2024, 5, 2, 3, 0, tzinfo=UTC))
    assert request_rows(None) == [  # type: ignore[arg-type]
        (late_march.pk, dt.date(2024, 3, 31), "2024-03", 2023, "回答済み", "警防課", "健康づくり推進課", "提供できません", dt.date(2024, 4, 10), 10),
        (april.pk, dt.date(2024, 4, 1), "2024-04", 2024, "受付", "警防課", None, None, None, None),
        (withdrawn.pk, dt.date(2024, 5, 2), "2024-05", 2024, "取り下げ", "警防課", None, None, None, None),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_registered_and_written_by_the_system_dataset_refresh(cast: Actors, lake_home: Path) -> None:  # noqa: F811
    assert "data_requests" in [t.name for t in sd.system_tables()]
    req = file_request(cast)
    summary = sd.system_datasets_refresh()
    assert summary.written["data_requests"] == 1
    table = Table.objects.get(dataset__slug=sd.SLUG, name="data_requests")
    assert table.title == "データの要望"
    assert table.current_version is not None
    rows = pq.read_table(files_for(table.current_version)[0]).to_pylist()
    assert len(rows) == 1
    assert rows[0]["受付番号"] == req.pk
    assert rows[0]["状態"] == "受付"
    assert "町丁別の空き家の件数" not in str(rows)  # staff-wide table: no titles
    assert sd.system_datasets_refresh().unchanged.count("data_requests") == 1
