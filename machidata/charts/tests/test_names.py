"""The builder's output names are the engine's default names (so charts and queries read alike)."""

from __future__ import annotations

import pytest

from machidata.charts.names import GRAINS, OPS, key_name, measure_name
from machidata.engine.query import Measure, group_default_name, measure_default_name


@pytest.mark.parametrize("grain", [None, *GRAINS])
def test_group_names(grain: str | None) -> None:
    assert key_name({"column": "覚知日時", "grain": grain}) == group_default_name("覚知日時", grain)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("column", [None, "人口"])
def test_measure_names(op: str, column: str | None) -> None:
    if column is None and op not in {"count", "share_of_total"}:
        return
    assert measure_name({"op": op, "column": column}) == measure_default_name(Measure(op=op, column=column))


def test_examples_read_as_staff_expect() -> None:
    # Written out by hand: the names a member of staff sees in the builder and in CSV headers.
    assert key_name({"column": "覚知日時", "grain": "fiscal_year"}) == "覚知日時（年度）"
    assert measure_name({"op": "count"}) == "件数"
    assert measure_name({"op": "sum", "column": "人口"}) == "合計（人口）"
    assert measure_name({"op": "share_of_total"}) == "構成比（件数）"


def test_as_wins() -> None:
    assert key_name({"column": "x", "grain": "month", "as": "月"}) == "月"
    assert measure_name({"op": "count", "as": "出動件数"}) == "出動件数"
