"""The table API: permission matrix on every endpoint, rows with filters/sort/paging, downloads."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_rows, make_table, write
from machidata.core.testing import Actors, check_statuses, make_dataset, make_token

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)

EVERYONE = ("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")
API = "/api/v1/datasets"


def _table(actors: Actors, classification: str = Classification.RESTRICTED) -> Table:
    dataset = make_dataset(actors.org.health_div, classification=classification)
    table = make_table(dataset)
    write(table, ROWS, user=actors.users["owner_editor"])
    return table


def url(table: Table, suffix: str = "", **params: Any) -> str:
    base = f"{API}/{table.dataset.slug}/tables/{table.name}{suffix}"
    return base + ("?" + urlencode(params, doseq=True) if params else "")


def test_permission_matrix_restricted(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    meta = {
        "anonymous": 404,
        "staff": 200,
        "owner_viewer": 200,
        "owner_editor": 200,
        "other_editor": 200,
        "admin": 200,
    }
    data = {
        "anonymous": 404,
        "staff": 403,
        "owner_viewer": 200,
        "owner_editor": 200,
        "other_editor": 403,
        "admin": 200,
    }
    check_statuses(actors, lambda c: c.get(f"{API}/{table.dataset.slug}/tables"), meta, label="list")
    check_statuses(actors, lambda c: c.get(url(table)), meta, label="detail")
    check_statuses(actors, lambda c: c.get(url(table, "/versions")), meta, label="versions")
    check_statuses(actors, lambda c: c.get(url(table, "/rows")), data, label="rows")
    check_statuses(actors, lambda c: c.get(url(table, "/download", format="csv")), data, label="download")


def test_permission_matrix_confidential_and_public(actors: Actors, lake_home: Path) -> None:
    secret = _table(actors, Classification.CONFIDENTIAL)
    hidden = {"anonymous": 404, "staff": 404, "other_editor": 404, "owner_viewer": 200, "owner_editor": 200}
    for suffix in ("", "/versions", "/rows", "/download"):
        check_statuses(
            actors, lambda c, s=suffix: c.get(url(secret, s)), hidden, label=f"confidential {suffix}"
        )
    # 管理 administers the entry but reads 機密 data only with a grant
    check_statuses(actors, lambda c: c.get(url(secret, "/rows")), {"admin": 403}, label="admin rows")
    public = _table(actors, Classification.PUBLIC)
    for suffix in ("", "/versions", "/rows", "/download"):
        check_statuses(
            actors,
            lambda c, s=suffix: c.get(url(public, s)),
            dict.fromkeys(EVERYONE, 200),
            label=f"public {suffix}",
        )
    check_statuses(
        actors, lambda c: c.get(url(public, "/rows", version=9)), dict.fromkeys(EVERYONE, 404), label="no v9"
    )
    check_statuses(
        actors,
        lambda c: c.get(f"{API}/{public.dataset.slug}/tables/none/rows"),
        dict.fromkeys(EVERYONE, 404),
        label="none",
    )


def test_rows_shape_and_values(actors: Actors, lake_home: Path) -> None:
    table = _table(actors, Classification.PUBLIC)
    body = actors.client("anonymous").get(url(table, "/rows", limit=3)).json()
    assert (body["total"], body["limit"], body["offset"], body["truncated"], body["version"]) == (
        25,
        3,
        0,
        False,
        1,
    )
    assert body["fields"][0] == {"name": "_id", "type": "integer"}
    assert {"name": "時刻", "type": "datetime"} in body["fields"]
    assert body["rows"][0] == {
        "_id": 1,
        "区": "中央区",
        "人口": 0,
        "面積": 0.25,
        "日付": "2024-04-01",
        "時刻": "2024-03-31T23:30:00",
        "名前": "店00",
    }


def test_rows_filters_sort_fields_and_paging(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = actors.client("owner_viewer")
    body = client.get(
        url(
            table,
            "/rows",
            filter=["区:in:東区,西区", "人口:ge:100"],
            sort="-人口,区",
            fields="区,人口",
            limit=4,
            offset=2,
        )
    ).json()
    matching = [i for i, r in enumerate(ROWS) if r["区"] in ("東区", "西区") and r["人口"] >= 100]
    ordered = sorted(matching, key=lambda i: (-ROWS[i]["人口"], ROWS[i]["区"], i))
    assert body["total"] == len(matching)
    assert body["rows"] == [{"区": ROWS[i]["区"], "人口": ROWS[i]["人口"]} for i in ordered[2:6]]
    assert [f["name"] for f in body["fields"]] == ["区", "人口"]


def test_rows_limit_is_capped(actors: Actors, lake_home: Path, settings: Any) -> None:
    settings.MACHIDATA_ENGINE_MAX_ROWS = 5
    table = _table(actors)
    body = actors.client("owner_viewer").get(url(table, "/rows", limit=20)).json()
    assert (len(body["rows"]), body["limit"], body["truncated"]) == (5, 5, True)


def test_rows_errors_are_japanese(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = actors.client("owner_viewer")
    response = client.get(url(table, "/rows", filter="年齢:eq:3"))
    assert response.status_code == 400
    assert response.json()["detail"] == "列「年齢」はこの表にありません。"
    response = client.get(url(table, "/rows", sort="-存在しない"))
    assert response.status_code == 400
    response = client.get(url(table, "/rows", limit=0))
    assert response.status_code == 422


def test_detail_and_versions(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    write(table, make_rows(2), source_name="二版.csv")
    client = actors.client("staff")
    body = client.get(url(table)).json()
    assert body["current_version"]["number"] == 2
    assert body["can_read"] is False
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["人口"] == {
        "name": "人口",
        "title": "人口",
        "type": "integer",
        "type_label": "整数",
        "unit": "人",
        "description": "",
    }
    versions = client.get(url(table, "/versions")).json()
    assert [(v["number"], v["status"], v["rows"], v["source_name"]) for v in versions] == [
        (2, "committed", 2, "二版.csv"),
        (1, "committed", 25, "人口.csv"),
    ]
    listed = client.get(f"{API}/{table.dataset.slug}/tables").json()
    assert [t["name"] for t in listed] == ["population"]


def test_download_with_token_version_and_audit(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    write(table, make_rows(2))
    token = make_token(actors.users["owner_viewer"])
    from django.test import Client

    response = Client().get(
        url(table, "/download", format="csv", encoding="cp932", version=1),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("cp932")
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == 25
    assert records[1]["名前"] == "〓野家"
    event = AuditEvent.objects.get(action="data.download")
    assert (event.changes["version"], event.changes["format"], event.changes["rows"]) == (1, "csv", 25)
    assert event.actor_id == actors.users["owner_viewer"].pk
    response = actors.client("owner_viewer").get(url(table, "/download", format="docx"))
    assert response.status_code == 400
    assert "形式" in response.json()["detail"]
