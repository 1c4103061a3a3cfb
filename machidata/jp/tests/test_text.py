"""Tests for machidata.jp.text; expected values written by hand."""

from decimal import Decimal

import pytest

from machidata.jp.text import (
    Missing,
    TextParseError,
    normalize_phone,
    normalize_text,
    parse_bool,
    parse_latlon,
    parse_missing,
    parse_number,
    parse_postal_code,
    unify_hyphens,
    unit_scale,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("ｸﾏﾓﾄｼ", "クマモトシ"),
        ("ｼﾞョｳﾅﾝﾏﾁ", "ジョウナンマチ"),  # the MLIT table's mixed half/full-width kana
        ("　熊本市　　中央区\t\n", "熊本市 中央区"),
        ("\ufeff手取本町\u200b1", "手取本町1"),
        ("㍻", "平成"),
        ("㋿", "令和"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_unify_hyphens_only_between_digits() -> None:
    assert unify_hyphens("手取本町1ー1") == "手取本町1-1"
    assert unify_hyphens("860−8601") == "860-8601"
    assert unify_hyphens("センター1―2") == "センター1-2"  # the long vowel in センター stays


@pytest.mark.parametrize(
    ("raw", "value", "unit", "marker"),
    [
        ("１，２３４", Decimal(1234), None, None),
        ("1,234円", Decimal(1234), "円", None),
        ("1234", Decimal(1234), None, None),
        ("▲123", Decimal(-123), None, "▲"),
        ("△5", Decimal(-5), None, "△"),
        ("▼ 7", Decimal(-7), None, "▼"),
        ("-42", Decimal(-42), None, "-"),
        ("－42", Decimal(-42), None, "-"),
        ("−42", Decimal(-42), None, "-"),
        ("+3", Decimal(3), None, None),
        ("12.5%", Decimal("12.5"), "%", None),
        ("１２．５％", Decimal("12.5"), "%", None),
        ("(123)", Decimal(-123), None, "()"),
        ("（1,000）千円", Decimal(-1000), "千円", "()"),
        ("1.2万", Decimal("1.2"), "万", None),
        ("3,500千円", Decimal(3500), "千円", None),
        ("12百万円", Decimal(12), "百万円", None),
        ("45 人", Decimal(45), "人", None),
        ("7件", Decimal(7), "件", None),
        ("120㎡", Decimal(120), "m2", None),
        ("1,024世帯", Decimal(1024), "世帯", None),
        ("3台", Decimal(3), "台", None),
        ("2回", Decimal(2), "回", None),
        ("¥1,500", Decimal(1500), "円", None),
        ("￥１，５００", Decimal(1500), "円", None),
        (".5", Decimal("0.5"), None, None),
        ("▲0", Decimal(0), None, "▲"),
        ("1,234,567.89", Decimal("1234567.89"), None, None),
    ],
)
def test_parse_number(raw: str, value: Decimal, unit: str | None, marker: str | None) -> None:
    got = parse_number(raw)
    assert got.ok
    assert got.value == value
    assert got.unit == unit
    assert got.negative_marker == marker
    assert got.raw == raw
    assert got.missing is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-", "none"),
        ("－", "none"),
        ("―", "none"),
        ("—", "none"),
        ("…", "none"),
        ("･･･", "none"),
        ("ー", "none"),
        ("x", "suppressed"),
        ("X", "suppressed"),
        ("Ｘ", "suppressed"),
        ("***", "suppressed"),
        ("*", "suppressed"),
        ("秘匿", "suppressed"),
        ("χ", "suppressed"),
        ("不詳", "unknown"),
        ("", "empty"),
        ("　", "empty"),
    ],
)
def test_missing_markers(raw: str, reason: str) -> None:
    got = parse_number(raw)
    assert not got.ok
    assert got.value is None
    assert got.missing == Missing(reason, raw)  # type: ignore[arg-type]
    assert parse_missing(raw) == Missing(reason, raw)  # type: ignore[arg-type]


def test_parse_missing_none_for_values() -> None:
    assert parse_missing("12") is None
    assert parse_missing("熊本") is None


@pytest.mark.parametrize(
    "raw", ["abc", "1,23", "12,3456", "1.2.3", "▲-5", "(5", "12 34", "1e5", "12kgs", "約100", "--5"]
)
def test_parse_number_rejects(raw: str) -> None:
    with pytest.raises(TextParseError):
        parse_number(raw)


def test_unit_scale() -> None:
    assert unit_scale("千円") == (Decimal(1000), "円")
    assert unit_scale("百万円") == (Decimal(1_000_000), "円")
    assert unit_scale("万人") == (Decimal(10_000), "人")
    assert unit_scale("万") == (Decimal(10_000), None)
    assert unit_scale("人") == (Decimal(1), "人")
    assert unit_scale(None) == (Decimal(1), None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("○", True),
        ("◯", True),
        ("〇", True),
        ("有", True),
        ("あり", True),
        ("はい", True),
        ("可", True),
        ("TRUE", True),
        ("×", False),
        ("無", False),
        ("なし", False),
        ("いいえ", False),
        ("不可", False),
        ("false", False),
        ("", None),
        ("-", None),
    ],
)
def test_parse_bool(raw: str, expected: bool | None) -> None:
    assert parse_bool(raw) is expected


def test_parse_bool_rejects() -> None:
    with pytest.raises(TextParseError):
        parse_bool("たぶん")


@pytest.mark.parametrize(
    "raw", ["〒860-8601", "860-8601", "8608601", "〒８６０－８６０１", "860ー8601", "〒 860-8601"]
)
def test_postal_code(raw: str) -> None:
    assert parse_postal_code(raw) == "860-8601"


@pytest.mark.parametrize("raw", ["860-860", "86-08601", "〒860-86011", "abc"])
def test_postal_code_rejects(raw: str) -> None:
    with pytest.raises(TextParseError):
        parse_postal_code(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("096-328-2111", "096-328-2111"),
        ("０９６－３２８－２１１１", "096-328-2111"),
        ("096(328)2111", "096-328-2111"),
        ("(096) 328-2111", "096-328-2111"),
        ("0963282111", "0963282111"),
        ("090ー1234ー5678", "090-1234-5678"),
        ("+81 96-328-2111", "096-328-2111"),
    ],
)
def test_phone_kept_as_text(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["96-328-2111", "096-328", "内線123", "096-328-2111-1234-5"])
def test_phone_rejects(raw: str) -> None:
    with pytest.raises(TextParseError):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "32.8031, 130.7079",
        "32.8031,130.7079",
        "３２．８０３１，１３０．７０７９",
        "(32.8031, 130.7079)",
        "32.8031 130.7079",
    ],
)
def test_latlon(raw: str) -> None:
    assert parse_latlon(raw) == (32.8031, 130.7079)


@pytest.mark.parametrize("raw", ["130.7079, 32.8031", "32.8031", "north"])
def test_latlon_rejects(raw: str) -> None:
    with pytest.raises(TextParseError):
        parse_latlon(raw)
