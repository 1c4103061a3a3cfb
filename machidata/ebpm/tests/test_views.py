"""EBPM pages: who sees and changes what, Japanese errors on the page, the embedded and downloadable SVG."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.ebpm import selectors, services, services_indicators
from machidata.ebpm.models import BudgetLine, LogicModelVersion, PlanItem
from machidata.ebpm.tests.conftest import as_actor
from machidata.ebpm.tests.test_services_indicators import TIMES, _by_fiscal_year

pytestmark = pytest.mark.django_db
READERS = {"staff": 200, "owner_viewer": 200, "owner_editor": 200, "other_editor": 200, "admin": 200}


def test_list_and_detail_for_all_staff(actors: Actors, modelled: PlanItem) -> None:
    check_statuses(actors, lambda c: c.get("/ebpm/"), {**READERS, "anonymous": 302})
    check_statuses(actors, lambda c: c.get(f"/ebpm/{modelled.pk}/"), {**READERS, "anonymous": 302})
    page = actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()
    assert "<svg" in page
    assert "特定健診の受診率が上がる" in page
    assert "検証指標がありません" in page  # the outcome warning
    assert "ロジックモデルを編集する" not in page  # staff of another 課 only read
    assert (
        "ロジックモデルを編集する"
        in actors.client("owner_editor").get(f"/ebpm/{modelled.pk}/").content.decode()
    )


def test_list_filters(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("staff")
    assert "特定健診受診勧奨事業" in client.get(f"/ebpm/?unit={actors.org.health_div.pk}").content.decode()
    assert "特定健診受診勧奨事業" not in client.get(f"/ebpm/?unit={actors.org.fire_div.pk}").content.decode()
    assert "特定健診受診勧奨事業" not in client.get("/ebpm/?stage=running").content.decode()
    assert "健康づくりの推進" in client.get("/ebpm/?level=all").content.decode()


def test_editor_page_only_for_editors(actors: Actors, modelled: PlanItem) -> None:
    url = f"/ebpm/{modelled.pk}/logic-model/"
    check_statuses(
        actors,
        lambda c: c.get(url),
        {
            "anonymous": 302,
            "staff": 403,
            "owner_viewer": 403,
            "other_editor": 403,
            "owner_editor": 200,
            "admin": 200,
        },
    )
    check_statuses(
        actors,
        lambda c: c.post(url, {"op": "node", "stage": "input", "statement": "予算"}),
        {"anonymous": 302, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    assert LogicModelVersion.objects.count() == 1


def test_editor_adds_node_and_link_and_shows_errors(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    url = f"/ebpm/{modelled.pk}/logic-model/"
    r = client.post(
        url,
        {
            "op": "node",
            "stage": "long",
            "statement": "健康寿命が延びる",
            "number": "4",
            "expected_number": "1",
        },
    )
    assert r.status_code == 302
    r = client.post(
        url,
        {
            "op": "link",
            "source": "n3",
            "target": "n4",
            "rationale": "早期発見",
            "evidence": "https://example.jp/report\n国保データ",
            "expected_number": "2",
        },
    )
    assert r.status_code == 302
    link = modelled.logic_model.versions.get(number=3).document["links"][-1]
    assert [e["kind"] for e in link["evidence"]] == ["url", "document"]
    r = client.post(url, {"op": "node", "stage": "heaven", "statement": "x", "expected_number": "3"})
    assert r.status_code == 400
    assert "段階「heaven」はこのロジックモデルの段階にありません" in r.content.decode()
    r = client.post(url, {"op": "node", "stage": "input", "statement": "x", "expected_number": "1"})
    assert "ほかの人が先に保存しました" in r.content.decode()
    history = client.get(f"/ebpm/{modelled.pk}/logic-model/history/?a=2&b=3").content.decode()
    assert "第2版と第3版の違い" in history
    assert "早期発見" in history


def test_svg_download_is_escaped(actors: Actors, modelled: PlanItem) -> None:
    services.node_save(
        actor=as_actor(actors, "owner_editor"),
        item=modelled,
        stage="input",
        statement="<script>alert(1)</script>",
    )
    r = actors.client("staff").get(f"/ebpm/{modelled.pk}/logic-model.svg")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("image/svg+xml")
    body = r.content.decode()
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    old = actors.client("staff").get(f"/ebpm/{modelled.pk}/logic-model.svg?version=1").content.decode()
    assert "script" not in old
    page = actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page


def test_budget_form_errors_in_japanese(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    r = client.post(
        f"/ebpm/{modelled.pk}/budget/",
        {"fiscal_year": "3000", "kind": "initial", "amount_yen": "100"},
        follow=True,
    )
    assert "ありえない年度" in r.content.decode()
    r = client.post(
        f"/ebpm/{modelled.pk}/budget/",
        {"fiscal_year": "2025", "kind": "initial", "amount_yen": "-1"},
        follow=True,
    )
    assert "マイナスの値" in r.content.decode()
    assert not BudgetLine.objects.exists()
    client.post(
        f"/ebpm/{modelled.pk}/budget/",
        {"fiscal_year": "令和7年度", "kind": "initial", "amount_yen": "2,500,000"},
    )
    client.post(
        f"/ebpm/{modelled.pk}/budget/",
        {"fiscal_year": "2025", "kind": "supplementary", "amount_yen": "500000"},
    )
    client.post(
        f"/ebpm/{modelled.pk}/budget/", {"fiscal_year": "2025", "kind": "settlement", "amount_yen": "2700000"}
    )
    page = client.get(f"/ebpm/{modelled.pk}/").content.decode()
    assert "2,500,000円" in page
    assert "3,000,000円" in page  # 予算現額 = 当初 + 補正
    assert "90.0%" in page  # 執行率 = 2,700,000 / 3,000,000
    check_statuses(
        actors,
        lambda c: c.post(
            f"/ebpm/{modelled.pk}/budget/", {"fiscal_year": "2026", "kind": "initial", "amount_yen": "1"}
        ),
        {"staff": 403, "owner_viewer": 403, "other_editor": 403},
    )


def test_stage_buttons(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    client.post(f"/ebpm/{modelled.pk}/stage/", {"stage": "request"})
    modelled.refresh_from_db()
    assert modelled.stage == "request"
    r = client.post(f"/ebpm/{modelled.pk}/stage/", {"stage": "evaluation"}, follow=True)
    assert "へは移れません" in r.content.decode()


def test_create_item_page(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    r = client.post("/ebpm/new/", {"level": "project", "name": "", "unit_id": actors.org.health_div.pk})
    assert r.status_code == 400
    assert "名称を入力してください" in r.content.decode()
    r = client.post(
        "/ebpm/new/", {"level": "project", "name": "歯科健診事業", "unit_id": actors.org.health_div.pk}
    )
    assert r.status_code == 302
    r = actors.client("other_editor").post(
        "/ebpm/new/", {"level": "project", "name": "x", "unit_id": actors.org.health_div.pk}
    )
    assert r.status_code == 403


def test_indicator_pages(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    r = client.post(
        f"/ebpm/{modelled.pk}/indicators/new/",
        {"node_id": "n3", "name": "特定健診受診率", "kind": "outcome", "unit_label": "%", "direction": "up",
         "rate_rule": "ratio", "responsible_unit_id": actors.org.health_div.pk, "source_kind": "manual"},
    )  # fmt: skip
    assert r.status_code == 302
    ind = modelled.logic_model.indicators.get()
    client.post(
        f"/ebpm/indicators/{ind.pk}/target/", {"fiscal_year": "2024", "value": "40", "kind": "interim"}
    )
    r = client.post(f"/ebpm/indicators/{ind.pk}/target/", {"fiscal_year": "2024", "value": "45"}, follow=True)
    assert "すでにあります" in r.content.decode()
    client.post(
        f"/ebpm/indicators/{ind.pk}/target/",
        {"fiscal_year": "2024", "value": "45", "revise": "1", "note": "上方修正"},
    )
    client.post(
        f"/ebpm/indicators/{ind.pk}/actual/",
        {"fiscal_year": "2024", "value": "30", "status": "final", "evidence": "法定報告"},
    )
    page = actors.client("staff").get(f"/ebpm/indicators/{ind.pk}/").content.decode()
    assert "<del>40</del>" in page  # the earlier target stays visible
    assert "遅れ" in page  # 30 / 45 < 0.8
    assert 'id="indicator-spec"' in page  # the trend chart (charts' Vega-Lite function), target vs actual
    assert "vega-bundle.min.js" in page
    assert "検証指標がありません" not in actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()
    check_statuses(actors, lambda c: c.get(f"/ebpm/indicators/{ind.pk}/"), {**READERS, "anonymous": 302})
    check_statuses(
        actors,
        lambda c: c.post(
            f"/ebpm/indicators/{ind.pk}/actual/", {"fiscal_year": "2025", "value": "1", "evidence": "x"}
        ),
        {"staff": 403, "owner_viewer": 403, "other_editor": 403},
    )


def test_data_calendar_flags_figures_late_for_the_budget_request(actors: Actors, modelled: PlanItem) -> None:
    editor = as_actor(actors, "owner_editor")
    unit = actors.org.health_div.pk
    early = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n3",
        name="受診率（法定報告）",
        kind="outcome",
        responsible_unit_id=unit,
        data_month="7月",
    )
    late = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n3",
        name="医療費（決算）",
        kind="outcome",
        responsible_unit_id=unit,
        data_month=11,
    )
    march = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n2",
        name="送付数",
        kind="activity",
        responsible_unit_id=unit,
        data_month=3,
    )
    unset = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="開封率", kind="activity", responsible_unit_id=unit
    )
    rows = {r.indicator.pk: r for r in selectors.data_calendar(actor=as_actor(actors, "staff"))}
    assert not rows[early.pk].late
    assert rows[late.pk].late
    assert rows[march.pk].late  # March comes after October in the fiscal year
    assert rows[unset.pk].month is None
    assert not rows[unset.pk].late
    page = actors.client("staff").get("/ebpm/calendar/").content.decode()
    assert "間に合わない指標: 2 件" in page
    assert "月が未設定の指標: 1 件" in page
    check_statuses(actors, lambda c: c.get("/ebpm/calendar/"), {**READERS, "anonymous": 302})
    with pytest.raises(InvalidInput, match="1〜12の月"):
        services_indicators.indicator_schedule_set(actor=editor, indicator=unset, data_month="13")
    client = actors.client("owner_editor")
    client.post(f"/ebpm/indicators/{unset.pk}/schedule/", {"data_month": "9"})
    unset.refresh_from_db()
    assert unset.data_month == 9
    r = actors.client("other_editor").post(f"/ebpm/indicators/{unset.pk}/schedule/", {"data_month": "5"})
    assert r.status_code == 403


def test_start_from_an_example(actors: Actors, project: PlanItem) -> None:
    from machidata.ebpm.examples import EXAMPLES

    url = f"/ebpm/{project.pk}/logic-model/"
    page = actors.client("owner_editor").get(url).content.decode()
    assert EXAMPLES["subsidy"]["title"] in page
    r = actors.client("owner_editor").post(url, {"op": "example", "example": "subsidy"})
    assert r.status_code == 302
    version = LogicModelVersion.objects.get(model__item=project)
    assert version.document["stage_set"] == "four"
    assert [n["statement"] for n in version.document["nodes"]] == [
        n["statement"] for n in EXAMPLES["subsidy"]["document"]["nodes"]
    ]
    r = actors.client("owner_editor").post(url, {"op": "example", "example": "nothing"})
    assert "ひな形「nothing」はありません" in r.content.decode()
    assert actors.client("other_editor").post(url, {"op": "example", "example": "nudge"}).status_code == 403


def test_edit_item_and_link_rationale_on_the_pages(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    client.post(
        f"/ebpm/{modelled.pk}/edit/",
        {"lock_version": modelled.lock_version, "name": "受診勧奨事業（改）", "code": "3-2-1"},
    )
    modelled.refresh_from_db()
    assert modelled.name == "受診勧奨事業（改）"
    r = client.post(f"/ebpm/{modelled.pk}/edit/", {"lock_version": "0", "name": "古い画面"}, follow=True)
    assert "ほかの人が先に変更しました" in r.content.decode()
    assert (
        actors.client("other_editor")
        .post(f"/ebpm/{modelled.pk}/edit/", {"lock_version": modelled.lock_version, "name": "x"})
        .status_code
        == 403
    )
    assert "に根拠となる考え方がありません" in client.get(f"/ebpm/{modelled.pk}/").content.decode()
    client.post(
        f"/ebpm/{modelled.pk}/logic-model/",
        {"op": "link_edit", "link_id": "l2", "rationale": "案内で受診を決める", "expected_number": "1"},
    )
    assert "に根拠となる考え方がありません" not in client.get(f"/ebpm/{modelled.pk}/").content.decode()


def test_copy_targets_are_the_items_i_may_change(actors: Actors, modelled: PlanItem) -> None:
    admin = as_actor(actors, "admin")
    mine = services.plan_item_create(
        actor=admin, level="project", name="歯科健診事業", unit_id=actors.org.health_div.pk
    )
    theirs = services.plan_item_create(
        actor=admin, level="project", name="消防団支援事業", unit_id=actors.org.fire_div.pk
    )
    page = actors.client("owner_editor").get(f"/ebpm/{modelled.pk}/logic-model/").content.decode()
    assert f'<option value="{mine.pk}">' in page
    assert f'<option value="{theirs.pk}">' not in page
    r = actors.client("owner_editor").post(
        f"/ebpm/{modelled.pk}/logic-model/", {"op": "copy", "target": theirs.pk}
    )
    assert r.status_code == 403
    assert not LogicModelVersion.objects.filter(model__item=theirs).exists()
    r = actors.client("owner_editor").post(
        f"/ebpm/{modelled.pk}/logic-model/", {"op": "copy", "target": mine.pk}
    )
    assert r.status_code == 302
    assert LogicModelVersion.objects.get(model__item=mine).document == modelled.logic_model.document


def test_evidence_names_datasets_and_charts_the_editor_can_see(actors: Actors, modelled: PlanItem) -> None:

    seen = make_dataset(
        actors.org.fire_div, slug="kyukyu-shutsudo", title="救急出動", classification="internal"
    )
    hidden = make_dataset(actors.org.fire_div, slug="himitsu", title="秘", classification="confidential")
    client = actors.client("owner_editor")
    url = f"/ebpm/{modelled.pk}/logic-model/"
    r = client.post(
        url,
        {
            "op": "link",
            "source": "n1",
            "target": "n3",
            "rationale": "x",
            "evidence": f"データセット: {hidden.slug}",
            "expected_number": "1",
        },
    )
    assert r.status_code == 400
    assert "根拠のデータセット「himitsu」が見つかりません" in r.content.decode()
    r = client.post(
        url,
        {
            "op": "link",
            "source": "n1",
            "target": "n3",
            "rationale": "x",
            "evidence": "グラフ: 00000000-0000-0000-0000-000000000000",
            "expected_number": "1",
        },
    )
    assert "根拠のグラフ" in r.content.decode()
    r = client.post(
        url,
        {
            "op": "link",
            "source": "n1",
            "target": "n3",
            "rationale": "x",
            "evidence": f"データセット：{seen.slug}\nhttps://example.jp/a",
            "expected_number": "1",
        },
    )
    assert r.status_code == 302
    evidence = modelled.logic_model.versions.get(number=2).document["links"][-1]["evidence"]
    assert evidence == [
        {"kind": "dataset", "ref": seen.slug, "label": ""},
        {"kind": "url", "ref": "https://example.jp/a", "label": ""},
    ]
    assert f'href="/catalog/{seen.slug}/"' in client.get(url).content.decode()


def test_stage_names_can_be_changed(actors: Actors, modelled: PlanItem) -> None:
    client = actors.client("owner_editor")
    url = f"/ebpm/{modelled.pk}/logic-model/"
    r = client.post(
        url,
        {
            "op": "settings",
            "stage_set": "six",
            "label_short": "初期アウトカム",
            "label_mid": " ",
            "external_factors": "景気",
            "expected_number": "1",
        },
    )
    assert r.status_code == 302
    doc = modelled.logic_model.versions.get(number=2).document
    assert doc["stage_labels"] == {"short": "初期アウトカム"}
    assert (
        "初期アウトカム"
        in actors.client("staff").get(f"/ebpm/{modelled.pk}/logic-model.svg").content.decode()
    )
    # switching to the 4-stage set drops names of stages it does not have
    r = client.post(
        url,
        {
            "op": "settings",
            "stage_set": "four",
            "label_mid": "x",
            "label_long": "最終アウトカム",
            "external_factors": "",
            "expected_number": "2",
        },
    )
    assert r.status_code == 302
    assert modelled.logic_model.versions.get(number=3).document["stage_labels"] == {"long": "最終アウトカム"}
    # a node in a stage the new set lacks is refused, naming it
    client.post(url, {"op": "settings", "stage_set": "six", "external_factors": "", "expected_number": "3"})
    client.post(url, {"op": "node", "stage": "mid", "statement": "中期の成果", "expected_number": "4"})
    r = client.post(
        url, {"op": "settings", "stage_set": "four", "external_factors": "", "expected_number": "5"}
    )
    assert r.status_code == 400
    assert "段階「mid」はこのロジックモデルの段階にありません" in r.content.decode()


def test_list_counts_indicator_statuses(actors: Actors, modelled: PlanItem) -> None:
    from machidata.ebpm import services_indicators

    editor = as_actor(actors, "owner_editor")
    unit = actors.org.health_div.pk
    done = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="a", kind="outcome", responsible_unit_id=unit
    )
    services_indicators.indicator_target_set(actor=editor, indicator=done, fiscal_year=2024, value=1)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=done, fiscal_year=2024, value=2, evidence="x"
    )
    services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="b", kind="outcome", responsible_unit_id=unit
    )
    services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="c", kind="activity", responsible_unit_id=unit
    )
    page = actors.client("staff").get("/ebpm/").content.decode()
    assert "達成 1" in page
    assert "未測定 2" in page


@pytest.mark.django_db(transaction=True)
def test_figures_from_a_restricted_table_stay_with_those_who_may_read_it(
    actors: Actors, modelled: PlanItem, restricted_count: Any
) -> None:
    """A 所属限定 table's counts reach only its readers: the page, the item's list and the API all hold them back."""
    editor = as_actor(actors, "owner_editor")
    counted = restricted_count
    services_indicators.indicator_target_set(actor=editor, indicator=counted, fiscal_year=2024, value=777)
    derived = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="出動の倍", kind="outcome",
        responsible_unit_id=actors.org.health_div.pk, source_kind="formula", formula=f"i{counted.pk} * 1000",
    )  # fmt: skip
    counts = _by_fiscal_year(TIMES)
    shown = f"{counts[2024]}"
    for name, sees in (("owner_viewer", True), ("admin", True), ("staff", False), ("other_editor", False)):
        client = actors.client(name)
        page = client.get(f"/ebpm/indicators/{counted.pk}/").content.decode()
        assert "777" in page  # the target is the plan's, shared with all staff
        assert (selectors.WITHHELD in page) is not sees, name
        assert ("indicator-spec" in page) is sees, name
        formula_page = client.get(f"/ebpm/indicators/{derived.pk}/").content.decode()
        assert (f"{counts[2024] * 1000:,}" in formula_page) is sees, name
        item_page = client.get(f"/ebpm/{modelled.pk}/").content.decode()
        assert ("表示できません" in item_page) is not sees, name
        api = client.get(f"/api/v1/ebpm/indicators/{counted.pk}/actuals")
        assert api.status_code == (200 if sees else 403), name
        if sees:
            assert {a["fiscal_year"]: a["value"] for a in api.json()}[2024] == float(shown)
