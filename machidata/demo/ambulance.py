"""A synthetic ambulance-dispatch table (救急出動記録) for the demo and the BI work: realistic shapes, invented rows.

Nothing here is real: the counts, shares and times are modelled on the published shape of Japanese
ambulance statistics (消防白書: about 2/3 急病, 6 in 10 patients aged 65 or over, about 9 minutes to the
scene, a winter peak, a summer heat bump, a New Year peak, a daytime peak) and on the populations of
Kumamoto City's five wards. The same ``seed`` always gives the same rows and the same Parquet bytes,
so the demo can skip an unchanged file by its sha256.

Timestamps are Japanese wall-clock times stored naive (the design guide's time rule). A few rows are
placed on purpose at 23:30 on 3/31 and 00:30 on 4/1 of each fiscal-year boundary, so that hour-of-day
and fiscal-year bucketing can be checked on real rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED: Final = 20240401
FIRST_DAY: Final = dt.date(2022, 4, 1)  # FY2022 (令和4年度) …
LAST_DAY: Final = dt.date(2025, 3, 31)  # … FY2024 (令和6年度)
FILE_NAME: Final = "ambulance_dispatches_fy2022-2024.parquet"

# Column names (Japanese, as a fire department's export would have them).
COL_TIME: Final = "覚知日時"
COL_WARD: Final = "区"
COL_TOWN: Final = "町名"
COL_TYPE: Final = "事故種別"
COL_SEVERITY: Final = "傷病程度"
COL_AGE: Final = "年齢区分"
COL_MINUTES: Final = "現場到着所要時間（分）"
COL_TRANSPORTED: Final = "搬送"

SCHEMA: Final = pa.schema(
    [
        pa.field(COL_TIME, pa.timestamp("us")),  # naive: Japanese wall-clock time
        pa.field(COL_WARD, pa.string()),
        pa.field(COL_TOWN, pa.string()),
        pa.field(COL_TYPE, pa.string()),
        pa.field(COL_SEVERITY, pa.string()),
        pa.field(COL_AGE, pa.string()),
        pa.field(COL_MINUTES, pa.float64()),
        pa.field(COL_TRANSPORTED, pa.bool_()),
    ]
)

# Ward shares: roughly the wards' populations, with 中央区 (the city centre, where people work and
# go out) above its resident share.
WARDS: Final = ("中央区", "東区", "西区", "南区", "北区")
WARD_SHARES: Final = (0.27, 0.24, 0.13, 0.17, 0.19)
# Median minutes from the call to the scene: short downtown, longer in the wide southern and northern wards.
WARD_MEDIAN_MINUTES: Final = (7.6, 8.4, 9.3, 9.9, 10.4)

# A few real 町名 of each ward (the first ones get more calls).
TOWNS: Final[dict[str, tuple[str, ...]]] = {
    "中央区": (
        "水前寺", "新屋敷", "大江", "九品寺", "渡鹿", "帯山", "黒髪", "京町",
        "上通町", "下通", "手取本町", "新町", "本荘", "坪井", "南熊本",
    ),
    "東区": (
        "健軍", "長嶺南", "長嶺東", "桜木", "月出", "湖東", "画図町", "戸島",
        "秋津", "花立", "尾ノ上", "若葉", "東町", "沼山津",
    ),
    "西区": (
        "島崎", "上熊本", "春日", "田崎", "池田", "花園", "河内町", "小島", "城山", "松尾町",
    ),
    "南区": (
        "田迎", "近見", "江越", "平成", "富合町", "城南町", "川尻", "良町", "刈草", "日吉", "御幸笛田",
    ),
    "北区": (
        "清水", "麻生田", "武蔵ヶ丘", "楡木", "植木町", "龍田", "八景水谷", "兎谷", "貢町",
        "鹿子木町", "四方寄町", "徳王", "高平",
    ),
}  # fmt: skip

INCIDENT_TYPES: Final = (
    "急病",
    "交通事故",
    "一般負傷",
    "火災",
    "労働災害",
    "運動競技",
    "自損行為",
    "加害",
    "その他",
)
INCIDENT_SHARES: Final = (0.655, 0.075, 0.160, 0.004, 0.008, 0.005, 0.012, 0.005, 0.076)
SEVERITIES: Final = ("軽症", "中等症", "重症", "死亡", "その他")
AGE_BANDS: Final = ("新生児", "乳幼児", "少年", "成人", "高齢者")

# Share of calls per hour of day (0–23): quiet before dawn, a morning peak, a long day, fading evening.
HOURLY: Final = (
    3.0, 2.6, 2.3, 2.0, 1.9, 2.0, 2.6, 3.6, 5.0, 6.1, 6.3, 6.0,
    5.4, 5.3, 5.2, 5.0, 4.9, 5.0, 5.0, 4.8, 4.5, 4.1, 3.7, 3.3,
)  # fmt: skip

# Age band shares (新生児, 乳幼児, 少年, 成人, 高齢者) per incident type.
_AGE_BY_TYPE: Final = {
    "急病": (0.001, 0.040, 0.030, 0.270, 0.659),
    "交通事故": (0.000, 0.030, 0.110, 0.640, 0.220),
    "一般負傷": (0.000, 0.060, 0.050, 0.190, 0.700),
    "火災": (0.000, 0.030, 0.040, 0.530, 0.400),
    "労働災害": (0.000, 0.000, 0.010, 0.880, 0.110),
    "運動競技": (0.000, 0.020, 0.560, 0.390, 0.030),
    "自損行為": (0.000, 0.000, 0.080, 0.720, 0.200),
    "加害": (0.000, 0.020, 0.110, 0.770, 0.100),
    "その他": (0.010, 0.030, 0.030, 0.330, 0.600),
}
# Severity shares among transported patients per age band.
_SEVERITY_BY_AGE: Final = {
    "新生児": (0.300, 0.500, 0.180, 0.010, 0.010),
    "乳幼児": (0.770, 0.190, 0.030, 0.002, 0.008),
    "少年": (0.740, 0.220, 0.030, 0.002, 0.008),
    "成人": (0.600, 0.320, 0.060, 0.008, 0.012),
    "高齢者": (0.380, 0.500, 0.100, 0.012, 0.008),
}
# Share of calls ending with a transport (the rest: refused, no patient, or death evident on site).
_TRANSPORTED_BY_TYPE: Final = {
    "急病": 0.90, "交通事故": 0.72, "一般負傷": 0.88, "火災": 0.35, "労働災害": 0.93,
    "運動競技": 0.92, "自損行為": 0.70, "加害": 0.75, "その他": 0.82,
}  # fmt: skip
# Severity of calls without a transport: mostly "その他" (no physician's diagnosis), some deaths evident on site.
_SEVERITY_NOT_TRANSPORTED: Final = (0.08, 0.0, 0.0, 0.07, 0.85)

# Fiscal years → mean calls per day (a slow rise, as in most cities).
_DAILY_MEAN: Final = {2022: 198.0, 2023: 205.0, 2024: 211.0}


def fiscal_year(day: dt.date) -> int:
    """The fiscal year (年度) a date belongs to: April to March."""
    return day.year if day.month >= 4 else day.year - 1


def _daily_means(days: list[dt.date]) -> np.ndarray:
    """Expected calls per day: fiscal-year level × season × weekday × New Year."""
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    base = np.array([_DAILY_MEAN[fiscal_year(d)] for d in days])
    winter = 1.0 + 0.10 * np.cos(2 * np.pi * (doy - 15) / 365.25)  # peak in mid-January
    heat = 0.10 * np.exp(-(((doy - 215) / 18) ** 2))  # heatstroke bump in early August
    weekday = np.array([(1.06, 1.0, 0.99, 0.99, 1.01, 0.97, 0.98)[d.weekday()] for d in days])
    new_year = np.array([1.25 if (d.month, d.day) in _NEW_YEAR else 1.0 for d in days])
    return base * (winter + heat) * weekday * new_year


_NEW_YEAR: Final = {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}


def _hour_type_cdf() -> np.ndarray:
    """Cumulative incident-type shares per hour: traffic at commuting hours, assaults at night, sport by day."""
    probs = np.tile(np.array(INCIDENT_SHARES), (24, 1))
    idx = {name: i for i, name in enumerate(INCIDENT_TYPES)}
    for hour in range(24):
        if hour in (7, 8, 16, 17, 18):
            probs[hour, idx["交通事故"]] *= 1.6
        elif hour <= 5:
            probs[hour, idx["交通事故"]] *= 0.5
        if hour >= 22 or hour <= 3:
            probs[hour, idx["加害"]] *= 3.0
        if 9 <= hour <= 17:
            probs[hour, idx["運動競技"]] *= 2.0
            probs[hour, idx["労働災害"]] *= 2.0
        else:
            probs[hour, idx["運動競技"]] *= 0.2
            probs[hour, idx["労働災害"]] *= 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    return np.cumsum(probs, axis=1)


def _pick(rng: np.random.Generator, cdf_rows: np.ndarray) -> np.ndarray:
    """One category index per row from per-row cumulative shares."""
    u = rng.random(len(cdf_rows))
    return np.minimum((u[:, None] > cdf_rows).sum(axis=1), cdf_rows.shape[1] - 1)


def _cdf(table: Mapping[str, tuple[float, ...]], keys: tuple[str, ...]) -> np.ndarray:
    m = np.array([table[k] for k in keys], dtype=float)
    return np.cumsum(m / m.sum(axis=1, keepdims=True), axis=1)


def boundary_times() -> list[dt.datetime]:
    """The wall-clock times planted around every fiscal-year boundary (23:30 on 3/31, 00:30 on 4/1)."""
    times = [dt.datetime(FIRST_DAY.year, 4, 1, 0, 30)]
    for year in range(FIRST_DAY.year + 1, LAST_DAY.year + 1):
        times += [dt.datetime(year, 3, 31, 23, 30), dt.datetime(year, 4, 1, 0, 30)]
    times.append(dt.datetime(LAST_DAY.year, 3, 31, 23, 30))
    return times


def generate_ambulance(*, seed: int = SEED) -> pa.Table:
    """The whole synthetic 救急出動記録 table (FY2022–FY2024, about 225,000 rows), sorted by time."""
    rng = np.random.default_rng(seed)
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    counts = rng.poisson(_daily_means(days))
    n = int(counts.sum())
    day0 = np.datetime64(FIRST_DAY, "s")
    day_start = day0 + np.repeat(np.arange(len(days)), counts).astype("timedelta64[D]")
    hourly = np.array(HOURLY) / sum(HOURLY)
    hour = rng.choice(24, size=n, p=hourly)
    seconds = rng.integers(0, 3600, size=n)
    when = day_start + (hour * 3600 + seconds).astype("timedelta64[s]")

    # Plant two calls at each boundary time (on rows of that very day, so daily counts stay the same).
    day_index = np.repeat(np.arange(len(days)), counts)
    for stamp in boundary_times():
        rows = np.flatnonzero(day_index == (stamp.date() - FIRST_DAY).days)[:2]
        when[rows] = np.datetime64(stamp, "s")
        hour[rows] = stamp.hour

    ward = rng.choice(len(WARDS), size=n, p=np.array(WARD_SHARES) / sum(WARD_SHARES))
    town = np.empty(n, dtype=object)
    for w, name in enumerate(WARDS):
        rows = np.flatnonzero(ward == w)
        towns = TOWNS[name]
        weights = 1.0 / np.arange(1, len(towns) + 1) ** 0.6  # a few busy 町, a long tail
        town[rows] = np.array(towns, dtype=object)[
            rng.choice(len(towns), size=len(rows), p=weights / weights.sum())
        ]

    kind = _pick(rng, _hour_type_cdf()[hour])
    age = _pick(rng, _cdf(_AGE_BY_TYPE, INCIDENT_TYPES)[kind])
    transported = rng.random(n) < np.array([_TRANSPORTED_BY_TYPE[t] for t in INCIDENT_TYPES])[kind]
    severity = _pick(rng, _cdf(_SEVERITY_BY_AGE, AGE_BANDS)[age])
    not_transported_cdf = np.cumsum(_SEVERITY_NOT_TRANSPORTED)
    other = _pick(rng, np.tile(not_transported_cdf, ((~transported).sum(), 1)))
    severity[~transported] = other

    median = np.array(WARD_MEDIAN_MINUTES)[ward]
    night = (hour <= 5) | (hour >= 22)
    minutes = median * np.where(night, 0.94, 1.0) * rng.lognormal(0.0, 0.33, size=n)
    minutes = np.maximum(np.round(minutes, 1), 1.0)

    order = np.argsort(when, kind="stable")
    return pa.table(
        {
            COL_TIME: pa.array(when[order].astype("datetime64[us]"), pa.timestamp("us")),
            COL_WARD: pa.array(np.array(WARDS, dtype=object)[ward][order], pa.string()),
            COL_TOWN: pa.array(town[order], pa.string()),
            COL_TYPE: pa.array(np.array(INCIDENT_TYPES, dtype=object)[kind][order], pa.string()),
            COL_SEVERITY: pa.array(np.array(SEVERITIES, dtype=object)[severity][order], pa.string()),
            COL_AGE: pa.array(np.array(AGE_BANDS, dtype=object)[age][order], pa.string()),
            COL_MINUTES: pa.array(minutes[order], pa.float64()),
            COL_TRANSPORTED: pa.array(transported[order], pa.bool_()),
        },
        schema=SCHEMA,
    )


def write_ambulance(folder: Path, *, seed: int = SEED) -> Path:
    """Generate the table and write it as Parquet under ``folder`` (same seed → same bytes); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    tmp = path.with_suffix(".parquet.tmp")
    # Fixed writer options so the bytes (and the sha256 the demo compares) depend on the rows only.
    pq.write_table(
        generate_ambulance(seed=seed),
        tmp,
        compression="zstd",
        row_group_size=1 << 17,
        store_schema=True,
        write_statistics=True,
    )
    tmp.replace(path)
    return path
