"""Sample size and power for a planned trial (statsmodels.stats.power)."""

from __future__ import annotations

import math

from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from machidata.analysis.interpret import fmt
from machidata.analysis.results import AnalysisResult, Check, DesignNotFit, refuse


def _check_rates(alpha: float, power: float) -> None:
    failed = []
    if not 0 < alpha < 0.5:
        failed.append(
            Check(
                "alpha",
                "有意水準",
                False,
                "有意水準は 0 より大きく 0.5 より小さい値にしてください（ふつうは 0.05）。",
            )
        )
    if not 0 < power < 1:
        failed.append(
            Check(
                "power",
                "検出力",
                False,
                "検出力は 0 より大きく 1 より小さい値にしてください（ふつうは 0.8）。",
            )
        )
    if failed:
        raise DesignNotFit(failed)


def _result(
    *,
    design_title: str,
    outcome: str,
    n1: float,
    ratio: float,
    alpha: float,
    power: float,
    effect: float,
    test: str,
) -> AnalysisResult:
    per_group = math.ceil(n1)
    other = math.ceil(n1 * ratio)
    text = (
        f"効果の大きさ {fmt(effect)}（標準化した差）を、有意水準 {alpha:g}・検出力 {power:.0%} で見つけるには、"
        f"対象群 {per_group} 件・比較群 {other} 件（合計 {per_group + other} 件）が必要です"
        f"（計算値は {n1:.2f} 件で、切り上げています）。脱落が見込まれる場合はその分を上乗せしてください。"
    )
    return AnalysisResult(
        design="power",
        title=design_title,
        outcome=outcome,
        estimate=float(n1),
        test=test,
        assumptions=[
            "群は無作為に割り付ける。",
            "想定した効果の大きさが現実的である（小さく見積もるほど必要な数は増える）。",
            "各対象の結果は互いに独立している。",
        ],
        checks=[],
        details={
            "n_treated": per_group,
            "n_control": other,
            "alpha": alpha,
            "power": power,
            "effect_size": effect,
            "ratio": ratio,
        },
        interpretation=text,
    )


def sample_size_means(
    *, effect_size: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> AnalysisResult:
    """Rows per group to detect a standardised mean difference (Cohen's d) with a two-sided t-test.

    ``estimate`` is the (unrounded) size of the first group; ``ratio`` = second group / first group.
    """
    _check_rates(alpha, power)
    if effect_size == 0 or not math.isfinite(effect_size):
        raise DesignNotFit(
            [
                Check(
                    "effect",
                    "効果の大きさ",
                    False,
                    "効果の大きさは 0 以外の数にしてください（例：0.5 は中程度）。",
                )
            ]
        )
    if ratio <= 0:
        raise DesignNotFit([Check("ratio", "群の比", False, "群の大きさの比は 0 より大きくしてください。")])
    n1 = TTestIndPower().solve_power(
        effect_size=abs(effect_size), alpha=alpha, power=power, ratio=ratio, alternative="two-sided"
    )
    return _result(
        design_title="必要な対象数（平均の差）",
        outcome="平均の差",
        n1=float(n1),
        ratio=ratio,
        alpha=alpha,
        power=power,
        effect=abs(effect_size),
        test="2標本t検定（両側）",
    )


def sample_size_proportions(
    *, p_control: float, p_treated: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> AnalysisResult:
    """Rows per group to detect a change in a rate (e.g. reply rate 30 % → 40 % after a reminder letter)."""
    _check_rates(alpha, power)
    if not (0 < p_control < 1 and 0 < p_treated < 1) or p_control == p_treated:
        raise DesignNotFit(
            [
                Check(
                    "rates",
                    "割合",
                    False,
                    "割合は 0 と 1 の間の異なる2つの値にしてください（例：0.30 と 0.40）。",
                )
            ]
        )
    if ratio <= 0:
        raise DesignNotFit([Check("ratio", "群の比", False, "群の大きさの比は 0 より大きくしてください。")])
    effect = abs(float(proportion_effectsize(p_treated, p_control)))
    n1 = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=ratio, alternative="two-sided"
    )
    result = _result(
        design_title="必要な対象数（割合の差）",
        outcome="割合の差",
        n1=float(n1),
        ratio=ratio,
        alpha=alpha,
        power=power,
        effect=effect,
        test="割合の差の検定（正規近似、Cohen の h）",
    )
    result.details.update({"p_control": p_control, "p_treated": p_treated})
    return result


def power_for_n(*, effect_size: float, n_per_group: float, alpha: float = 0.05, ratio: float = 1.0) -> float:
    """Power of a two-sided t-test with ``n_per_group`` rows in the first group (for "what if we only have n?")."""
    _check_rates(alpha, 0.5)
    if n_per_group < 2:
        raise DesignNotFit([Check("n", "対象数", False, "1群あたり2件以上にしてください。")])
    return float(
        TTestIndPower().power(effect_size=abs(effect_size), nobs1=n_per_group, alpha=alpha, ratio=ratio)
    )


def sample_size(
    *,
    kind: str,
    effect_size: float | None = None,
    p_control: float | None = None,
    p_treated: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> AnalysisResult:
    """The sample size a form or an API body asks for: ``kind`` "means" (``effect_size``) or "proportions"."""
    if kind == "proportions":
        if p_control is None or p_treated is None:
            refuse("rates", "割合", "比較群の割合と期待する割合を入れてください。")
        return sample_size_proportions(
            p_control=p_control, p_treated=p_treated, alpha=alpha, power=power, ratio=ratio
        )
    if kind != "means":
        refuse("kind", "比べるもの", "比べるものは means（平均）か proportions（割合）を選んでください。")
    if effect_size is None:
        refuse("effect", "効果の大きさ", "効果の大きさを入れてください。")
    return sample_size_means(effect_size=effect_size, alpha=alpha, power=power, ratio=ratio)
