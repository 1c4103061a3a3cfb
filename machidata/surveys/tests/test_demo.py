"""The synthetic staff survey: labelled 合成, two rounds (the later one adds a question), loaded once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from machidata.demo.services import load_demo
from machidata.surveys.demo import (
    BUREAU_Q,
    CATALOG_Q,
    OBSTACLE_Q,
    TITLE,
    generate_staff_survey,
)
from machidata.surveys.models import Round, Survey
from machidata.surveys.results import load_round, round_crosstab, share_choosing

pytestmark = pytest.mark.django_db


def test_generated_export_is_labelled_synthetic_and_reproducible() -> None:
    data = generate_staff_survey(year=2023, respondents=50)
    book = load_workbook(io.BytesIO(data))
    assert book.active is not None
    assert book.active.title == "合成データ"
    assert "合成" in (book.properties.title or "")
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("ID", "開始時刻", "完了時刻", "メール", "名前")
    again = load_workbook(io.BytesIO(generate_staff_survey(year=2023, respondents=50))).active
    assert again is not None
    assert list(again.iter_rows(values_only=True)) == rows
    assert CATALOG_Q not in rows[0]
    later = load_workbook(io.BytesIO(generate_staff_survey(year=2024, respondents=5))).active
    assert later is not None
    assert CATALOG_Q in next(later.iter_rows(values_only=True))


def test_demo_load_makes_two_confirmed_weighted_rounds_once(tmp_path: Path) -> None:
    summary = load_demo(home=tmp_path)
    survey = Survey.objects.get(title=TITLE)
    assert survey.is_synthetic
    assert "合成" in survey.title
    assert summary.created["survey_round"] == 2
    rounds = list(Round.objects.filter(survey=survey).order_by("created_at", "id"))
    assert [r.label for r in rounds] == ["2023年度", "2024年度"]
    assert all(r.status == "confirmed" and r.weight_targets for r in rounds)
    assert not rounds[0].questions.filter(text=CATALOG_Q).exists()
    assert rounds[1].questions.filter(text=CATALOG_Q).exists()
    # shaped like the strategy: skills weigh more in 財政局・健康福祉局・こども局, "where is the data" in
    # 総務局・都市建設局・環境局・経済観光局
    _, _, table = round_crosstab(load_round(rounds[0]), by=BUREAU_Q, of=OBSTACLE_Q)
    skill = table.columns.index("知識や活用スキル")
    where = table.columns.index("必要とするデータがどこにあるのか分からない")
    rows = {r.label: r for r in table.rows}
    for skill_bureau in ("財政局", "健康福祉局", "こども局"):
        for where_bureau in ("総務局", "都市建設局", "環境局", "経済観光局"):
            assert rows[skill_bureau].cells[skill].share > rows[where_bureau].cells[skill].share  # type: ignore[operator]
            assert rows[where_bureau].cells[where].share > rows[skill_bureau].cells[where].share  # type: ignore[operator]
    value = share_choosing(rounds[0], OBSTACLE_Q, "知識や活用スキル", weighted=True)
    assert value is not None
    assert 0 < value < 1
    assert not load_demo(home=tmp_path).changed


def test_demo_tables_leave_the_division_suppressed(tmp_path: Path) -> None:
    from machidata.surveys.demo import NEED_Q, POSITION_Q
    from machidata.surveys.results import frequency_tables
    from machidata.surveys.tables import heatmap_spec

    load_demo(home=tmp_path)
    round_ = Round.objects.get(survey__title=TITLE, label="2023年度")
    data = load_round(round_)
    for by, of in ((BUREAU_Q, OBSTACLE_Q), (POSITION_Q, NEED_Q), (POSITION_Q, OBSTACLE_Q)):
        _, _, table = round_crosstab(data, by=by, of=of, weighted=True, suppress_below=5)
        assert table.suppressed
        for r in table.rows:
            for c in r.cells:
                assert c.hidden or not 1 <= c.count < 5
        spec = heatmap_spec(table, title=of, row_title=by)
        assert len(spec["data"]["values"]) == len(table.rows) * len(table.columns)
    tables = frequency_tables(data, suppress_below=5)
    assert all(not 1 <= r.count < 5 or r.hidden for _, t in tables for r in t.rows)
