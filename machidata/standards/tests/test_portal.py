"""The portal serves the standard-format CSV of the approved version only, and declared datasets carry
the tags aggregators look for (package_show, package_search, tag_list, DCAT)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.testing import Actors
from machidata.portal.tests.conftest import publish, published
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, cast, dataset, ingest_text, v1
from machidata.standards import services

__all__ = ["cast", "dataset", "published", "v1"]

pytestmark = pytest.mark.django_db(transaction=True)

MAPPING = {"名称": "施設名", "備考": "区"}
URL = "/open/datasets/hoken-center/facilities/standard/431001_public_facility.csv"


def declare(cast: Actors, ds: Dataset) -> None:
    table = Table.objects.get(dataset=ds, name="facilities")
    services.declaration_set(
        actor=as_actor(cast, "owner_editor"), table=table, standard_code="public_facility", mapping=MAPPING
    )


def rows(client: Client, url: str = URL) -> list[list[str]]:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    assert 'filename="431001_public_facility.csv"' in r["Content-Disposition"]
    text = b"".join(r.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(text)))


def test_portal_serves_only_the_approved_version(cast: Actors, published: Dataset, v1: TableVersion) -> None:
    declare(cast, published)
    client = Client()
    before = rows(client)
    assert before[0][:5] == ["都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称"]
    names = [r[4] for r in before[1:]]
    assert names == ["中央保健センター", "東保健センター", "西保健センター"]
    ingest_text(cast, published, "facilities", FACILITIES_V2)  # a later version, not approved
    after = rows(client)
    assert after == before
    assert "南保健センター" not in str(after)
    # the internal page offers the current version to staff who may read it
    staff = cast.client("owner_viewer")
    r = staff.get("/standards/tables/hoken-center/facilities/standard.csv")
    internal = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    assert "南保健センター" in [x[4] for x in internal]


def test_wrong_file_name_undeclared_and_unpublished_are_404(
    cast: Actors, published: Dataset, dataset: Dataset
) -> None:
    client = Client()
    assert client.get(URL).status_code == 404  # published but not declared
    declare(cast, published)
    assert client.get(URL.replace("431001_public_facility", "431001_aed")).status_code == 404
    assert client.get(URL).status_code == 200


def test_an_unpublished_declared_table_stays_internal(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    declare(cast, dataset)
    client = Client()
    assert client.get(URL).status_code == 404
    pkgs = client.get("/api/3/action/package_search", {"fq": "tags:自治体標準ODS"}).json()["result"]
    assert pkgs["count"] == 0


def _pkg(client: Client) -> dict[str, Any]:
    return dict(client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"])


def test_declared_datasets_carry_the_tags_and_the_standard_resource(cast: Actors, published: Dataset) -> None:
    client = Client()
    assert "自治体標準ODS" not in [t["name"] for t in _pkg(client)["tags"]]
    declare(cast, published)
    pkg = _pkg(client)
    tags = [t["name"] for t in pkg["tags"]]
    assert {"自治体標準ODS", "公共施設一覧", "保健"} <= set(tags)
    urls = [r["url"] for r in pkg["resources"]]
    assert urls[-1].endswith(URL)
    assert len(urls) == 2
    found = client.get("/api/3/action/package_search", {"fq": "tags:自治体標準ODS"}).json()["result"]
    assert [p["name"] for p in found["results"]] == ["hoken-center"]
    assert "公共施設一覧" in client.get("/api/3/action/tag_list").json()["result"]
    ttl = client.get("/catalog.ttl").content.decode()
    assert '"自治体標準ODS"@ja' in ttl
    assert '"公共施設一覧"@ja' in ttl
    page = client.get("/open/datasets/hoken-center/").content.decode()
    assert "431001_public_facility.csv" in page
    # resource_show finds each resource package_show lists, the standard CSV too, with the same fields
    for resource in pkg["resources"]:
        shown = client.get("/api/3/action/resource_show", {"id": resource["id"]}).json()
        assert shown["success"] is True
        assert shown["result"] == resource


def test_publishing_later_keeps_the_declaration(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    declare(cast, dataset)
    publish(cast, dataset, [v1])
    assert len(rows(Client())) == 4
