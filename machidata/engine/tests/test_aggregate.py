"""Aggregate queries (group_by, time grains, measures, top N) against answers computed in plain Python.

The expected values come from the test's own loops over the same rows (``statistics``, ``datetime``),
never from the engine. The rows are random but seeded, and include the 3/31 23:30 and 4/1 00:30
fiscal-year boundary on purpose.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.engine import TableQuery, run_query
from machidata.engine.tests.conftest import write_rows

WARDS = ("中央区", "東区", "西区", "南区", "北区")
TYPES = ("急病", "一般負傷", "交通事故", "転院搬送")
WEEKDAYS = "月火水木金土日"

BIG_SCHEMA = pa.schema(
    [
        ("at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("ward", pa.string()),
        ("kind", pa.string()),
        ("minutes", pa.float64()),
        ("people", pa.int64()),
        ("pop", pa.int64()),
    ]
)
POPULATION = {"中央区": 186_000, "東区": 191_000, "西区": 92_000, "南区": 128_000, "北区": 142_000}
BOUNDARY = [dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2024, 4, 1, 0, 30)]


def _make_rows() -> list[dict[str, Any]]:
    rng = random.Random(7)
    start = dt.datetime(2022, 1, 1)
    rows: list[dict[str, Any]] = []
    for i in range(1500):
        if i < len(BOUNDARY):
            at: dt.datetime | None = BOUNDARY[i]
        elif i % 97 == 0:
            at = None
        else:
            # Leave out 2023-07 entirely so the "previous month" of 2023-08 has no rows.
            while True:
                at = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 3))
                if (at.year, at.month) != (2023, 7):
                    break
        ward = None if i % 131 == 0 else rng.choice(WARDS)
        rows.append(
            {
                "at": at,
                "day": at.date() if at is not None else None,
                "ward": ward,
                "kind": rng.choice(TYPES),
                "minutes": None if i % 53 == 0 else round(rng.uniform(3, 25), 1),
                "people": rng.randint(1, 4),
                "pop": POPULATION.get(ward or ""),
            }
        )
    return rows


ROWS = _make_rows()


@pytest.fixture
def big(tmp_path: Path) -> list[str]:
    """The rows over two Parquet files."""
    return [
        write_rows(tmp_path / "a.parquet", ROWS[:700], BIG_SCHEMA),
        write_rows(tmp_path / "b.parquet", ROWS[700:], BIG_SCHEMA),
    ]


def _fy(t: dt.datetime) -> int:
    """The test's own fiscal year: January–March belong to the previous April's year."""
    return t.year if t.month >= 4 else t.year - 1


def _groups(key: Callable[[dict[str, Any]], Any]) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in ROWS:
        out[key(r)].append(r)
    return out


def _run(files: list[str], query: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return list(run_query(files, TableQuery.from_dict(query), **kw).table.to_pylist())


def _approx(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_count_by_fiscal_year_and_ward(big: list[str]) -> None:
    got = _run(
        big, {"group_by": [{"column": "at", "grain": "fiscal_year"}, "ward"], "measures": [{"op": "count"}]}
    )
    expected = {
        k: len(v) for k, v in _groups(lambda r: (_fy(r["at"]) if r["at"] else None, r["ward"])).items()
    }
    assert {(r["at（年度）"], r["ward"]): r["件数"] for r in got} == expected
    # Default order: group keys ascending, blanks last.
    keys = [(r["at（年度）"], r["ward"]) for r in got]
    assert keys == sorted(keys, key=lambda k: (k[0] is None, k[0] or 0, k[1] is None, k[1] or ""))


@pytest.mark.parametrize(
    ("grain", "fn"),
    [
        ("day", lambda t: t.date()),
        ("week", lambda t: t.date() - dt.timedelta(days=t.weekday())),
        ("month", lambda t: t.date().replace(day=1)),
        ("quarter", lambda t: dt.date(t.year, 3 * ((t.month - 1) // 3) + 1, 1)),
        ("year", lambda t: t.year),
        ("fiscal_year", _fy),
        ("weekday", lambda t: WEEKDAYS[t.weekday()]),
        ("hour", lambda t: t.hour),
    ],
)
def test_every_grain(big: list[str], grain: str, fn: Callable[[dt.datetime], Any]) -> None:
    got = _run(
        big, {"group_by": [{"column": "at", "grain": grain, "as": "k"}], "measures": [{"op": "count"}]}
    )
    expected = {k: len(v) for k, v in _groups(lambda r: fn(r["at"]) if r["at"] else None).items()}
    assert {r["k"]: r["件数"] for r in got} == expected


def test_date_column_grains(big: list[str]) -> None:
    got = _run(
        big,
        {
            "group_by": [{"column": "day", "grain": "fiscal_year"}, {"column": "day", "grain": "month"}],
            "measures": [{"op": "count"}],
        },
    )
    expected = {
        k: len(v)
        for k, v in _groups(
            lambda r: (_fy(r["at"]), r["day"].replace(day=1)) if r["day"] else (None, None)
        ).items()
    }
    assert {(r["day（年度）"], r["day（月）"]): r["件数"] for r in got} == expected


def test_weekday_sorts_monday_to_sunday(big: list[str]) -> None:
    got = _run(
        big,
        {
            "group_by": [{"column": "at", "grain": "weekday"}],
            "measures": [{"op": "count"}],
            "filters": [{"column": "at", "op": "not_null"}],
        },
    )
    assert [r["at（曜日）"] for r in got] == list(WEEKDAYS)
    desc = _run(
        big,
        {
            "group_by": [{"column": "at", "grain": "weekday"}],
            "sort": [{"column": "at（曜日）", "direction": "desc"}],
            "filters": [{"column": "at", "op": "not_null"}],
        },
    )
    assert [r["at（曜日）"] for r in desc] == list(reversed(WEEKDAYS))


@pytest.fixture
def other_zone() -> Iterator[None]:
    """Run the test with the process in a zone far from Tokyo, then restore it."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.usefixtures("other_zone")
def test_boundary_hour_and_fiscal_year_ignore_the_process_zone(tmp_path: Path) -> None:
    assert time.localtime(0).tm_hour != 9  # the process is really not in Tokyo
    rows = [
        {"at": t, "day": t.date(), "ward": "中央区", "kind": "急病", "minutes": 1.0, "people": 1, "pop": 1}
        for t in BOUNDARY
    ]
    f = write_rows(tmp_path / "b.parquet", rows, BIG_SCHEMA)
    got = _run(
        [f],
        {
            "group_by": [
                {"column": "at", "grain": "fiscal_year", "as": "年度"},
                {"column": "at", "grain": "hour", "as": "時"},
                {"column": "at", "grain": "day", "as": "日"},
                {"column": "at", "grain": "weekday", "as": "曜日"},
            ],
            "measures": [{"op": "count"}],
        },
    )
    assert got == [
        {"年度": 2023, "時": 23, "日": dt.date(2024, 3, 31), "曜日": "日", "件数": 1},
        {"年度": 2024, "時": 0, "日": dt.date(2024, 4, 1), "曜日": "月", "件数": 1},
    ]


def test_plain_measures(big: list[str]) -> None:
    got = _run(
        big,
        {
            "group_by": ["ward"],
            "measures": [
                {"op": "count"},
                {"op": "count", "column": "minutes"},
                {"op": "sum", "column": "people"},
                {"op": "avg", "column": "minutes"},
                {"op": "median", "column": "minutes"},
                {"op": "min", "column": "at"},
                {"op": "max", "column": "minutes"},
                {"op": "count_distinct", "column": "kind"},
            ],
        },
    )
    assert len(got) == len(WARDS) + 1
    for ward, rows in _groups(lambda r: r["ward"]).items():
        row = next(r for r in got if r["ward"] == ward)
        mins = [r["minutes"] for r in rows if r["minutes"] is not None]
        ats = [r["at"] for r in rows if r["at"] is not None]
        assert row["件数"] == len(rows)
        assert row["件数（minutes）"] == len(mins)
        assert row["合計（people）"] == sum(r["people"] for r in rows)
        assert _approx(row["平均（minutes）"], statistics.fmean(mins))
        assert _approx(row["中央値（minutes）"], statistics.median(mins))
        assert row["最小（at）"] == min(ats)
        assert row["最大（minutes）"] == max(mins)
        assert row["種類数（kind）"] == len({r["kind"] for r in rows})


def test_measures_without_groups_give_one_row(big: list[str]) -> None:
    result = run_query(
        big, TableQuery.from_dict({"measures": [{"op": "count"}, {"op": "sum", "column": "people"}]})
    )
    assert result.table.to_pylist() == [{"件数": len(ROWS), "合計（people）": sum(r["people"] for r in ROWS)}]
    assert result.total == 1


def test_group_by_without_measures_lists_distinct_groups(big: list[str]) -> None:
    got = _run(big, {"group_by": ["kind"]})
    assert [r["kind"] for r in got] == sorted({r["kind"] for r in ROWS})


def test_filters_apply_before_grouping(big: list[str]) -> None:
    got = _run(
        big,
        {
            "filters": [{"column": "kind", "op": "eq", "value": "急病"}],
            "group_by": ["ward"],
            "measures": [{"op": "count"}],
        },
    )
    expected = {
        k: len(v) for k, v in _groups(lambda r: r["ward"] if r["kind"] == "急病" else "-").items() if k != "-"
    }
    assert {r["ward"]: r["件数"] for r in got} == expected


def test_shares(big: list[str]) -> None:
    got = _run(
        big,
        {
            "filters": [{"column": "ward", "op": "not_null"}],
            "group_by": ["ward", "kind"],
            "measures": [
                {"op": "share_of_total"},
                {"op": "share_of_row", "column": "people"},
                {"op": "share_of_column"},
            ],
        },
    )
    rows = [r for r in ROWS if r["ward"] is not None]
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        cells[(r["ward"], r["kind"])].append(r)
    assert len(got) == len(cells)
    for r in got:
        cell = cells[(r["ward"], r["kind"])]
        ward_people = sum(x["people"] for x in rows if x["ward"] == r["ward"])
        kind_count = sum(1 for x in rows if x["kind"] == r["kind"])
        assert _approx(r["構成比（件数）"], len(cell) / len(rows))
        assert _approx(r["行内構成比（合計（people））"], sum(x["people"] for x in cell) / ward_people)
        assert _approx(r["列内構成比（件数）"], len(cell) / kind_count)


def test_rate_per_with_a_joined_population(big: list[str]) -> None:
    got = _run(
        big,
        {
            "filters": [{"column": "ward", "op": "not_null"}],
            "group_by": ["ward"],
            "measures": [
                {"op": "rate_per", "denominator": "pop", "per": 1000},
                {
                    "op": "rate_per",
                    "column": "people",
                    "denominator": "pop",
                    "per": 100_000,
                    "denominator_agg": "sum",
                    "as": "r",
                },
            ],
        },
    )
    for r in got:
        rows = [x for x in ROWS if x["ward"] == r["ward"]]
        assert _approx(r["件数（pop1,000あたり）"], len(rows) / POPULATION[r["ward"]] * 1000)
        assert _approx(r["r"], sum(x["people"] for x in rows) / sum(x["pop"] for x in rows) * 100_000)


def test_target_ratio(big: list[str]) -> None:
    got = _run(big, {"group_by": ["kind"], "measures": [{"op": "target_ratio", "target": 400}]})
    for r in got:
        assert _approx(r["目標比（件数）"], sum(1 for x in ROWS if x["kind"] == r["kind"]) / 400)


def test_change_from_previous_fiscal_year_per_ward(big: list[str]) -> None:
    got = _run(
        big,
        {
            "filters": [{"column": "at", "op": "not_null"}],
            "group_by": ["ward", {"column": "at", "grain": "fiscal_year", "as": "年度"}],
            "measures": [{"op": "count"}, {"op": "change_from_previous", "along": "年度"}],
        },
    )
    counts = {k: len(v) for k, v in _groups(lambda r: (r["ward"], _fy(r["at"]) if r["at"] else None)).items()}
    for r in got:
        prev = counts.get((r["ward"], r["年度"] - 1))
        expected = None if prev is None else counts[(r["ward"], r["年度"])] / prev
        assert _approx(r["前年度比（件数）"], expected), r
    assert any(r["前年度比（件数）"] is None for r in got)
    assert any(r["前年度比（件数）"] is not None for r in got)


def test_change_from_previous_month_skips_a_gap(big: list[str]) -> None:
    got = _run(
        big,
        {
            "filters": [{"column": "at", "op": "not_null"}],
            "group_by": [{"column": "at", "grain": "month"}],
            "measures": [
                {"op": "sum", "column": "people"},
                {"op": "change_from_previous", "column": "people"},
            ],
        },
    )
    sums: dict[dt.date, int] = defaultdict(int)
    for r in ROWS:
        if r["at"] is not None:
            sums[r["at"].date().replace(day=1)] += r["people"]
    for r in got:
        month = r["at（月）"]
        before = (month - dt.timedelta(days=1)).replace(day=1)
        expected = sums[month] / sums[before] if before in sums else None
        assert _approx(r["前月比（合計（people））"], expected), r
    assert dt.date(2023, 7, 1) not in sums  # the gap: 2023-08 has no previous month
    assert next(r for r in got if r["at（月）"] == dt.date(2023, 8, 1))["前月比（合計（people））"] is None


def test_top_n_keeps_the_largest_groups_and_shares_of_the_whole(big: list[str]) -> None:
    result = run_query(
        big,
        TableQuery.from_dict(
            {
                "group_by": [{"column": "at", "grain": "hour"}],
                "measures": [{"op": "count"}, {"op": "share_of_total"}],
                "top_n": {"n": 3, "by": "件数"},
            }
        ),
    )
    counts = {k: len(v) for k, v in _groups(lambda r: r["at"].hour if r["at"] else None).items()}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))[:3]
    got = result.table.to_pylist()
    assert [(r["at（時）"], r["件数"]) for r in got] == ranked
    assert result.total == 3
    for r in got:
        assert _approx(r["構成比（件数）"], counts[r["at（時）"]] / len(ROWS))


def test_sort_by_measure_fields_and_paging(big: list[str]) -> None:
    query = {
        "group_by": ["ward", "kind"],
        "measures": [{"op": "count", "as": "n"}, {"op": "avg", "column": "minutes", "as": "平均"}],
        "sort": [{"column": "n", "direction": "desc"}],
        "fields": ["n", "ward"],
        "limit": 4,
        "offset": 2,
    }
    result = run_query(big, TableQuery.from_dict(query))
    counts = {k: len(v) for k, v in _groups(lambda r: (r["ward"], r["kind"])).items()}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0] is None, kv[0][0] or "", kv[0][1]))
    assert result.table.column_names == ["n", "ward"]
    assert [(r["n"], r["ward"]) for r in result.table.to_pylist()] == [(n, k[0]) for k, n in ranked[2:6]]
    assert result.total == len(counts)
    assert not result.truncated


def test_max_rows_caps_groups_and_says_so(big: list[str]) -> None:
    result = run_query(
        big, TableQuery.from_dict({"group_by": [{"column": "at", "grain": "day"}]}), max_rows=10
    )
    assert result.table.num_rows == 10
    assert result.total == len({r["day"] for r in ROWS})
    assert result.truncated


def test_a_user_name_like_an_internal_column_is_harmless(big: list[str]) -> None:
    got = _run(
        big,
        {
            "group_by": [{"column": "ward", "as": "__g0"}],
            "measures": [{"op": "count", "as": "__total"}, {"op": "sum", "column": "people", "as": "__m0"}],
        },
    )
    expected = {k: len(v) for k, v in _groups(lambda r: r["ward"]).items()}
    assert {r["__g0"]: r["__total"] for r in got} == expected


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "parquet"])
def test_aggregates_export_like_rows(big: list[str], tmp_path: Path, fmt: str) -> None:
    from machidata.engine import export

    query = TableQuery.from_dict(
        {
            "group_by": [{"column": "at", "grain": "weekday", "as": "曜日"}],
            "measures": [{"op": "count"}],
            "filters": [{"column": "at", "op": "not_null"}],
        }
    )
    result = export(big, query, fmt, tmp_path / f"out.{fmt}")  # type: ignore[arg-type]
    assert result.rows == len(WEEKDAYS)
    if fmt == "csv":
        text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
        counts = {
            k: len(v) for k, v in _groups(lambda r: WEEKDAYS[r["at"].weekday()] if r["at"] else None).items()
        }
        assert text[0] == '"曜日","件数"'
        assert text[1:] == [f'"{d}",{counts[d]}' for d in WEEKDAYS]


def test_holistic_measures_are_counted_without_a_window(big: list[str]) -> None:
    """The groups' count rides along as a subquery: a window makes DuckDB finalise a median on one thread.

    Blank wards are a group of their own and are counted; the page past ``offset`` still says how many
    groups there are.
    """
    from machidata.engine import run as engine_run
    from machidata.engine.sandbox import reused_sandbox

    query = TableQuery.from_dict(
        {
            "group_by": ["ward"],
            "measures": [{"op": "median", "column": "minutes", "as": "中央値"}],
            "offset": 2,
        }
    )
    with reused_sandbox(big, threads=1, memory_limit="1GB", timeout_s=30) as sb:
        schema = sb.view_schema()
    checked = query.validate_against(schema)
    sql, _ = engine_run._aggregate_sql(checked, schema, engine_run._total_column(checked), 100)
    assert " OVER " not in sql.upper()
    result = run_query(big, query)
    wards = _groups(lambda r: r["ward"])
    assert result.total == len(wards)
    assert None in wards
    assert result.table.num_rows == len(wards) - 2
    for r in result.table.to_pylist():
        assert _approx(
            r["中央値"], statistics.median(x["minutes"] for x in wards[r["ward"]] if x["minutes"] is not None)
        )
