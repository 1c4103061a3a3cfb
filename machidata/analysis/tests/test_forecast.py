"""Forecasts with Japanese holidays and weekday effects, and rolling-origin backtests against seasonal naive."""

from __future__ import annotations

import datetime as dt

import jpholiday
import numpy as np
import pandas as pd
import pytest

from machidata.analysis.forecast import calendar_regressors, forecast_counts, is_closed_day
from machidata.analysis.results import DesignNotFit


def counter_visits(days: int = 400, seed: int = 0) -> pd.DataFrame:
    """Daily counter visitors: busy on weekdays, quiet on weekends, national holidays and 12/29–1/3."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end="2025-10-31", periods=days, freq="D")
    weekday = dates.day_of_week < 5
    holiday = np.array(
        [
            jpholiday.is_holiday(d.date()) or (d.month, d.day) >= (12, 29) or (d.month, d.day) <= (1, 3)
            for d in dates
        ]
    )
    rate = np.where(weekday & ~holiday, 120, 15)
    return pd.DataFrame({"日付": dates, "来庁者数": rng.poisson(rate).astype(float)})


def test_holidays_and_weekdays_shape_the_forecast() -> None:
    data = counter_visits()
    result = forecast_counts(data, time="日付", outcome="来庁者数", horizon=31)
    future = {row["time"]: row for row in result.chart if row["kind"] == "予測"}
    assert len(future) == 31
    # 2025-11-03 (文化の日) is a Monday holiday; 2025-11-10 is an ordinary Monday.
    assert jpholiday.is_holiday(dt.date(2025, 11, 3))
    assert future["2025-11-03"]["value"] < future["2025-11-10"]["value"] / 3
    assert future["2025-11-08"]["value"] < future["2025-11-10"]["value"] / 3  # Saturday
    for row in future.values():
        assert row["lower"] <= row["value"] <= row["upper"]
        assert row["lower"] >= 0
    assert result.estimate == pytest.approx(sum(row["value"] for row in future.values()))
    assert {c.code: c.passed for c in result.checks}["beats_naive"]
    assert "季節ナイーブ法" in result.interpretation


def test_backtest_reports_metrics_and_the_seasonal_naive_baseline() -> None:
    data = counter_visits(seed=1)
    horizon, folds = 14, 3
    result = forecast_counts(data, time="日付", outcome="来庁者数", horizon=horizon, folds=folds)
    backtest = result.details["backtest"]
    assert len(backtest) == folds
    y = data["来庁者数"].to_numpy()
    n = len(y)
    naive_errors = []
    for k, fold in zip(range(folds, 0, -1), backtest, strict=True):
        origin = n - k * horizon
        assert fold["origin"] == str(data["日付"].iloc[origin].date())
        actual = y[origin : origin + horizon]
        naive = np.array([y[origin - 7 + (i % 7)] for i in range(horizon)])  # same weekday, last week
        assert fold["naive_mae"] == pytest.approx(np.abs(actual - naive).mean())
        scale = np.abs(np.diff(y[:origin][::1], n=1)).mean()  # not the MASE scale: differences of lag 1
        assert fold["mase"] != pytest.approx(fold["mae"] / scale)
        seasonal_scale = np.abs(y[7:origin] - y[: origin - 7]).mean()
        assert fold["mase"] == pytest.approx(fold["mae"] / seasonal_scale)
        assert fold["wape"] == pytest.approx(fold["mae"] * horizon / np.abs(actual).sum())
        naive_errors.append(np.abs(actual - naive))
    assert result.details["naive_mae"] == pytest.approx(np.concatenate(naive_errors).mean())
    assert result.details["mae"] < result.details["naive_mae"]


def test_hourly_counts_use_a_weekly_seasonal_naive() -> None:
    rng = np.random.default_rng(2)
    hours = pd.date_range("2025-09-01", periods=24 * 7 * 5, freq="h")
    rate = 2 + 6 * ((hours.hour >= 8) & (hours.hour < 20))
    data = pd.DataFrame({"時刻": hours, "出動件数": rng.poisson(rate).astype(float)})
    result = forecast_counts(data, time="時刻", outcome="出動件数", horizon=24)
    assert result.details["grain"] == "h"
    assert result.details["season"] == 168
    future = [row for row in result.chart if row["kind"] == "予測"]
    by_hour = {pd.Timestamp(row["time"]).hour: row["value"] for row in future}
    assert by_hour[12] > by_hour[3] * 2


@pytest.mark.slow
def test_monthly_airline_forecast_beats_seasonal_naive_on_air_passengers(reference) -> None:  # type: ignore[no-untyped-def]
    air = pd.read_csv(reference / "AirPassengers.csv")
    air["月"] = pd.period_range("1949-01", periods=len(air), freq="M").to_timestamp()
    result = forecast_counts(air, time="月", outcome="value", horizon=12, method="airline")
    assert result.details["mase"] < 1
    assert result.details["mae"] < result.details["naive_mae"]
    future = [row["value"] for row in result.chart if row["kind"] == "予測"]
    assert max(future) > air["value"].max()  # the growth goes on


def test_calendar_regressors() -> None:
    days = pd.period_range("2025-12-26", periods=11, freq="D")
    exog = calendar_regressors(days, "D")
    closed = dict(zip(days.astype(str), exog["平日の祝日・年末年始"], strict=True))
    assert closed["2025-12-26"] == 0  # an ordinary Friday
    assert closed["2025-12-29"] == 1  # office year-end break (Monday)
    assert closed["2026-01-01"] == 1  # 元日 (Thursday)
    assert closed["2026-01-03"] == 0  # a Saturday: the weekday dummies already say it
    assert closed["2026-01-05"] == 0
    assert is_closed_day(dt.date(2026, 1, 12))  # 成人の日
    months = calendar_regressors(pd.period_range("2026-01", periods=2, freq="M"), "M")
    # January 2026: 1/1 元日, 1/2–1/3 office break, 1/12 成人の日; February: 2/11 建国記念の日, 2/23 天皇誕生日.
    assert list(months["祝日数"]) == [4.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 400}, "horizon"),
        ({"horizon": 7, "method": "airline"}, "method"),
    ],
)
def test_bad_forecast_requests(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(DesignNotFit) as info:
        forecast_counts(counter_visits(), time="日付", outcome="来庁者数", **kwargs)  # type: ignore[arg-type]
    assert code in info.value.details


def test_short_history_is_refused() -> None:
    with pytest.raises(DesignNotFit) as info:
        forecast_counts(counter_visits(days=40), time="日付", outcome="来庁者数", horizon=14)
    assert "small_n" in info.value.details


def test_forecast_by_unit_sums_the_units_and_names_a_failing_one() -> None:
    from machidata.analysis.forecast import forecast_by_unit

    east = counter_visits(seed=3).assign(区="東区")
    west = counter_visits(seed=4).assign(区="西区", 来庁者数=lambda d: d["来庁者数"] * 2)
    both = pd.concat([east, west], ignore_index=True)
    result = forecast_by_unit(both, unit="区", time="日付", outcome="来庁者数", horizon=7)
    units = result.details["units"]
    assert set(units) == {"東区", "西区"}
    assert result.estimate == pytest.approx(units["東区"]["total"] + units["西区"]["total"])
    assert 1.5 < units["西区"]["total"] / units["東区"]["total"] < 2.5
    assert {row["unit"] for row in result.chart} == {"東区", "西区"}
    assert "東区" in result.interpretation
    short = pd.concat([east, west.tail(30)], ignore_index=True)
    with pytest.raises(DesignNotFit, match="「西区」"):
        forecast_by_unit(short, unit="区", time="日付", outcome="来庁者数", horizon=7)


def test_demo_ambulance_next_week_by_ward_and_hour() -> None:
    """The issue's demo: next week's dispatches by ward and hour on the synthetic 救急出動記録 of the demo."""
    from machidata.analysis.forecast import forecast_by_unit
    from machidata.demo.ambulance import generate_ambulance

    events = generate_ambulance().select(["覚知日時", "区"]).to_pandas()
    events["時"] = events["覚知日時"].dt.floor("h")
    last = events["時"].max()
    recent = events[events["時"] > last - pd.Timedelta(days=56)]
    hours = pd.date_range(recent["時"].min(), last, freq="h")
    full = pd.MultiIndex.from_product([sorted(recent["区"].unique()), hours], names=["区", "時"])
    counts = recent.groupby(["区", "時"]).size().rename("出動件数").reindex(full, fill_value=0).reset_index()
    result = forecast_by_unit(counts, unit="区", time="時", outcome="出動件数", horizon=24 * 7)
    units = result.details["units"]
    assert len(units) == 5
    for ward, scores in units.items():
        assert scores["mae"] < scores["naive_mae"], ward  # better than the same hour last week
        assert scores["mase"] < 1, ward
    weekly = len(recent) / 8  # dispatches a week in the last eight weeks
    assert 0.7 * weekly < result.estimate < 1.3 * weekly


def test_hourly_horizon_reaches_a_month_and_no_further() -> None:
    """Next month by hour (up to 31 days of hours) is allowed; one hour more is refused in Japanese."""
    hours = pd.date_range("2025-01-01", periods=48, freq="h")
    frame = pd.DataFrame({"時刻": hours, "件数": [3] * len(hours)})
    with pytest.raises(DesignNotFit, match="1〜744 時間"):
        forecast_counts(frame, time="時刻", outcome="件数", horizon=745, grain="h")
    with pytest.raises(DesignNotFit) as short:  # 744 passes the horizon check; 48 hours are too few
        forecast_counts(frame, time="時刻", outcome="件数", horizon=744, grain="h")
    assert "horizon" not in short.value.details
