"""Pure table functions: parsing choices, frequency and crosstab shares, suppression of a frequency table."""

from __future__ import annotations

import numpy as np
import pytest

from machidata.core.errors import InvalidInput
from machidata.surveys.tables import (
    crosstab,
    frequency,
    number_summary,
    parse_choices,
    percent,
    suppress_frequency,
)


def test_single_select_unknown_values_become_other() -> None:
    parsed = parse_choices("single", ["はい", "いいえ"], ["はい", "たぶん", None, "いいえ", "はい"])
    assert parsed.options == ["はい", "いいえ", "その他"]
    assert parsed.unknown == {"たぶん": 1}
    table = frequency(parsed)
    assert (table.n, table.no_answer) == (4, 1)
    assert [(r.option, r.count, r.share) for r in table.rows] == [
        ("はい", 2, 2 / 4),
        ("いいえ", 1, 1 / 4),
        ("その他", 1, 1 / 4),
    ]


def test_weighted_frequency_uses_weights_for_shares_only() -> None:
    parsed = parse_choices("single", ["A", "B"], ["A", "B", "B"])
    table = frequency(parsed, weights=np.array([3.0, 1.0, 1.0]))
    rows = {r.option: r for r in table.rows}
    assert rows["A"].share == 1 / 3
    assert rows["A"].weighted_share == 3 / 5
    assert table.n == 3


def test_crosstab_with_selections_denominator() -> None:
    by = parse_choices("single", ["X", "Y"], ["X", "X", "Y"])
    of = parse_choices("multi", ["a", "b"], ["a;b;", "a;", "b;"])
    table = crosstab(by, of, denominator="selections")
    x = table.rows[0]
    assert x.n == 2
    assert [c.share for c in x.cells] == [2 / 3, 1 / 3]  # X chose a twice, b once: 3 selections


def test_frequency_leaving_the_division_hides_small_counts_and_a_complement() -> None:
    parsed = parse_choices("single", ["A", "B", "C"], ["A"] * 2 + ["B"] * 10 + ["C"] * 8)
    table = frequency(parsed)
    hidden = suppress_frequency(table, single=True, threshold=5)
    rows = {r.option: r for r in table.rows}
    assert rows["A"].hidden  # 2 < 5
    assert hidden == 2  # n is published: one more cell hidden so A cannot be subtracted out
    assert sum(r.hidden for r in table.rows) == 2


def test_frequency_with_a_base_below_the_threshold_is_hidden_whole() -> None:
    table = frequency(parse_choices("single", ["A", "B"], ["A", "B", "B"]))
    suppress_frequency(table, single=True, threshold=5)
    assert all(r.hidden for r in table.rows)


def test_number_summary_and_percent() -> None:
    s = number_summary([1.0, None, 3.0], weights=np.array([1.0, 5.0, 3.0]))
    assert (s.n, s.no_answer, s.mean, s.weighted_mean) == (2, 1, 2.0, (1 * 1 + 3 * 3) / 4)
    assert number_summary([None]).mean is None
    assert percent(0.356) == "35.6%"
    assert percent(None) == "—"


def test_frequency_refuses_an_unknown_denominator() -> None:
    with pytest.raises(InvalidInput):
        frequency(parse_choices("single", ["A"], ["A"]), denominator="x")
