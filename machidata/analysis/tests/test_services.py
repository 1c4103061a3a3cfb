"""Running a design on a catalog table: access through table_query, saved with versions, audited; refusals save nothing."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.access.policy import actor_for
from machidata.analysis.models import Analysis, Status
from machidata.analysis.selectors import analysable_table, analysis_get, analysis_list
from machidata.analysis.services import analysis_run
from machidata.analysis.tests.conftest import WARDS, lake_home

__all__ = ["lake_home"]
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput, NotFound
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)

DID = {
    "design": "did_twfe",
    "time": "日付",
    "grain": "day",
    "outcome": "来庁者数",
    "unit": "区",
    "treated_units": "中央区",
    "intervention": "2025-07-01",
}


def test_did_on_the_counter_table_is_saved_and_audited(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    analysis = analysis_run(actor=actor, table=counter_table, title="窓口の受付時間変更", spec=DID)
    assert analysis.status == Status.DONE
    result: dict[str, Any] = analysis.result
    assert result["ci_low"] < 20 < result["ci_high"]
    assert result["n"] == 180 * len(WARDS)
    assert analysis.table_version == counter_table.current_version
    assert set(analysis.library_versions) >= {"statsmodels", "linearmodels"}
    event = AuditEvent.objects.get(action="analysis.run")
    assert event.object_id == str(analysis.pk)
    assert event.changes["spec"]["design"] == "did_twfe"


def test_counting_rows_by_month_for_a_forecast(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_viewer"])
    spec = {"design": "forecast", "time": "日付", "grain": "day", "horizon": 14}
    analysis = analysis_run(actor=actor, table=counter_table, title="来庁者の行数", spec=spec)
    history = [row for row in analysis.result["chart"] if row["kind"] == "実績"]
    assert len(history) == 180
    assert {row["value"] for row in history} == {float(len(WARDS))}  # one row per ward per day, counted


def test_a_design_the_data_cannot_support_saves_nothing(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    spec = {**DID, "treated_units": ",".join(WARDS)}  # every ward treated: no comparison
    with pytest.raises(InvalidInput) as info:
        analysis_run(actor=actor, table=counter_table, title="比較なし", spec=spec)
    assert "比較対象" in info.value.message
    with pytest.raises(InvalidInput, match="分析の方法"):
        analysis_run(actor=actor, table=counter_table, title="x", spec={**DID, "design": "magic"})
    with pytest.raises(InvalidInput, match="時間の列"):
        analysis_run(actor=actor, table=counter_table, title="x", spec={**DID, "time": ""})
    with pytest.raises(InvalidInput):  # an unknown column: the query path's own Japanese message
        analysis_run(actor=actor, table=counter_table, title="x", spec={**DID, "outcome": "存在しない列"})
    assert not Analysis.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="analysis.").exists()


def test_only_readers_reach_the_table_and_only_owners_the_analysis(
    actors: Actors, counter_table: Table
) -> None:
    staff = actor_for(actors.users["staff"])  # another 課: the table is 所属限定
    with pytest.raises(NotFound):
        analysable_table(actor=staff, pk=counter_table.pk)
    owner = actor_for(actors.users["owner_editor"])
    analysis = analysis_run(actor=owner, table=counter_table, title="効果", spec=DID)
    colleague = actor_for(actors.users["owner_viewer"])  # reads the table, but the analysis is not theirs
    with pytest.raises(NotFound):
        analysis_get(actor=colleague, pk=analysis.pk)
    admin = actor_for(actors.users["admin"])
    assert analysis_get(actor=admin, pk=analysis.pk) == analysis
    assert list(analysis_list(actor=owner)) == [analysis]


def test_synthetic_control_runs_as_a_job(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    spec = {
        "design": "synthetic_control",
        "time": "日付",
        "grain": "month",
        "outcome": "来庁者数",
        "unit": "区",
        "treated_units": "中央区",
        "intervention": "2025",
    }
    with pytest.raises(InvalidInput, match="年単位"):
        analysis_run(actor=actor, table=counter_table, title="合成", spec=spec)
    spec["grain"] = "year"  # one year of data: too few periods, found by the job and kept on the analysis
    analysis = analysis_run(actor=actor, table=counter_table, title="合成", spec=spec)
    analysis.refresh_from_db()
    assert analysis.job is not None
    assert analysis.status == Status.FAILED
    assert "介入の時点" in analysis.error
    assert AuditEvent.objects.filter(action="analysis.finish", object_id=str(analysis.pk)).exists()


def dispatch_table(actors: Actors) -> tuple[Table, list[dict[str, Any]]]:
    """An event table (one row per dispatch) for two wards over four weeks, and its rows."""
    import datetime as dt
    import uuid

    import numpy as np
    import pyarrow as pa

    from machidata.catalog.tests.table_fixtures import write
    from machidata.core.testing import make_dataset

    rng = np.random.default_rng(5)
    start = dt.datetime(2025, 9, 1)
    rows = []
    for hour in range(24 * 7 * 4):
        stamp = start + dt.timedelta(hours=hour)
        for ward in ("中央区", "北区"):
            rate = 1.5 if 8 <= stamp.hour < 20 else 0.2
            rows += [
                {"覚知日時": stamp + dt.timedelta(minutes=int(m)), "区": ward}
                for m in rng.integers(0, 60, rng.poisson(rate))
            ]
    schema = pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())])
    dataset = make_dataset(actors.org.health_div, slug="kyukyu")
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録（合成）", storage_key=uuid.uuid4().hex
    )
    write(table, rows, schema=schema)
    return table, rows


HOURLY: dict[str, Any] = {
    "design": "forecast",
    "time": "覚知日時",
    "grain": "hour",
    "unit": "区",
    "horizon": 24,
}


def test_dispatches_by_ward_and_hour_fill_empty_hours_with_zero(actors: Actors, lake_home: Any) -> None:
    """An event table (one row per dispatch): hours without a dispatch are counted as 0, not reported as gaps.

    An hourly forecast runs as a job: its progress counts the wards."""
    table, rows = dispatch_table(actors)
    actor = actor_for(actors.users["owner_editor"])
    analysis = analysis_run(actor=actor, table=table, title="来週の出動", spec=HOURLY)
    assert analysis.status == Status.DONE, analysis.error
    assert analysis.job is not None
    assert (analysis.job.status, analysis.job.progress_done, analysis.job.progress_total) == (
        "succeeded",
        2,
        2,
    )
    history = [row for row in analysis.result["chart"] if row["kind"] == "実績"]
    first = min(r["覚知日時"] for r in rows).replace(minute=0)
    last = max(r["覚知日時"] for r in rows).replace(minute=0)
    hours = int((last - first).total_seconds() // 3600) + 1
    assert len(history) == 2 * hours  # every hour from the first to the last dispatch, for each ward
    assert hours > 24 * 7 * 3
    assert sum(row["value"] for row in history) == len(rows)
    assert any(row["value"] == 0 for row in history)
    assert set(analysis.result["details"]["units"]) == {"中央区", "北区"}


def test_since_and_until_narrow_the_rows(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    spec = {
        "design": "forecast",
        "time": "日付",
        "grain": "day",
        "horizon": 7,
        "since": "2025-06-01",
        "until": "2025-09-01",
    }
    analysis = analysis_run(actor=actor, table=counter_table, title="夏", spec=spec)
    history = [row["time"] for row in analysis.result["chart"] if row["kind"] == "実績"]
    assert history[0] == "2025-06-01"
    assert history[-1] == "2025-08-31"
    assert len(history) == 30 + 31 + 31


def test_synthetic_control_job_on_a_yearly_table(actors: Actors, lake_home: Any) -> None:
    """Rows dated within each year are summed by year; the job stores weights, fit and placebo p-value."""
    import datetime as dt
    import uuid

    import pyarrow as pa

    from machidata.analysis.tests.test_synth import mixed_panel
    from machidata.catalog.tests.table_fixtures import write
    from machidata.core.testing import make_dataset

    panel_rows = mixed_panel()
    rows = [
        {"日付": dt.date(int(r["年"]), 10, 1), "区": r["区"], "件数": float(r["件数"])}
        for r in panel_rows.to_dict("records")
    ]
    schema = pa.schema([("日付", pa.date32()), ("区", pa.string()), ("件数", pa.float64())])
    dataset = make_dataset(actors.org.health_div, slug="nenji")
    table = Table.objects.create(
        dataset=dataset, name="yearly", title="区別の年次件数（合成）", storage_key=uuid.uuid4().hex
    )
    write(table, rows, schema=schema)
    actor = actor_for(actors.users["owner_editor"])
    spec = {
        "design": "synthetic_control",
        "time": "日付",
        "grain": "year",
        "outcome": "件数",
        "unit": "区",
        "treated_units": "中央区",
        "intervention": "2018",
    }
    analysis = analysis_run(actor=actor, table=table, title="中央区の施策", spec=spec)
    analysis.refresh_from_db()
    assert analysis.status == Status.DONE, analysis.error
    weights = analysis.result["details"]["weights"]
    assert weights["区1"] == pytest.approx(0.6, abs=0.05)
    assert analysis.result["estimate"] == pytest.approx(-5.0, abs=0.5)
    assert analysis.result["p_value"] is not None
    assert analysis.job is not None
    analysis.job.refresh_from_db()
    assert analysis.job.result["link"]["url"].endswith(f"/analysis/{analysis.pk}/")
    assert AuditEvent.objects.filter(action="analysis.finish", object_id=str(analysis.pk)).exists()


def test_staggered_adoption_on_the_counter_table(actors: Actors, counter_table: Table) -> None:
    """中央区 from July (+20 a day), 東区 from August (no effect): the average over the treated days after
    adoption is 20 × 89 / (89 + 58) days."""
    actor = actor_for(actors.users["owner_editor"])
    spec = {**DID, "design": "did_staggered", "treated_units": "中央区=2025-07-01, 東区=2025-08-01"}
    analysis = analysis_run(actor=actor, table=counter_table, title="時期をずらした導入", spec=spec)
    result: dict[str, Any] = analysis.result
    assert result["estimate"] == pytest.approx(20 * 89 / 147, abs=1.0)
    assert result["chart_kind"] == "event_study"
    assert sorted(result["details"]["never_treated"]) == sorted(["西区", "南区", "北区"])


def test_staggered_adoption_refuses_unreadable_items(actors: Actors, counter_table: Table) -> None:
    actor = actor_for(actors.users["owner_editor"])
    spec = {**DID, "design": "did_staggered", "treated_units": "中央区, 東区=2025-08-01"}
    with pytest.raises(InvalidInput, match="「中央区」を読めません"):
        analysis_run(actor=actor, table=counter_table, title="読めない指定", spec=spec)
    assert not Analysis.objects.exists()


def test_its_on_one_ward_picked_by_only_units(actors: Actors, counter_table: Table) -> None:
    """中央区 alone: +20 visitors a day from July; the other wards are not added in."""
    actor = actor_for(actors.users["owner_editor"])
    spec = {
        "design": "its",
        "time": "日付",
        "grain": "day",
        "outcome": "来庁者数",
        "unit": "区",
        "only_units": "中央区",
        "intervention": "2025-07-01",
    }
    analysis = analysis_run(actor=actor, table=counter_table, title="中央区だけ", spec=spec)
    result: dict[str, Any] = analysis.result
    assert result["ci_low"] < 20 < result["ci_high"]
    assert result["n"] == 180
    assert max(row["value"] for row in result["chart"]) < 180  # one ward's visitors, not five wards'


def test_forecast_by_unit_reads_one_unit_at_a_time_past_the_row_limit(
    actors: Actors, counter_table: Table, settings: Any
) -> None:
    """180 days × 5 wards = 900 groups: above a 200-row limit, so each ward is read alone (180 rows)."""
    settings.MACHIDATA_ENGINE_MAX_ROWS = 200
    actor = actor_for(actors.users["owner_editor"])
    spec = {
        "design": "forecast",
        "time": "日付",
        "grain": "day",
        "outcome": "来庁者数",
        "unit": "区",
        "horizon": 7,
    }
    analysis = analysis_run(actor=actor, table=counter_table, title="区ごとの予測", spec=spec)
    history = [row for row in analysis.result["chart"] if row["kind"] == "実績"]
    assert len(history) == 180 * len(WARDS)
    settings.MACHIDATA_ENGINE_MAX_ROWS = 100  # one ward alone is too many: refused in Japanese
    with pytest.raises(InvalidInput, match="期間と単位の組合せが多すぎます"):
        analysis_run(actor=actor, table=counter_table, title="多すぎる", spec=spec)
