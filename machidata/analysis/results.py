"""What every estimator returns: a small, JSON-able result with its checks, assumptions and versions.

No Django here: the estimators run the same in a view, a job, the API or a notebook.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, NoReturn

from machidata.core.errors import InvalidInput

# The libraries whose versions make a result reproducible (shown on every result).
_LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "pysyncon", "jpholiday")


@dataclass(frozen=True)
class Check:
    """One design check: ``passed`` or not, with the reason in plain Japanese.

    A ``blocking`` check that fails stops the analysis (:class:`DesignNotFit`); a non-blocking one is a
    warning that lowers the evidence level and is shown beside the result.
    """

    code: str
    label: str
    passed: bool
    reason: str
    blocking: bool = True


class DesignNotFit(InvalidInput):
    """The data cannot support the chosen design; ``details`` lists the failed checks (Japanese reasons)."""

    def __init__(self, failed: list[Check]) -> None:
        reasons = "／".join(c.reason for c in failed)
        super().__init__(
            f"この分析はこのデータでは実行できません：{reasons}",
            details={c.code: c.reason for c in failed},
        )
        self.failed = failed

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its checks (a job's child process sends it back to the job)."""
        return (DesignNotFit, (self.failed,))


def require(checks: list[Check]) -> list[Check]:
    """Raise :class:`DesignNotFit` when a blocking check failed; return the checks otherwise."""
    failed = [c for c in checks if c.blocking and not c.passed]
    if failed:
        raise DesignNotFit(failed)
    return checks


def refuse(code: str, label: str, reason: str) -> NoReturn:
    """Stop with one failed check (for inputs that are wrong before any data is looked at)."""
    raise DesignNotFit([Check(code, label, False, reason)])


def library_versions() -> dict[str, str]:
    """Installed versions of the statistical libraries (a result records them for reproducibility)."""
    versions: dict[str, str] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - every one is a runtime dependency
            versions[name] = "未インストール"
    return versions


def clean_float(value: Any) -> float | None:
    """A finite Python float, or ``None`` for NaN/inf/missing (JSON has no NaN)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class AnalysisResult:
    """The result of one design on one data set.

    ``estimate`` is the effect (or forecast total, or sample size) in the outcome's unit; ``ci_low``/``ci_high``
    its confidence interval at ``ci_level``; ``test`` names the test behind ``p_value``. ``chart`` holds rows for a
    Vega-Lite chart (``chart_kind`` says which); ``details`` holds design-specific numbers (weights, RMSPE,
    coefficients, backtest metrics…). ``evidence_level`` follows the scale in ``docs/guide/analysis.md``.
    """

    design: str
    title: str
    outcome: str
    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    p_value: float | None = None
    test: str = ""
    n: int = 0
    assumptions: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    chart_kind: str = ""
    chart: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    evidence_level: int | None = None
    interpretation: str = ""

    @property
    def warnings(self) -> list[Check]:
        """Non-blocking checks that failed (shown beside the result; they lower the evidence level)."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN and inf become ``None``)."""
        data: dict[str, Any] = _jsonable(asdict(self))
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return clean_float(value)
    if value is None or isinstance(value, str | bool | int):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
