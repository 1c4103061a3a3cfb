"""EBPM evaluation pages and API: who reads and writes, Japanese errors, the 査定 view, its XLSX/CSV round trip."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from openpyxl import load_workbook

from machidata.access.policy import Actor
from machidata.analysis.models import Analysis
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.ebpm import services, services_evaluations, services_indicators
from machidata.ebpm.exports import HEADERS
from machidata.ebpm.models import Evaluation, EvaluationPlan, Indicator, PlanItem
from machidata.ebpm.tests.conftest import as_actor
from machidata.ebpm.tests.test_services_indicators import TIMES, _by_fiscal_year

pytestmark = pytest.mark.django_db
READERS = {"staff": 200, "owner_viewer": 200, "owner_editor": 200, "other_editor": 200, "admin": 200}
J = "application/json"


@pytest.fixture
def evaluated(actors: Actors, modelled: PlanItem, editor: Actor) -> Evaluation:
    unit = actors.org.health_div.pk
    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2024, kind="settlement", amount_yen=900_000
    )
    sent = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n2",
        name="案内の送付数",
        kind="activity",
        responsible_unit_id=unit,
    )
    services_indicators.indicator_target_set(actor=editor, indicator=sent, fiscal_year=2024, value=250)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=sent, fiscal_year=2024, value=300, evidence="x"
    )
    return services_evaluations.evaluation_create(
        actor=editor, item=modelled, fiscal_year=2024, self_assessment="送付数は目標を上回った。", direction="expand",
        output_indicator_id=sent.pk, evidence_level=2, next_request_amount_yen=1_000_000, next_request_note="=1+1",
    )  # fmt: skip


def test_pages_read_by_all_staff_written_by_owners(
    actors: Actors, modelled: PlanItem, evaluated: Evaluation
) -> None:
    check_statuses(
        actors, lambda c: c.get(f"/ebpm/evaluations/{evaluated.pk}/"), {**READERS, "anonymous": 302}
    )
    check_statuses(actors, lambda c: c.get("/ebpm/review/"), {**READERS, "anonymous": 302})
    writers = {
        "staff": 403,
        "owner_viewer": 403,
        "other_editor": 403,
        "owner_editor": 200,
        "admin": 200,
        "anonymous": 302,
    }
    check_statuses(actors, lambda c: c.get(f"/ebpm/{modelled.pk}/evaluations/new/"), writers)
    check_statuses(actors, lambda c: c.get(f"/ebpm/evaluations/{evaluated.pk}/edit/"), writers)
    page = actors.client("staff").get(f"/ebpm/evaluations/{evaluated.pk}/").content.decode()
    assert "送付数は目標を上回った。" in page
    assert "3,000円" in page  # 900,000 ÷ 300
    assert "1/1指標が目標を達成" in page
    assert "拡充" in page
    assert "評価を直す" not in page
    item_page = actors.client("owner_editor").get(f"/ebpm/{modelled.pk}/").content.decode()
    assert "この事業を評価する" in item_page
    assert "効果検証の計画" in item_page
    assert "この事業を評価する" not in actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()


def test_create_and_edit_through_the_form(actors: Actors, modelled: PlanItem, evaluated: Evaluation) -> None:
    client = actors.client("owner_editor")
    r = client.post(
        f"/ebpm/{modelled.pk}/evaluations/new/",
        {"fiscal_year": "2024", "self_assessment": "x", "direction": "continue"},
    )
    assert r.status_code == 400
    assert "2024年度の評価はすでにあります" in r.content.decode()
    r = client.post(
        f"/ebpm/{modelled.pk}/evaluations/new/",
        {
            "fiscal_year": "令和5年度",
            "self_assessment": "初年度",
            "direction": "improve",
            "next_request_amount_yen": "-1",
        },
    )
    assert r.status_code == 400
    assert "マイナスの値" in r.content.decode()
    r = client.post(
        f"/ebpm/{modelled.pk}/evaluations/new/",
        {"fiscal_year": "令和5年度", "self_assessment": "初年度", "direction": "improve"},
    )
    assert r.status_code == 302
    created = Evaluation.objects.get(item=modelled, fiscal_year=2023)
    assert created.direction == "improve"
    r = client.post(
        f"/ebpm/evaluations/{created.pk}/edit/",
        {"lock_version": "0", "self_assessment": "直した", "direction": "reduce"},
    )
    assert r.status_code == 302
    created.refresh_from_db()
    assert (created.self_assessment, created.direction) == ("直した", "reduce")
    stale = client.post(
        f"/ebpm/evaluations/{created.pk}/edit/",
        {"lock_version": "0", "self_assessment": "y", "direction": "reduce"},
    )
    assert stale.status_code == 400
    assert "ほかの人が先に変更しました" in stale.content.decode()


def test_plans_on_the_item_page(actors: Actors, modelled: PlanItem, evaluated: Evaluation) -> None:
    sent = Indicator.objects.get(name="案内の送付数")
    body = {"indicator_id": sent.pk, "design": "its", "fiscal_year": "2026", "timing": "決算後"}
    assert actors.client("staff").post(f"/ebpm/{modelled.pk}/plans/", body).status_code == 403
    r = actors.client("owner_editor").post(f"/ebpm/{modelled.pk}/plans/", body)
    assert r.status_code == 302
    plan = EvaluationPlan.objects.get()
    page = actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()
    assert "中断時系列分析（ITS）" in page
    assert "決算後" in page
    assert actors.client("other_editor").post(f"/ebpm/plans/{plan.pk}/remove/").status_code == 403
    assert actors.client("owner_editor").post(f"/ebpm/plans/{plan.pk}/remove/").status_code == 302
    assert not EvaluationPlan.objects.exists()


def test_review_page_filters_sorts_and_paginates(
    actors: Actors, modelled: PlanItem, evaluated: Evaluation, settings: Any
) -> None:
    settings.MACHIDATA_PAGE_SIZE = 2
    editor = as_actor(actors, "owner_editor")
    for n in range(3):
        services.plan_item_create(
            actor=editor,
            level="project",
            name=f"未評価の事業{n}",
            unit_id=actors.org.health_div.pk,
            code=f"9-{n}",
        )
    client = actors.client("staff")
    page = client.get("/ebpm/review/?year=2024").content.decode()
    assert "4件" in page
    assert "1 / 2 ページ" in page
    assert "特定健診受診勧奨事業" in page  # code 3-2-1 sorts first
    assert "未評価の事業2" not in page
    second = client.get("/ebpm/review/?year=2024&page=2").content.decode()
    assert "未評価の事業2" in second
    expand = client.get("/ebpm/review/?year=2024&direction=expand").content.decode()
    assert "1件" in expand
    assert "特定健診受診勧奨事業" in expand
    desc = client.get("/ebpm/review/?year=2024&sort=code&order=desc").content.decode()
    assert "未評価の事業2" in desc
    assert "特定健診受診勧奨事業" not in desc
    other_unit = client.get(f"/ebpm/review/?year=2024&unit={actors.org.fire_div.pk}").content.decode()
    assert "この条件の事業はありません" in other_unit


def test_xlsx_and_csv_round_trip(actors: Actors, modelled: PlanItem, evaluated: Evaluation) -> None:
    client = actors.client("staff")
    r = client.get("/ebpm/review.xlsx?year=2024")
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="satei-2024.xlsx"'
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    assert values[2] == HEADERS
    row = dict(zip(HEADERS, values[3], strict=True))
    evaluated.refresh_from_db()
    assert row["事業名"] == modelled.name
    assert row["番号"] == modelled.code
    assert row["所管課"] == actors.org.health_div.name
    assert row["決算額（円）"] == 900_000
    assert row["アウトプット単位コスト（円）"] == 900_000 // 300
    assert row["アウトプット指標"] == "案内の送付数"
    assert row["成果単位コスト（円）"] == "成果指標が選ばれていないため計算できません。"
    assert row["今後の方向性"] == "拡充"
    assert row["根拠の強さ"] == "レベル2（単純な前後比較）"
    assert row["次の予算要求額（円）"] == evaluated.next_request_amount_yen
    assert row["自己評価"] == evaluated.self_assessment
    assert row["次の予算要求への反映"] == "'=1+1"  # never a formula
    assert row["平均達成率（%）"] == 120.0
    r = client.get("/ebpm/review.csv?year=2024")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    csv_row = dict(zip(HEADERS, rows[1], strict=True))
    assert csv_row["事業名"] == modelled.name
    assert csv_row["アウトプット単位コスト（円）"] == "3000"
    assert csv_row["今後の方向性"] == "拡充"
    assert list(
        AuditEvent.objects.filter(action="ebpm.review.export")
        .order_by("id")
        .values_list("changes__format", flat=True)
    ) == [
        "xlsx",
        "csv",
    ]
    assert actors.client("anonymous").get("/ebpm/review.csv?year=2024").status_code == 302


def test_api(actors: Actors, modelled: PlanItem, evaluated: Evaluation) -> None:
    base = "/api/v1/ebpm"
    ok = {**READERS, "anonymous": 401}
    check_statuses(actors, lambda c: c.get(f"{base}/evaluations"), ok)
    check_statuses(actors, lambda c: c.get(f"{base}/evaluations/{evaluated.pk}"), ok)
    check_statuses(actors, lambda c: c.get(f"{base}/review?fiscal_year=2024"), ok)
    data = actors.client("staff").get(f"{base}/evaluations/{evaluated.pk}").json()
    assert data["cost_per_output"]["value_yen"] == 3000
    assert data["cost_per_outcome"]["value_yen"] is None
    assert data["achievement"] == "1/1指標が目標を達成"
    listed = actors.client("staff").get(f"{base}/evaluations?fiscal_year=2024").json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == evaluated.pk
    assert actors.client("staff").get(f"{base}/evaluations?direction=keep").status_code == 400
    assert actors.client("staff").get(f"{base}/evaluations?fiscal_year=99999").status_code == 422
    body = {"fiscal_year": 2023, "self_assessment": "初年度", "direction": "continue"}
    refused = {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403}
    check_statuses(
        actors, lambda c: c.post(f"{base}/items/{modelled.pk}/evaluations", body, content_type=J), refused
    )
    client = actors.client("owner_editor")
    r = client.post(f"{base}/items/{modelled.pk}/evaluations", body, content_type=J)
    assert r.status_code == 201, r.content
    again = client.post(f"{base}/items/{modelled.pk}/evaluations", body, content_type=J)
    assert again.status_code == 409
    assert "すでにあります" in again.json()["detail"]
    bad = client.post(
        f"{base}/items/{modelled.pk}/evaluations", {**body, "fiscal_year": "来年"}, content_type=J
    )
    assert bad.status_code == 400
    assert "年度として読めません" in bad.json()["detail"]
    new_id = r.json()["id"]
    put = {
        "lock_version": 0,
        "self_assessment": "直した",
        "direction": "abolish",
        "next_request_amount_yen": 0,
    }
    check_statuses(actors, lambda c: c.put(f"{base}/evaluations/{new_id}", put, content_type=J), refused)
    r = client.put(f"{base}/evaluations/{new_id}", put, content_type=J)
    assert r.status_code == 200
    assert r.json()["direction"] == "abolish"
    assert r.json()["next_request_amount_yen"] == 0
    assert client.put(f"{base}/evaluations/{new_id}", put, content_type=J).status_code == 409
    review = actors.client("staff").get(f"{base}/review?fiscal_year=2024&sort=settlement&order=desc").json()
    assert review["items"][0]["item_id"] == modelled.pk
    assert review["items"][0]["direction_label"] == "拡充"
    assert actors.client("staff").get(f"{base}/review?fiscal_year=2024&sort=nothing").status_code == 400
    assert actors.client("staff").get(f"{base}/review").status_code == 422


@pytest.mark.django_db(transaction=True)
def test_cost_from_a_restricted_table_is_withheld(
    actors: Actors, modelled: PlanItem, restricted_count: Any
) -> None:
    """決算 ÷ cost would give a withheld count back: those who may not read the table see neither."""
    editor = as_actor(actors, "owner_editor")
    counted = restricted_count
    n = _by_fiscal_year(TIMES)[2024]
    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2024, kind="settlement", amount_yen=n * 1000
    )
    ev = services_evaluations.evaluation_create(
        actor=editor, item=modelled, fiscal_year=2024, self_assessment="x", direction="continue",
        output_indicator_id=counted.pk,
    )  # fmt: skip
    for name, sees in (("owner_viewer", True), ("admin", True), ("staff", False), ("other_editor", False)):
        client = actors.client(name)
        page = client.get(f"/ebpm/evaluations/{ev.pk}/").content.decode()
        assert ("1,000円" in page) is sees, name
        assert ("集計元の表を読めないため表示しません" in page) is not sees, name
        api = client.get(f"/api/v1/ebpm/evaluations/{ev.pk}").json()
        assert api["cost_per_output"]["value_yen"] == (1000 if sees else None), name
        assert api["achievements"][0]["actual"] == (float(n) if sees else None), name
        assert api["achievements"][0]["withheld"] is not sees, name
        ws = load_workbook(io.BytesIO(client.get("/ebpm/review.xlsx?year=2024").content)).active
        assert ws is not None
        row = dict(zip(HEADERS, next(ws.iter_rows(min_row=4, values_only=True)), strict=True))
        assert (row["アウトプット単位コスト（円）"] == 1000) is sees, name


def test_item_list_pages_keep_the_filters(actors: Actors, modelled: PlanItem, settings: Any) -> None:
    settings.MACHIDATA_PAGE_SIZE = 1
    editor = as_actor(actors, "owner_editor")
    services.plan_item_create(actor=editor, level="project", name="二つ目", unit_id=actors.org.health_div.pk)
    page = (
        actors.client("staff").get(f"/ebpm/?level=project&unit={actors.org.health_div.pk}").content.decode()
    )
    assert f"?level=project&amp;unit={actors.org.health_div.pk}&amp;page=2" in page


def test_plans_api(actors: Actors, modelled: PlanItem, evaluated: Evaluation) -> None:
    url = f"/api/v1/ebpm/items/{modelled.pk}/evaluation-plans"
    sent = Indicator.objects.get(name="案内の送付数")
    body = {"indicator_id": sent.pk, "design": "rct", "fiscal_year": "令和8年度", "timing": "年度末"}
    check_statuses(
        actors,
        lambda c: c.post(url, body, content_type=J),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    r = actors.client("owner_editor").post(url, body, content_type=J)
    assert r.status_code == 201, r.content
    assert r.json()["fiscal_year"] == 2026
    assert r.json()["design_label"] == "無作為化比較（RCT）"
    bad = actors.client("owner_editor").post(url, {**body, "design": "guess"}, content_type=J)
    assert bad.status_code == 400
    assert "検証の方法「guess」は選べません" in bad.json()["detail"]
    check_statuses(actors, lambda c: c.get(url), {**READERS, "anonymous": 401})
    listed = actors.client("staff").get(url).json()
    assert [(p["indicator_id"], p["design"]) for p in listed] == [(sent.pk, "rct")]


def test_the_analysis_link_only_for_those_who_may_open_it(actors: Actors, modelled: PlanItem) -> None:
    dataset = make_dataset(actors.org.health_div, slug="a", title="受診記録")
    table = Table.objects.create(dataset=dataset, name="t", title="t", storage_key=uuid.uuid4().hex)
    analysis = Analysis.objects.create(
        title="効果", design="did_2x2", owner=actors.users["owner_editor"], table=table,
        result={"evidence_level": 3}, status="done",
    )  # fmt: skip
    ev = services_evaluations.evaluation_create(
        actor=as_actor(actors, "owner_editor"), item=modelled, fiscal_year=2024, self_assessment="x",
        direction="continue", analysis_id=analysis.pk,
    )  # fmt: skip
    link = f'href="/analysis/{analysis.pk}/"'
    mine = actors.client("owner_editor").get(f"/ebpm/evaluations/{ev.pk}/").content.decode()
    assert link in mine
    assert "レベル3（長い時系列の準実験）" in mine
    theirs = actors.client("staff").get(f"/ebpm/evaluations/{ev.pk}/").content.decode()
    assert link not in theirs
    assert "レベル3（長い時系列の準実験）" in theirs
    form = actors.client("owner_editor").get(f"/ebpm/evaluations/{ev.pk}/edit/").content.decode()
    assert f'<option value="{analysis.pk}" selected>' in form
