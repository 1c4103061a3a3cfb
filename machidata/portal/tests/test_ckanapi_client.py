"""The real CKAN client (``ckanapi.RemoteCKAN``, what harvesters use) against a live server."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.catalog.models import Dataset

ckanapi = pytest.importorskip("ckanapi")

pytestmark = pytest.mark.django_db(transaction=True)


def test_remote_ckan_reads_the_portal(published: Dataset, live_server: Any) -> None:
    ckan = ckanapi.RemoteCKAN(live_server.url, user_agent="machidata-test")
    found = ckan.action.package_search(q="保健", rows=5)
    assert found["count"] == 1
    pkg = found["results"][0]
    assert pkg["name"] == "hoken-center"
    assert ckan.action.package_show(id=pkg["id"])["title"] == "保健センター一覧"
    assert ckan.action.package_list() == ["hoken-center"]
    res = ckan.action.resource_show(id=pkg["resources"][0]["id"])
    assert res["package_id"] == pkg["id"]
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="naibu-nothing")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")


def test_remote_ckan_reads_the_datastore(published: Dataset, live_server: Any) -> None:
    ckan = ckanapi.RemoteCKAN(live_server.url, user_agent="machidata-test")
    (res,) = ckan.action.package_show(id="hoken-center")["resources"]
    assert res["datastore_active"] is True
    page = ckan.action.datastore_search(resource_id=res["id"], filters={"区": "東区"}, limit=5)
    assert page["total"] == 1
    assert page["records"][0]["施設名"] == "東保健センター"
    assert {f["id"]: f["type"] for f in page["fields"]}["定員"] == "int"
    first = ckan.action.datastore_search(resource_id=res["id"], limit=2, sort="定員 asc")
    assert [r["定員"] for r in first["records"]] == [30, 35]
    found = ckan.action.datastore_search_sql(sql=f'SELECT max("定員") AS m FROM "{res["id"]}"')  # noqa: S608
    assert found["records"] == [{"m": 40}]
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search_sql(sql=f"COPY \"{res['id']}\" TO '/tmp/x.csv'")
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search_sql(sql='SELECT * FROM "00000000-0000-0000-0000-000000000000"')
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="00000000-0000-0000-0000-000000000000")
