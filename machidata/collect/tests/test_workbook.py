"""The template: protected header, unlocked data cells, validation from the 項目定義, 説明 sheet, signed identity."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from machidata.collect.workbook import (
    DATA_SHEET,
    HELP_SHEET,
    META_SHEET,
    build_template,
    check_header,
    read_identity,
    sign_identity,
)
from machidata.core.errors import InvalidInput

COLUMNS = [
    {"header": "日付", "type": "date", "required": False},
    {"header": "区分", "type": "string", "enum": ["午前", "午後"]},
    {"header": "利用者数", "type": "integer", "required": True, "minimum": 0, "maximum": 10000, "unit": "人"},
    {
        "header": "分類",
        "type": "string",
        "enum": [f"分類{i:03d}" for i in range(60)],
    },  # too long for an inline list
    {"header": "開館", "type": "boolean", "true_value": "はい", "false_value": "いいえ"},
    {"header": "備考", "type": "string"},
]


def make(campaign_id: int = 7, recipient_id: int = 3) -> bytes:
    return build_template(
        campaign_id=campaign_id,
        recipient_id=recipient_id,
        title="照会",
        recipient="第1合成小学校",
        deadline=dt.date(2025, 4, 20),
        instructions="お願い",
        columns=COLUMNS,
        owner="健康づくり推進課",
    )


def test_header_locked_data_unlocked_sheet_protected() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(make()))
    ws = wb[DATA_SHEET]
    assert [c.value for c in ws[1]] == [c["header"] for c in COLUMNS]
    assert ws.protection.sheet is True
    assert all(c.protection.locked for c in ws[1])
    assert not ws.cell(row=2, column=1).protection.locked
    assert not ws.cell(row=500, column=3).protection.locked
    assert "必須" in ws.cell(row=1, column=3).comment.text
    assert wb.active.title == DATA_SHEET


def test_validation_follows_the_schema() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(make()))
    by_col = {str(dv.sqref).split(":")[0][0]: dv for dv in wb[DATA_SHEET].data_validations.dataValidation}
    assert by_col["A"].type == "date"
    assert by_col["B"].type == "list"
    assert by_col["B"].formula1 == '"午前,午後"'
    assert (by_col["C"].type, by_col["C"].formula1, by_col["C"].formula2) == ("whole", "0", "10000")
    assert by_col["D"].type == "list"
    assert "選択肢" in by_col["D"].formula1
    assert [wb["選択肢"].cell(row=i, column=1).value for i in (1, 60)] == ["分類000", "分類059"]
    assert by_col["E"].formula1 == '"はい,いいえ"'
    assert "F" not in by_col  # free text: nothing to check
    assert str(by_col["C"].sqref) == "C2:C1001"


def test_help_sheet_and_hidden_identity(tmp_path: Path) -> None:
    data = make()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = [c.value for row in wb[HELP_SHEET].iter_rows() for c in row if c.value]
    assert "第1合成小学校" in texts
    assert "2025年04月20日" in texts
    assert "単位: 人" in " ".join(map(str, texts))
    assert wb[META_SHEET].sheet_state == "veryHidden"
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    identity = read_identity(path)
    assert (identity.campaign_id, identity.recipient_id) == (7, 3)


def test_forged_identity_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(make()))
    wb[META_SHEET]["B2"] = 4  # another recipient, signature of recipient 3 kept
    path = tmp_path / "forged.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInput, match="照会の様式ではありません"):
        read_identity(path)
    assert sign_identity(7, 3) != sign_identity(7, 4)


def test_not_excel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_text("日付,区分\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Excel"):
        read_identity(path)


def test_check_header_names_missing_changed_and_extra_columns() -> None:
    check_header(["a", "b"], ["a", "b"])
    with pytest.raises(InvalidInput) as exc:
        check_header(["a", "x", "z"], ["a", "b"])
    assert exc.value.details == {
        "header": ["B列の見出しが「b」から「x」に変わっています", "C列に様式にない列「z」があります"]
    }
    with pytest.raises(InvalidInput, match="B列の見出し「b」がありません"):
        check_header(["a"], ["a", "b"])
