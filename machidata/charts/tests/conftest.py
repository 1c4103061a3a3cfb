"""Fixtures of the chart tests: the 区別人口 table of the catalog tests, written into a real lake."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.charts.models import Chart, Sharing
from machidata.charts.services import chart_create
from machidata.charts.tests.public_fixtures import cast, open_table
from machidata.core.testing import Actors, make_dataset

__all__ = ["ROWS", "cast", "lake_home", "open_table"]


@pytest.fixture
def table(actors: Actors, lake_home: Any) -> Table:
    """A 所属限定 table of 健康づくり推進課 with 25 rows (5 per ward)."""
    dataset = make_dataset(actors.org.health_div, classification=Classification.RESTRICTED, slug="pop")
    t = make_table(dataset)
    write(t, ROWS)
    return t


def bar_document(table: Table, **visual: Any) -> dict[str, Any]:
    """Count of rows by ward (bar chart)."""
    return {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "区"}], "measures": [{"op": "count"}]},
        "visual": {"type": "bar", "x": "区", "y": "件数", "options": {}, **visual},
        "meta": {},
    }  # fmt: skip


def make_chart(
    actors: Actors, table: Table, *, sharing: str = Sharing.STAFF, by: str = "owner_editor"
) -> Chart:
    """A chart of ``table`` saved by ``by`` with ``sharing``."""
    return chart_create(
        actor=actor_for(actors.users[by]), title="区別の件数", document=bar_document(table),
        source="テスト", sharing=sharing,
    )  # fmt: skip
