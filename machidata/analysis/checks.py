"""Design checks run before any estimator: each says in plain Japanese why a design does or does not fit.

The estimators call :func:`~machidata.analysis.results.require` on these, so bad data ends in a
:class:`~machidata.analysis.results.DesignNotFit` (an ``InvalidInput``) with the reasons, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from machidata.analysis.results import Check, DesignNotFit

GRAIN_LABELS = {"h": "時間", "D": "日", "W": "週", "M": "月", "Q": "四半期", "Y": "年", "int": "期"}
# Length of the seasonal cycle per grain (None: no seasonality is modelled).
SEASON_LENGTH = {"h": 24, "D": 7, "W": None, "M": 12, "Q": 4, "Y": None, "int": None}
_GRAIN_FREQ = {"h": "h", "D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}


@dataclass(frozen=True)
class TimeAxis:
    """A parsed time column: ``periods`` aligned with the frame's rows (pandas Periods, or ints for years/period numbers)."""

    periods: pd.Series
    grain: str

    @property
    def season_length(self) -> int | None:
        return SEASON_LENGTH[self.grain]

    @property
    def label(self) -> str:
        return GRAIN_LABELS[self.grain]


def columns_present(df: pd.DataFrame, columns: Sequence[str]) -> Check:
    missing = [c for c in columns if c not in df.columns]
    return Check(
        "columns",
        "列がそろっている",
        not missing,
        f"列「{'」「'.join(missing)}」がデータにありません。" if missing else "必要な列はすべてあります。",
    )


def numeric_outcome(df: pd.DataFrame, outcome: str) -> tuple[pd.Series, Check]:
    """The outcome as floats; fails when every value is missing or not a number."""
    values = pd.to_numeric(df[outcome], errors="coerce").astype("float64")
    usable = int(values.notna().sum())
    if usable == 0:
        return values, Check(
            "outcome_missing",
            "成果指標に値がある",
            False,
            f"成果指標「{outcome}」の値がすべて空欄か数値ではありません。数値の列を選んでください。",
        )
    return values, Check(
        "outcome_missing", "成果指標に値がある", True, f"成果指標の値は {usable} 件あります。"
    )


def outcome_varies(values: pd.Series) -> Check:
    """An effect needs an outcome that moves: all-equal values leave nothing to compare."""
    distinct = values.dropna().nunique()
    return Check(
        "outcome_constant",
        "成果指標の値が変化している",
        distinct != 1,  # no value at all is the all-missing check's to report
        "成果指標の値に違いがあります。"
        if distinct > 1
        else "成果指標の値がすべて同じです。変化がないため効果を推定できません（列の選び方を確かめてください）。",
    )


def parse_time(df: pd.DataFrame, time: str, grain: str | None = None) -> tuple[TimeAxis | None, Check]:
    """Parse ``time`` as whole numbers (years, period numbers) or dates at a grain (inferred when not given)."""
    raw = df[time]
    label = "時間の列を読める"
    if raw.isna().any():
        return None, Check(
            "time_parse", label, False, f"時間の列「{time}」に空欄があります。空欄の行を除いてください。"
        )
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        numbers = raw.astype("float64")
        if not np.all(np.mod(numbers, 1) == 0):
            return None, Check(
                "time_parse",
                label,
                False,
                f"時間の列「{time}」に整数でない値があります（年や期の番号を入れてください）。",
            )
        return TimeAxis(numbers.astype("int64"), "int"), Check(
            "time_parse", label, True, "時間の列は年・期の番号です。"
        )
    stamps = pd.to_datetime(raw, errors="coerce")
    if stamps.isna().any():
        bad = raw[stamps.isna()].astype(str).iloc[0]
        return None, Check(
            "time_parse",
            label,
            False,
            f"時間の列「{time}」に日付として読めない値があります（例：「{bad}」）。",
        )
    if grain is None:
        grain = _infer_grain(stamps)
    if grain not in _GRAIN_FREQ:
        return None, Check(
            "time_parse",
            label,
            False,
            f"時間の単位「{grain}」は使えません（時間・日・週・月・四半期・年から選んでください）。",
        )
    periods = stamps.dt.to_period(_GRAIN_FREQ[grain])
    return TimeAxis(periods, grain), Check(
        "time_parse", label, True, f"時間の単位は「{GRAIN_LABELS[grain]}」です。"
    )


def _infer_grain(stamps: pd.Series) -> str:
    unique = pd.Series(np.sort(stamps.unique()))
    if len(unique) < 2:
        return "D"
    step = unique.diff().dropna().median() / pd.Timedelta(days=1)
    for limit, grain in ((1.5 / 24, "h"), (1.5, "D"), (8, "W"), (32, "M"), (100, "Q")):
        if step <= limit:
            return grain
    return "Y"


def time_regular(axis: TimeAxis, units: pd.Series | None = None) -> list[Check]:
    """No duplicate timestamps (per unit when given) and no gaps between the first and the last period."""
    frame = pd.DataFrame({"t": axis.periods.to_numpy(), "u": units.to_numpy() if units is not None else 0})
    dup = frame.duplicated(["u", "t"])
    checks = []
    if dup.any():
        example = frame.loc[dup].iloc[0]
        where = f"（単位「{example['u']}」）" if units is not None else ""
        checks.append(
            Check(
                "time_duplicates",
                "同じ時点が重複していない",
                False,
                f"同じ時点「{example['t']}」の行が複数あります{where}。時点ごとに1行になるよう集計してから分析してください。",
            )
        )
    else:
        checks.append(Check("time_duplicates", "同じ時点が重複していない", True, "時点の重複はありません。"))
    observed = pd.Index(frame["t"].unique())
    if axis.grain == "int":
        expected = pd.Index(range(int(observed.min()), int(observed.max()) + 1))
    else:
        expected = pd.period_range(observed.min(), observed.max(), freq=observed[0].freq)
    missing = expected.difference(observed)
    if len(missing):
        shown = "、".join(str(m) for m in missing[:3]) + ("ほか" if len(missing) > 3 else "")
        checks.append(
            Check(
                "time_gaps",
                "時点に抜けがない",
                False,
                f"{len(missing)} 個の{axis.label}が抜けています（{shown}）。抜けた時点を補うか、0 件なら 0 を入れてください。",
            )
        )
    else:
        checks.append(Check("time_gaps", "時点に抜けがない", True, "時点の抜けはありません。"))
    return checks


def enough_periods(
    n_pre: int, n_post: int, *, min_pre: int, min_post: int = 1, grain_label: str = "期"
) -> Check:
    ok = n_pre >= min_pre and n_post >= min_post
    reason = (
        f"介入前 {n_pre} {grain_label}・介入後 {n_post} {grain_label}あります。"
        if ok
        else f"介入前が {n_pre} {grain_label}、介入後が {n_post} {grain_label}しかありません。"
        f"この分析には介入前 {min_pre} {grain_label}以上、介入後 {min_post} {grain_label}以上が必要です。"
    )
    return Check("periods", "期間の数が足りる", ok, reason)


def treatment_varies(flags: pd.Series, *, what: str = "介入") -> Check:
    values = set(flags.dropna().astype(bool).unique())
    ok = values == {True, False}
    if ok:
        reason = f"{what}あり・なしの両方の行があります。"
    elif values == {True}:
        reason = f"すべての行が「{what}あり」です。比べる相手（{what}なし）がないため効果を測れません。"
    else:
        reason = f"「{what}あり」の行が1つもありません。{what}の対象や日付を確かめてください。"
    return Check("treatment_variation", f"{what}の有無に違いがある", ok, reason)


def comparison_units(units: pd.Series, treated: pd.Series) -> Check:
    """At least one unit never treated, and at least one treated unit."""
    by_unit = (
        pd.DataFrame({"u": units.to_numpy(), "d": treated.astype(bool).to_numpy()}).groupby("u")["d"].any()
    )
    n_treated, n_control = int(by_unit.sum()), int((~by_unit).sum())
    if n_treated == 0:
        return Check(
            "comparison", "比較対象がある", False, "介入を受けた単位（区・施設など）が1つもありません。"
        )
    if n_control == 0:
        return Check(
            "comparison",
            "比較対象がある",
            False,
            "すべての単位が介入を受けています。介入を受けていない比較対象（例：ほかの区）がないため、差の差分析はできません。",
        )
    return Check(
        "comparison", "比較対象がある", True, f"介入あり {n_treated} 単位、比較対象 {n_control} 単位です。"
    )


def not_collinear(design: pd.DataFrame) -> Check:
    """The regressors are linearly independent (otherwise the effect cannot be separated)."""
    matrix = design.to_numpy(dtype="float64")
    rank = int(np.linalg.matrix_rank(matrix)) if matrix.size else 0
    if rank >= matrix.shape[1]:
        return Check("collinear", "説明変数が重複していない", True, "説明変数どうしは重複していません。")
    names = _dependent_columns(design)
    return Check(
        "collinear",
        "説明変数が重複していない",
        False,
        f"説明変数「{'」「'.join(names)}」がほかの変数で完全に説明できてしまい（多重共線性）、効果を切り分けられません。"
        "その変数を外すか、介入の時期や対象が他の変数と重ならないデータを使ってください。",
    )


def _dependent_columns(design: pd.DataFrame) -> list[str]:
    kept: list[str] = []
    dependent: list[str] = []
    for column in design.columns:
        trial = design[[*kept, column]].to_numpy(dtype="float64")
        if np.linalg.matrix_rank(trial) < trial.shape[1]:
            dependent.append(str(column))
        else:
            kept.append(column)
    return dependent


def min_count(n: int, *, minimum: int, what: str) -> Check:
    ok = n >= minimum
    return Check(
        "small_n",
        f"{what}の数が足りる",
        ok,
        f"{what}は {n} 件です。" if ok else f"{what}が {n} 件しかありません（{minimum} 件以上必要です）。",
    )


def counts_not_too_small(values: pd.Series, *, minimum_mean: float = 5.0) -> Check | None:
    """For counts (whole numbers ≥ 0): a warning when the average per period is small (normal approximations and
    intervals become unreliable); None when the values are not counts."""
    clean = values.dropna()
    if clean.empty or (clean < 0).any() or not np.all(np.mod(clean, 1) == 0):
        return None
    mean = float(clean.mean())
    ok = mean >= minimum_mean
    return Check(
        "small_counts",
        "件数が少なすぎない",
        ok,
        f"1期あたりの件数は平均 {mean:.3g} 件です。"
        + (
            ""
            if ok
            else f"{minimum_mean:g} 件未満と少ないため、信頼区間や予測区間は目安と考えてください（時間の単位を粗くすると改善します）。"
        ),
        blocking=False,
    )


def raise_failed(checks: list[Check]) -> None:
    """Raise for any failed check, blocking or not (used where nothing can run past a failed check)."""
    failed = [c for c in checks if not c.passed]
    if failed:
        raise DesignNotFit(failed)


def intervention_period(axis: TimeAxis, value: Any) -> tuple[Any, Check]:
    """The intervention as a value of the axis (an int, or a Period at the axis' grain)."""
    label = "介入の時点を読める"
    try:
        if axis.grain == "int":
            number = float(value)
            if number != int(number):
                raise ValueError
            point: Any = int(number)
        else:
            point = pd.Period(pd.Timestamp(value), freq=_GRAIN_FREQ[axis.grain])
    except (TypeError, ValueError):
        return None, Check(
            "intervention", label, False, f"介入の時点「{value}」を時間の列と同じ形で読めません。"
        )
    first, last = axis.periods.min(), axis.periods.max()
    if not first < point <= last:
        return None, Check(
            "intervention",
            label,
            False,
            f"介入の時点「{point}」がデータの期間（{first}〜{last}）の内側にありません。介入前と介入後の両方が必要です。",
        )
    return point, Check(
        "intervention", label, True, f"介入の時点は「{point}」です（この時点から介入後として数えます）。"
    )
