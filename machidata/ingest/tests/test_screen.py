"""Tests of the personal-data screen, the マイナンバー rule and the measured quality floor."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from machidata.ingest.screen import MyNumberDetected, mynumber_share, screen_column, screen_sample
from machidata.jp.mynumber import mynumber_check_digit

REPO = Path(__file__).resolve().parents[3]


def _kinds(title: str, values: list[str]) -> set[str]:
    return {f.kind for f in screen_column(title, values)}


def _valid_mynumbers(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        first = "".join(str(rng.randint(0, 9)) for _ in range(11))
        out.append(first + str(mynumber_check_digit(first)))
    return out


def test_person_names_vs_companies() -> None:
    assert _kinds("代表者氏名", ["菅井\u3000正一", "石田\u3000隆嗣", "吉岡\u3000天成"]) == {"person_name"}
    assert _kinds("申請者氏名", ["日清医療食品㈱", "有限会社 肥後", "医療法人 山部会"]) == set()
    assert _kinds("開設者名", ["医療法人\u3000仁木会", "熊本市", "日本赤十字社"]) == set()
    assert _kinds("メモ", ["山田 太郎", "佐藤 花子", "鈴木 一郎"]) == {
        "person_name"
    }  # no hint: pattern alone
    assert _kinds("施設名", ["中央公民館", "東部図書館"]) == set()


def test_a_few_individuals_among_companies_under_a_name_header() -> None:
    values = ["株式会社 同仁堂"] * 40 + ["清藤\u3000克代"]
    assert _kinds("開設者氏名", values) == {"person_name"}


def test_phone_address_email_birthdate() -> None:
    assert _kinds("連絡先", ["096-366-3666", "096(328)2111"]) == {"phone"}
    assert _kinds("営業所電話番号", ["382-3222", "344-8150"]) == {"phone"}
    assert _kinds("金額", ["382-3222", "344-8150"]) == set()  # local form needs a phone header
    assert _kinds("所在地", ["熊本市中央区手取本町1-1", "熊本市東区東町４丁目１番６０号"]) == {"address"}
    assert _kinds("町名", ["手取本町", "花畑町"]) == set()
    assert _kinds("連絡先", ["a.b@example.jp", "ｃ＠ｅｘａｍｐｌｅ．ｊｐ"]) == {"email"}
    assert _kinds("生年月日", ["昭和45年3月2日", "1988/07/14"]) == {"birth_date"}
    assert _kinds("受付日", ["昭和45年3月2日", "1988/07/14"]) == set()


def test_flag_has_reason_and_share() -> None:
    (flag,) = screen_column("電話番号", ["096-366-3666", "なし", "096-365-1711", "096-356-1515"])
    assert flag.to_dict() == {
        "column": "電話番号",
        "kind": "phone",
        "share": 0.75,
        "reason": "電話番号です（値の75%）",
    }


def test_mynumber_column_is_rejected_without_showing_numbers() -> None:
    numbers = _valid_mynumbers(30)
    sample = pa.table({"番号": pa.array(numbers), "名前": pa.array(["x"] * 30)})
    with pytest.raises(MyNumberDetected) as exc:
        screen_sample(sample)
    assert "列「番号」にマイナンバー" in exc.value.message
    assert all(n not in exc.value.message for n in numbers)


def test_random_twelve_digit_column_passes() -> None:
    rng = random.Random(7)
    values = ["".join(str(rng.randint(0, 9)) for _ in range(12)) for _ in range(500)]
    share, n = mynumber_share(pa.array(values))
    assert n == 500
    assert 0.05 < share < 0.15  # about one in ten passes the check digit by chance
    screen_sample(pa.table({"番号": pa.array(values)}))  # does not raise


def test_mynumber_rule_needs_twenty_values_and_a_majority() -> None:
    screen_sample(pa.table({"番号": pa.array(_valid_mynumbers(19))}))  # too few to decide
    mixed = _valid_mynumbers(15) + ["123"] * 10  # 60 %
    screen_sample(pa.table({"番号": pa.array(mixed)}))
    spaced = [f"{v[:4]} {v[4:8]} {v[8:]}" for v in _valid_mynumbers(25)]
    with pytest.raises(MyNumberDetected):
        screen_sample(pa.table({"番号": pa.array(spaced)}))


def test_screen_quality_floor_on_labelled_columns() -> None:
    """Precision and recall ≥ 0.9 on the hand-labelled set (docs/ingest-screening.md)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import pii_screen
    finally:
        sys.path.pop(0)
    if not pii_screen.REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    m = pii_screen.measure()
    assert m["real_columns"] >= 40
    assert m["total"]["precision"] >= 0.9, m["mistakes"]
    assert m["total"]["recall"] >= 0.9, m["mistakes"]


def test_shares_count_cells_not_distinct_values() -> None:
    # Three cells of one phone number among two other values: 60 % of the cells (flagged), though
    # only one distinct value in three is a phone number.
    (flag,) = screen_column("連絡先", ["096-366-3666"] * 3 + ["窓口", "郵送"])
    assert flag.kind == "phone"
    assert flag.share == pytest.approx(0.6)
    assert _kinds("連絡先", ["096-366-3666", "窓口", "郵送", "郵送", "郵送"]) == set()
