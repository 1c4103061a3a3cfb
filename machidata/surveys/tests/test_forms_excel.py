"""Reading Forms exports: fixed columns (Japanese and English), bad files, multi-select splitting, guesses."""

from __future__ import annotations

import pytest

from machidata.core.errors import InvalidInput
from machidata.surveys.forms_excel import guess_question, read_export, split_multi
from machidata.surveys.tests.conftest import EN, OBSTACLE, OBSTACLES, ROWS, forms_xlsx


def test_japanese_export_is_read_without_mail_and_name() -> None:
    export = read_export(forms_xlsx(["所属局", OBSTACLE], [r[:1] + r[2:3] for r in ROWS]))
    assert export.questions == ["所属局", OBSTACLE]
    assert export.ids == [str(i) for i in range(1, len(ROWS) + 1)]
    assert export.answers[0] == ["財政局", "知識や活用スキル;"]
    assert export.started[0] is not None


def test_english_headers_and_last_modified_column_are_fixed_columns() -> None:
    export = read_export(forms_xlsx(["Department"], [["Finance"], ["Health"]], header=EN))
    assert export.questions == ["Department"]  # Last modified time is not a question
    assert export.respondents == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "空"),
        (b"not an excel file", "Excel"),
    ],
)
def test_unreadable_files_are_refused_in_japanese(data: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        read_export(data)


def test_a_sheet_without_the_fixed_columns_is_not_a_forms_export() -> None:
    data = forms_xlsx(["質問"], [["a"]], header=["番号", "開始時刻", "完了時刻", "メール", "名前"])
    with pytest.raises(InvalidInput, match="Microsoft Forms の書き出しではない") as exc:
        read_export(data)
    assert "ID" in exc.value.message


def test_header_only_file_has_no_answers() -> None:
    with pytest.raises(InvalidInput, match="回答が1件もありません"):
        read_export(forms_xlsx(["質問"], []))


def test_duplicate_ids_are_refused_with_both_lines() -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(forms_xlsx(["質問"], [["a"], ["b"]])))
    book.active.cell(row=3, column=1, value=1)  # type: ignore[union-attr]
    out = BytesIO()
    book.save(out)
    with pytest.raises(InvalidInput, match="ID「1」が2行目と3行目で重複"):
        read_export(out.getvalue())


def test_multi_select_matches_longest_options_first_even_with_semicolons_and_commas() -> None:
    chosen, rest = split_multi(
        "予算;人員の不足;データがどこにあるのか分からない、探せない;業務繁忙;", OBSTACLES
    )
    assert chosen == ["予算;人員の不足", "データがどこにあるのか分からない、探せない", "業務繁忙"]
    assert rest == []


def test_multi_select_without_trailing_semicolon_and_with_unknown_leftovers() -> None:
    assert split_multi("業務繁忙", OBSTACLES) == (["業務繁忙"], [])
    assert split_multi("会議が多い;知識や活用スキル;", OBSTACLES) == (["知識や活用スキル"], ["会議が多い"])
    # "予算" alone is not an option: the part before ";" is a leftover, not a half of 予算;人員の不足
    assert split_multi("予算;", OBSTACLES) == ([], ["予算"])
    assert split_multi(None, OBSTACLES) == ([], [])


def test_guesses() -> None:
    assert guess_question(["1", 2, "3.5", None]).kind == "number"
    multi = guess_question(["a;b;", "b;", None])
    assert (multi.kind, multi.options) == ("multi", ["b", "a"])
    single = guess_question(["財政局", "総務局", "財政局"])
    assert (single.kind, single.options) == ("single", ["財政局", "総務局"])
    assert guess_question(["研修を増やしてほしい。", "一覧がほしい。"]).kind == "text"
    assert guess_question([None, None]).kind == "text"


def test_reading_reports_progress_with_the_total() -> None:
    from machidata.surveys.forms_excel import READING

    calls: list[tuple[int, int | None, str]] = []
    rows = [["財政局"] for _ in range(25)]
    export = read_export(
        forms_xlsx(["所属局"], rows), progress=lambda done, total, phase: calls.append((done, total, phase))
    )
    assert export.respondents == 25
    assert [c[0] for c in calls] == list(range(25))
    assert all(total == 25 and phase == READING for _, total, phase in calls)
