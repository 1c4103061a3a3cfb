"""A Frictionless Data Package per public dataset, accepted by ``frictionless validate`` with its CSVs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors
from machidata.publish.tests.conftest import FACILITIES_V2, ingest_text

frictionless = pytest.importorskip("frictionless")

pytestmark = pytest.mark.django_db(transaction=True)


def test_datapackage_validates_with_its_csvs(
    cast: Actors, published: Dataset, v1: TableVersion, tmp_path: Path
) -> None:
    ingest_text(cast, published, "facilities", FACILITIES_V2)  # a later version, not approved
    client = Client()
    r = client.get("/open/datasets/hoken-center/datapackage.json")
    assert r.status_code == 200
    descriptor = r.json()
    assert descriptor["licenses"][0]["name"] == "cc-by-4.0"
    assert (
        descriptor["id"]
        == client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"]["id"]
    )
    (resource,) = descriptor["resources"]
    assert resource["path"] == "facilities.csv"
    names = [f["name"] for f in resource["schema"]["fields"]]
    assert "担当者氏名" not in names  # the approved version's columns
    assert {"施設名": "string", "定員": "integer"}.items() <= {
        f["name"]: f["type"] for f in resource["schema"]["fields"]
    }.items()
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    csv = client.get("/open/datasets/hoken-center/facilities.csv")
    (tmp_path / "facilities.csv").write_bytes(b"".join(csv.streaming_content))  # type: ignore[attr-defined]
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["type", "message"])
    assert report.tasks[0].stats["rows"] == 3
    assert Client().get("/open/datasets/nothing/datapackage.json").status_code == 404
