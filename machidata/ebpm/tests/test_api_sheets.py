"""EBPM API beyond records: sheets (evaluation sheet round trip with the page's errors, PPTX, SVG, RS pair,
the 査定 export), the data calendar, the KPI board, item changes, logic model copy and examples, and the
indicator and evaluation-plan operations; statuses by actor."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pptx import Presentation

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.ebpm import services, services_evaluations, services_indicators
from machidata.ebpm.models import Indicator, PlanItem
from machidata.ebpm.tests.test_services_indicators import QUERY, RENAMED, TIMES, _by_fiscal_year, _write

pytestmark = pytest.mark.django_db
BASE = "/api/v1/ebpm"
J = "application/json"
READERS = {
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
    "anonymous": 401,
}
WRITERS_ONLY = {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403}


@pytest.fixture
def sent(actors: Actors, modelled: PlanItem, editor: Actor) -> Indicator:
    ind = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="案内の送付数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, unit_label="通",
    )  # fmt: skip
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value=250)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2024, value=300, evidence="発送記録"
    )
    return ind


@pytest.fixture
def evaluation(modelled: PlanItem, sent: Indicator, editor: Actor) -> Any:
    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2024, kind="settlement", amount_yen=900_000
    )
    return services_evaluations.evaluation_create(
        actor=editor, item=modelled, fiscal_year=2024, self_assessment="送付数は目標を上回った。",
        direction="expand", output_indicator_id=sent.pk, evidence_level=2,
    )  # fmt: skip


def _cells() -> dict[str, str]:
    from machidata.ebpm.sheets import default_template

    rows = default_template()["_mapping"].iter_rows(min_row=2, values_only=True)
    return {str(k): str(c) for k, c, _ in rows}


def _upload(client: Any, item: PlanItem, book: Any) -> Any:
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "sheet.xlsx"
    return client.post(f"{BASE}/items/{item.pk}/evaluation-sheet", {"file": out})


def test_evaluation_sheet_round_trip_through_the_api(
    actors: Actors, modelled: PlanItem, evaluation: Any
) -> None:
    url = f"{BASE}/items/{modelled.pk}/evaluation-sheet.xlsx?fiscal_year=2024"
    check_statuses(actors, lambda c: c.get(url), READERS)
    cells = _cells()
    client = actors.client("owner_editor")
    book = load_workbook(io.BytesIO(client.get(url).content))
    ws = book["事業評価シート"]
    assert ws[cells["self_assessment"]].value == "送付数は目標を上回った。"
    ws[cells["direction"]] = "縮小"
    ws[cells["self_assessment"]] = "APIで直した自己評価"
    check_statuses(actors, lambda c: _upload(c, modelled, book), WRITERS_ONLY)
    evaluation.refresh_from_db()
    assert evaluation.direction == "expand"  # refused uploads changed nothing
    r = _upload(client, modelled, book)
    assert r.status_code == 200, r.content
    assert r.json() == {
        "created": False,
        "evaluation_id": evaluation.pk,
        "fiscal_year": 2024,
        "lock_version": 1,
    }
    evaluation.refresh_from_db()
    assert (evaluation.direction, evaluation.self_assessment) == ("reduce", "APIで直した自己評価")
    # the same sheet again is stale: 409, like the page
    r = _upload(client, modelled, book)
    assert r.status_code == 409
    assert "ほかの人によって変更されています" in r.json()["detail"]
    # a cell that cannot be read: 400 naming the cell, nothing saved
    fresh = load_workbook(io.BytesIO(client.get(url).content))
    fresh["事業評価シート"][cells["fiscal_year"]] = "来年"
    r = _upload(client, modelled, fresh)
    assert r.status_code == 400
    assert f"{cells['fiscal_year']} の年度が読めません" in r.json()["detail"]
    # another layout: 400 naming the moved label
    moved = load_workbook(io.BytesIO(client.get(url).content))
    moved["事業評価シート"].insert_rows(2)
    r = _upload(client, modelled, moved)
    assert r.status_code == 400
    assert "様式が違います: A3 は「事業番号」のはずですが「」です" in r.json()["detail"]
    junk = io.BytesIO(b"not a workbook")
    junk.name = "x.xlsx"
    r = client.post(f"{BASE}/items/{modelled.pk}/evaluation-sheet", {"file": junk})
    assert r.status_code == 400
    assert "Excel（.xlsx）ファイルとして読めませんでした" in r.json()["detail"]
    # a sheet of a new 年度 creates that year's evaluation: 201
    fresh = load_workbook(io.BytesIO(client.get(url).content))
    fresh["事業評価シート"][cells["fiscal_year"]] = "令和5年度"
    fresh["事業評価シート"][cells["marker"]] = None
    r = _upload(client, modelled, fresh)
    assert r.status_code == 201, r.content
    assert modelled.evaluations.get(fiscal_year=2023).pk == r.json()["evaluation_id"]
    assert AuditEvent.objects.filter(action="ebpm.evaluation.import").count() == 2


def test_sheet_template_and_bad_years(actors: Actors, modelled: PlanItem) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/evaluation-sheet-template.xlsx"), READERS)
    book = load_workbook(
        io.BytesIO(actors.client("staff").get(f"{BASE}/evaluation-sheet-template.xlsx").content)
    )
    assert "_mapping" in book.sheetnames
    client = actors.client("staff")
    for year in ("1800", "20245", "令和"):
        r = client.get(f"{BASE}/items/{modelled.pk}/evaluation-sheet.xlsx?fiscal_year={year}")
        assert r.status_code == 422, year
    assert client.get(f"{BASE}/items/{modelled.parent_id}/evaluation-sheet.xlsx").status_code == 404  # a 施策


def test_pptx_svg_and_rs_pair(actors: Actors, modelled: PlanItem, sent: Indicator) -> None:
    for path in ("logic-model.pptx", "logic-model.svg", "rs-sheet.zip"):
        check_statuses(actors, lambda c, p=path: c.get(f"{BASE}/items/{modelled.pk}/{p}"), READERS)
    client = actors.client("staff")
    deck = Presentation(io.BytesIO(client.get(f"{BASE}/items/{modelled.pk}/logic-model.pptx").content))
    assert len(deck.slides) == 2
    svg = client.get(f"{BASE}/items/{modelled.pk}/logic-model.svg")
    assert svg["Content-Type"].startswith("image/svg+xml")
    assert "default-src 'none'" in svg["Content-Security-Policy"]
    assert "健診の案内を個別に送る" in svg.content.decode()
    assert client.get(f"{BASE}/items/{modelled.pk}/logic-model.svg?version=9").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"{BASE}/items/{modelled.pk}/rs-sheet.zip").content))
    names = archive.namelist()
    assert len(names) == 2
    first = next(n for n in names if "3-1" in n)
    rows = list(csv.reader(io.StringIO(archive.read(first).decode("utf-8-sig"))))
    assert any("案内の送付数" in row for row in rows)
    assert client.get(f"{BASE}/items/{modelled.parent_id}/logic-model.pptx").status_code in (400, 404)


def test_review_export_uses_the_same_rows(actors: Actors, modelled: PlanItem, evaluation: Any) -> None:
    url = f"{BASE}/review/export?fiscal_year=2024&format=csv"
    check_statuses(actors, lambda c: c.get(url), READERS)
    text = actors.client("staff").get(url).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert any(r and "特定健診受診勧奨事業" in r for r in rows)
    assert any("拡充" in r for r in rows)
    xlsx = actors.client("staff").get(
        f"{BASE}/review/export?fiscal_year=2024&format=xlsx&sort=name&order=desc"
    )
    values = [
        c for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True) for c in row
    ]
    assert "特定健診受診勧奨事業" in values
    client = actors.client("staff")
    assert client.get(f"{BASE}/review/export?fiscal_year=2024&sort=nope").status_code == 400
    assert client.get(f"{BASE}/review/export?fiscal_year=2024&direction=nope").status_code == 400
    assert client.get(f"{BASE}/review/export?fiscal_year=99999").status_code == 422
    assert client.get(f"{BASE}/review/export?fiscal_year=2024&format=pdf").status_code == 422
    assert AuditEvent.objects.filter(action="ebpm.review.export").count() >= 7


def test_calendar_and_schedule(actors: Actors, modelled: PlanItem, sent: Indicator) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/calendar"), READERS)
    url = f"{BASE}/indicators/{sent.pk}/schedule"
    check_statuses(actors, lambda c: c.put(url, {"data_month": 9}, content_type=J), WRITERS_ONLY)
    client = actors.client("owner_editor")
    r = client.put(url, {"data_month": 11}, content_type=J)  # November: after the October 予算要求
    assert r.status_code == 200, r.content
    assert r.json()["data_month"] == 11
    cal = client.get(f"{BASE}/calendar").json()
    assert cal["budget_request_month"] == 10
    assert [(row["indicator_id"], row["late"], row["label"]) for row in cal["rows"]] == [
        (sent.pk, True, "翌年度の11月")
    ]
    assert cal["late"] == 1
    assert client.put(url, {"data_month": 13}, content_type=J).status_code == 400
    client.put(url, {"data_month": 7}, content_type=J)
    assert client.get(f"{BASE}/calendar").json()["rows"][0]["late"] is False
    assert client.get(f"{BASE}/calendar?unit_id={actors.org.data_strategy.pk}").json()["rows"] == []


def test_strategy_board(actors: Actors) -> None:
    check_statuses(actors, lambda c: c.get(f"{BASE}/strategy"), READERS)
    rows = actors.client("staff").get(f"{BASE}/strategy").json()
    from machidata.ebpm.strategy import DEFINITIONS

    assert [r["key"] for r in rows] == [d.key for d in DEFINITIONS]
    catalog = next(r for r in rows if r["key"] == "catalog")
    assert catalog["live"] is True
    assert [c["fiscal_year"] for c in catalog["cells"]] == [2024, 2025, 2026, 2027]
    rules = next(r for r in rows if r["key"] == "rules")
    assert rules["live"] is False
    assert {c["shown"] for c in rules["cells"]} <= {"未測定", "—"}


def test_item_update_copy_and_examples(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    url = f"{BASE}/items/{modelled.pk}"
    lock = actors.client("staff").get(url).json()["lock_version"]
    body = {"lock_version": lock, "name": "特定健診受診勧奨事業（改）", "code": "3-2-1"}
    check_statuses(actors, lambda c: c.put(url, body, content_type=J), WRITERS_ONLY)
    client = actors.client("owner_editor")
    r = client.put(url, body, content_type=J)
    assert r.status_code == 200, r.content
    assert (r.json()["name"], r.json()["lock_version"]) == ("特定健診受診勧奨事業（改）", lock + 1)
    assert client.put(url, {**body, "name": "古い画面から"}, content_type=J).status_code == 409
    assert client.put(url, {**body, "lock_version": lock + 1, "name": ""}, content_type=J).status_code == 400
    # copy the logic model to a new 事業 (横展開)
    other = services.plan_item_create(
        actor=editor, level="project", name="歯科健診事業", unit_id=actors.org.health_div.pk,
        parent_id=modelled.parent_id,
    )  # fmt: skip
    copy_url = f"{url}/logic-model/copy"
    check_statuses(
        actors, lambda c: c.post(copy_url, {"target_item_id": other.pk}, content_type=J), WRITERS_ONLY
    )
    r = client.post(copy_url, {"target_item_id": other.pk}, content_type=J)
    assert r.status_code == 200, r.content
    assert (r.json()["item_id"], r.json()["version"]) == (other.pk, 1)
    assert next(n["statement"] for n in r.json()["document"]["nodes"]) == "健診の案内を個別に送る"
    assert client.post(copy_url, {"target_item_id": modelled.pk}, content_type=J).status_code == 400
    assert client.post(copy_url, {"target_item_id": 999999}, content_type=J).status_code == 404
    # the starter library
    examples = actors.client("staff").get(f"{BASE}/logic-model-examples").json()
    assert examples
    assert all(e["document"]["nodes"] for e in examples)
    ex_url = f"{BASE}/items/{other.pk}/logic-model/example"
    check_statuses(
        actors, lambda c: c.post(ex_url, {"key": examples[0]["key"]}, content_type=J), WRITERS_ONLY
    )
    r = client.post(ex_url, {"key": examples[0]["key"]}, content_type=J)
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2
    assert r.json()["document"]["nodes"] == examples[0]["document"]["nodes"]
    assert client.post(ex_url, {"key": "nope"}, content_type=J).status_code == 400


def test_indicator_removal_and_plan_removal(
    actors: Actors, modelled: PlanItem, sent: Indicator, editor: Actor
) -> None:
    plan = services_evaluations.evaluation_plan_add(
        actor=editor, item=modelled, indicator_id=sent.pk, design="before_after", fiscal_year=2025
    )
    plan_url = f"{BASE}/evaluation-plans/{plan.pk}"
    check_statuses(actors, lambda c: c.delete(plan_url), {**WRITERS_ONLY})
    client = actors.client("owner_editor")
    assert client.delete(plan_url).status_code == 204
    assert client.delete(plan_url).status_code == 404
    assert not modelled.evaluation_plans.exists()
    ind_url = f"{BASE}/indicators/{sent.pk}"
    check_statuses(actors, lambda c: c.delete(ind_url), {**WRITERS_ONLY})
    assert client.delete(ind_url).status_code == 204
    assert client.get(ind_url).status_code == 404
    assert (
        AuditEvent.objects.filter(action__in=["ebpm.indicator.remove", "ebpm.evaluation_plan.remove"]).count()
        == 2
    )


@pytest.mark.django_db(transaction=True)
def test_query_fix_and_recompute_through_the_api(
    actors: Actors, modelled: PlanItem, editor: Actor, settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    dataset = make_dataset(actors.org.health_div, slug="kyukyu", title="救急出動")
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    _write(table, TIMES)
    ind = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="出動件数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, source_kind="query", table_id=table.pk, query=QUERY,
    )  # fmt: skip
    client = actors.client("owner_editor")
    recompute = f"{BASE}/indicators/{ind.pk}/recompute"
    check_statuses(actors, lambda c: c.post(recompute), {**WRITERS_ONLY, "owner_editor": 200, "admin": 200})
    # a renamed column: recompute answers 要確認 with the reason instead of failing
    _write(table, TIMES, RENAMED)
    r = client.post(recompute)
    assert r.status_code == 200
    assert r.json()["status"] == "check"
    assert "覚知日時" in r.json()["problem"]
    # fix the query through the API: computed again from the newest version
    fixed = {
        **QUERY,
        "query": {
            **QUERY["query"],
            "group_by": [{"column": "受付日時", "grain": "fiscal_year", "as": "年度"}],
        },
    }
    url = f"{BASE}/indicators/{ind.pk}/query"
    r = client.put(url, {"table_id": table.pk, **fixed}, content_type=J)
    assert r.status_code == 200, r.content
    assert r.json()["status"] != "check"
    actuals = client.get(f"{BASE}/indicators/{ind.pk}/actuals").json()
    assert {a["fiscal_year"]: a["value"] for a in actuals} == {
        y: float(n) for y, n in _by_fiscal_year(TIMES).items()
    }
    r = client.put(url, {"table_id": table.pk, **QUERY}, content_type=J)  # the old column: refused
    assert r.status_code == 400
    assert (
        actors.client("other_editor").put(url, {"table_id": table.pk, **fixed}, content_type=J).status_code
        == 403
    )
