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
