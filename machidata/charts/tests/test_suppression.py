"""Small-count suppression of every aggregated chart a reader outside the owner 課 sees.

The expected counts come from plain loops over the fixture rows; a reader outside the 課 must never
see a count below the threshold in the spec, the table view, the files or a dashboard panel.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest
from openpyxl import load_workbook

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.charts.pivot import HIDDEN, N_NAME, SUPPRESS_BELOW
from machidata.charts.selectors import dashboard_render, document_render
from machidata.charts.services import chart_create, chart_export, dashboard_add_chart, dashboard_create
from machidata.charts.suppression import suppress_rows
from machidata.charts.tests.conftest import ROWS
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors
from machidata.jp.fiscal import fiscal_year

T = SUPPRESS_BELOW


def _rows(counts: list[int], keys: list[tuple[Any, ...]] | None = None) -> list[dict[str, Any]]:
    keys = keys or [(f"g{i}",) for i in range(len(counts))]
    out = []
    for key, n in zip(keys, counts, strict=True):
        line = {f"k{j}": v for j, v in enumerate(key)}
        out.append({**line, "件数": n, "構成比（件数）": n / sum(counts), N_NAME: n})
    return out


def _hidden_rows(rows: list[dict[str, Any]], name: str = "件数") -> list[int]:
    return [i for i, r in enumerate(rows) if r[name] is None]


def test_small_groups_are_hidden_and_the_row_count_is_dropped() -> None:
    rows, hidden = suppress_rows(
        _rows([1, 10, 4, 20]), group_names=["k0"], measures={"件数": {"op": "count"}}, threshold=T
    )
    assert _hidden_rows(rows) == [0, 2]
    assert all(N_NAME not in r for r in rows)
    assert [r["件数"] for r in rows] == [None, 10, None, 20]
    assert "秘匿" in hidden.note()


def test_nothing_hidden_when_every_group_is_large_or_zero() -> None:
    rows, hidden = suppress_rows(
        _rows([5, 10, 20]), group_names=["k0"], measures={"件数": {"op": "count"}}, threshold=T
    )
    assert not hidden.cells
    assert [r["件数"] for r in rows] == [5, 10, 20]


def test_a_share_of_the_total_hides_a_complementary_group() -> None:
    """With shares the total is known (count ÷ share): one hidden group would be total − the rest."""
    source = _rows([1, 10, 7, 20])
    measures = {"件数": {"op": "count"}, "構成比（件数）": {"op": "share_of_total"}}
    rows, _ = suppress_rows(source, group_names=["k0"], measures=measures, threshold=T)
    hidden = _hidden_rows(rows)
    assert 0 in hidden
    assert len(hidden) >= 2  # a single hidden group is the total minus the shown ones
    assert sum(source[i]["件数"] for i in hidden) >= T  # each hidden group can be anything in [0, that sum]
    assert all(rows[i]["構成比（件数）"] is None for i in hidden)
    # the smallest other group is the one given up, not a large one
    assert hidden == [0, 2]


def test_shares_within_rows_protect_each_row_group() -> None:
    keys = [("a", "x"), ("a", "y"), ("a", "z"), ("b", "x"), ("b", "y")]
    source = _rows([2, 30, 9, 40, 50], keys)
    measures = {"件数": {"op": "count"}, "行内構成比（件数）": {"op": "share_of_row"}}
    for r in source:
        r["行内構成比（件数）"] = 0.5
    rows, _ = suppress_rows(source, group_names=["k0", "k1"], measures=measures, threshold=T)
    hidden = _hidden_rows(rows)
    in_a = [i for i in hidden if source[i]["k0"] == "a"]
    assert 0 in in_a
    assert len(in_a) >= 2
    assert sum(source[i]["件数"] for i in in_a) >= T
    assert not [i for i in hidden if source[i]["k0"] == "b"]  # the other row's total reveals nothing of a


def test_changes_from_the_previous_period_are_hidden_everywhere_once_a_group_is() -> None:
    source = _rows([10, 3, 12])
    for r in source:
        r["前年度比（件数）"] = 1.0
    measures = {"件数": {"op": "count"}, "前年度比（件数）": {"op": "change_from_previous", "along": "k0"}}
    rows, _ = suppress_rows(source, group_names=["k0"], measures=measures, threshold=T)
    assert [r["件数"] for r in rows] == [10, None, 12]
    assert [r["前年度比（件数）"] for r in rows] == [None, None, None]


# ---- through the catalog's query path: every output a reader outside the 課 gets ---------------------


def _ward_year() -> Counter[tuple[str, int]]:
    return Counter((r["区"], fiscal_year(r["時刻"])) for r in ROWS)


def heat_document(table: Table, kind: str = "bar") -> dict[str, Any]:
    """Counts by ward × fiscal year: 中央区 has 1 row in FY2023 and 4 in FY2024 (both small)."""
    visual: dict[str, Any] = {
        "type": kind,
        "x": "区",
        "y": "件数",
        "color": "年度",
        "options": {"era": "western"},
    }
    if kind == "heatmap":
        visual = {"type": kind, "x": "区", "y": "年度", "value": "件数", "options": {"era": "western"}}
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "区"}, {"column": "時刻", "grain": "fiscal_year", "as": "年度"}],
                  "measures": [{"op": "count", "as": "件数"}]},
        "visual": visual,
        "meta": {"title": "区と年度の件数"},
    }  # fmt: skip


def _numbers(values: list[Any]) -> list[int]:
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["bar", "line", "heatmap", "table"])
def test_readers_outside_the_unit_never_see_a_small_count(actors: Actors, table: Table, kind: str) -> None:
    plain = _ward_year()
    small = {k for k, n in plain.items() if 1 <= n < T}
    assert small  # the data really has small groups
    inside = document_render(
        actor=actor_for(actors.users["owner_viewer"]), document=heat_document(table, kind)
    )
    assert sorted(_numbers([r["件数"] for r in inside.data.rows])) == sorted(plain.values())
    outside = document_render(actor=actor_for(actors.users["admin"]), document=heat_document(table, kind))
    shown = [r["件数"] for r in outside.spec["data"]["values"]] if kind != "table" else []
    assert all(n >= T for n in _numbers(shown))
    assert all(n >= T for n in _numbers([r["件数"] for r in outside.data.rows]))
    assert {(r["区"], r["年度"]) for r in outside.data.rows if r["件数"] is None} == small
    assert all(N_NAME not in r for r in outside.data.rows)
    cells = [c for line in outside.body for c in line]
    assert cells.count(HIDDEN) == len(small)
    assert "秘匿" in " ".join(outside.spec["title"]["subtitle"])
    assert "秘匿" in outside.description
    assert any("秘匿" in n for n in outside.data.notes)


@pytest.mark.django_db
def test_a_table_anyone_may_read_is_not_suppressed(actors: Actors, table: Table) -> None:
    plain = _ward_year()
    dataset = table.dataset
    dataset.classification = Classification.PUBLIC  # rows open to anyone: its counts hide nothing
    dataset.save(update_fields=["classification"])
    outside = document_render(actor=actor_for(actors.users["staff"]), document=heat_document(table))
    assert sorted(_numbers([r["件数"] for r in outside.data.rows])) == sorted(plain.values())
    assert not outside.data.notes
    dataset.classification = Classification.INTERNAL  # 庁内: readable by staff, not by anyone
    dataset.save(update_fields=["classification"])
    staff = document_render(actor=actor_for(actors.users["staff"]), document=heat_document(table))
    assert {(r["区"], r["年度"]) for r in staff.data.rows if r["件数"] is None} == {
        k for k, n in plain.items() if 1 <= n < T
    }


@pytest.mark.django_db
def test_the_owner_unit_may_ask_to_see_it_as_it_will_leave(actors: Actors, table: Table) -> None:
    document = heat_document(table)
    document["visual"]["options"]["suppress"] = True
    asked = document_render(actor=actor_for(actors.users["owner_viewer"]), document=document)
    assert all(n >= T for n in _numbers([r["件数"] for r in asked.data.rows]))


@pytest.mark.django_db
def test_files_and_dashboards_outside_the_unit_hide_small_counts(actors: Actors, table: Table) -> None:
    chart = chart_create(actor=actor_for(actors.users["owner_editor"]), title="区と年度の件数",
                         document=heat_document(table), source="テスト", sharing="staff")  # fmt: skip
    admin = actor_for(actors.users["admin"])
    content, _, _ = chart_export(actor=admin, chart=chart, fmt="csv")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    numbers = [int(c) for line in lines[1:] for c in line[1:] if c.isdigit()]
    assert numbers
    assert all(n >= T for n in numbers)
    assert HIDDEN in content.decode("utf-8-sig")
    assert "秘匿" in lines[-1][0]
    inside, _, _ = chart_export(actor=actor_for(actors.users["owner_viewer"]), chart=chart, fmt="csv")
    assert HIDDEN not in inside.decode("utf-8-sig")
    assert "1" in [c for line in csv.reader(io.StringIO(inside.decode("utf-8-sig"))) for c in line[1:]]
    xlsx, _, _ = chart_export(actor=admin, chart=chart, fmt="xlsx")
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws is not None
    values = [c.value for row in ws.iter_rows() for c in row]
    assert all(v >= T for v in values if isinstance(v, int))
    assert HIDDEN in values
    svg, _, _ = chart_export(actor=admin, chart=chart, fmt="svg")
    assert "秘匿" in svg.decode()
    board = dashboard_create(actor=actor_for(actors.users["owner_editor"]), title="概況", sharing="staff")
    board = dashboard_add_chart(actor=actor_for(actors.users["owner_editor"]), dashboard=board,
                                lock_version=board.lock_version, chart_uuid=str(chart.uuid))  # fmt: skip
    (panel,) = dashboard_render(actor=admin, dashboard=board)
    assert panel.rendered is not None
    assert all(n >= T for n in _numbers([r["件数"] for r in panel.rendered.spec["data"]["values"]]))
    assert HIDDEN in [c for line in panel.rendered.body for c in line]


@pytest.mark.django_db
def test_a_number_card_of_a_small_count_shows_a_star(actors: Actors, table: Table) -> None:
    document = heat_document(table)
    document["query"]["group_by"] = []
    document["query"]["filters"] = [{"column": "時刻", "op": "lt", "value": "2024-04-01"}]
    document["visual"] = {"type": "number", "y": "件数", "options": {}}
    assert sum(1 for r in ROWS if fiscal_year(r["時刻"]) == 2023) == 1
    outside = document_render(actor=actor_for(actors.users["admin"]), document=document)
    assert outside.spec["data"]["values"][0]["value"] == HIDDEN
    inside = document_render(actor=actor_for(actors.users["owner_viewer"]), document=document)
    assert inside.spec["data"]["values"][0]["value"] == "1"


@pytest.mark.django_db
def test_a_histogram_is_refused_outside_the_unit(actors: Actors, table: Table) -> None:
    document = {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": []},
        "visual": {"type": "histogram", "x": "人口", "options": {}},
        "meta": {},
    }
    assert document_render(actor=actor_for(actors.users["owner_viewer"]), document=document).spec
    with pytest.raises(InvalidInput, match="秘匿"):
        document_render(actor=actor_for(actors.users["admin"]), document=document)
