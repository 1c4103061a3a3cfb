"""Alert rules: once per crossing, cool-down, re-arm, change from the previous period, watches, and access.

Indicator figures are entered by hand (an EBPM 事業 of 健康づくり推進課); chart rules read a real lake
table of dispatches by month written through the write protocol. Expected values are worked out here
from the rows, never taken from the code under test.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa
import pytest
from django.utils import timezone

from machidata.access.models import Classification
from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Dataset, Table
from machidata.charts.models import Sharing
from machidata.charts.services import chart_create
from machidata.collect.alerts import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_evaluate,
    alert_rules,
    alerts_fired,
)
from machidata.collect.models import Alert, AlertRule, AlertState
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.ebpm import services as ebpm_services
from machidata.ebpm import services_indicators
from machidata.ebpm.models import Indicator, PlanItem
from machidata.lake.protocol import write_version
from machidata.notify.models import EmailStatus, Notification
from machidata.notify.tests.smtp import Mailbox, smtp

__all__ = ["smtp"]

pytestmark = pytest.mark.django_db(transaction=True)

DOC: dict[str, Any] = {
    "stage_set": "six",
    "nodes": [
        {"id": "n1", "stage": "activity", "number": "1", "statement": "健診の案内を送る"},
        {"id": "n2", "stage": "short", "number": "2", "statement": "受診者が増える"},
    ],
    "links": [{"id": "l1", "from": "n1", "to": "n2", "rationale": "案内は受診を促す"}],
    "external_factors": [],
}


def as_actor(actors: Actors, name: str) -> Actor:
    return actor_for(actors.users[name])


@pytest.fixture
def indicator(actors: Actors) -> Indicator:
    """A hand-entered indicator of a 事業 of 健康づくり推進課 (its figures are shared with all staff)."""
    admin, editor = as_actor(actors, "admin"), as_actor(actors, "owner_editor")
    unit = actors.org.health_div.pk
    policy = ebpm_services.plan_item_create(actor=admin, level="policy", name="健康なまち", unit_id=unit)
    measure = ebpm_services.plan_item_create(
        actor=admin, level="measure", name="健康づくり", unit_id=unit, parent_id=policy.pk
    )
    project: PlanItem = ebpm_services.plan_item_create(
        actor=editor, level="project", name="受診勧奨", unit_id=unit, parent_id=measure.pk
    )
    ebpm_services.logic_model_save(actor=editor, item=project, document=DOC, note="最初の版")
    return services_indicators.indicator_create(
        actor=editor, item=project, node_id="n2", name="受診者数", kind="outcome", responsible_unit_id=unit,
        unit_label="人",
    )  # fmt: skip


def record(actors: Actors, indicator: Indicator, year: int, value: float) -> None:
    services_indicators.indicator_actual_record(
        actor=as_actor(actors, "owner_editor"), indicator=indicator, fiscal_year=year, value=value,
        evidence="法定報告",
    )  # fmt: skip


def notices(actors: Actors, name: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=actors.users[name])
        .order_by("pk")
        .values_list("message", flat=True)
    )


# ---- once per crossing, re-arm, cool-down (indicator rules) ------------------------------------------------


def test_fires_exactly_once_per_crossing_and_rearms(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2022, 80)
    staff = as_actor(actors, "staff")
    rule = alert_rule_create(
        actor=staff, indicator_id=indicator.pk, condition="above", threshold=100, cooldown_hours=0
    )
    assert rule.state == AlertState.ARMED
    assert rule.last_value == 80
    record(actors, indicator, 2023, 120)  # crosses 100
    assert len(notices(actors, "staff")) == 1
    assert "2023年度" in notices(actors, "staff")[0]
    assert "120人" in notices(actors, "staff")[0]
    record(actors, indicator, 2023, 130)  # still above: no second alert
    record(actors, indicator, 2024, 150)
    assert len(notices(actors, "staff")) == 1
    rule.refresh_from_db()
    assert rule.state == AlertState.FIRED
    record(actors, indicator, 2025, 90)  # back below: re-armed, nothing sent
    rule.refresh_from_db()
    assert rule.state == AlertState.ARMED
    assert len(notices(actors, "staff")) == 1
    record(actors, indicator, 2026, 101)  # the second crossing
    assert len(notices(actors, "staff")) == 2
    assert list(alerts_fired(actor=staff).values_list("period", "value", "notified")) == [
        ("2026年度", 101.0, True),
        ("2023年度", 120.0, True),
    ]
    assert notices(actors, "owner_editor") == []  # only the rule's owner is told


def test_a_value_already_over_the_threshold_waits_for_the_way_back(
    actors: Actors, indicator: Indicator
) -> None:
    record(actors, indicator, 2023, 120)
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="above", threshold=100
    )
    assert rule.state == AlertState.FIRED
    record(actors, indicator, 2024, 125)
    assert notices(actors, "staff") == []


def test_a_fired_alert_reaches_the_local_smtp_server(
    actors: Actors, indicator: Indicator, smtp: Mailbox
) -> None:
    staff = actors.users["staff"]
    staff.email = "staff@example.jp"
    staff.save()
    record(actors, indicator, 2022, 80)
    alert_rule_create(actor=actor_for(staff), indicator_id=indicator.pk, condition="above", threshold=100)
    record(actors, indicator, 2023, 120)
    record(actors, indicator, 2024, 130)  # still above: no second mail
    assert [m["To"] for m in smtp.messages] == ["staff@example.jp"]
    assert "「100 を上回ったら」の条件を満たしました" in smtp.bodies()[0]
    assert f"https://data.example.lg.jp/ebpm/indicators/{indicator.pk}/" in smtp.bodies()[0]
    assert Notification.objects.get(recipient=staff).email_status == EmailStatus.SENT


def test_below_threshold(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2023, 50)
    alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="below", threshold=40
    )
    record(actors, indicator, 2024, 40)  # not below 40
    assert notices(actors, "staff") == []
    record(actors, indicator, 2024, 39.5)
    assert len(notices(actors, "staff")) == 1


def test_cool_down_records_the_crossing_without_a_notice(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2022, 80)
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="above", threshold=100,
        cooldown_hours=24,
    )  # fmt: skip
    record(actors, indicator, 2023, 120)  # first crossing: notified
    record(actors, indicator, 2023, 90)  # back
    record(actors, indicator, 2023, 110)  # crosses again within 24 hours: recorded, not sent
    assert len(notices(actors, "staff")) == 1
    assert list(Alert.objects.filter(rule=rule).order_by("pk").values_list("notified", flat=True)) == [
        True,
        False,
    ]
    rule.refresh_from_db()
    assert rule.state == AlertState.FIRED
    # the value goes back, and crosses again a day after the notice: notified
    record(actors, indicator, 2023, 90)
    rule.refresh_from_db()
    assert rule.state == AlertState.ARMED
    later = rule.last_notified_at + dt.timedelta(hours=24, minutes=1)
    indicator.actuals.filter(fiscal_year=2023).update(value=118)  # no signal: evaluated by hand, a day later
    fired = alert_rule_evaluate(rule, now=later)
    assert fired is not None
    assert fired.notified
    assert len(notices(actors, "staff")) == 2


def test_change_beyond_percent_from_the_previous_year(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2022, 200)
    record(actors, indicator, 2023, 210)  # +5%
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"),
        indicator_id=indicator.pk,
        condition="change",
        percent=20,
        cooldown_hours=0,
    )
    assert rule.state == AlertState.ARMED
    record(actors, indicator, 2024, 160)  # 210 → 160: −23.8%
    assert len(notices(actors, "staff")) == 1
    assert "-23.8%" in notices(actors, "staff")[0]
    assert "2023年度" in notices(actors, "staff")[0]
    record(actors, indicator, 2025, 170)  # +6.25%: re-armed
    rule.refresh_from_db()
    assert rule.state == AlertState.ARMED
    record(actors, indicator, 2027, 500)  # 2026 missing: no previous year, no comparison with an older one
    assert len(notices(actors, "staff")) == 1


def test_watching_an_indicator_tells_each_new_value(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2023, 10)
    alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="updated", cooldown_hours=0
    )
    record(actors, indicator, 2023, 10)  # same value: nothing new
    assert notices(actors, "staff") == []
    record(actors, indicator, 2024, 12)
    record(actors, indicator, 2024, 13)
    assert [m.split(": ")[1] for m in notices(actors, "staff")] == ["2024年度 12人。", "2024年度 13人。"]


def test_rules_are_their_owners(actors: Actors, indicator: Indicator) -> None:
    staff, other = as_actor(actors, "staff"), as_actor(actors, "other_editor")
    rule = alert_rule_create(actor=staff, indicator_id=indicator.pk, condition="updated")
    assert list(alert_rules(actor=other)) == []
    with pytest.raises(NotFound):
        alert_rule_delete(actor=other, rule=rule)
    with pytest.raises(PermissionDenied):
        alert_rule_create(actor=actor_for(None), indicator_id=indicator.pk, condition="updated")
    alert_rule_delete(actor=staff, rule=rule)
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"condition": "above"}, "しきい値は数で"),
        ({"condition": "above", "threshold": "nan"}, "しきい値は数で"),
        ({"condition": "change", "percent": 0}, "変化率"),
        ({"condition": "sometimes"}, "条件「sometimes」"),
        ({"condition": "above", "threshold": 1, "cooldown_hours": -1}, "通知の間隔"),
        ({"condition": "forecast"}, "予測の範囲"),
    ],
)
def test_bad_rules_are_refused(
    actors: Actors, indicator: Indicator, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        alert_rule_create(actor=as_actor(actors, "staff"), indicator_id=indicator.pk, **values)
    assert not AlertRule.objects.exists()


# ---- charts over a lake table, and access ---------------------------------------------------------------

SCHEMA = pa.schema([("日付", pa.date32()), ("区", pa.string())])


def write_months(table: Table, counts: dict[tuple[int, int], int]) -> None:
    """One row per dispatch: ``counts[(year, month)]`` rows dated the 1st of that month."""
    rows = [
        {"日付": dt.date(y, m, 1), "区": "中央区"} for (y, m), n in sorted(counts.items()) for _ in range(n)
    ]
    write_version(
        table=table, batches=[pa.RecordBatch.from_pylist(rows, schema=SCHEMA)], schema=SCHEMA, mode="replace",
        job_id=f"test-{uuid.uuid4().hex[:8]}", source_name="test",
    )  # fmt: skip
    table.refresh_from_db()


def month_document(table: Table) -> dict[str, Any]:
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "日付", "grain": "month", "as": "月"}],
                  "measures": [{"op": "count", "as": "件数"}]},
        "visual": {"type": "line", "x": "月", "y": "件数", "options": {}},
        "meta": {},
    }  # fmt: skip


@pytest.fixture
def dispatch_table(actors: Actors, settings: Any, tmp_path: Any) -> Table:
    """A 庁内 table (every member of staff reads it) of dispatches: 3 in April, 4 in May 2024."""
    settings.MACHIDATA_HOME = tmp_path
    dataset = make_dataset(actors.org.health_div, classification=Classification.INTERNAL, slug="shutsudou")
    table = Table.objects.create(dataset=dataset, name="t", title="出動", storage_key=uuid.uuid4().hex)
    write_months(table, {(2024, 4): 3, (2024, 5): 4})
    return table


def test_chart_rule_fires_on_a_new_version_once(actors: Actors, dispatch_table: Table) -> None:
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="月別の出動", document=month_document(dispatch_table),
        source="テスト", sharing=Sharing.STAFF,
    )  # fmt: skip
    staff = as_actor(actors, "staff")
    rule = alert_rule_create(
        actor=staff, chart_uuid=chart.uuid, condition="above", threshold=5, cooldown_hours=0
    )
    assert (rule.last_period, rule.last_value, rule.state) == ("2024年5月", 4.0, AlertState.ARMED)
    write_months(dispatch_table, {(2024, 4): 3, (2024, 5): 4, (2024, 6): 6})  # June: 6 > 5
    told = notices(actors, "staff")
    assert len(told) == 1
    assert "2024年6月" in told[0]
    assert "月別の出動" in told[0]
    assert Notification.objects.get(recipient=actors.users["staff"]).link == f"/charts/{chart.uuid}/"
    write_months(dispatch_table, {(2024, 4): 3, (2024, 5): 4, (2024, 6): 7})  # still above
    assert len(notices(actors, "staff")) == 1


def test_a_chart_the_owner_can_no_longer_read_stays_silent(actors: Actors, dispatch_table: Table) -> None:
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="月別の出動", document=month_document(dispatch_table),
        source="テスト", sharing=Sharing.STAFF,
    )  # fmt: skip
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"),
        chart_uuid=chart.uuid,
        condition="above",
        threshold=5,
        cooldown_hours=0,
    )
    owner_rule = alert_rule_create(
        actor=as_actor(actors, "owner_viewer"), chart_uuid=chart.uuid, condition="above", threshold=5,
        cooldown_hours=0,
    )  # fmt: skip
    Dataset.objects.filter(pk=dispatch_table.dataset_id).update(classification=Classification.RESTRICTED)
    write_months(dispatch_table, {(2024, 4): 3, (2024, 5): 4, (2024, 6): 9})
    assert notices(actors, "staff") == []  # 所属限定 now: staff of another 課 may not read it
    rule.refresh_from_db()
    assert rule.problem
    assert rule.state == AlertState.ARMED
    assert len(notices(actors, "owner_viewer")) == 1  # the owning 課's member still may
    owner_rule.refresh_from_db()
    assert owner_rule.problem == ""


def test_rules_need_access_to_the_chart_or_the_indicator_figures(
    actors: Actors, dispatch_table: Table
) -> None:
    Dataset.objects.filter(pk=dispatch_table.dataset_id).update(classification=Classification.RESTRICTED)
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="月別", document=month_document(dispatch_table),
        source="テスト", sharing=Sharing.STAFF,
    )  # fmt: skip
    staff = as_actor(actors, "staff")
    with pytest.raises(NotFound):
        alert_rule_create(actor=staff, chart_uuid=chart.uuid, condition="updated")
    with pytest.raises(NotFound):
        alert_rule_create(actor=staff, chart_uuid="not-a-uuid", condition="updated")
    # an indicator counted from the 所属限定 table: shared with all staff, its figures are not
    editor = as_actor(actors, "owner_editor")
    unit = actors.org.health_div.pk
    policy = ebpm_services.plan_item_create(
        actor=as_actor(actors, "admin"), level="policy", name="安全", unit_id=unit
    )
    measure = ebpm_services.plan_item_create(
        actor=as_actor(actors, "admin"), level="measure", name="救急", unit_id=unit, parent_id=policy.pk
    )
    project = ebpm_services.plan_item_create(
        actor=editor, level="project", name="救急体制", unit_id=unit, parent_id=measure.pk
    )
    ebpm_services.logic_model_save(actor=editor, item=project, document=DOC, note="最初の版")
    ind = services_indicators.indicator_create(
        actor=editor, item=project, node_id="n1", name="出動件数", kind="activity", responsible_unit_id=unit,
        source_kind="query", table_id=dispatch_table.pk,
        query={"query": {"group_by": [{"column": "日付", "grain": "fiscal_year", "as": "年度"}],
                         "measures": [{"op": "count"}]}, "year_column": "年度", "value_column": "件数"},
    )  # fmt: skip
    with pytest.raises(PermissionDenied, match="元の表を読める人"):
        alert_rule_create(actor=staff, indicator_id=ind.pk, condition="updated")
    viewer = as_actor(actors, "owner_viewer")
    alert_rule_create(actor=viewer, indicator_id=ind.pk, condition="above", threshold=7, cooldown_hours=0)
    # the lake's new version → EBPM recomputes → the actual is saved → the rule is evaluated after commit
    write_months(dispatch_table, {(2024, 4): 3, (2024, 5): 4, (2024, 6): 1})
    told = notices(actors, "owner_viewer")
    assert len(told) == 1
    assert "2024年度" in told[0]
    assert "2024年度の値が 8になり" in told[0]


def test_a_chart_with_several_lines_needs_the_series(actors: Actors, dispatch_table: Table) -> None:
    document = month_document(dispatch_table)
    document["query"]["group_by"].append({"column": "区"})
    document["visual"]["color"] = "区"
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="区別", document=document, source="テスト",
        sharing=Sharing.STAFF,
    )  # fmt: skip
    staff = as_actor(actors, "staff")
    with pytest.raises(InvalidInput, match="どの系列"):
        alert_rule_create(actor=staff, chart_uuid=chart.uuid, condition="updated")
    rule = alert_rule_create(actor=staff, chart_uuid=chart.uuid, series="中央区", condition="updated")
    assert rule.last_value == 4.0


def test_evaluation_time_is_recorded(actors: Actors, indicator: Indicator) -> None:
    before = timezone.now()
    record(actors, indicator, 2023, 5)
    rule = alert_rule_create(actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="updated")
    assert rule.last_evaluated_at is not None
    assert rule.last_evaluated_at >= before


@pytest.mark.slow
def test_outside_the_forecast_interval(actors: Actors, dispatch_table: Table) -> None:
    # 36 months of 20 ± 3 dispatches (a steady pattern), then a month of 60: far outside any 95% interval
    history = {(2021 + (i + 3) // 12, (i + 3) % 12 + 1): 20 + (i * 7 % 5) - 2 for i in range(36)}
    write_months(dispatch_table, history)
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="月別の出動", document=month_document(dispatch_table),
        source="テスト", sharing=Sharing.STAFF,
    )  # fmt: skip
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"), chart_uuid=chart.uuid, condition="forecast", cooldown_hours=0
    )
    assert rule.state == AlertState.ARMED  # the newest month is within what the months before predict
    last = max(history)
    following = (last[0] + last[1] // 12, last[1] % 12 + 1)
    write_months(dispatch_table, {**history, following: 21})  # an ordinary month: no alert
    assert notices(actors, "staff") == []
    write_months(dispatch_table, {**history, following: 60})
    told = notices(actors, "staff")
    assert len(told) == 1
    assert "予測の範囲" in told[0]
    assert f"{following[0]}年{following[1]}月" in told[0]


def test_forecast_needs_enough_past_periods(actors: Actors, dispatch_table: Table) -> None:
    chart = chart_create(
        actor=as_actor(actors, "owner_editor"), title="月別の出動", document=month_document(dispatch_table),
        source="テスト", sharing=Sharing.STAFF,
    )  # fmt: skip
    with pytest.raises(InvalidInput):  # two months only: the forecast refuses with its own reason
        alert_rule_create(actor=as_actor(actors, "staff"), chart_uuid=chart.uuid, condition="forecast")
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize("condition", ["above", "updated"])
def test_a_stale_copy_of_the_rule_never_fires_twice(
    actors: Actors, indicator: Indicator, condition: str
) -> None:
    record(actors, indicator, 2023, 10)
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition=condition, threshold=50,
        cooldown_hours=0,
    )  # fmt: skip
    stale = AlertRule.objects.get(
        pk=rule.pk
    )  # as a second evaluation that read the rule earlier would hold it
    indicator.actuals.filter(fiscal_year=2023).update(value=60)  # no signal: evaluated by hand below
    assert alert_rule_evaluate(rule) is not None
    assert alert_rule_evaluate(stale) is None  # decided on the locked row, not the stale copy
    assert Alert.objects.count() == 1
    assert len(notices(actors, "staff")) == 1
