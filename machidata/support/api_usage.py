"""The usage figures API, mounted under /api/v1/support/: the city, or one 局 next to the city."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from machidata.access.auth import api_staff
from machidata.core.errors import InvalidInput
from machidata.core.schemas import FiscalYear
from machidata.support import usage
from machidata.support.schemas import ErrorOut
from machidata.support.selectors import current_fiscal_year

router = Router(tags=["support"])


class MetricOut(Schema):
    """One figure: key, label, and whether machidata records it yet (未実装 figures are null, not zero)."""

    key: str
    label: str
    implemented: bool


class UsageMonthOut(Schema):
    """The figures of one month (YYYY-MM, Japan time): the city's, and the 局's with its share when asked."""

    month: str
    city: dict[str, int | None]
    bureau: dict[str, int | None] | None = None
    share: dict[str, float | None] | None = None


class UsageOut(Schema):
    """A 年度's usage figures, by month and in total."""

    fiscal_year: int
    bureau_id: int | None
    bureau: str | None
    metrics: list[MetricOut]
    months: list[UsageMonthOut]
    total: UsageMonthOut
    synthetic: bool = Field(description="デモ用の合成データ（架空の利用件数）を含むとき true")


def _full(counts: usage.Counts) -> dict[str, int | None]:
    return {m.key: counts[m.key] if m.built else None for m in usage.METRICS}


def _shares(part: usage.Counts, whole: usage.Counts) -> dict[str, float | None]:
    return {m.key: usage.share(part[m.key], whole[m.key]) if m.built else None for m in usage.METRICS}


def _entry(label: str, city: usage.Counts, mine: usage.Counts | None) -> UsageMonthOut:
    if mine is None:
        return UsageMonthOut(month=label, city=_full(city))
    return UsageMonthOut(month=label, city=_full(city), bureau=_full(mine), share=_shares(mine, city))


@router.get(
    "/usage",
    response={200: UsageOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    summary="利用状況（全庁、または局と全庁）",
)
def usage_figures(request: HttpRequest, fy: FiscalYear | None = None, bureau: int | None = None) -> UsageOut:
    """Monthly usage figures of 年度 ``fy`` for the city; with ``bureau``, that 局 next to the city (its members and 管理)."""
    actor = api_staff(request)
    unit = usage.bureau_for(actor, bureau) if bureau is not None else None
    fy = fy or current_fiscal_year()
    if not 2000 <= fy <= 2100:
        raise InvalidInput("年度は2000〜2100で指定してください。")
    u = usage.usage_for(request, fy)
    months = [
        _entry(f"{mo:%Y-%m}", u.city_month(mo), u.bureau_month(unit.pk, mo) if unit else None)
        for mo in u.months
    ]
    return UsageOut(
        fiscal_year=fy,
        bureau_id=unit.pk if unit else None,
        bureau=unit.name if unit else None,
        metrics=[MetricOut(key=m.key, label=m.label, implemented=m.built) for m in usage.METRICS],
        months=months,
        total=_entry(f"{fy}年度", u.city_year, u.year_of(unit.pk) if unit else None),
        synthetic=u.synthetic,
    )
