"""The generated 救急出動記録: size, value domains, realistic shapes, determinism and the fiscal-year boundary."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path
from statistics import median

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.demo import ambulance as amb

WARDS = {"中央区", "東区", "西区", "南区", "北区"}
TYPES = {"急病", "交通事故", "一般負傷", "火災", "労働災害", "運動競技", "自損行為", "加害", "その他"}
SEVERITIES = {"軽症", "中等症", "重症", "死亡", "その他"}
AGES = {"新生児", "乳幼児", "少年", "成人", "高齢者"}


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return amb.generate_ambulance()


@pytest.fixture(scope="module")
def rows(table: pa.Table) -> dict[str, list[object]]:
    return table.to_pydict()


def test_size_and_columns(table: pa.Table) -> None:
    assert table.num_rows >= 200_000
    assert table.schema.names == [
        "覚知日時",
        "区",
        "町名",
        "事故種別",
        "傷病程度",
        "年齢区分",
        "現場到着所要時間（分）",
        "搬送",
    ]
    assert table.schema.field("覚知日時").type == pa.timestamp("us")  # naive wall-clock, no time zone
    assert table.schema.field("搬送").type == pa.bool_()
    assert all(column.null_count == 0 for column in table.columns)


def test_value_domains(rows: dict[str, list[object]]) -> None:
    assert set(rows["区"]) == WARDS
    assert set(rows["事故種別"]) == TYPES
    assert set(rows["傷病程度"]) == SEVERITIES
    assert set(rows["年齢区分"]) == AGES
    times = rows["覚知日時"]
    assert min(times) >= dt.datetime(2022, 4, 1)  # type: ignore[operator]
    assert max(times) < dt.datetime(2025, 4, 1)  # type: ignore[operator]
    assert times == sorted(times)  # type: ignore[type-var]
    minutes = rows["現場到着所要時間（分）"]
    assert min(minutes) >= 1.0  # type: ignore[type-var]
    assert max(minutes) < 60  # type: ignore[type-var]
    for ward, town in zip(rows["区"], rows["町名"], strict=True):
        assert town in amb.TOWNS[ward]  # type: ignore[index]


def test_towns_belong_to_one_ward_each() -> None:
    seen = [t for towns in amb.TOWNS.values() for t in towns]
    assert len(seen) == len(set(seen))
    assert all(len(towns) >= 8 for towns in amb.TOWNS.values())


def test_realistic_shapes(rows: dict[str, list[object]]) -> None:
    n = len(rows["区"])
    kinds = Counter(rows["事故種別"])
    assert kinds.most_common(1)[0][0] == "急病"
    assert 0.6 < kinds["急病"] / n < 0.7
    ages = Counter(rows["年齢区分"])
    assert 0.55 < ages["高齢者"] / n < 0.65
    wards = Counter(rows["区"])
    assert wards.most_common(1)[0][0] == "中央区"
    assert 0.8 < sum(rows["搬送"]) / n < 0.95  # type: ignore[arg-type]
    # arrival takes longer in the wide northern ward than downtown
    by_ward: dict[str, list[float]] = {w: [] for w in WARDS}
    for ward, minutes in zip(rows["区"], rows["現場到着所要時間（分）"], strict=True):
        by_ward[ward].append(minutes)  # type: ignore[index,arg-type]
    assert median(by_ward["中央区"]) + 1.5 < median(by_ward["北区"])
    assert 8 < median(m for ms in by_ward.values() for m in ms) < 10  # about 9 minutes nationally
    # skewed: a long tail to the right
    everything = sorted(m for ms in by_ward.values() for m in ms)
    assert everything[int(0.99 * n)] - median(everything) > median(everything) - everything[int(0.01 * n)]
    # quiet before dawn, busy in the morning
    hours = Counter(t.hour for t in rows["覚知日時"])  # type: ignore[attr-defined]
    assert hours[10] > 2.5 * hours[4]
    # winter busier than late spring; New Year's Day busier than an ordinary day in January
    months = Counter((t.year, t.month) for t in rows["覚知日時"])  # type: ignore[attr-defined]
    assert months[(2024, 1)] > months[(2023, 5)]
    days = Counter(t.date() for t in rows["覚知日時"])  # type: ignore[attr-defined]
    assert days[dt.date(2024, 1, 1)] > days[dt.date(2024, 1, 17)]


def test_fiscal_year_boundary_rows(rows: dict[str, list[object]]) -> None:
    times = Counter(rows["覚知日時"])
    for year in (2023, 2024):
        assert times[dt.datetime(year, 3, 31, 23, 30)] >= 2
        assert times[dt.datetime(year, 4, 1, 0, 30)] >= 2
    assert times[dt.datetime(2022, 4, 1, 0, 30)] >= 2
    assert times[dt.datetime(2025, 3, 31, 23, 30)] >= 2
    per_fy = Counter(amb.fiscal_year(t.date()) for t in rows["覚知日時"])  # type: ignore[attr-defined]
    assert set(per_fy) == {2022, 2023, 2024}
    assert per_fy[2022] < per_fy[2023] < per_fy[2024]  # a slow rise
    assert amb.fiscal_year(dt.date(2024, 3, 31)) == 2023
    assert amb.fiscal_year(dt.date(2024, 4, 1)) == 2024


def test_same_seed_same_rows_and_bytes(table: pa.Table, tmp_path: Path) -> None:
    assert amb.generate_ambulance().equals(table)
    assert not amb.generate_ambulance(seed=1).equals(table)
    a = amb.write_ambulance(tmp_path / "a")
    b = amb.write_ambulance(tmp_path / "b")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert pq.read_table(a).equals(table)
    assert not list((tmp_path / "a").glob("*.tmp"))
