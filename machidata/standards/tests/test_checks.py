"""The checklist: required items, types, 選択肢, blank required cells; and the standard-format row."""

from __future__ import annotations

import datetime as dt

from machidata.standards import checks as c
from machidata.standards import definitions as d

AED = d.by_code("aed")
FILLED = {"都道府県コード又は市区町村コード": "431001", "都道府県名": "熊本県", "市区町村名": "熊本市"}
MAPPING = {"名称": "施設", "名称_カナ": "カナ", "住所": "住所", "設置位置": "場所", "緯度": "lat",
           "開始時間": "開始", "小児対応設備の有無": "小児", "URL": "url"}  # fmt: skip
COLUMNS = ["施設", "カナ", "住所", "場所", "lat", "開始", "小児", "url"]


def row(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"施設": "市役所", "カナ": "シヤクショ", "住所": "熊本市中央区手取本町1-1",
                               "場所": "1階", "lat": 32.8031, "開始": dt.time(8, 30), "小児": "有",
                               "url": "https://www.city.kumamoto.jp/"}  # fmt: skip
    base.update(over)
    return base


def errors(findings: list[c.Finding]) -> dict[str, c.Finding]:
    return {f.item: f for f in findings if f.level == c.ERROR}


def test_a_clean_table_has_no_errors_and_says_what_it_fills() -> None:
    assert AED is not None
    found = c.check(AED, MAPPING, COLUMNS, [row(), row(lat="32.8", 開始="17:15")], filled=FILLED)
    assert errors(found) == {}
    oks = {f.item: f.message for f in found if f.level == c.OK}
    assert "431001" in oks["都道府県コード又は市区町村コード"]
    assert "2 行" in oks["緯度"]


def test_missing_required_item() -> None:
    assert AED is not None
    mapping = {k: v for k, v in MAPPING.items() if k != "名称_カナ"}
    found = errors(c.check(AED, mapping, COLUMNS, [row()], filled=FILLED))
    assert set(found) == {"名称_カナ"}
    assert "必須項目「名称_カナ」" in found["名称_カナ"].message


def test_wrong_types_are_listed_with_examples() -> None:
    assert AED is not None
    rows = [row(lat="北緯32度"), row(lat="３２．８"), row(開始="8時30分"), row(url="www.city.kumamoto.jp")]
    found = errors(c.check(AED, MAPPING, COLUMNS, rows, filled=FILLED))
    assert set(found) == {"緯度", "開始時間", "URL"}
    assert "2 件" in found["緯度"].message
    assert found["緯度"].examples == ("北緯32度", "３２．８")
    assert found["開始時間"].examples == ("8時30分",)


def test_values_outside_the_choices() -> None:
    assert AED is not None
    found = errors(
        c.check(AED, MAPPING, COLUMNS, [row(小児="あり"), row(小児="無"), row(小児=None)], filled=FILLED)
    )
    assert set(found) == {"小児対応設備の有無"}
    assert "有・無" in found["小児対応設備の有無"].message
    assert found["小児対応設備の有無"].examples == ("あり",)


def test_blank_required_cells_and_a_vanished_column() -> None:
    assert AED is not None
    found = errors(
        c.check(AED, {**MAPPING, "備考": "なくなった列"}, COLUMNS, [row(施設=" "), row()], filled=FILLED)
    )
    assert "1 件" in found["名称"].message
    assert found["名称"].examples == ("1行目",)
    assert "なくなった列" in found["備考"].message


def test_required_items_whose_choices_allow_blank_may_be_blank() -> None:
    evac = d.by_code("evacuation_space")
    assert evac is not None
    mapping = {i.name: i.name for i in evac.items}
    data = {i.name: "x" for i in evac.items} | {
        "緯度": "",
        "経度": None,
        "標高": "3",
        "URL": "",
        "指定避難所との重複": "",
    }
    data |= {i.name: "" for i in evac.items if i.name.startswith("災害種別_")} | {"災害種別_地震": "1"}
    found = errors(c.check(evac, mapping, list(mapping.values()), [data], filled={}))
    assert "災害種別_洪水" not in found
    assert "災害種別_地震" not in found
    bad = errors(c.check(evac, mapping, list(mapping.values()), [data | {"災害種別_津波": "○"}], filled={}))
    assert set(bad) == {"災害種別_津波"}


def test_dates_are_checked_strictly() -> None:
    assert c.fits(d.DATE, "2024-04-01")
    assert c.fits(d.DATE, dt.date(2024, 4, 1))
    assert not c.fits(d.DATE, "令和6年4月1日")
    assert not c.fits(d.DATE, "2024-02-30")
    assert not c.fits(d.DATE, "2024/4/1")


def test_the_standard_row_keeps_the_order_fills_and_guards_formulas() -> None:
    assert AED is not None
    out = c.standard_row(AED, MAPPING, row(施設="=HYPERLINK(1)", lat=130.0), FILLED)
    assert len(out) == len(AED.items)
    assert out[:5] == ["431001", "", "熊本県", "熊本市", "'=HYPERLINK(1)"]
    assert out[AED.header.index("緯度")] == "130"
    assert out[AED.header.index("開始時間")] == "08:30"
    assert out[AED.header.index("備考")] == ""
