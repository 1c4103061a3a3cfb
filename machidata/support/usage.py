"""Usage and adoption figures by bureau (局) and month, from the audit log and the support records.

Every audited event of a signed-in person counts for the 局 of the 課・係 they belonged to *on the day
of the event* (staff move every April, so today's membership would move last year's work too).
Someone with memberships in two 局 on the same day (兼務) counts in both; the city total counts them
once. Events without a person (the public, the system) count in neither: the figures are about staff —
except オープンデータのダウンロード, which counts the public's downloads for the 局 owning the dataset.

Months and 年度 are Japanese time: an event at 2024-03-31T15:30Z is 2024-04-01 in Tokyo, 2024年度.
Everything is aggregated by the database (TruncMonth with the Tokyo zone, conditional counts): a
handful of queries whatever the number of events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate, TruncMonth
from django.http import HttpRequest

from machidata.access.models import TOP_LEVEL_KINDS, Unit
from machidata.access.policy import Actor, require_manager_of
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.core.errors import NotFound
from machidata.jp.fiscal import fiscal_year_range
from machidata.support.models import Attendance, Consultation, SyntheticUsage

TOKYO: Final = ZoneInfo("Asia/Tokyo")
NOT_BUILT: Final = "（未実装の機能）"


@dataclass(frozen=True)
class Metric:
    """One figure: its key in the API, its label on the page, and whether machidata records it yet."""

    key: str
    label: str
    built: bool = True
    feature: str = ""  # the rollout view's column, when the figure is one


METRICS: Final[tuple[Metric, ...]] = (
    Metric("active_users", "利用した職員（人）"),
    Metric("datasets", "登録したデータセット", feature="カタログ登録"),
    Metric("versions", "アップロードした版", feature="アップロード"),
    Metric("searches", "検索", feature="検索"),
    Metric("searches_empty", "0件の検索"),
    Metric("downloads", "ダウンロード", feature="ダウンロード"),
    Metric("consultations", "相談・伴走支援", feature="相談"),
    Metric("attendances", "研修の受講", feature="研修"),
    Metric("dashboard_views", "ダッシュボードの閲覧", feature="ダッシュボード"),
    Metric("charts", "作成したグラフ", feature="グラフ"),
    Metric("open_data_downloads", "オープンデータのダウンロード"),
)
BUILT: Final = tuple(m for m in METRICS if m.built)
FEATURES: Final = tuple(m for m in METRICS if m.feature)

# The audit actions behind each figure read from the audit log.
_ACTIONS: Final = {
    "datasets": Q(action="dataset.create"),
    "versions": Q(action="data.ingest"),
    "searches": Q(action="catalog.search"),
    "searches_empty": Q(action="catalog.search", changes__results=0),
    "downloads": Q(action="data.download"),
    "charts": Q(action="chart.create"),
    "dashboard_views": Q(action="dashboard.view"),
}

Counts = dict[str, int]


def _empty() -> Counts:
    return {m.key: 0 for m in BUILT}


@dataclass
class Usage:
    """One 年度's figures: the city by month, each 局 by month (missing months are zero)."""

    fy: int
    months: list[dt.date]
    city: dict[dt.date, Counts] = field(default_factory=dict)
    bureaus: dict[int, dict[dt.date, Counts]] = field(default_factory=dict)
    city_year: Counts = field(default_factory=_empty)
    bureau_year: dict[int, Counts] = field(default_factory=dict)
    synthetic: bool = False  # the figures include the demo's invented usage (SyntheticUsage)

    def city_month(self, month: dt.date) -> Counts:
        """The city's figures of one month."""
        return self.city.get(month) or _empty()

    def bureau_month(self, bureau_id: int, month: dt.date) -> Counts:
        """One 局's figures of one month."""
        return self.bureaus.get(bureau_id, {}).get(month) or _empty()

    def year_of(self, bureau_id: int) -> Counts:
        """One 局's figures over the 年度."""
        return self.bureau_year.get(bureau_id) or _empty()


def fiscal_months(fy: int) -> list[dt.date]:
    """The first day of each month of 年度 ``fy``, April to March."""
    return [dt.date(fy + (m < 4), m, 1) for m in (*range(4, 13), 1, 2, 3)]


def _bounds(fy: int) -> tuple[dt.datetime, dt.datetime]:
    start, last = fiscal_year_range(fy)
    begin = dt.datetime.combine(start, dt.time(), tzinfo=TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO)
    return begin, end


def bureau_of_units() -> dict[int, int]:
    """Every unit (closed ones too) mapped to its top-level ancestor (局・区役所・…)."""
    parents = dict(Unit.objects.values_list("id", "parent_id"))
    top: dict[int, int] = {}
    for uid in parents:
        node, hops = uid, 0
        while parents.get(node) is not None and hops < 16:  # a guard against a cycle in bad data
            node, hops = parents[node], hops + 1
        top[uid] = node
    return top


def bureaus(fy: int) -> list[Unit]:
    """The top-level units in force at some time during 年度 ``fy``."""
    start, last = fiscal_year_range(fy)
    return list(
        Unit.objects.filter(parent__isnull=True, kind__in=TOP_LEVEL_KINDS, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .order_by("code")
    )


def _bureau_case(field_name: str, tops: dict[int, int]) -> Case:
    by_bureau: dict[int, list[int]] = {}
    for unit_id, bureau_id in tops.items():
        by_bureau.setdefault(bureau_id, []).append(unit_id)
    whens = [When(**{f"{field_name}__in": ids}, then=Value(b)) for b, ids in sorted(by_bureau.items())]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _month(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(TOKYO) if value.tzinfo else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _audit_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {"active_users": Count("actor", distinct=True)}
    for key, q in _ACTIONS.items():
        # distinct ids: an event joined to two memberships of one 局 still counts once
        counts[key] = Count("id", filter=q, distinct=True)
    return counts


def _audit_events(fy: int) -> QuerySet[Any]:  # annotated with month
    begin, end = _bounds(fy)
    return AuditEvent.objects.filter(created_at__gte=begin, created_at__lt=end, actor__isnull=False).annotate(
        month=TruncMonth("created_at", tzinfo=TOKYO)
    )


def _add(target: dict[dt.date, Counts], month: dt.date, values: dict[str, Any]) -> None:
    row = target.setdefault(month, _empty())
    for key, value in values.items():
        if key in row:
            row[key] += int(value or 0)


def compute_usage(fy: int) -> Usage:
    """The figures of 年度 ``fy`` for the city and every 局 (eight aggregate queries)."""
    usage = Usage(fy=fy, months=fiscal_months(fy))
    tops = bureau_of_units()
    counts = _audit_counts()

    for row in _audit_events(fy).values("month").annotate(**counts):
        _add(usage.city, _month(row.pop("month")), row)
    usage.city_year.update(_audit_events(fy).aggregate(**counts))

    # Join each event to its actor's membership in force on the event's Tokyo day (one filter() call,
    # so both conditions apply to the same membership row), then map that membership's unit to its 局.
    dated = _audit_events(fy).annotate(day=TruncDate("created_at", tzinfo=TOKYO))
    joined = dated.filter(
        Q(actor__memberships__valid_from__lte=F("day"))
        & (Q(actor__memberships__valid_to__isnull=True) | Q(actor__memberships__valid_to__gte=F("day")))
    ).annotate(bureau=_bureau_case("actor__memberships__unit_id", tops))
    for row in joined.values("bureau", "month").annotate(**counts):
        if row["bureau"] is not None:
            _add(usage.bureaus.setdefault(row.pop("bureau"), {}), _month(row.pop("month")), row)
    for row in joined.values("bureau").annotate(**counts):
        if row["bureau"] is not None:
            usage.bureau_year.setdefault(row.pop("bureau"), _empty()).update(row)

    _support_counts(usage, tops)
    _open_data_counts(usage, tops)
    _synthetic_counts(usage)
    return usage


def _open_data_counts(usage: Usage, tops: dict[int, int]) -> None:
    """Downloads by the public: ``data.download`` events with no person (the portal answers as the anonymous
    public), by month, for the city and for the 局 owning the dataset downloaded (two queries).

    On a two-instance deployment these are the downloads made on the instance whose log is read: the
    public instance never reports back to the internal one.
    """
    begin, end = _bounds(usage.fy)
    rows = list(
        AuditEvent.objects.filter(
            created_at__gte=begin, created_at__lt=end, actor__isnull=True, action="data.download"
        )
        .annotate(month=TruncMonth("created_at", tzinfo=TOKYO), slug=KT("changes__dataset"))
        .values("month", "slug")
        .annotate(n=Count("id"))
    )
    owners = dict(Dataset.objects.filter(slug__in={r["slug"] for r in rows}).values_list("slug", "owner_id"))
    key = "open_data_downloads"
    for row in rows:
        month, n = _month(row["month"]), row["n"]
        _add(usage.city, month, {key: n})
        usage.city_year[key] += n
        bureau = tops.get(owners.get(row["slug"], -1))
        if bureau is not None:
            _add(usage.bureaus.setdefault(bureau, {}), month, {key: n})
            usage.bureau_year.setdefault(bureau, _empty())[key] += n


def _synthetic_counts(usage: Usage) -> None:
    """Add the demo's invented monthly figures (labelled on every page through ``usage.synthetic``).

    Months add up. A year's 利用した職員 is a count of distinct people, which monthly numbers cannot
    give; for the invented part it takes each 局's busiest month, a lower bound, so it never overstates.
    """
    start, last = fiscal_year_range(usage.fy)
    rows = SyntheticUsage.objects.filter(month__range=(start, last), metric__in=[m.key for m in BUILT])
    busiest: dict[int, int] = {}
    for row in rows.values("month", "bureau_id", "metric", "count"):
        usage.synthetic = True
        month, bureau, key, n = _month(row["month"]), row["bureau_id"], row["metric"], row["count"]
        _add(usage.city, month, {key: n})
        _add(usage.bureaus.setdefault(bureau, {}), month, {key: n})
        if key == "active_users":
            busiest[bureau] = max(busiest.get(bureau, 0), n)
        else:
            usage.city_year[key] += n
            usage.bureau_year.setdefault(bureau, _empty())[key] += n
    for bureau, n in busiest.items():
        usage.city_year["active_users"] += n
        usage.bureau_year.setdefault(bureau, _empty())["active_users"] += n


def _support_counts(usage: Usage, tops: dict[int, int]) -> None:
    begin, end = _bounds(usage.fy)
    start, last = fiscal_year_range(usage.fy)
    sources: Iterable[tuple[str, QuerySet[Any]]] = (
        (
            "consultations",
            Consultation.objects.filter(opened_at__gte=begin, opened_at__lt=end).annotate(
                month=TruncMonth("opened_at", tzinfo=TOKYO)
            ),
        ),
        (
            "attendances",
            Attendance.objects.filter(session__on_date__range=(start, last)).annotate(
                month=TruncMonth("session__on_date")
            ),
        ),
    )
    for key, qs in sources:
        grouped = (
            qs.annotate(bureau=_bureau_case("unit_id", tops))
            .values("bureau", "month")
            .annotate(n=Count("id"))
        )
        for row in grouped:
            month = _month(row["month"])
            _add(usage.city, month, {key: row["n"]})
            usage.city_year[key] += row["n"]
            if row["bureau"] is not None:
                _add(usage.bureaus.setdefault(row["bureau"], {}), month, {key: row["n"]})
                usage.bureau_year.setdefault(row["bureau"], _empty())[key] += row["n"]


def usage_for(request: HttpRequest | None, fy: int) -> Usage:
    """The figures of 年度 ``fy``, computed once per request (the page and its parts share them)."""
    if request is None:
        return compute_usage(fy)
    cache: dict[int, Usage] = request.__dict__.setdefault("_machidata_usage", {})
    if fy not in cache:
        cache[fy] = compute_usage(fy)
    return cache[fy]


def bureau_for(actor: Actor, pk: int) -> Unit:
    """A 局 whose page ``actor`` may read (its 管理職 and 管理); anyone else gets 404."""
    unit = Unit.objects.filter(pk=pk, parent__isnull=True, kind__in=TOP_LEVEL_KINDS).first()
    if unit is None:
        raise NotFound("局が見つかりません。")
    tops = bureau_of_units()
    require_manager_of(actor, [uid for uid, top in tops.items() if top == unit.pk])
    return unit


def bureaus_of(actor: Actor) -> list[Unit]:
    """The 局 where the actor is 管理職 (for links to their bureau pages)."""
    tops = bureau_of_units()
    ids = {tops[u] for u in actor.manager_unit_ids if u in tops}
    return list(Unit.objects.filter(pk__in=ids).order_by("code"))


def share(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` to one decimal (None when the whole is zero)."""
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class RolloutRow:
    """One 局 in the rollout view: which features it used in the 年度."""

    bureau: Unit
    used: dict[str, bool]

    @property
    def count(self) -> int:
        """How many features it used."""
        return sum(self.used.values())


def rollout(usage: Usage, units: list[Unit]) -> list[RolloutRow]:
    """Bureau × feature: used (at least once in the 年度) or not yet."""
    return [RolloutRow(u, {m.key: usage.year_of(u.pk)[m.key] > 0 for m in FEATURES}) for u in units]
