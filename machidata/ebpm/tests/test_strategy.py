"""The strategy's KPI board: every 検証指標 of the seed text, live figures from the other rooms, access kept."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.analysis.models import Analysis
from machidata.catalog.models import Dataset, Table
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.ebpm import services, services_evaluations, services_indicators
from machidata.ebpm.models import PlanItem
from machidata.ebpm.strategy import DEFINITIONS, SKILL, YEARS, BoardRow, strategy_board
from machidata.ebpm.tests.conftest import as_actor
from machidata.jp.fiscal import fiscal_year
from machidata.support.models import Consultation, Course, TestAttempt
from machidata.surveys.models import Round
from machidata.surveys.tests.conftest import OBSTACLE, ROWS

pytestmark = pytest.mark.django_db
SEED = Path("/work/shared/seed/kumamoto-data-strategy.txt")
TODAY = dt.date(2025, 6, 1)  # 令和7年度


def _row(rows: list[BoardRow], key: str) -> BoardRow:
    return next(r for r in rows if r.definition.key == key)


def _at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


@pytest.mark.skipif(not SEED.exists(), reason="the strategy text is beside the repository")
def test_every_indicator_of_the_strategy_text_is_on_the_board() -> None:
    text = SEED.read_text(encoding="utf-8")
    listed = [
        line[2:].split("【")[0].strip()
        for line in text.splitlines()
        if line.startswith("- ") and "【" in line and not line.startswith("- 【")  # 検証指標 end in 【unit】
    ]
    assert len(listed) == 7
    names = [d.name for d in DEFINITIONS]
    for name in listed:
        assert any(
            name.replace("(", "（").replace(")", "）").replace(" ", "")[:20] in n.replace(" ", "")
            for n in names
        ), name
    for planned in (
        "事業の効果を実証するためにデータを利活用した事業数",
        "データベースにおけるデータ数",
        "公開オープンデータタイトル数",
    ):
        assert planned in text
        assert planned in names


def test_catalog_counts_by_year_end(actors: Actors) -> None:
    unit = actors.org.health_div
    old = make_dataset(unit, slug="old", title="古い")
    Dataset.objects.filter(pk=old.pk).update(created_at=_at(2024, 5, 1))
    gone = make_dataset(unit, slug="gone", title="廃止")
    Dataset.objects.filter(pk=gone.pk).update(created_at=_at(2024, 5, 1), retired_at=_at(2025, 5, 1))
    new = make_dataset(unit, slug="new", title="新しい")
    Dataset.objects.filter(pk=new.pk).update(created_at=_at(2025, 5, 1))
    before = Dataset.objects.count() - 3  # the test world's own datasets, made now
    with_data = Table.objects.create(dataset=old, name="t", title="t", storage_key=uuid.uuid4().hex)
    with_data.versions.create(number=1, status="committed", committed_at=_at(2025, 3, 1))
    rows = strategy_board(actor=as_actor(actors, "staff"), today=TODAY)
    catalog = _row(rows, "catalog")
    assert catalog.live is not None
    assert catalog.live.values[2024] == Decimal(2)  # old and gone (retired later)
    assert catalog.live.values[2025] == Decimal(2 + before)  # old and new (+ the world's) now; gone retired
    assert 2026 not in catalog.live.values  # a future 年度 has no figure
    cells = {c["year"]: c for c in catalog.cells}
    assert cells[2024]["origin"] == "live"
    assert cells[2026]["value"] is None
    database = _row(rows, "database")
    assert database.live is not None
    assert database.live.values[2024] == Decimal(1)


def test_consultations_and_verified_projects(actors: Actors, modelled: PlanItem, editor: Actor) -> None:
    unit = actors.org.health_div
    for when in (_at(2024, 6, 1), _at(2024, 12, 1), _at(2025, 4, 10)):
        Consultation.objects.create(kind="data", topic="x", description="x", unit=unit, opened_at=when)
    dataset = make_dataset(unit, slug="a", title="受診記録")
    table = Table.objects.create(dataset=dataset, name="t", title="t", storage_key=uuid.uuid4().hex)
    analysis = Analysis.objects.create(
        title="効果", design="did_2x2", owner=actors.users["owner_editor"], table=table,
        result={"evidence_level": 4}, status="done",
    )  # fmt: skip
    services_evaluations.evaluation_create(
        actor=editor, item=modelled, fiscal_year=2024, self_assessment="x", direction="continue",
        analysis_id=analysis.pk,
    )  # fmt: skip
    other = services.plan_item_create(actor=editor, level="project", name="別", unit_id=unit.pk)
    services_evaluations.evaluation_create(
        actor=editor,
        item=other,
        fiscal_year=2024,
        self_assessment="x",
        direction="continue",
        evidence_level=2,
    )
    rows = strategy_board(actor=as_actor(actors, "staff"), today=TODAY)
    consult = _row(rows, "consultations")
    assert consult.live is not None
    assert (consult.live.values[2024], consult.live.values[2025]) == (Decimal(2), Decimal(1))
    verified = _row(rows, "verified")
    assert verified.live is not None
    assert (verified.live.values[2024], verified.live.values[2025]) == (Decimal(1), Decimal(0))


def test_comprehension_is_the_weighted_first_attempt_mean(actors: Actors) -> None:
    staff = as_actor(actors, "staff")
    comp = _row(strategy_board(actor=staff, today=TODAY), "comprehension")
    assert comp.live is not None
    assert comp.live.values == {}
    assert "点数がまだありません" in comp.live.gaps
    a = Course.objects.create(title="入門", rank="all", pass_mark=60)
    b = Course.objects.create(title="応用", rank="all", pass_mark=60)
    now = timezone.now()
    scores = [
        (a, "staff", 80),
        (a, "owner_viewer", 60),
        (b, "staff", 50),
        (a, "staff", 100),
    ]  # the retake is not counted
    for i, (course, user, score) in enumerate(scores):
        TestAttempt.objects.create(
            course=course, user=actors.users[user], correct=score // 10, total=10, score=score,
            passed=score >= 60, taken_at=now + dt.timedelta(minutes=i),
        )  # fmt: skip
    comp = _row(strategy_board(actor=staff, today=TODAY), "comprehension")
    assert comp.live is not None
    assert comp.live.values == {2025: Decimal("63.3")}  # (80 + 60 + 50) / 3


def test_survey_shares_only_for_those_who_may_read_the_survey(actors: Actors) -> None:
    from machidata.surveys.services import round_import, survey_create
    from machidata.surveys.tests.conftest import as_actor as survey_actor
    from machidata.surveys.tests.conftest import declare, forms_xlsx

    owner = survey_actor(actors, "owner_editor")
    survey = survey_create(actor=owner, title="職員アンケート", unit_id=actors.org.health_div.pk)
    round_ = round_import(
        actor=owner, survey=survey, label="2024年度", data=forms_xlsx(["所属局", "職位", OBSTACLE, "ご意見"], ROWS),
        filename="2024.xlsx",
    )  # fmt: skip
    declare(round_, owner)
    Round.objects.filter(pk=round_.pk).update(fielded_on=dt.date(2024, 7, 1))
    answered = [r for r in ROWS if r[2] is not None]
    expected = Decimal(100 * sum(1 for r in answered if SKILL in r[2].split(";")) / len(answered)).quantize(
        Decimal("0.1")
    )
    for name, sees in (("owner_viewer", True), ("admin", True), ("staff", False), ("other_editor", False)):
        skill = _row(strategy_board(actor=as_actor(actors, name), today=TODAY), "skill")
        if sees:
            assert skill.live is not None, name
            assert skill.live.values == {2024: expected}, name
        else:
            assert skill.live is None, name
            assert any("所管課" in n for n in skill.notes), name


def test_manual_indicators_fill_what_machidata_does_not_know(
    actors: Actors, modelled: PlanItem, editor: Actor
) -> None:
    unit = actors.org.health_div.pk
    services.logic_model_save(
        actor=editor, item=modelled,
        document={"nodes": [{"id": "n1", "stage": "activity", "statement": "ルールを作る"},
                            {"id": "n2", "stage": "short", "statement": "意識が高まる"}], "links": []},
    )  # fmt: skip
    name = next(d.name for d in DEFINITIONS if d.key == "conscious")
    ind = services_indicators.indicator_create(
        actor=editor,
        item=modelled,
        node_id="n2",
        name=name,
        kind="outcome",
        responsible_unit_id=unit,
        unit_label="%",
    )
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2024, value="41.5", evidence="調査"
    )
    services_indicators.indicator_target_set(
        actor=editor, indicator=ind, fiscal_year=2027, value="", kind="final"
    )
    row = _row(strategy_board(actor=as_actor(actors, "staff"), today=TODAY), "conscious")
    assert row.indicator == ind
    cells = {c["year"]: c for c in row.cells}
    assert cells[2024]["value"] == Decimal("41.5")
    assert cells[2024]["origin"] == "manual"
    assert cells[2027]["target"] == "目標未設定"
    assert _row(strategy_board(actor=as_actor(actors, "staff"), today=TODAY), "rules").live is None


def test_page(actors: Actors, settings: Any) -> None:
    check_statuses(
        actors,
        lambda c: c.get("/ebpm/strategy/"),
        {
            "staff": 200,
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 200,
            "admin": 200,
            "anonymous": 302,
        },
    )
    page = actors.client("staff").get("/ebpm/strategy/").content.decode()
    for d in DEFINITIONS:
        assert d.name in page
    assert "29.4%" in page
    assert f"{Dataset.objects.count()}" in page
    assert all(str(y) in page for y in YEARS)
    assert fiscal_year(timezone.localdate()) >= 2024


def _staff_survey(actors: Actors, label: str, fielded: dt.date, rows: list[list[Any]]) -> Any:
    """A confirmed round of a staff survey of 健康づくり推進課, built through the surveys services."""
    from machidata.surveys.models import Survey
    from machidata.surveys.services import round_import, survey_create
    from machidata.surveys.tests.conftest import as_actor as survey_actor
    from machidata.surveys.tests.conftest import declare, forms_xlsx

    owner = survey_actor(actors, "owner_editor")
    survey = Survey.objects.filter(title="職員アンケート").first() or survey_create(
        actor=owner, title="職員アンケート", unit_id=actors.org.health_div.pk
    )
    round_ = round_import(
        actor=owner, survey=survey, label=label, data=forms_xlsx(["所属局", "職位", OBSTACLE, "ご意見"], rows),
        filename=f"{label}.xlsx",
    )  # fmt: skip
    declare(round_, owner)
    Round.objects.filter(pk=round_.pk).update(fielded_on=fielded)
    return survey


FOUND_NOT = "データがどこにあるのか分からない、探せない"  # the survey's wording, not the strategy's


def test_a_mapped_survey_question_measures_the_indicator_with_round_and_n(actors: Actors) -> None:
    from machidata.core.errors import InvalidInput, PermissionDenied
    from machidata.ebpm.services_board import board_survey_link_clear, board_survey_link_set

    survey = _staff_survey(actors, "2024年度", dt.date(2024, 7, 1), ROWS)
    admin = as_actor(actors, "admin")
    # not mapped: the strategy's wording is not an option of this survey, so 未測定 with the reason
    where = _row(strategy_board(actor=admin, today=TODAY), "where")
    assert where.live is None
    assert any(n.startswith("未測定") for n in where.notes)
    assert {c["shown"] for c in where.cells} == {"未測定", "—"}
    with pytest.raises(PermissionDenied):
        board_survey_link_set(
            actor=as_actor(actors, "owner_editor"),
            key="where",
            survey_id=survey.pk,
            question=OBSTACLE,
            option=FOUND_NOT,
        )
    with pytest.raises(InvalidInput, match="選択肢「ない選択肢」はありません"):
        board_survey_link_set(
            actor=admin, key="where", survey_id=survey.pk, question=OBSTACLE, option="ない選択肢"
        )
    with pytest.raises(InvalidInput, match="選択式の質問"):
        board_survey_link_set(
            actor=admin, key="where", survey_id=survey.pk, question="ご意見", option=FOUND_NOT
        )
    with pytest.raises(InvalidInput, match="アンケートで測る指標ではありません"):
        board_survey_link_set(
            actor=admin, key="catalog", survey_id=survey.pk, question=OBSTACLE, option=FOUND_NOT
        )
    board_survey_link_set(actor=admin, key="where", survey_id=survey.pk, question=OBSTACLE, option=FOUND_NOT)
    # a later round of the same 年度 replaces the earlier one; another 年度 adds a cell
    later = [
        ["財政局", "主事", f"{FOUND_NOT};", None],
        ["総務局", "主事", "業務繁忙", None],
        ["総務局", "主事", None, None],
    ]
    _staff_survey(actors, "2024年度追加", dt.date(2025, 2, 1), later)
    _staff_survey(actors, "2025年度", dt.date(2025, 7, 1), ROWS[:4])
    where = _row(strategy_board(actor=admin, today=TODAY), "where")
    assert where.live is not None
    answered_2025 = [r for r in ROWS[:4] if r[2] is not None]
    share_2025 = Decimal(100 * sum(FOUND_NOT in r[2] for r in answered_2025) / len(answered_2025)).quantize(
        Decimal("0.1")
    )
    assert where.live.values == {2024: Decimal("50.0"), 2025: share_2025}  # 1 of the 2 who answered
    assert where.live.rounds == {2024: ("2024年度追加", 2), 2025: ("2025年度", len(answered_2025))}
    cells = {c["year"]: c for c in where.cells}
    assert (cells[2024]["origin"], cells[2024]["round"], cells[2024]["n"]) == ("live", "2024年度追加", 2)
    assert cells[2026]["shown"] == "—"  # not yet begun on TODAY
    # those who may not read the survey see 未測定 with the reason, not the figure
    staff = _row(strategy_board(actor=as_actor(actors, "staff"), today=TODAY), "where")
    assert staff.live is None
    assert any("未測定" in n and "所管課" in n for n in staff.notes)
    # every round gone: 未測定 with the reason for everyone
    Round.objects.filter(survey=survey).delete()
    gone = _row(strategy_board(actor=admin, today=TODAY), "where")
    assert gone.live is None
    assert any("確定済みの回がまだありません" in n for n in gone.notes)
    board_survey_link_clear(actor=admin, key="where")
    with pytest.raises(PermissionDenied):
        board_survey_link_clear(actor=as_actor(actors, "staff"), key="where")


def test_comprehension_can_come_from_a_survey(actors: Actors) -> None:
    from machidata.ebpm.services_board import board_survey_link_set

    survey = _staff_survey(actors, "2024年度", dt.date(2024, 7, 1), ROWS)
    admin = as_actor(actors, "admin")
    board_survey_link_set(
        actor=admin, key="comprehension", survey_id=survey.pk, question=OBSTACLE, option=SKILL
    )
    comp = _row(strategy_board(actor=admin, today=TODAY), "comprehension")
    assert comp.live is not None
    assert comp.live.rounds == {2024: ("2024年度", 7)}
    assert "アンケート「職員アンケート」" in comp.live.source


def test_survey_mapping_page_and_api(actors: Actors) -> None:
    survey = _staff_survey(actors, "2024年度", dt.date(2024, 7, 1), ROWS)
    choice = f"{survey.pk}\t{OBSTACLE}\t{FOUND_NOT}"
    check_statuses(
        actors,
        lambda c: c.post("/ebpm/strategy/survey/", {"key": "where", "choice": choice}),
        {"anonymous": 302, "staff": 403, "owner_viewer": 403, "owner_editor": 403, "other_editor": 403},
    )
    admin = actors.client("admin")
    page = admin.get("/ebpm/strategy/").content.decode()
    assert f"{FOUND_NOT}</option>" in page  # the form offers the survey's options
    r = admin.post("/ebpm/strategy/survey/", {"key": "where", "choice": choice}, follow=True)
    assert "対応づけました" in r.content.decode()
    assert "2024年度・回答7人" in r.content.decode()
    body = {"survey_id": survey.pk, "question": OBSTACLE, "option": SKILL}
    url = "/api/v1/ebpm/strategy/survey-links/skill"
    check_statuses(
        actors,
        lambda c: c.put(url, body, content_type="application/json"),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "owner_editor": 403, "other_editor": 403},
    )
    r = actors.client("admin").put(url, body, content_type="application/json")
    assert r.status_code == 200, r.content
    links = actors.client("staff").get("/api/v1/ebpm/strategy/survey-links").json()
    assert sorted((x["key"], x["option"]) for x in links) == [("skill", SKILL), ("where", FOUND_NOT)]
    board = actors.client("admin").get("/api/v1/ebpm/strategy").json()
    where = next(r for r in board if r["key"] == "where")
    assert next(c for c in where["cells"] if c["fiscal_year"] == 2024)["n"] == 7
    assert (
        actors.client("admin")
        .put(url.replace("skill", "catalog"), body, content_type="application/json")
        .status_code
        == 422
    )
    assert actors.client("admin").delete(url).status_code == 204
    assert actors.client("admin").delete(url).status_code == 404
    assert (
        admin.post("/ebpm/strategy/survey/", {"key": "where", "clear": "1"}, follow=True).status_code == 200
    )
    assert not actors.client("staff").get("/api/v1/ebpm/strategy/survey-links").json()
