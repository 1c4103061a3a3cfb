"""Column profiles checked against numbers computed independently with pyarrow.compute and numpy."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from machidata.engine import profile_columns
from machidata.engine.tests.conftest import ROWS, SCHEMA


@pytest.fixture
def big(tmp_path: Path) -> tuple[list[str], pa.Table]:
    """A few thousand random rows over two files, with nulls in every column."""
    rng = random.Random(7)
    n = 3000

    def maybe(v: object) -> object:
        return None if rng.random() < 0.1 else v

    table = pa.table(
        {
            "score": pa.array([maybe(rng.randint(-50, 949)) for _ in range(n)], pa.int64()),
            "ratio": pa.array([maybe(rng.random() * 10 + 0.013) for _ in range(n)], pa.float64()),
            "ward": pa.array([maybe(rng.choice(["中央区", "東区", "西区", "南区", "北区"])) for _ in range(n)]),
            "town": pa.array([maybe(f"町{rng.randint(1, 40):02d}") for _ in range(n)]),
            "day": pa.array([maybe(dt.date(2024, 4, 1) + dt.timedelta(days=rng.randint(0, 364))) for _ in range(n)], pa.date32()),
        }
    )  # fmt: skip
    half = n // 2
    files = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    pq.write_table(table.slice(0, half), files[0])
    pq.write_table(table.slice(half), files[1])
    return files, table


def test_counts_min_max_match_pyarrow(big: tuple[list[str], pa.Table]) -> None:
    files, table = big
    profiles = profile_columns(files, exact_distinct=True)
    assert list(profiles) == table.column_names
    for name in table.column_names:
        col, p = table[name], profiles[name]
        assert p.rows == table.num_rows
        assert p.nulls == pc.count(col, mode="only_null").as_py(), name
        assert p.distinct == pc.count_distinct(col, mode="only_valid").as_py(), name
        mm = pc.min_max(col).as_py()
        assert (p.min, p.max) == (mm["min"], mm["max"]), name


def test_approximate_distinct_is_close(big: tuple[list[str], pa.Table]) -> None:
    files, table = big
    profiles = profile_columns(files)
    for name in table.column_names:
        exact = pc.count_distinct(table[name], mode="only_valid").as_py()
        assert profiles[name].distinct is not None
        assert abs(profiles[name].distinct - exact) <= max(2, exact * 0.05), name


def test_top_values_match_value_counts(big: tuple[list[str], pa.Table]) -> None:
    files, table = big
    profiles = profile_columns(files, top_n=10)
    for name in ("ward", "town", "score", "day"):
        counts = Counter(v for v in table[name].to_pylist() if v is not None)
        expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        assert profiles[name].top == expected, name


def test_numeric_histogram_matches_numpy(big: tuple[list[str], pa.Table]) -> None:
    files, table = big
    p = profile_columns(files, bins=20)["ratio"]
    values = np.array([v for v in table["ratio"].to_pylist() if v is not None])
    counts, edges = np.histogram(values, bins=20, range=(values.min(), values.max()))
    assert p.histogram is not None
    assert [b.count for b in p.histogram] == counts.tolist()
    assert [b.start for b in p.histogram] == pytest.approx(edges[:-1].tolist())
    assert p.histogram[-1].end == pytest.approx(edges[-1])
    assert sum(b.count for b in p.histogram) == len(values)


def test_integer_and_date_histograms_use_whole_widths(big: tuple[list[str], pa.Table]) -> None:
    files, table = big
    profiles = profile_columns(files, bins=20)
    score = profiles["score"]
    assert score.histogram is not None
    assert 10 <= len(score.histogram) <= 20
    scores = [v for v in table["score"].to_pylist() if v is not None]
    for b in score.histogram:
        assert float(b.start).is_integer()
        assert b.count == sum(1 for v in scores if b.start <= v < b.end), b
    days = profiles["day"]
    assert days.histogram is not None
    assert 10 <= len(days.histogram) <= 20
    dates = [v for v in table["day"].to_pylist() if v is not None]
    assert all(isinstance(b.start, dt.date) for b in days.histogram)
    for b in days.histogram:
        assert b.count == sum(1 for v in dates if b.start <= v < b.end), b
    assert sum(b.count for b in days.histogram) == len(dates)


def test_small_table_profile_all_types(tmp_path: Path) -> None:
    path = str(tmp_path / "rows.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS, schema=SCHEMA), path)
    profiles = profile_columns([path], exact_distinct=True)
    assert profiles["flag"].top == [(True, 5), (False, 3)]
    assert profiles["flag"].histogram is None
    assert profiles["name"].histogram is None
    assert profiles["visits"].top[0] == (7, 2)
    at = profiles["at"]
    assert (at.min, at.max) == (dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2025, 3, 31, 9, 15))
    assert at.histogram is not None
    assert sum(b.count for b in at.histogram) == 9
    assert at.kind == "datetime"
    assert at.type == "timestamp[us]"


def test_schema_selects_columns_and_constant_column_has_no_histogram(tmp_path: Path) -> None:
    path = str(tmp_path / "c.parquet")
    pq.write_table(pa.table({"k": [5, 5, 5], "x": ["a", "b", None]}), path)
    profiles = profile_columns([path], {"k": "integer"})
    assert list(profiles) == ["k"]
    assert profiles["k"].histogram is None
    assert profiles["k"].top == [(5, 3)]


def test_approximate_distinct_never_exceeds_the_values_present(tmp_path: Path) -> None:
    """Unique ids: HyperLogLog overshoots on many sizes; the count is capped at the non-null values."""
    overshoots = 0
    for n in (700, 1000, 1500, 2500, 4000):
        path = str(tmp_path / f"ids{n}.parquet")
        ids = [None if i % 50 == 0 else 10_000_000 + i for i in range(n)]
        pq.write_table(pa.table({"受付番号": pa.array(ids, pa.int64())}), path)
        p = profile_columns([path])["受付番号"]
        present = sum(v is not None for v in ids)
        assert p.distinct is not None
        assert p.distinct <= present
        assert p.distinct_exact is False
        overshoots += p.distinct == present
        exact = profile_columns([path], exact_distinct=True)["受付番号"]
        assert (exact.distinct, exact.distinct_exact) == (present, True)
    assert overshoots  # the cap was needed for at least one size (else this test proves nothing)


def test_integer_histogram_edges_are_whole_numbers(tmp_path: Path) -> None:
    path = str(tmp_path / "ids.parquet")
    pq.write_table(pa.table({"受付番号": pa.array(range(20240001, 20240401), pa.int64())}), path)
    hist = profile_columns([path], bins=20)["受付番号"].histogram
    assert hist is not None
    assert all(type(b.start) is int and type(b.end) is int for b in hist)
    assert (hist[0].start, hist[0].end) == (20240001, 20240021)
    assert sum(b.count for b in hist) == 400
