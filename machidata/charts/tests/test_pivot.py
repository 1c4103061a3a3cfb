"""The pivot table: layout with 小計・合計, suppression for tables that leave the 課, exports, the builder.

Expected numbers come from the tests' own loops over the rows (plain Python), never from the code under test.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.charts.models import Chart
from machidata.charts.pivot import HIDDEN, SUPPRESS_BELOW, exposed, pivot_of, relations
from machidata.charts.selectors import document_render
from machidata.charts.services import chart_create, chart_export
from machidata.charts.tests.conftest import ROWS
from machidata.charts.vegalite import Column
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors
from machidata.jp.fiscal import fiscal_year

TOTALS = "合計区分"


def engine_rows(
    records: list[dict[str, Any]], keys: list[str], rows: int, value: str
) -> list[dict[str, Any]]:
    """What the engine answers for a pivot (every grouping set of ROLLUP(rows) × ROLLUP(columns)), by plain loops."""
    out = []
    row_keys, col_keys = keys[:rows], keys[rows:]
    for i in range(len(row_keys) + 1):
        for j in range(len(col_keys) + 1):
            kept = row_keys[:i] + col_keys[:j]
            mask = sum(1 << n for n, k in enumerate(keys) if k not in kept)
            counts = Counter(tuple(r[k] for k in kept) for r in records)
            for key, n in counts.items():
                line = dict.fromkeys(keys)
                line.update(zip(kept, key, strict=True))
                out.append({**line, value: n, TOTALS: mask})
    return out


def layout(records: list[dict[str, Any]], keys: list[str], rows: int, *, suppress: int | None = None) -> Any:
    columns = {k: Column(k) for k in keys} | {
        "件数": Column("件数", "integer"),
        TOTALS: Column(TOTALS, "integer"),
    }
    visual = {"type": "pivot", "rows": keys[:rows], "columns": keys[rows:], "y": "件数", "op": "count",
              "options": {"suppress_below": suppress}}  # fmt: skip
    return pivot_of(engine_rows(records, keys, rows, "件数"), columns, visual, totals_name=TOTALS)


def records_of(table: dict[tuple[str, ...], int], keys: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(keys, k, strict=True)) for k, n in table.items() for _ in range(n)]


def test_two_row_levels_have_subtotals_and_a_total() -> None:
    counts = {("中央区", "男", "急病"): 7, ("中央区", "女", "急病"): 6, ("東区", "男", "急病"): 9,
              ("東区", "男", "転院"): 12, ("中央区", "女", "転院"): 8}  # fmt: skip
    recs = records_of(counts, ["区", "性別", "種別"])
    p = layout(recs, ["区", "性別", "種別"], 2)
    assert [line.labels for line in p.rows] == [
        ("中央区", "女"), ("中央区", "男"), ("中央区", "小計"), ("東区", "男"), ("東区", "小計"), ("合計", ""),
    ]  # fmt: skip
    assert [p.col_label(j) for j in range(len(p.cols))] == ["急病", "転院", "合計"]
    header, body = p.grid()
    assert header == ["区", "性別", "急病", "転院", "合計"]
    by_label = {tuple(cells[:2]): cells[2:] for _, cells in body}
    # every cell against the plain sums
    for (ward, sex), cells in by_label.items():
        mine = [
            r
            for r in recs
            if (ward in {"合計"} or r["区"] == ward) and (sex in {"", "小計"} or r["性別"] == sex)
        ]
        want = [sum(1 for r in mine if r["種別"] == k) for k in ("急病", "転院")] + [len(mine)]
        assert cells == [f"{n:,}" if n else "—" for n in want], (ward, sex)


def test_columns_with_two_levels_get_subtotal_columns() -> None:
    recs = records_of(
        {("中央区", "2023", "男"): 6, ("中央区", "2024", "女"): 7, ("東区", "2024", "男"): 8},
        ["区", "年", "性別"],
    )
    p = layout(recs, ["区", "年", "性別"], 1)
    assert [p.col_label(j) for j in range(len(p.cols))] == [
        "2023／男",
        "2023 小計",
        "2024／女",
        "2024／男",
        "2024 小計",
        "合計",
    ]
    assert p.text(len(p.rows) - 1, len(p.cols) - 1) == "21"


def test_the_classic_two_by_two_hides_four_cells_and_keeps_totals() -> None:
    recs = records_of({("A", "X"): 3, ("A", "Y"): 10, ("B", "X"): 8, ("B", "Y"): 12}, ["行", "列"])
    p = layout(recs, ["行", "列"], 1, suppress=5)
    hidden = {(p.rows[i].labels[0], p.col_label(j)) for i, j in p.hidden}
    assert hidden == {("A", "X"), ("A", "Y"), ("B", "X"), ("B", "Y")}
    assert [p.text(i, 2) for i in range(3)] == ["13", "20", "33"]  # row totals shown
    assert [p.text(2, j) for j in range(3)] == ["11", "22", "33"]  # column totals shown


def _check_protected(p: Any, threshold: int) -> None:
    """Small cells are hidden, no published sum gives a single hidden cell away, the audit finds none exposed."""
    for cell, value in p.values.items():
        if 1 <= value < threshold:
            assert cell in p.hidden
    for parent, kids in relations(p):
        members = [parent, *kids]
        assert sum(1 for c in members if c in p.hidden) != 1
    assert exposed(p, p.hidden, threshold=threshold) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tables_with_subtotals_are_protected(seed: int) -> None:
    import random

    rng = random.Random(seed)
    counts = {
        k: rng.choice([0, 1, 2, 3, 6, 9, 15])
        for k in itertools.product(["中央区", "東区", "西区"], ["男", "女"], ["2022", "2023", "2024"])
    }
    recs = records_of(counts, ["区", "性別", "年"])
    p = layout(recs, ["区", "性別", "年"], 2, suppress=SUPPRESS_BELOW)
    assert p.hidden
    _check_protected(p, SUPPRESS_BELOW)
    # what is shown is still the plain count
    for (i, j), value in p.values.items():
        if (i, j) not in p.hidden:
            assert p.text(i, j) == f"{value:,}"


def test_without_suppression_nothing_is_hidden() -> None:
    recs = records_of({("A", "X"): 1, ("B", "X"): 2}, ["行", "列"])
    p = layout(recs, ["行", "列"], 1)
    assert not p.hidden
    assert p.text(0, 0) == "1"


# ---- through the catalog's query path (real lake and engine) ----------------------------------------


def pivot_document(table: Table, **options: Any) -> dict[str, Any]:
    """区 (rows) × fiscal year of 時刻 (columns), counted, with totals — as the builder writes it."""
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "区", "as": "区"}, {"column": "時刻", "grain": "fiscal_year", "as": "時刻（年度）"}],
                  "measures": [{"op": "count", "as": "件数"}], "totals": {"rows": 1, "as": TOTALS}},
        "visual": {"type": "pivot", "rows": ["区"], "columns": ["時刻（年度）"], "y": "件数", "op": "count",
                   "options": {"era": "western", **options}},
        "meta": {"title": "区と年度の件数"},
    }  # fmt: skip


def _plain() -> Counter[tuple[str, int]]:
    return Counter((r["区"], fiscal_year(r["時刻"])) for r in ROWS)


@pytest.mark.django_db
def test_members_of_the_owner_unit_see_every_number(actors: Actors, table: Table) -> None:
    rendered = document_render(actor=actor_for(actors.users["owner_viewer"]), document=pivot_document(table))
    p = rendered.pivot
    assert p is not None
    assert not p.hidden
    assert p.threshold is None
    plain = _plain()
    years = sorted({y for _, y in plain})
    assert [p.col_label(j) for j in range(len(p.cols))] == [f"{y}年度" for y in years] + ["合計"]
    for i, line in enumerate(p.rows[:-1]):
        ward = line.key[0]
        assert [p.values.get((i, j)) for j in range(len(years))] == [plain.get((ward, y)) for y in years]
        assert p.values[(i, len(years))] == sum(n for (w, _), n in plain.items() if w == ward)
    assert p.grand_total == len(ROWS)
    assert "ピボット表" in rendered.description
    assert f"全体の件数は{len(ROWS)}" in rendered.description


@pytest.mark.django_db
def test_readers_outside_the_unit_get_small_cells_hidden(actors: Actors, table: Table) -> None:
    plain = _plain()
    assert any(1 <= n < SUPPRESS_BELOW for n in plain.values())  # the data really has small cells
    rendered = document_render(actor=actor_for(actors.users["admin"]), document=pivot_document(table))
    p = rendered.pivot
    assert p is not None
    assert p.threshold == SUPPRESS_BELOW
    assert p.hidden
    _check_protected(p, SUPPRESS_BELOW)
    assert any(v["t"] == HIDDEN for v in rendered.spec["data"]["values"])  # the export grid too
    # the owner 課 may ask to see it as it will leave; a stored threshold is never trusted
    asked = document_render(
        actor=actor_for(actors.users["owner_viewer"]), document=pivot_document(table, suppress=True)
    )
    assert asked.pivot is not None
    assert asked.pivot.hidden == p.hidden
    lowered = document_render(
        actor=actor_for(actors.users["admin"]), document=pivot_document(table, suppress_below=1)
    )
    assert lowered.pivot is not None
    assert lowered.pivot.hidden == p.hidden


@pytest.mark.django_db
def test_exports_mark_subtotals_and_hidden_cells(actors: Actors, table: Table) -> None:
    chart = chart_create(actor=actor_for(actors.users["owner_editor"]), title="区と年度の件数",
                         document=pivot_document(table), source="テスト", sharing="staff")  # fmt: skip
    content, _, ext = chart_export(actor=actor_for(actors.users["owner_viewer"]), chart=chart, fmt="csv")
    assert ext == "csv"
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0][:2] == ["区分", "区"]
    assert lines[0][-1] == "合計"
    assert [line[0] for line in lines[1:]] == ["明細"] * 5 + ["合計"]
    assert lines[-1][-1] == str(len(ROWS))
    outside, _, _ = chart_export(actor=actor_for(actors.users["admin"]), chart=chart, fmt="csv")
    text = outside.decode("utf-8-sig")
    assert HIDDEN in text
    assert "秘匿" in text
    xlsx, _, _ = chart_export(actor=actor_for(actors.users["admin"]), chart=chart, fmt="xlsx")
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws is not None
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    total_row = next(row for row in ws.iter_rows() if row[0].value == "合計")
    assert all(c.font.bold for c in total_row)
    assert any(HIDDEN in row for row in cells)
    png, content_type, _ = chart_export(actor=actor_for(actors.users["admin"]), chart=chart, fmt="png")
    assert content_type == "image/png"
    assert png[:4] == b"\x89PNG"


@pytest.mark.django_db
def test_builder_saves_a_pivot_and_the_page_shows_the_table(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    ref = f"{table.dataset.slug}/{table.name}"
    response = client.post(
        reverse("charts:new"),
        {"table": ref, "type": "pivot", "x": "区", "color": "時刻", "color_grain": "fiscal_year",
         "y_op": "sum", "y_column": "人口", "sort": "key", "stack": "stacked", "era": "wareki",
         "week_start": "monday", "title": "区と年度の人口", "sharing": "staff", "save": "1"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    chart = Chart.objects.get(title="区と年度の人口")
    query = chart.document["query"]
    assert query["totals"] == {"rows": 1, "as": TOTALS}
    assert [m["op"] for m in query["measures"]] == ["sum", "count"]  # the row count decides small cells
    page = client.get(reverse("charts:detail", args=[chart.uuid])).content.decode()
    assert 'class="grid pivot"' in page
    assert "令和5年度" in page
    assert "data-vl-spec" not in page
    want = sum(r["人口"] for r in ROWS if r["区"] == "東区")
    assert '<th scope="row">東区</th>' in page
    assert f">{want:,}</td>" in page
    edit = client.get(reverse("charts:edit", args=[chart.uuid])).content.decode()
    assert 'value="pivot" selected' in edit


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["visual"].update(rows=5), "名前の一覧"),
        (lambda d: d["visual"].update(rows=["町名"]), "「行」の項目「町名」が集計結果にありません"),
        (lambda d: d["query"].update(totals={"rows": "二"}), "totals.rows"),
        (lambda d: d["query"].update(totals={"rows": 3}), "0から2まで"),
    ],
)
def test_malformed_pivot_documents_are_refused_in_japanese(
    actors: Actors, table: Table, change: Any, message: str
) -> None:
    document = pivot_document(table)
    change(document)
    with pytest.raises(InvalidInput, match=message):
        document_render(actor=actor_for(actors.users["owner_viewer"]), document=document)
