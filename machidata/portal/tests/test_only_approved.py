"""Only approved versions reach the public: a later version, a withdrawal and a 庁内 dataset, through every action."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client

from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors, make_dataset
from machidata.publish.services import publication_act, publication_withdraw_request
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAL = "担当者氏名"
NAMES = ("山田 太郎", "佐藤 花子")


def everything(client: Client) -> str:
    """What every action and the public pages answer, as one text (to look for leaks in)."""
    texts = []
    for action, params in (
        ("package_list", {}), ("package_search", {"q": "", "rows": 1000}), ("tag_list", {}),
        ("package_show", {"id": "hoken-center"}), ("organization_list", {"all_fields": "true"}),
        ("group_list", {"all_fields": "true"}),
    ):  # fmt: skip
        texts.append(json.dumps(client.get(f"/api/3/action/{action}", params).json(), ensure_ascii=False))
    for path in ("/open/", "/open/search/", "/open/datasets/hoken-center/"):
        texts.append(client.get(path).content.decode())
    r = client.get("/open/datasets/hoken-center/facilities.csv")
    if r.status_code == 200:
        texts.append(b"".join(r.streaming_content).decode("utf-8-sig"))  # type: ignore[attr-defined]
    return "\n".join(texts)


def resource(client: Client) -> dict[str, Any]:
    pkg = client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"]
    return dict(pkg["resources"][0])


def test_later_version_with_personal_column_never_appears(
    cast: Actors, published: Dataset, v1: TableVersion
) -> None:
    client = Client()
    before = everything(client)
    assert "中央保健センター" in before  # the preview and the CSV show v1's rows
    v2 = ingest_text(cast, published, "facilities", FACILITIES_V2)
    assert PERSONAL in {f["column"] for f in v2.reports["screen"]["flags"]}
    after = everything(client)
    assert PERSONAL not in after
    assert not any(n in after for n in NAMES)
    assert "南保健センター" not in after  # rows only v2 has
    res = resource(client)
    assert res["machidata_version"] == v1.number
    found = client.get("/api/3/action/package_search", {"q": "保健"}).json()["result"]["results"]
    assert [r["machidata_version"] for r in found[0]["resources"]] == [v1.number]  # the batch path too
    shown = client.get("/api/3/action/resource_show", {"id": res["id"]}).json()["result"]
    assert shown["machidata_version"] == v1.number
    r = client.get("/open/datasets/hoken-center/facilities.csv")
    body = b"".join(r.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert {"施設名", "区", "定員"} <= set(header)
    assert PERSONAL not in header


def test_withdrawn_dataset_disappears_from_every_action_at_once(cast: Actors, published: Dataset) -> None:
    client = Client()
    res_id = resource(client)["id"]
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert client.get("/api/3/action/package_list").json()["result"] == []
    assert client.get("/api/3/action/package_search").json()["result"]["count"] == 0
    assert client.get("/api/3/action/package_show", {"id": "hoken-center"}).status_code == 404
    assert client.get("/api/3/action/resource_show", {"id": res_id}).status_code == 404
    assert client.get("/api/3/action/organization_list").json()["result"] == []
    assert client.get("/api/3/action/group_list").json()["result"] == []
    assert client.get("/api/3/action/tag_list").json()["result"] == []
    assert client.get("/open/datasets/hoken-center/").status_code == 404
    assert client.get("/open/datasets/hoken-center/facilities.csv").status_code == 404
    assert "保健センター一覧" not in client.get("/open/search/").content.decode()


def test_internal_dataset_never_appears(cast: Actors, published: Dataset) -> None:
    internal = make_dataset(
        cast.org.health_div, title="庁内専用の台帳", classification="internal", slug="naibu-daicho",
        keywords=["内部"],
    )  # fmt: skip
    ingest_text(cast, internal, "ledger", "項目,値\n内部の値,1\n")
    client = Client()
    text = everything(client)
    assert "庁内専用の台帳" not in text
    assert "naibu-daicho" not in text
    assert client.get("/api/3/action/package_show", {"id": "naibu-daicho"}).status_code == 404
    assert client.get("/open/datasets/naibu-daicho/").status_code == 404
    assert client.get("/open/datasets/naibu-daicho/ledger.csv").status_code == 404
    # a staff session does not widen what the public surfaces show
    client.force_login(cast.users["owner_editor"])
    assert client.get("/api/3/action/package_show", {"id": "naibu-daicho"}).status_code == 404
    assert client.get("/open/datasets/naibu-daicho/").status_code == 404
