"""The pipeline's plain functions: pseudonyms, coarsening, k-anonymity (no database)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pyarrow as pa
import pytest

from machidata.deid import pipeline
from machidata.deid.pipeline import Spec, age_band, chome_of, k_anonymity, pseudonym, small_groups, ward_of

AS_OF = dt.date(2026, 4, 1)


def test_pseudonym_is_keyed_and_normalised():
    key = b"k" * 32
    expected = hmac.new(key, b"12345678", hashlib.sha256).hexdigest()[:32]
    assert pseudonym(key, "12345678") == expected
    assert pseudonym(key, "１２３４５６７８ ") == expected  # full-width digits and spaces read the same
    assert pseudonym(b"x" * 32, "12345678") != expected  # another release's key, another pseudonym
    assert pseudonym(key, "12345678") != hashlib.sha256(b"12345678").hexdigest()[:32]


@pytest.mark.parametrize(
    ("born", "width", "band"),
    [
        ("1986/04/01", 5, "40～44歳"),  # 40th birthday on the reference date
        ("1986/04/02", 5, "35～39歳"),  # one day short
        ("昭和61年4月2日", 10, "30～39歳"),
        ("平成31年4月30日", 10, "0～9歳"),
        ("1930-01-01", 5, "90歳以上"),
        ("2030/01/01", 5, None),  # born after the reference date
        ("不明", 5, None),
    ],
)
def test_age_band(born, width, band):
    assert age_band(born, AS_OF, width) == band


@pytest.mark.parametrize(
    ("address", "ward", "town"),
    [
        ("熊本市中央区手取本町1-1", "熊本市中央区", "熊本市中央区手取本町"),
        ("熊本県熊本市東区健軍2丁目3-4", "熊本市東区", "熊本市東区健軍2丁目"),
        ("熊本市北区植木町岩野２３８番地１", "熊本市北区", "熊本市北区植木町岩野"),
        ("熊本市南区城南町舞原 456", "熊本市南区", "熊本市南区城南町舞原"),
        ("熊本県阿蘇市一の宮町1-1", pipeline.OUTSIDE, pipeline.OUTSIDE),
    ],
)
def test_ward_and_town(address, ward, town):
    assert ward_of(address) == ward
    assert chome_of(address) == town


def test_k_anonymity_counts_the_smallest_group_and_empty_values():
    t = pa.table({"区": ["東区", "東区", "西区", None], "性別": ["男", "男", "女", "女"]})
    assert k_anonymity(t, ["区", "性別"]) == (1, 3)
    assert k_anonymity(t, ["性別"]) == (2, 2)
    assert small_groups(t, ["区", "性別"], 2) == 2


def _spec(**extra):
    return Spec(
        kind="pseudonymised", identifiers=("番号",), quasi=(("住所", "ward"),), as_of=AS_OF, k=2, **extra
    )


def test_process_refuses_missing_declared_columns_before_anything_else():
    t = pa.table({"住所": ["熊本市東区健軍1-1"] * 3})
    out = pipeline.process(t, _spec(drop=("電話",)), b"k" * 32)
    assert "番号、電話" in out.refusal
    assert out.table.num_rows == 0


def test_process_keeps_undeclared_columns_and_drops_declared_ones():
    t = pa.table(
        {
            "番号": ["1", "2", "3"],
            "住所": ["熊本市東区健軍1-1"] * 3,
            "電話": ["096"] * 3,
            "件数": ["4", "5", "6"],
        }
    )
    out = pipeline.process(t, _spec(drop=("電話",)), b"k" * 32)
    assert out.refusal == ""
    assert out.table.column_names == ["番号_仮名", "住所_区", "件数"]
    assert out.k_found == 3


def test_top_code_never_writes_scientific_notation():
    assert pipeline.number_text(1e7) == "10000000"
    assert pipeline.number_text(2.5) == "2.5"
