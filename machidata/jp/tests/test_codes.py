"""Tests for machidata.jp.codes and machidata.jp.mynumber; expectations from 総務省 lists or by hand."""

import csv
from pathlib import Path

import pytest

from machidata.jp.codes import (
    KUMAMOTO_WARDS,
    CodeError,
    complete_lg_code,
    is_valid_lg_code,
    lg_check_digit,
    ward_from_code,
    ward_from_text,
)
from machidata.jp.mynumber import (
    NumberFormatError,
    corporate_check_digit,
    is_valid_corporate_number,
    is_valid_mynumber,
    mynumber_check_digit,
    validate_mynumber,
)

SHARED_CODES = Path("/work/shared/data/codes")

# 6-digit codes copied from 総務省「全国地方公共団体コード」 (soumu_lg_code_kumamoto_pref.csv) and the
# ward table in SOURCE.md; the check digits here are the published ones, not computed.
PUBLISHED = [
    "430005", "431001", "432024", "432032", "432041", "432059", "432067", "432083", "432105",
    "432113", "432121", "432130", "432148", "432156", "432164", "433489", "433641", "433675",
    "433683", "431010", "431028", "431036", "431044", "431052",
]  # fmt: skip


@pytest.mark.parametrize("code6", PUBLISHED)
def test_check_digit_matches_published_codes(code6: str) -> None:
    assert lg_check_digit(code6[:5]) == code6[5]
    assert complete_lg_code(code6[:5]) == code6
    assert complete_lg_code(code6) == code6
    assert is_valid_lg_code(code6)


def test_check_digit_worked_examples_from_source_md() -> None:
    # 43101: S = 24+15+4+0+2 = 45, 45 mod 11 = 1, (11-1) mod 10 = 0
    assert lg_check_digit("43101") == "0"
    # 43100: S = 43, 43 mod 11 = 10, (11-10) mod 10 = 1
    assert lg_check_digit("43100") == "1"
    # 01100 (札幌市): S = 0+5+4+0+0 = 9, 9 mod 11 = 9, (11-9) mod 10 = 2
    assert lg_check_digit("01100") == "2"
    assert complete_lg_code("４３１０１") == "431010"


@pytest.mark.skipif(not SHARED_CODES.exists(), reason="shared code tables not present on this machine")
def test_check_digit_against_every_soumu_row() -> None:
    with (SHARED_CODES / "soumu_lg_code_kumamoto_pref.csv").open(encoding="utf-8") as f:
        codes = [row["団体コード"] for row in csv.DictReader(f)]
    assert len(codes) == 46
    assert all(is_valid_lg_code(c) for c in codes)


def test_embedded_wards_match_shared_csv() -> None:
    path = SHARED_CODES / "kumamoto_city_lg_codes.csv"
    if not path.exists():
        pytest.skip("shared code tables not present on this machine")
    with path.open(encoding="utf-8") as f:
        rows = {r["code5"]: r for r in csv.DictReader(f) if r["kind"] == "行政区"}
    assert len(rows) == len(KUMAMOTO_WARDS) == 5
    for ward in KUMAMOTO_WARDS:
        assert rows[ward.code5]["lg_code6"] == ward.code6
        assert rows[ward.code5]["name"] == ward.full_name


@pytest.mark.parametrize("bad", ["431011", "431020", "4310", "4310100", "43a01", ""])
def test_invalid_codes(bad: str) -> None:
    assert not is_valid_lg_code(bad)
    with pytest.raises(CodeError):
        complete_lg_code(bad)


@pytest.mark.parametrize(
    ("text", "ward_name", "code6"),
    [
        ("熊本市中央区手取本町1-1", "中央区", "431010"),
        ("熊本県熊本市東区東町4丁目", "東区", "431028"),
        ("熊本市　西区春日1丁目", "西区", "431036"),
        ("〒861-4101 熊本市南区富合町清藤405-3", "南区", "431044"),
        ("熊本市北区植木町岩野238-1", "北区", "431052"),
        ("中央区", "中央区", "431010"),
        ("北区役所", "北区", "431052"),
    ],
)
def test_ward_from_text(text: str, ward_name: str, code6: str) -> None:
    ward = ward_from_text(text)
    assert ward is not None
    assert ward.name == ward_name
    assert ward.code6 == code6


@pytest.mark.parametrize("text", ["熊本市", "東京都中央区銀座", "八代市", "", "大阪市北区"])
def test_ward_from_text_none(text: str) -> None:
    assert ward_from_text(text) is None


def test_ward_from_code() -> None:
    assert ward_from_code("431010").name == "中央区"  # type: ignore[union-attr]
    assert ward_from_code("43105").name == "北区"  # type: ignore[union-attr]
    assert ward_from_code("43342").name == "南区"  # type: ignore[union-attr]  # 旧富合町
    assert ward_from_code("43385").name == "北区"  # type: ignore[union-attr]  # 旧植木町
    assert ward_from_code("431001") is None  # the city itself
    with pytest.raises(CodeError):
        ward_from_code("431011")


# --- マイナンバー / 法人番号 ----------------------------------------------------------------------


def test_mynumber_hand_computed() -> None:
    # 1 2 3 4 5 6 7 8 9 0 1 with weights 6 5 4 3 2 7 6 5 4 3 2:
    # 6+10+12+12+10+42+42+40+36+0+2 = 212; 212 mod 11 = 3; check = 11-3 = 8
    assert mynumber_check_digit("12345678901") == 8
    assert is_valid_mynumber("123456789018")
    assert is_valid_mynumber("1234 5678 9018")
    assert is_valid_mynumber("１２３４５６７８９０１８")
    assert not is_valid_mynumber("123456789017")
    # 0 0 0 0 0 0 0 0 0 0 1: S = 2, remainder 2, check = 9
    assert mynumber_check_digit("00000000001") == 9
    # 0 0 0 0 0 0 0 0 0 0 0: remainder 0 -> check 0
    assert mynumber_check_digit("00000000000") == 0
    # 0 0 0 0 0 0 0 0 0 0 6: S = 12, remainder 1 -> check 0 (not 10)
    assert mynumber_check_digit("00000000006") == 0
    # 1 0 0 0 0 0 0 0 0 0 0: S = 6, remainder 6 -> check 5
    assert mynumber_check_digit("10000000000") == 5
    # 0 0 0 0 0 1 0 0 0 0 0: the 6th digit from the right (weight 7): S = 7 -> check 4
    assert mynumber_check_digit("00000100000") == 4


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", ""])
def test_mynumber_wrong_shape(bad: str) -> None:
    assert not is_valid_mynumber(bad)
    with pytest.raises(NumberFormatError):
        validate_mynumber(bad)


def test_corporate_number_hand_computed() -> None:
    # 国税庁's own 法人番号 7000012050002: base 000012050002, odd positions from the right (weight 1):
    # 2,0,5,2,0,0 and even positions (weight 2): 0,0,0,1,0,0 -> 9 + 2 = 11; 11 mod 9 = 2; 9-2 = 7
    assert corporate_check_digit("000012050002") == 7
    assert is_valid_corporate_number("7000012050002")
    assert not is_valid_corporate_number("6000012050002")
    assert not is_valid_corporate_number("700001205000")
