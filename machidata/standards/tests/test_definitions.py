"""The shipped definitions: every standard loads with its items, names match across width/bracket
variants and the known definition/template differences, file names, and the templates' encodings."""

from __future__ import annotations

import csv
import io

import pytest

from machidata.standards import definitions as d

# 項目数 and 必須項目数 of the 14 基本編 sets, as dataset_list.csv (SOURCE.md) states them.
COUNTS = {
    "aed": (22, 4), "care_service": (22, 5), "hospital": (26, 10), "cultural_property": (34, 3),
    "tourism": (30, 4), "event": (32, 9), "public_wireless_lan": (18, 3), "public_toilet": (32, 8),
    "fire_hydrant": (11, 1), "evacuation_space": (26, 15), "population": (47, 41),
    "public_facility": (24, 3), "preschool": (28, 3), "open_data_list": (15, 4),
}  # fmt: skip


@pytest.mark.parametrize(("code", "counts"), COUNTS.items())
def test_every_basic_set_has_its_items_and_required_items(code: str, counts: tuple[int, int]) -> None:
    standard = d.by_code(code)
    assert standard is not None
    assert standard.declarable
    assert not standard.partial
    assert (len(standard.items), sum(i.required for i in standard.items)) == counts
    # every item got its type from the definition (none left as an unknown header)
    assert all(i.level in ("必須", "任意") for i in standard.items)


def test_the_header_is_the_official_template_in_its_order() -> None:
    raw = (d.DATA / "templates" / "xxxxxx_aed.csv").read_text("cp932").splitlines()[0]
    assert d.by_code("aed").header == raw.split(",")  # type: ignore[union-attr]


def test_definition_and_template_differences_are_matched() -> None:
    tourism = d.by_code("tourism")
    assert tourism is not None
    fee = tourism.item("料金（基本）")  # the template's full-width brackets
    assert fee is not None
    assert fee.kind == d.NUMBER
    assert fee.other_names == ("料金(基本)",)
    facility = d.by_code("public_facility")
    assert facility is not None
    note = facility.item(
        "利用可能時間特記事項"
    )  # the template's name; the definition says 利用可能日時特記事項
    assert note is not None
    assert "特記事項" in note.description
    assert note.other_names == ("利用可能日時特記事項",)


def test_newer_format_sets_say_plainly_what_they_lack() -> None:
    evac = d.by_code("evacuation_space_ods")
    toilet = d.by_code("public_toilet_ods")
    tourism = d.by_code("tourism_ods")
    assert evac is not None
    assert toilet is not None
    assert tourism is not None
    assert len(evac.items) == 39
    assert evac.declarable
    assert evac.header[0] == "全国地方公共団体コード"
    assert evac.item("災害種別_洪水").choices == ("1", "")  # type: ignore[union-attr]
    assert len(toilet.items) == 39
    assert toilet.partial
    assert not any(i.required for i in toilet.items)
    assert toilet.item("車椅子使用者用トイレ有無").choices == ("有", "無")  # type: ignore[union-attr]  # borrowed
    assert len(tourism.items) == 7
    assert not tourism.declarable
    assert "7" in tourism.partial
    food = [s for s in d.standards() if s.number == "A-1"]
    assert len(food) == 2
    assert not any(s.declarable for s in food)


def _suggested(code: str, columns: list[str]) -> dict[str, tuple[str, str]]:
    standard = d.by_code(code)
    assert standard is not None
    return {s.item: (s.column, s.reason) for s in d.suggest(standard, columns)}


def test_width_bracket_and_space_variants_are_suggested() -> None:
    got = _suggested("tourism", ["料金(基本)", "名 称", "ＵＲＬ", "住所　", "料金（詳細）", "関係ない列"])
    assert got["料金（基本）"] == ("料金(基本)", d.VARIANT)
    assert got["料金（詳細）"] == ("料金（詳細）", d.EXACT)
    assert got["名称"] == ("名 称", d.VARIANT)
    assert got["URL"] == ("ＵＲＬ", d.VARIANT)
    assert got["住所"] == ("住所　", d.VARIANT)
    assert "関係ない列" not in {c for c, _ in got.values()}


def test_known_differences_old_new_renames_and_synonyms_are_suggested() -> None:
    got = _suggested("public_facility", ["利用可能日時特記事項", "施設名", "所在地"])
    assert got["利用可能時間特記事項"] == ("利用可能日時特記事項", d.ALIAS)
    assert got["名称"] == ("施設名", d.SYNONYM)
    assert got["住所"] == ("所在地", d.SYNONYM)
    new = _suggested("evacuation_space_ods", ["都道府県コード又は市区町村コード", "NO", "方書", "住所"])
    assert new["全国地方公共団体コード"] == ("都道府県コード又は市区町村コード", d.ALIAS)
    assert new["緊急避難場所ID"] == ("NO", d.ALIAS)
    assert new["建物名等(方書)"] == ("方書", d.ALIAS)
    assert new["所在地_連結表記"] == ("住所", d.ALIAS)


def test_a_column_is_suggested_for_one_item_only_and_exact_names_win() -> None:
    got = _suggested("aed", ["住所", "所在地"])
    assert got["住所"] == ("住所", d.EXACT)
    assert "所在地" not in {c for c, _ in got.values()}  # 住所 is taken by the exact column


def test_standard_file_names() -> None:
    assert d.by_code("aed").file_name("431001") == "431001_aed.csv"  # type: ignore[union-attr]
    population = d.by_code("population")
    assert population is not None
    assert population.file_name("431001", on="20240401") == "431001_population_20240401.csv"
    assert d.by_code("evacuation_space_ods").file_name("431001") == "431001_evacuation_space.csv"  # type: ignore[union-attr]


@pytest.mark.parametrize("code", [s.code for s in d.standards()])
def test_templates_round_trip_in_both_encodings(code: str) -> None:
    standard = d.by_code(code)
    assert standard is not None
    utf8 = d.template_bytes(standard, "utf-8")
    assert utf8.startswith(b"\xef\xbb\xbf")
    sjis = d.template_bytes(standard, "cp932")
    assert not sjis.startswith(b"\xef\xbb\xbf")
    for data, codec in ((utf8, "utf-8-sig"), (sjis, "cp932")):
        assert next(csv.reader(io.StringIO(data.decode(codec)))) == standard.header


@pytest.mark.parametrize(
    "standard", [s for s in d.standards() if s.generation == d.OLD], ids=lambda s: s.code
)
def test_the_cp932_template_is_byte_for_byte_the_official_header(standard: d.Standard) -> None:
    official = (d.DATA / "templates" / standard.file_pattern).read_bytes()  # the official files are Shift_JIS
    assert d.template_bytes(standard, "cp932").splitlines()[0] == official.splitlines()[0]


def test_fill_values_for_a_city_and_a_prefecture() -> None:
    city = d.fill_values("431001", "熊本市")
    assert city == {"lg_code": "431001", "prefecture": "熊本県", "city": "熊本市", "lg_name": "熊本県熊本市"}
    pref = d.fill_values("430005", "熊本県")
    assert pref["prefecture"] == "熊本県"
    assert pref["city"] == ""
    assert pref["lg_name"] == "熊本県"
