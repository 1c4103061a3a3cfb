"""仮名加工・匿名加工 pages and API: who sees what, the upload, and the 加工方法等情報 for the officer only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.catalog.models import Table
from machidata.core.testing import make_token
from machidata.deid.models import DeidPlan, DeidRun, RunStatus
from machidata.deid.services import plan_create
from machidata.deid.tests.conftest import HEADER, PSEUDO_PLAN, as_actor, jumin_rows, to_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(actors: Any, deid_world: dict[str, Any]) -> DeidPlan:
    return plan_create(actor=as_actor(actors, "owner_editor"), dataset=deid_world["pseudo"], **PSEUDO_PLAN)


def _upload(client: Client, plan: DeidPlan, data: bytes) -> Any:
    return client.post(
        reverse("deid:run_upload", args=[plan.pk]),
        {"file": SimpleUploadedFile("jumin.csv", data, content_type="text/csv"), "as_of": "2026-04-01"},
    )


def test_index_lists_plans_to_the_owning_unit_and_the_officer_only(actors, plan):
    url = reverse("deid:index")
    for name in ("owner_editor", "owner_viewer", "officer"):
        assert plan.title in actors.client(name).get(url).content.decode(), name
    for name in ("staff", "other_editor", "admin"):
        page = actors.client(name).get(url)
        assert page.status_code == 200
        assert plan.title not in page.content.decode(), name
        assert "見られる加工の設定はまだありません" in page.content.decode()
    assert Client().get(url).status_code == 302


def test_plan_page_upload_stores_the_pseudonymised_table(actors, plan):
    client = actors.client("owner_editor")
    page = client.get(reverse("deid:plan", args=[plan.pk]))
    assert "加工して取り込む" in page.content.decode()
    response = _upload(client, plan, to_csv(jumin_rows(5)))
    run = DeidRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("deid:run", args=[run.pk])
    assert run.status == RunStatus.DONE
    assert Table.objects.get(dataset=plan.dataset, name="jumin").current_version.rows == 500
    # The viewer of the owning 課 sees the plan but may not upload.
    viewer = actors.client("owner_viewer")
    assert "加工して取り込む" not in viewer.get(reverse("deid:plan", args=[plan.pk])).content.decode()
    assert _upload(viewer, plan, to_csv(jumin_rows(5))).status_code == 404


def test_refused_upload_shows_why_and_stores_nothing(actors, plan):
    client = actors.client("owner_editor")
    response = _upload(client, plan, to_csv(jumin_rows(5), ["番号", *HEADER[1:]]))
    run = DeidRun.objects.get()
    assert run.status == RunStatus.REFUSED
    page = client.get(response["Location"]).content.decode()
    assert "宣言した列がファイルにありません: 宛名番号" in page
    assert not Table.objects.filter(dataset=plan.dataset).exists()


def test_processing_record_is_shown_to_the_privacy_officer_only(actors, plan):
    _upload(actors.client("owner_editor"), plan, to_csv(jumin_rows(5)))
    run = DeidRun.objects.get()
    url = reverse("deid:run", args=[run.pk])
    officer = actors.client("officer").get(url).content.decode()
    assert "加工方法等情報" in officer
    assert run.key_id in officer
    for name in ("owner_editor", "owner_viewer"):
        page = actors.client(name).get(url).content.decode()
        assert "k-匿名性" in page
        assert run.key_id not in page
        assert "加工方法等情報" not in page
    for name in ("staff", "admin", "other_editor"):
        assert actors.client(name).get(url).status_code == 404


def test_new_plan_page(actors, deid_world):
    client = actors.client("owner_editor")
    url = reverse("deid:plan_new")
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "dataset": deid_world["pseudo"].slug, "title": "国保（毎月）", "table_name": "kokuho",
        "identifiers": "宛名番号\n氏名", "quasi": "生年月日: age5\n住所: chome", "drop": "被保険者番号",
        "k": "3", "source_dataset": deid_world["source"].slug,
    })  # fmt: skip
    plan = DeidPlan.objects.get(table_name="kokuho")
    assert response["Location"] == reverse("deid:plan", args=[plan.pk])
    assert plan.quasi == [{"column": "生年月日", "method": "age5"}, {"column": "住所", "method": "chome"}]
    assert plan.source_dataset == deid_world["source"]
    bad = client.post(url, {"dataset": deid_world["pseudo"].slug, "title": "x", "identifiers": "氏名",
                            "quasi": "住所: hash", "k": "3"})  # fmt: skip
    assert "選べません" in bad.content.decode()
    # Nobody without a 仮名加工 / 匿名加工 dataset to edit reaches the form.
    assert actors.client("staff").get(url).status_code == 404


def test_api_plans_and_runs(actors, deid_world, plan):
    owner = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['owner_editor'])}")
    staff = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['staff'])}")
    officer = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['officer'])}")
    assert [p["id"] for p in owner.get("/api/v1/deid/plans").json()["items"]] == [plan.pk]
    assert staff.get("/api/v1/deid/plans").json()["items"] == []
    assert staff.get(f"/api/v1/deid/plans/{plan.pk}").status_code == 404
    assert Client().get("/api/v1/deid/plans").status_code == 401
    body = {"dataset": deid_world["anon"].slug, "title": "匿名", "identifiers": ["氏名"],
            "quasi": [{"column": "住所", "method": "ward"}], "top_code": [{"column": "所得", "cap": 1e7}], "k": 10}  # fmt: skip
    created = owner.post("/api/v1/deid/plans", json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    assert created.json()["kind"] == "anonymised"
    refused = staff.post("/api/v1/deid/plans", json.dumps(body), content_type="application/json")
    assert refused.status_code in (403, 404)
    _upload(actors.client("owner_editor"), plan, to_csv(jumin_rows(5)))
    run = DeidRun.objects.get()
    assert owner.get(f"/api/v1/deid/plans/{plan.pk}/runs").json()["items"][0]["k_found"] == 5
    assert owner.get(f"/api/v1/deid/runs/{run.pk}").json()["record"] is None
    assert officer.get(f"/api/v1/deid/runs/{run.pk}").json()["record"]["key_id"] == run.key_id
