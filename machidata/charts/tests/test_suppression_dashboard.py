"""Differencing across the charts of one dashboard: a hidden cell must not be the margin minus the shown cells.

The attack is done the way a reader would: take a coarser chart's published value (件数 by 区, or a
number card of the total), subtract the finer chart's shown cells under it, and see whether a single
hidden cell is left. Expected counts come from plain loops over the rows written here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import make_table, write
from machidata.charts.pivot import N_NAME, SUPPRESS_BELOW
from machidata.charts.selectors import Panel, dashboard_render
from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_create
from machidata.charts.suppression import Answer, suppress_across, suppress_rows
from machidata.core.testing import Actors, make_dataset

T = SUPPRESS_BELOW
# 中央区 has one small category (2 < T); every ward's total and every other cell is large.
CELLS = {("中央区", "火災"): 8, ("中央区", "急病"): 2, ("中央区", "交通"): 9,
         **{(w, c): 6 for w in ("東区", "西区") for c in ("火災", "急病", "交通")}}  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    rows, i = [], 0
    for (ward, kind), n in CELLS.items():
        for _ in range(n):
            rows.append({"区": ward, "人口": 1, "面積": Decimal("1.00"), "日付": dt.date(2024, 5, 1),
                         "時刻": dt.datetime(2024, 5, 1, 9) + dt.timedelta(minutes=i), "名前": kind})  # fmt: skip
            i += 1
    return rows


@pytest.fixture
def kinds_table(actors: Actors, lake_home: Any) -> Table:
    dataset = make_dataset(actors.org.health_div, classification=Classification.RESTRICTED, slug="kinds")
    table = make_table(dataset, name="dispatches", title="出動")
    write(table, _rows())
    return table


def _document(table: Table, group_by: list[str], kind: str = "bar") -> dict[str, Any]:
    visual: dict[str, Any] = {
        "type": kind,
        "x": group_by[0] if group_by else None,
        "y": "件数",
        "options": {},
    }
    if len(group_by) > 1:
        visual["color"] = group_by[1]
    if kind == "number":
        visual = {"type": "number", "y": "件数", "options": {}}
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": g} for g in group_by], "measures": [{"op": "count", "as": "件数"}]},
        "visual": visual,
        "meta": {},
    }  # fmt: skip


def _board(actors: Actors, table: Table, *documents: dict[str, Any]) -> list[Panel]:
    editor = actor_for(actors.users["owner_editor"])
    board = dashboard_create(actor=editor, title="出動の概況", sharing="staff")
    for n, document in enumerate(documents):
        chart = chart_create(
            actor=editor, title=f"グラフ{n}", document=document, source="テスト", sharing="staff"
        )
        board = dashboard_add_chart(actor=editor, dashboard=board, lock_version=board.lock_version,
                                    chart_uuid=str(chart.uuid))  # fmt: skip
    panels = dashboard_render(actor=actor_for(actors.users["admin"]), dashboard=board)  # 管理: outside the 課
    assert all(p.rendered is not None for p in panels), [p.error for p in panels]
    return panels


def _recovered(
    margins: dict[tuple[Any, ...], Any], cells: list[dict[str, Any]], keys: list[str]
) -> dict[Any, int]:
    """What a reader works out: for each margin with exactly one hidden cell under it, margin − shown cells."""
    found = {}
    for margin, total in margins.items():
        under = [r for r in cells if tuple(r[k] for k in keys) == margin]
        blanks = [r for r in under if r["件数"] is None]
        if total is not None and len(blanks) == 1:
            found[(margin, blanks[0].get("名前"))] = total - sum(
                r["件数"] for r in under if r["件数"] is not None
            )
    return found


@pytest.mark.django_db
def test_a_total_by_ward_beside_ward_by_category_gives_no_hidden_cell_away(
    actors: Actors, kinds_table: Table
) -> None:
    alone = _board(actors, kinds_table, _document(kinds_table, ["区", "名前"]))
    (fine,) = [p.rendered.data.rows for p in alone if p.rendered]
    assert [(r["区"], r["名前"]) for r in fine if r["件数"] is None] == [
        ("中央区", "急病")
    ]  # only the small one
    by_ward = Counter(w for (w, _), n in CELLS.items() for _ in range(n))
    # Without the dashboard-wide check this is what a reader gets back: 19 − 8 − 9 = 2, the hidden cell.
    assert _recovered({("中央区",): by_ward["中央区"]}, fine, ["区"]) == {(("中央区",), "急病"): 2}

    panels = _board(
        actors, kinds_table, _document(kinds_table, ["区"]), _document(kinds_table, ["区", "名前"])
    )
    coarse, fine = (p.rendered.data.rows for p in panels if p.rendered)
    assert {r["区"]: r["件数"] for r in coarse} == dict(by_ward)  # the margins are published as they are
    margins = {(r["区"],): r["件数"] for r in coarse}
    assert _recovered(margins, fine, ["区"]) == {}
    hidden = [(r["区"], r["名前"]) for r in fine if r["件数"] is None]
    assert ("中央区", "急病") in hidden
    assert len(hidden) >= 2
    assert sum(CELLS[h] for h in hidden) >= T  # the hidden pair can be anything in [0, their sum]
    assert sorted(hidden) == sorted(
        [("中央区", "火災"), ("中央区", "急病")]
    )  # the smallest other cell is given up
    panel = next(p for p in panels if p.rendered and len(p.rendered.data.rows) == len(CELLS))
    assert panel.rendered is not None
    assert "秘匿" in " ".join(panel.rendered.spec["title"]["subtitle"])


@pytest.mark.django_db
def test_a_number_card_of_the_total_beside_a_small_ward(actors: Actors, kinds_table: Table) -> None:
    document = _document(kinds_table, ["区"])
    document["query"]["filters"] = [
        {"column": "名前", "op": "eq", "value": "急病"}
    ]  # 中央区 2, 東区 6, 西区 6
    card = _document(kinds_table, [], kind="number")
    card["query"]["filters"] = list(document["query"]["filters"])
    panels = _board(actors, kinds_table, card, document)
    total, wards = (p.rendered.data.rows for p in panels if p.rendered)
    assert total == [{"件数": 14}]
    assert _recovered({(): 14}, wards, []) == {}
    assert [r["件数"] for r in wards].count(None) >= 2
    # A chart with other filters is over other rows: it is no margin of this one and changes nothing.
    other = _document(kinds_table, ["区"])
    panels = _board(actors, kinds_table, _document(kinds_table, [], kind="number"), other, document)
    assert [r["件数"] for r in panels[2].rendered.data.rows if r["件数"] is None] == [None]  # type: ignore[union-attr]


def _answer(
    counts: list[int],
    keys: list[tuple[Any, ...]],
    groups: list[str],
    key: Any = "same",
    complete: bool = True,
) -> Answer:
    names = [f"k{j}" for j in range(len(groups))]
    source = [
        {**dict(zip(names, k, strict=True)), "件数": n, N_NAME: n} for k, n in zip(keys, counts, strict=True)
    ]
    rows, hidden = suppress_rows(source, group_names=names, measures={"件数": {"op": "count"}}, threshold=T)
    return Answer(key, [(g, None) for g in groups], names, rows, hidden, complete)


def test_charts_with_the_same_groups_hide_the_same_groups_and_cut_answers_are_left() -> None:
    keys = [("a",), ("b",), ("c",)]
    total = _answer([20], [()], [])
    by_ward = _answer([2, 10, 30], keys, ["区"])
    again = _answer([2, 10, 30], keys, ["区"])
    extra = suppress_across([total, by_ward, again])
    assert extra[0] == set()
    assert extra[1] == {1} == extra[2]  # b (10) is given up beside a (2): 42 − 30 leaves a + b
    cut = _answer([2, 10, 30], keys, ["区"], complete=False)
    assert suppress_across([total, cut]) == [set(), set()]
    elsewhere = _answer([2, 10, 30], keys, ["区"], key="other filters")
    assert suppress_across([total, elsewhere]) == [set(), set()]
