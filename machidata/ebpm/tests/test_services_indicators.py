"""Indicator services: targets and revisions, actuals and statuses, query recomputation and 要確認, formulas, negatives."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.ebpm import services, services_indicators
from machidata.ebpm.models import IndicatorTarget, PlanItem
from machidata.ebpm.tests.conftest import as_actor
from machidata.lake.protocol import write_version

pytestmark = pytest.mark.django_db


# ---- indicators -----------------------------------------------------------------------------------


def _manual(actors: Actors, item: PlanItem, editor: Actor, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "node_id": "n3", "name": "特定健診受診率", "kind": "outcome", "unit_label": "%",
        "responsible_unit_id": actors.org.health_div.pk, "baseline_value": "35.0", "baseline_year": "令和5年度",
    } | extra  # fmt: skip
    return services_indicators.indicator_create(actor=editor, item=item, **values)


def test_targets_revisions_keep_the_old_one(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    ind = _manual(actors, modelled, editor)
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2025, value="40")
    with pytest.raises(Conflict, match="2025年度の目標はすでにあります"):
        services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2025, value="42")
    with pytest.raises(InvalidInput, match="変更する理由"):
        services_indicators.indicator_target_set(
            actor=editor, indicator=ind, fiscal_year=2025, value="42", revise=True
        )
    services_indicators.indicator_target_set(
        actor=editor, indicator=ind, fiscal_year=2025, value="42", revise=True, note="国の目標改定"
    )
    rows = list(
        IndicatorTarget.objects.filter(indicator=ind)
        .order_by("created_at", "id")
        .values_list("value", "superseded_at")
    )
    assert rows[0][0] == Decimal(40)
    assert rows[0][1] is not None
    assert rows[1] == (Decimal(42), None)
    unset = services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2026, value="")
    assert unset.value is None  # 目標未設定


def test_actuals_status_and_evidence(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    ind = _manual(actors, modelled, editor)
    assert ind.status == "unmeasured"
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value="40")
    with pytest.raises(InvalidInput, match="根拠"):
        services_indicators.indicator_actual_record(actor=editor, indicator=ind, fiscal_year=2024, value="38")
    with pytest.raises(InvalidInput, match="ありえない年度"):
        services_indicators.indicator_actual_record(
            actor=editor, indicator=ind, fiscal_year=1800, value="38", evidence="x"
        )
    services_indicators.indicator_actual_record(
        actor=editor,
        indicator=ind,
        fiscal_year=2024,
        value="38",
        evidence="法定報告",
        status="preliminary",
        final_on="2025-11-01",
    )
    ind.refresh_from_db()
    assert ind.status == "on_track"  # 38/40 = 0.95
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2024, value="41", evidence="法定報告（確定）", status="final"
    )
    ind.refresh_from_db()
    assert ind.status == "achieved"
    assert ind.actuals.get().status == "final"
    with pytest.raises(PermissionDenied):
        services_indicators.indicator_actual_record(
            actor=as_actor(actors, "owner_viewer"), indicator=ind, fiscal_year=2024, value="1", evidence="x"
        )


def test_indicator_bad_input(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    with pytest.raises(InvalidInput, match="要素「n8」はこの事業のロジックモデルにありません"):
        _manual(actors, modelled, editor, node_id="n8")
    with pytest.raises(InvalidInput, match="基準値が必要"):
        _manual(actors, modelled, editor, baseline_value="", baseline_year="", rate_rule="progress")
    with pytest.raises(InvalidInput, match="指標の種類「impact」"):
        _manual(actors, modelled, editor, kind="impact")


def test_indicators_keep_their_nodes_until_removed(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    ind = _manual(actors, modelled, editor)
    with pytest.raises(Conflict, match="検証指標が付いている要素は削除できません"):
        services.node_remove(actor=editor, item=modelled, node_id="n3")
    with pytest.raises(PermissionDenied):
        services_indicators.indicator_remove(actor=as_actor(actors, "other_editor"), indicator=ind)
    services_indicators.indicator_remove(actor=editor, indicator=ind)
    model = services.node_remove(actor=editor, item=modelled, node_id="n3")
    assert [n["id"] for n in model.document["nodes"]] == ["n1", "n2"]
    assert [lk["id"] for lk in model.document["links"]] == ["l1"]  # the link to n3 went with it
    assert AuditEvent.objects.filter(action="ebpm.indicator.remove").count() == 1


# ---- query indicators over a catalog table --------------------------------------------------------

SCHEMA = pa.schema([("覚知日時", pa.timestamp("us")), ("区", pa.string())])
RENAMED = pa.schema([("受付日時", pa.timestamp("us")), ("区", pa.string())])
TIMES = [dt.datetime(2023, 5, 1, 9), dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2024, 4, 1, 0, 30),
         dt.datetime(2024, 8, 1, 12), dt.datetime(2025, 1, 5, 7)]  # fmt: skip
QUERY = {
    "query": {
        "group_by": [{"column": "覚知日時", "grain": "fiscal_year", "as": "年度"}],
        "measures": [{"op": "count"}],
    },
    "year_column": "年度",
    "value_column": "件数",
}


def _write(table: Table, times: list[dt.datetime], schema: pa.Schema = SCHEMA) -> Any:
    column = schema.names[0]
    rows = [{column: t, "区": "中央区"} for t in times]
    version = write_version(
        table=table, batches=[pa.RecordBatch.from_pylist(rows, schema=schema)], schema=schema, mode="replace",
        job_id=f"test-{uuid.uuid4().hex[:8]}", source_name="test",
    )  # fmt: skip
    table.refresh_from_db()
    return version


def _by_fiscal_year(times: list[dt.datetime]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for t in times:
        year = t.year if t.month >= 4 else t.year - 1
        counts[year] = counts.get(year, 0) + 1
    return counts


@pytest.mark.django_db(transaction=True)
def test_query_indicator_computes_recomputes_and_marks_renamed_columns(
    actors: Actors, modelled: PlanItem, editor: Actor, settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    dataset = make_dataset(actors.org.health_div, slug="kyukyu", title="救急出動")
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    first = _write(table, TIMES)
    ind = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="出動件数", kind="activity", responsible_unit_id=actors.org.health_div.pk,
        source_kind="query", table_id=table.pk, query=QUERY,
    )  # fmt: skip
    got = {a.fiscal_year: (int(a.value), a.version_number) for a in ind.actuals.all()}
    assert got == {y: (n, first.number) for y, n in _by_fiscal_year(TIMES).items()}
    # a new version recomputes through the lake's signal
    more = [*TIMES, dt.datetime(2024, 12, 24, 20)]
    second = _write(table, more)
    got = {a.fiscal_year: (int(a.value), a.version_number) for a in ind.actuals.all()}
    assert got == {y: (n, second.number) for y, n in _by_fiscal_year(more).items()}
    # a renamed column: 要確認 with the reason, the last good actuals kept, nothing raised
    _write(table, TIMES, RENAMED)
    ind.refresh_from_db()
    assert ind.status == "check"
    assert "覚知日時" in ind.status_reason
    assert {a.version_number for a in ind.actuals.all()} == {second.number}
    # target changes do not hide the 要確認
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value=3)
    ind.refresh_from_db()
    assert ind.status == "check"
    # a fix that still does not fit is refused and changes nothing
    with pytest.raises(InvalidInput, match="定義は変えていません"):
        services_indicators.indicator_query_set(actor=editor, indicator=ind, table_id=table.pk, query=QUERY)
    ind.refresh_from_db()
    assert ind.query == QUERY
    # fixing the query to the new column name computes from the newest version again
    fixed = {
        **QUERY,
        "query": {
            **QUERY["query"],
            "group_by": [{"column": "受付日時", "grain": "fiscal_year", "as": "年度"}],
        },
    }
    services_indicators.indicator_query_set(actor=editor, indicator=ind, table_id=table.pk, query=fixed)
    ind.refresh_from_db()
    assert ind.status != "check"
    assert ind.status_reason == ""
    table.refresh_from_db()
    assert {a.fiscal_year: (int(a.value), a.version_number) for a in ind.actuals.all()} == {
        y: (n, table.current_version.number) for y, n in _by_fiscal_year(TIMES).items()
    }
    # a user who cannot read the table cannot attach it
    hidden = make_dataset(actors.org.fire_div, slug="keibo", title="警防")
    other = Table.objects.create(dataset=hidden, name="t", title="t", storage_key=uuid.uuid4().hex)
    _write(other, TIMES)
    with pytest.raises(InvalidInput, match="集計できません"):
        services_indicators.indicator_create(
            actor=editor, item=modelled, node_id="n2", name="x", kind="activity", responsible_unit_id=actors.org.health_div.pk,
            source_kind="query", table_id=other.pk, query=QUERY,
        )  # fmt: skip


def test_trend_spec_plots_current_targets_and_actuals(
    actors: Actors, modelled: PlanItem, editor: Actor
) -> None:
    from machidata.ebpm.selectors import indicator_trend_spec, indicator_years

    ind = _manual(actors, modelled, editor)
    assert indicator_trend_spec(ind, indicator_years(ind)) is None
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value="40")
    services_indicators.indicator_target_set(
        actor=editor, indicator=ind, fiscal_year=2024, value="42", revise=True, note="改定"
    )
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2024, value="38", evidence="報告"
    )
    spec = indicator_trend_spec(ind, indicator_years(ind))
    assert spec is not None
    values = {(v["区分"], v["値"]) for v in spec["data"]["values"]}
    assert values == {("目標", 42.0), ("実績", 38.0)}  # the superseded 40 is not plotted
    assert spec["data"]["values"][0]["年度"] == "令和6年度"


def test_formula_indicator_follows_its_inputs(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    unit = actors.org.health_div.pk
    examined = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="受診者数", kind="outcome", responsible_unit_id=unit
    )
    eligible = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="対象者数", kind="activity", responsible_unit_id=unit
    )
    for year, a in ((2023, 3300), (2024, 3600)):
        services_indicators.indicator_actual_record(
            actor=editor, indicator=examined, fiscal_year=year, value=a, evidence="法定報告", status="final"
        )
    services_indicators.indicator_actual_record(
        actor=editor, indicator=eligible, fiscal_year=2023, value=10000, evidence="名簿", status="final"
    )
    rate = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="受診率", kind="outcome", unit_label="%", responsible_unit_id=unit,
        source_kind="formula", formula=f"i{examined.pk} / i{eligible.pk} * 100",
    )  # fmt: skip
    assert {a.fiscal_year: float(a.value) for a in rate.actuals.all()} == {2023: 33.0}  # 2024 lacks an input
    services_indicators.indicator_actual_record(
        actor=editor,
        indicator=eligible,
        fiscal_year=2024,
        value=9000,
        evidence="名簿",
        status="preliminary",
        final_on="2025-10-01",
    )
    got = {a.fiscal_year: (float(a.value), a.status) for a in rate.actuals.all()}
    assert got == {2023: (33.0, "final"), 2024: (40.0, "preliminary")}
    # a zero denominator marks it 要確認 with the year
    services_indicators.indicator_actual_record(
        actor=editor, indicator=eligible, fiscal_year=2024, value=0, evidence="誤り", status="final"
    )
    rate.refresh_from_db()
    assert rate.status == "check"
    assert "2024年度: 0 で割っています" in rate.status_reason
    # fixed input: back to normal
    services_indicators.indicator_actual_record(
        actor=editor, indicator=eligible, fiscal_year=2024, value=9000, evidence="訂正", status="final"
    )
    rate.refresh_from_db()
    assert rate.status != "check"
    # removing an input: 要確認
    eligible_pk = eligible.pk
    services_indicators.indicator_remove(actor=editor, indicator=eligible)
    rate.refresh_from_db()
    assert rate.status == "check"
    assert f"i{eligible_pk}" in rate.status_reason


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "計算式を入力してください"),
        ("i1 +", "読めません"),
        ("x1 * 2", "指標の番号ではありません"),
        ("100", "ほかの指標を一つ以上"),
        ("i999999 * 2", "i999999 はありません"),
        ("open(i{pk})", "「open」は指標の番号ではありません"),
        ("i{pk}.__class__", "使えないもの"),
    ],
)
def test_formula_bad_input(
    actors: Actors, modelled: PlanItem, editor: Actor, formula: str, message: str
) -> None:
    base = _manual(actors, modelled, editor)
    with pytest.raises(InvalidInput, match=message):
        services_indicators.indicator_create(
            actor=editor, item=modelled, node_id="n3", name="x", kind="outcome", responsible_unit_id=actors.org.health_div.pk,
            source_kind="formula", formula=formula.format(pk=base.pk),
        )  # fmt: skip


def test_formula_over_a_formula_is_refused(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    base = _manual(actors, modelled, editor)
    unit = actors.org.health_div.pk
    double = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n3",
        name="2倍",
        kind="outcome",
        responsible_unit_id=unit,
        source_kind="formula",
        formula=f"i{base.pk} * 2",
    )
    with pytest.raises(InvalidInput, match="計算で求める指標"):
        services_indicators.indicator_create(
            actor=editor,
            item=modelled,
            node_id="n3",
            name="4倍",
            kind="outcome",
            responsible_unit_id=unit,
            source_kind="formula",
            formula=f"i{double.pk} * 2",
        )


def test_negative_values_only_where_allowed(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    count = _manual(actors, modelled, editor, name="相談件数", baseline_value="", baseline_year="")
    with pytest.raises(InvalidInput, match="実績値にマイナスの値"):
        services_indicators.indicator_actual_record(
            actor=editor, indicator=count, fiscal_year=2024, value="-3", evidence="x"
        )
    with pytest.raises(InvalidInput, match="目標値にマイナスの値"):
        services_indicators.indicator_target_set(actor=editor, indicator=count, fiscal_year=2024, value="▲3")
    with pytest.raises(InvalidInput, match="基準値にマイナスの値"):
        _manual(actors, modelled, editor, baseline_value="-1")
    change = _manual(
        actors, modelled, editor, name="前年度からの増減", baseline_value="-2", allow_negative=True
    )
    actual = services_indicators.indicator_actual_record(
        actor=editor, indicator=change, fiscal_year=2024, value="▲3", evidence="集計"
    )
    assert actual.value == Decimal(-3)
    assert not count.actuals.exists()
