"""Tables of a round against counts worked out by hand from conftest.ROWS, suppression, weights, rounds."""

from __future__ import annotations

import math

import pytest

from machidata.core.errors import InvalidInput, NotFound
from machidata.core.testing import Actors
from machidata.surveys.models import Round, Survey
from machidata.surveys.results import (
    common_questions,
    compare_rounds,
    frequency_tables,
    load_round,
    number_summaries,
    round_crosstab,
    round_freetext,
    share_choosing,
)
from machidata.surveys.services import round_import, round_questions_confirm, round_targets_set
from machidata.surveys.tables import heatmap_spec
from machidata.surveys.tests.conftest import BUREAU, FREE, OBSTACLE, POSITION, as_actor, declare, forms_xlsx

# By hand from ROWS: 7 of 8 answered the obstacle question (one blank); 10 options chosen in all.
BY_HAND = {
    "業務繁忙": 3,
    "予算;人員の不足": 1,
    "知識や活用スキル": 3,
    "データがどこにあるのか分からない、探せない": 2,
    "その他": 1,
}


def test_multi_select_frequency_over_respondents(confirmed: Round) -> None:
    tables = {q.text: t for q, t in frequency_tables(load_round(confirmed))}
    t = tables[OBSTACLE]
    assert (t.n, t.no_answer, t.total, t.selections) == (7, 1, 8, 10)
    assert {r.option: r.count for r in t.rows} == BY_HAND
    assert {r.option: r.share for r in t.rows} == {k: v / 7 for k, v in BY_HAND.items()}
    assert t.share_sum > 1  # multi-select shares may exceed 100%
    assert t.small_base


def test_divide_by_selections(confirmed: Round) -> None:
    tables = {q.text: t for q, t in frequency_tables(load_round(confirmed), denominator="selections")}
    assert {r.option: r.share for r in tables[OBSTACLE].rows} == {k: v / 10 for k, v in BY_HAND.items()}
    with pytest.raises(InvalidInput, match="分母"):
        frequency_tables(load_round(confirmed), denominator="everyone")


def test_tables_need_confirmed_questions(draft: Round) -> None:
    with pytest.raises(InvalidInput, match="確定していません"):
        frequency_tables(load_round(draft))


def test_crosstab_by_bureau(confirmed: Round) -> None:
    _, _, table = round_crosstab(load_round(confirmed), by=BUREAU, of=OBSTACLE)
    rows = {r.label: r for r in table.rows}
    assert list(rows) == ["財政局", "総務局", "無回答"]
    assert [c.count for c in rows["財政局"].cells] == [1, 1, 3, 0, 0]
    assert [c.count for c in rows["総務局"].cells] == [1, 0, 0, 2, 1]
    assert rows["財政局"].n == 3
    assert rows["総務局"].n == 3
    assert rows["無回答"].n == 1
    assert rows["財政局"].cells[2].share == 1.0
    assert table.total.n == 7
    assert all(r.small_base for r in table.rows)


def test_crosstab_refuses_a_multi_select_row_and_the_same_question(confirmed: Round) -> None:
    with pytest.raises(InvalidInput, match="単一選択"):
        round_crosstab(load_round(confirmed), by=OBSTACLE, of=BUREAU)
    with pytest.raises(InvalidInput, match="違う質問"):
        round_crosstab(load_round(confirmed), by=BUREAU, of=BUREAU)


def test_suppressed_crosstab_hides_small_cells_and_their_complements(confirmed: Round) -> None:
    _, _, table = round_crosstab(load_round(confirmed), by=BUREAU, of=OBSTACLE, suppress_below=2)
    rows = {r.label: r for r in table.rows}
    for r in table.rows:
        for c in r.cells:
            if 1 <= c.count < 2:
                assert c.hidden
    # 無回答 has n=1 (< 2): the whole group is hidden, n too
    assert rows["無回答"].hidden
    assert all(c.hidden for c in rows["無回答"].cells)
    # 予算;人員の不足 and その他 have a total of 1: the option is hidden, its 全体 cell too
    for option in ("予算;人員の不足", "その他"):
        j = table.columns.index(option)
        assert table.total.cells[j].hidden
        assert all(r.cells[j].hidden for r in table.rows)
    # a published column total: no column may hold exactly one hidden cell with a positive value
    for j, total in enumerate(table.total.cells):
        if not total.hidden:
            hidden = [r.cells[j] for r in table.rows if r.cells[j].hidden and r.cells[j].count > 0]
            assert len(hidden) != 1
    assert table.suppressed


def test_suppression_audit_finds_nothing_exposed_on_a_larger_table() -> None:
    from machidata.publish.suppression import Grid, audit
    from machidata.surveys.tables import crosstab, parse_choices

    bureaus = ["A"] * 40 + ["B"] * 40 + ["C"] * 40
    answers = (["x"] * 37 + ["y"] * 3) + (["x"] * 20 + ["y"] * 20) + (["x"] * 2 + ["y"] * 38)
    table = crosstab(
        parse_choices("single", ["A", "B", "C"], bureaus),  # type: ignore[arg-type]
        parse_choices("single", ["x", "y"], answers),  # type: ignore[arg-type]
        suppress_below=5,
    )
    cells = [[c.count for c in r.cells] for r in table.rows]
    hidden = {(i, j) for i, r in enumerate(table.rows) for j, c in enumerate(r.cells) if c.hidden}
    assert (0, 1) in hidden
    assert (2, 0) in hidden
    assert len(hidden) >= 4  # each needs a complement in its row (n is published)
    grid = Grid(["A", "B", "C"], ["x", "y"], cells, row_totals=[40, 40, 40], col_totals=[59, 61])  # type: ignore[arg-type]
    assert audit(grid, hidden, threshold=5).exposed == []


def test_single_select_crosstab_protects_row_totals(confirmed: Round) -> None:
    _, _, table = round_crosstab(load_round(confirmed), by=BUREAU, of=POSITION, suppress_below=2)
    for r in table.rows:  # n is the row total of a single-select row: never exactly one hidden cell
        assert sum(c.hidden for c in r.cells) != 1


def test_heatmap_spec_marks_hidden_cells(confirmed: Round) -> None:
    _, _, table = round_crosstab(load_round(confirmed), by=BUREAU, of=OBSTACLE, suppress_below=2)
    spec = heatmap_spec(table, title="課題", row_title="所属局")
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    values = spec["data"]["values"]
    assert len(values) == len(table.rows) * len(table.columns)
    hidden = [v for v in values if v["label"] == "＊"]
    assert hidden
    assert all(v["share"] is None for v in hidden)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")


def test_share_choosing_for_indicators(confirmed: Round) -> None:
    assert share_choosing(confirmed, OBSTACLE, "知識や活用スキル") == 3 / 7
    assert share_choosing(confirmed, OBSTACLE, "知識や活用スキル", denominator="selections") == 3 / 10
    with pytest.raises(NotFound):
        share_choosing(confirmed, OBSTACLE, "存在しない選択肢")
    with pytest.raises(NotFound):
        share_choosing(confirmed, "存在しない質問", "x")


def test_weighted_shares_keep_unweighted_n(actors: Actors, confirmed: Round) -> None:
    position = confirmed.questions.get(text=POSITION)
    round_targets_set(
        actor=as_actor(actors, "owner_editor"),
        round_=confirmed,
        targets={position.position: {"係長級": 100, "主事": 600}},
    )
    confirmed.refresh_from_db()
    # 係長級: 2 respondents → 50 each; 主事: 6 → 100 each. Answered obstacles: rows 1–6 and 8 (600 in all);
    # 知識や活用スキル: rows 1 (50), 2 (100), 3 (100) → 250 / 600.
    value = share_choosing(confirmed, OBSTACLE, "知識や活用スキル", weighted=True)
    assert value is not None
    assert math.isclose(value, 250 / 600)
    tables = {q.text: t for q, t in frequency_tables(load_round(confirmed), weighted=True)}
    assert tables[OBSTACLE].n == 7  # n stays the unweighted count


def test_freetext_words_and_phrases_by_group(confirmed: Round) -> None:
    groups = {g.group: g for g in round_freetext(load_round(confirmed), question=FREE, by=BUREAU)}
    assert list(groups) == ["全体", "財政局", "総務局"]
    finance = groups["財政局"]
    assert finance.answers == 2
    words = {t.text: t.respondents for t in finance.words}
    assert words["研修"] == 2
    assert "する" not in words
    assert "こと" not in words
    assert "統計 研修" in {t.text for t in finance.phrases}
    with pytest.raises(InvalidInput, match="自由記述の質問ではありません"):
        round_freetext(load_round(confirmed), question=BUREAU)


def test_rounds_compared_with_the_same_denominator(actors: Actors, confirmed: Round) -> None:
    editor = as_actor(actors, "owner_editor")
    later = round_import(
        actor=editor,
        survey=confirmed.survey,
        label="2024年度",
        data=forms_xlsx(
            [BUREAU, POSITION, "新しい質問", OBSTACLE],
            [
                ["財政局", "主事", "はい", "知識や活用スキル;"],
                ["総務局", "主事", "いいえ", "業務繁忙;"],
                ["総務局", "主事", "はい", None],
            ],
        ),
    )
    declare(later, editor)
    assert OBSTACLE in common_questions(confirmed.survey)
    comparison = compare_rounds(confirmed.survey, OBSTACLE)
    assert [r.label for r in comparison.rounds] == ["2023年度", "2024年度"]
    assert comparison.n == [7, 2]
    skill = next(o for o in comparison.options if o.option == "知識や活用スキル")
    assert skill.shares == [3 / 7, 1 / 2]
    other = next(o for o in comparison.options if o.option == "その他")
    assert other.shares[1] is None
    assert any("その他" in n for n in comparison.notes)
    assert share_choosing(later, OBSTACLE, "知識や活用スキル") == 1 / 2


def test_numeric_questions_are_summarised(actors: Actors, survey: Survey) -> None:
    editor = as_actor(actors, "owner_editor")
    round_ = round_import(
        actor=editor,
        survey=survey,
        label="2025年度",
        data=forms_xlsx(
            ["所属局", "経験年数"], [["財政局", 3], ["総務局", "12"], ["総務局", None], ["財政局", 6]]
        ),
    )
    assert round_.questions.get(text="経験年数").guessed_kind == "number"
    round_questions_confirm(actor=editor, round_=round_, declarations=[])
    [(q, s)] = number_summaries(load_round(round_))
    assert q.text == "経験年数"
    assert (s.n, s.no_answer, s.mean, s.median, s.minimum, s.maximum) == (3, 1, 7.0, 6.0, 3.0, 12.0)
