"""Plain-Japanese interpretation generated from the numbers (templates, no language model) and evidence levels.

The evidence scale (documented for staff in ``docs/guide/analysis.md``), after the Maryland Scientific Methods Scale:

5. 無作為化比較 — a randomised comparison of groups.
4. 比較対象のある準実験 — difference-in-differences, synthetic control.
3. 長い時系列の準実験 — interrupted time series (trend and season taken out).
2. 単純な前後比較 — before/after without a comparison group.
1. 比較のみ — groups compared without random assignment (no causal claim).

Every failed non-blocking check (pre-trend, placebo, pre-period fit, autocorrelation…) lowers the level by one,
down to 1. Forecasts and sample-size plans make no causal claim and carry no level.
"""

from __future__ import annotations

import math

from machidata.analysis.results import AnalysisResult

BASE_LEVEL = {
    "compare_groups_randomised": 5,
    "did_2x2": 4,
    "did_twfe": 4,
    "did_staggered": 4,
    "synthetic_control": 4,
    "its": 3,
    "before_after": 2,
    "compare_groups": 1,
}

LEVEL_LABELS = {
    5: "レベル5（無作為化比較）",
    4: "レベル4（比較対象のある準実験）",
    3: "レベル3（長い時系列の準実験）",
    2: "レベル2（単純な前後比較）",
    1: "レベル1（比較のみ・因果の根拠としては弱い）",
}

CAVEATS = {
    "before_after": "前後比較は、同じ時期に起きたほかの変化（景気、季節、制度改正など）も効果に混ざります。",
    "compare_groups": "群の分け方が無作為でないため、群のもともとの違いが差に混ざっている可能性があります。",
    "compare_groups_randomised": "無作為に割り付けたため、群のもともとの違いは偶然の範囲にとどまると考えられます。",
    "did_2x2": "介入がなければ、介入群と比較群は同じように変化していた（平行トレンド）という仮定に立っています。",
    "did_twfe": "介入がなければ、介入群と比較群は同じように変化していた（平行トレンド）という仮定に立っています。",
    "did_staggered": "介入がなければ、時期ごとの介入群と比較の単位は同じように変化していた（平行トレンド）という仮定に立ち、効果は介入後の全期間の平均です。",
    "its": "介入がなければ、それまでの傾向と季節の動きが続いていたという仮定に立っています。",
    "synthetic_control": "介入前に介入単位とよく似た動きをした単位の組合せが、介入後も介入がなかった場合の姿を表すという仮定に立っています。",
}


def fmt(value: float | None) -> str:
    """A number for a sentence: thousands separators, sensible decimals."""
    if value is None or not math.isfinite(value):
        return "—"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:,.2f}"
    if size == 0:
        return "0"
    return f"{value:.3g}"


def evidence_level(result: AnalysisResult) -> int | None:
    base = BASE_LEVEL.get(result.design)
    if base is None:
        return None
    return max(1, base - len(result.warnings))


# Lead sentence per design: template, word for a positive estimate, word for a negative one.
_OTHERS_DID = "比較対象の変化を差し引くと、介入によって{out}は {amount} {word}と推定されます。"
LEADS: dict[str, tuple[str, str, str]] = {
    "before_after": ("介入後の{out}の平均は、介入前より {amount} {word}。", "増えました", "減りました"),
    "compare_groups": (
        "対象群の{out}の平均は、比較群より {amount} {word}。",
        "高くなっています",
        "低くなっています",
    ),
    "compare_groups_randomised": (
        "対象群の{out}の平均は、比較群より {amount} {word}。",
        "高くなっています",
        "低くなっています",
    ),
    "did_2x2": (_OTHERS_DID, "増えた", "減った"),
    "did_twfe": (_OTHERS_DID, "増えた", "減った"),
    "did_staggered": (_OTHERS_DID, "増えた", "減った"),
    "its": (
        "それまでの傾向と季節の動きを差し引くと、介入の時点で{out}の水準が {amount} {word}。",
        "上がりました",
        "下がりました",
    ),
    "synthetic_control": (
        "介入後の平均で、「{unit}」の{out}は、介入前によく似た動きをした単位の組合せ（合成コントロール）より {amount} {word}。",
        "高くなっています",
        "低くなっています",
    ),
}


def _lead(result: AnalysisResult) -> str:
    out = f"「{result.outcome}」"
    if result.estimate is None:
        return f"{out}の効果は推定できませんでした。"
    template, up, down = LEADS.get(result.design, ("{out}の推定値は {amount} です。", "", ""))
    return template.format(
        out=out,
        amount=fmt(abs(result.estimate)) if up else fmt(result.estimate),
        word=up if result.estimate > 0 else down,
        unit=result.details.get("treated_unit", "介入単位"),
    )


def _uncertainty(result: AnalysisResult) -> str:
    parts = []
    level = round(result.ci_level * 100)
    if result.ci_low is not None and result.ci_high is not None:
        zero_inside = result.ci_low <= 0 <= result.ci_high
        parts.append(
            f"{level}%信頼区間は {fmt(result.ci_low)} 〜 {fmt(result.ci_high)} で、0 を"
            + (
                "含むため、効果があるとは言い切れません。"
                if zero_inside
                else "含まないため、偶然だけで説明するのは難しい差です。"
            )
        )
    elif result.design == "synthetic_control":
        parts.append(
            "合成コントロール法では信頼区間の代わりに、比較単位を1つずつ介入単位とみなすプラセボ検定で偶然かどうかを判断します。"
        )
    else:
        parts.append("信頼区間は計算できませんでした（データの数が少なすぎます）。")
    if result.p_value is not None:
        p = result.p_value
        judged = (
            "偶然でもこの程度の差が出ることは珍しくありません"
            if p >= 0.05
            else "偶然だけでこの程度の差が出る可能性は低いと考えられます"
        )
        shown = "0.001 未満" if p < 0.001 else f"{p:.3f}"
        parts.append(f"p値は {shown}（{result.test}）で、{judged}。")
    return "".join(parts)


def _warnings(result: AnalysisResult) -> str:
    if not result.warnings:
        return "設計のチェックはすべて通りました。"
    listed = "".join(f"・{c.reason}" for c in result.warnings)
    return f"次の点に注意してください（そのため根拠のレベルを下げています）：{listed}"


def interpret(result: AnalysisResult) -> str:
    """The short interpretation shown under every effect estimate."""
    level = evidence_level(result)
    text = [_lead(result), _uncertainty(result), CAVEATS.get(result.design, ""), _warnings(result)]
    if level is not None:
        text.append(f"根拠の強さは{LEVEL_LABELS[level]}です。")
    return "".join(t for t in text if t)


def finish(result: AnalysisResult) -> AnalysisResult:
    """Fill the evidence level and the interpretation (every estimator calls this last)."""
    result.evidence_level = evidence_level(result)
    if not result.interpretation:
        result.interpretation = interpret(result)
    return result
