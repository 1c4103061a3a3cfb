"""CKAN's datastore_search on the approved version of a public table: parameters, shapes, paging, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors
from machidata.publish.services import publication_act, publication_withdraw_request
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)
# v1 of the fixture, written out: 施設名, 区, 定員
V1 = [("中央保健センター", "中央区", 40), ("東保健センター", "東区", 35), ("西保健センター", "西区", 30)]


def call(name: str, method: str = "get", **params: Any) -> tuple[int, dict[str, Any]]:
    client = Client()
    if method == "json":
        r = client.post(f"/api/3/action/{name}", data=json.dumps(params), content_type="application/json")
    else:
        r = client.get(f"/api/3/action/{name}", params)
    return r.status_code, r.json()


def rid() -> str:
    pkg = call("package_show", id="hoken-center")[1]["result"]
    assert pkg["resources"][0]["datastore_active"] is True
    return str(pkg["resources"][0]["id"])


def search(**params: Any) -> dict[str, Any]:
    status, body = call("datastore_search", "json", resource_id=rid(), **params)
    assert status == 200, body
    return dict(body["result"])


def test_first_page_shape_fields_and_rows(published: Dataset) -> None:
    res = search()
    assert res["total"] == 3
    assert res["limit"] == 100
    assert res["total_was_estimated"] is False
    assert [(f["id"], f["type"]) for f in res["fields"]] == [
        ("_id", "int"), ("施設名", "text"), ("区", "text"), ("定員", "int")
    ]  # fmt: skip
    assert [(r["施設名"], r["区"], r["定員"]) for r in res["records"]] == V1
    ids = [r["_id"] for r in res["records"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert res["_links"]["start"].startswith("/api/3/action/datastore_search?")


def test_filters_q_fields_sort(published: Dataset) -> None:
    assert [r["施設名"] for r in search(filters={"区": "東区"})["records"]] == ["東保健センター"]
    assert search(filters={"区": ["東区", "西区"]})["total"] == 2
    assert search(q="中央 保健")["total"] == 1
    assert search(q="ｾﾝﾀｰ")["total"] == 3  # half-width kana finds full-width (NFKC)
    assert search(q="存在しない")["total"] == 0
    assert search(q={"区": "西"})["total"] == 1
    assert [r["定員"] for r in search(sort="定員 desc")["records"]] == [40, 35, 30]
    assert [r["定員"] for r in search(sort="定員 asc")["records"]] == [30, 35, 40]
    res = search(fields="区,施設名", filters={"区": "中央区"})
    assert res["records"] == [{"区": "中央区", "施設名": "中央保健センター"}]
    assert [f["id"] for f in res["fields"]] == ["区", "施設名"]
    lists = search(records_format="lists", fields=["施設名"], sort="定員 asc")["records"]
    assert lists == [["西保健センター"], ["東保健センター"], ["中央保健センター"]]
    # GET with JSON text, as a browser or curl sends it
    status, body = call("datastore_search", resource_id=rid(), filters='{"区": "西区"}')
    assert (status, body["result"]["total"]) == (200, 1)


def test_paging_by_links_until_an_empty_page(published: Dataset) -> None:
    client = Client()
    url = f"/api/3/action/datastore_search?resource_id={rid()}&limit=2"
    seen: list[int] = []
    for _ in range(5):
        res = client.get(url).json()["result"]
        if not res["records"]:
            break
        assert res["total"] == 3
        seen += [r["_id"] for r in res["records"]]
        url = res["_links"]["next"]
    assert len(seen) == 3
    assert len(set(seen)) == 3
    assert search(limit=1, offset=1)["records"][0]["施設名"] == "東保健センター"


def test_errors_have_ckan_shapes(published: Dataset) -> None:
    status, body = call("datastore_search")
    assert (status, body["error"]) == (409, {"resource_id": ["Missing value"], "__type": "Validation Error"})
    status, body = call("datastore_search", resource_id="00000000-0000-0000-0000-000000000000")
    assert (status, body["error"]["__type"]) == (404, "Not Found Error")
    r = rid()
    status, body = call("datastore_search", "json", resource_id=r, filters={"nope": 1})
    assert (status, body["error"]["filters"]) == (409, ['field "nope" not in table'])
    status, body = call("datastore_search", resource_id=r, fields="nope")
    assert (status, body["error"]["fields"]) == (409, ['field "nope" not in table'])
    status, body = call("datastore_search", resource_id=r, sort="nope desc")
    assert (status, body["error"]["sort"]) == (409, ['field "nope" not in table'])
    status, body = call("datastore_search", resource_id=r, limit="many")
    assert (status, body["error"]["limit"]) == (409, ["Invalid integer"])
    status, body = call("datastore_search", "json", resource_id=r, filters={"定員": "多い"})
    assert (status, body["error"]["__type"]) == (409, "Validation Error")
    status, body = call("datastore_search", resource_id=r, filters="{not json")
    assert status == 409


def test_only_the_approved_version_and_nothing_after_withdrawal(
    cast: Actors, published: Dataset, v1: TableVersion
) -> None:
    r = rid()
    ingest_text(cast, published, "facilities", FACILITIES_V2)  # appends rows and a personal column
    res = search()
    assert res["total"] == 3
    assert "担当者氏名" not in [f["id"] for f in res["fields"]]
    assert "南保健センター" not in json.dumps(res, ensure_ascii=False)
    assert call("datastore_search", resource_id=r, fields="担当者氏名")[0] == 409
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert call("datastore_search", resource_id=r)[0] == 404


BAD_PARAMS: list[dict[str, Any]] = [
    {"limit": -1}, {"offset": -5}, {"limit": "1e9"}, {"filters": []}, {"filters": {"区": {"$ne": 1}}},
    {"filters": {"区": []}}, {"filters": {"定員": ["a", "b"]}}, {"q": ["a"]}, {"q": {"nope": "x"}},
    {"q": "x" * 5000}, {"fields": {"a": 1}}, {"fields": ["施設名", "施設名"]}, {"sort": "定員 sideways"},
    {"sort": [1, 2]}, {"records_format": "csv"}, {"filters": {"_id": "abc"}}, {"sort": ""},
    {"q": " ".join(["語"] * 500)}, {"filters": "[1, 2"}, {"include_total": "maybe"},
]  # fmt: skip


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_odd_parameters_answer_ckan_errors_never_a_server_error(
    published: Dataset, params: dict[str, Any]
) -> None:
    status, body = call("datastore_search", "json", resource_id=rid(), **params)
    assert status in (200, 409), (status, body)
    assert body["success"] is (status == 200)
