"""The chart API: create, list, get, spec and export, with the same visibility as the pages."""

from __future__ import annotations

from collections import Counter

import pytest

from machidata.catalog.models import Table
from machidata.charts.models import Sharing
from machidata.charts.tests.conftest import ROWS, bar_document, make_chart
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db


def test_create_get_spec_export(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    created = client.post("/api/v1/charts/", {"title": "区別の件数", "document": bar_document(table), "sharing": "department"},
                          content_type="application/json")  # fmt: skip
    assert created.status_code == 201, created.content
    uuid = created.json()["uuid"]
    assert created.json()["document"]["query"]["group_by"] == [{"column": "区"}]
    spec = actors.client("owner_viewer").get(f"/api/v1/charts/{uuid}/spec").json()
    values = {r["区"]: r["件数"] for r in spec["spec"]["data"]["values"]}
    assert values == dict(Counter(r["区"] for r in ROWS))
    assert spec["description"].startswith("区別の件数（棒グラフ）")
    svg = actors.client("owner_viewer").get(f"/api/v1/charts/{uuid}/export/svg")
    assert svg.content.startswith(b"<svg")
    assert actors.client("staff").get(f"/api/v1/charts/{uuid}").status_code == 404
    assert actors.client("anonymous").get("/api/v1/charts/").status_code == 401


def test_list_and_public_is_not_a_choice(actors: Actors, table: Table) -> None:
    make_chart(actors, table, sharing=Sharing.PRIVATE)
    assert actors.client("owner_editor").get("/api/v1/charts/").json()["count"] == 1
    assert actors.client("owner_viewer").get("/api/v1/charts/").json()["count"] == 0
    refused = actors.client("owner_editor").post(
        "/api/v1/charts/",
        {"title": "x", "document": bar_document(table), "sharing": "public"},
        content_type="application/json",
    )
    assert refused.status_code in {400, 422}
