"""Alert rules (アラート) on a chart or an EBPM indicator, evaluated when new data arrives.

A rule reads one series as its owner — a chart's line (its time axis and value, one colour's line when
the chart has several) through the charts room's selectors, or an indicator's actuals by 年度 through
the EBPM room's selectors — so the access policy decides what the owner may be told: a chart they may no
longer see, or an indicator whose figures come from a table they may not read
(``ebpm.selectors.figures_visible``), is not evaluated and the rule says why (``problem``).

Each rule fires **once per crossing**: ``armed`` → condition met → ``fired`` (an :class:`Alert` and a
notice to the owner) → condition no longer met → ``armed`` again. A crossing within the rule's cool-down
of the last notice is recorded (``Alert.notified = False``) without a notice. 「新しい値が入ったら」
(a watch on a chart or indicator) fires whenever the newest period or value changes, with the same
cool-down. When a rule is made, the current data sets its starting state without a notice.

Hook points: the lake's ``version_committed`` signal (charts over that table, unless pinned to a 版)
and the saving or removal of an ``IndicatorActual`` (hand entry, the EBPM recomputation after a new
version, formulas), evaluated after that transaction commits. Both are connected in ``CollectConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from machidata.access.policy import Actor, actor_for, system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import TableVersion
from machidata.collect.models import Alert, AlertCondition, AlertRule, AlertState
from machidata.core.errors import InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.notify.services import notify

logger = logging.getLogger("machidata.collect")

SYSTEM: Final = system_actor("alerts")
MAX_COOLDOWN_HOURS: Final = 24 * 90
MAX_RULES_PER_USER: Final = 200
TIME_GRAINS: Final = {"day", "week", "month", "quarter", "year", "fiscal_year"}
TIME_KINDS: Final = {"date", "datetime", "timestamp"}
# Forecast rules: at least this many past periods (the forecast function's own minimum is checked too).
FORECAST_GRAINS: Final = {"day": "D", "month": "M"}


@dataclass(frozen=True)
class Point:
    """One period of a series: its key (for order and the previous period), label and value."""

    key: Any
    label: str
    value: float


@dataclass(frozen=True)
class Series:
    """A rule's series, oldest first, with the time grain of its keys (None: consecutive rows)."""

    points: list[Point]
    grain: str | None
    unit: str = ""


# ---- reading the series (as the rule's owner) ---------------------------------------------------------


def _label(key: Any, grain: str | None) -> str:
    if isinstance(key, dt.datetime):
        key = key.date()
    if isinstance(key, dt.date):
        dated = {
            "month": f"{key.year}年{key.month}月",
            "quarter": f"{key.year}年{key.month}月からの四半期",
            "week": f"{key.isoformat()}の週",
        }
        return dated.get(grain or "", key.isoformat())
    return {"fiscal_year": f"{key}年度", "year": f"{key}年"}.get(grain or "", str(key))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _previous_key(key: Any, grain: str | None) -> Any:
    """The key of the period before ``key`` (None: unknown, the row before is used)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key - 1 if grain in {"year", "fiscal_year", None} else None
    if isinstance(key, dt.datetime):
        key = key.date()
    if not isinstance(key, dt.date):
        return None
    steps: dict[str, Any] = {
        "day": lambda d: d - dt.timedelta(days=1),
        "week": lambda d: d - dt.timedelta(days=7),
        "month": lambda d: _add_months(d, -1),
        "quarter": lambda d: _add_months(d, -3),
    }
    step = steps.get(grain or "")
    return step(key) if step else None


def _chart_series(actor: Actor, rule: AlertRule) -> Series:
    from machidata.charts.selectors import chart_get

    assert rule.chart is not None
    chart = chart_get(actor=actor, uuid=rule.chart.uuid)
    return _series_of_chart(actor, chart.document, rule.series)


def _series_of_chart(actor: Actor, document: dict[str, Any], series: str) -> Series:
    from machidata.charts.selectors import document_data

    visual = document.get("visual") or {}
    x, y, color = visual.get("x"), visual.get("y"), visual.get("color")
    data = document_data(actor=actor, document=document)
    columns = {c.name: c for c in data.columns}
    if not x or not y or x not in columns or y not in columns:
        raise InvalidInput("グラフの横軸と値の列が見つかりません。グラフを開いて確かめてください。")
    xcol = columns[x]
    if xcol.grain not in TIME_GRAINS and xcol.kind not in TIME_KINDS:
        raise InvalidInput("横軸が時間（日・週・月・四半期・年・年度）のグラフにだけアラートを付けられます。")
    if color and not series:
        values = sorted({str(r.get(color)) for r in data.rows if r.get(color) is not None})[:10]
        raise InvalidInput(
            f"このグラフは「{color}」ごとに線が分かれています。どの系列を見るか選んでください（例: {'、'.join(values)}）。"
        )
    grain = xcol.grain if xcol.grain in TIME_GRAINS else None
    found: dict[Any, float] = {}
    for row in data.rows:
        if color and str(row.get(color)) != series:
            continue
        key, value = row.get(x), row.get(y)
        if key is None or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"値の列「{y}」が数ではありません。") from None
        if math.isfinite(number):
            found[key] = number
    points = [Point(k, _label(k, grain), v) for k, v in sorted(found.items())]
    return Series(points, grain)


def _indicator_series(actor: Actor, rule: AlertRule) -> Series:
    from machidata.ebpm.models import IndicatorActual
    from machidata.ebpm.selectors import figures_visible, indicator_get

    assert rule.indicator_id is not None
    indicator = indicator_get(actor=actor, pk=rule.indicator_id)
    if not figures_visible(actor, indicator):
        raise PermissionDenied(
            "この指標の実績は、元の表を読める人だけが見られます。表を読めるようになるまでアラートは確かめません。"
        )
    actuals = IndicatorActual.objects.filter(indicator=indicator).order_by("fiscal_year")
    points = [Point(a.fiscal_year, f"{a.fiscal_year}年度", float(a.value)) for a in actuals]
    return Series(points, "fiscal_year", indicator.unit_label)


def _series(actor: Actor, rule: AlertRule) -> Series:
    return _chart_series(actor, rule) if rule.chart_id else _indicator_series(actor, rule)


# ---- the condition --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a rule saw: the newest point, the one before, and whether the condition holds."""

    latest: Point
    previous: Point | None
    met: bool
    detail: str = ""


def _previous(series: Series) -> Point | None:
    if len(series.points) < 2:
        return None
    latest = series.points[-1]
    wanted = _previous_key(latest.key, series.grain)
    if wanted is None:
        return series.points[-2]
    return next((p for p in series.points[:-1] if p.key == wanted), None)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _forecast_interval(series: Series) -> tuple[float, float]:
    """The 95% prediction interval of the newest period from the periods before it (analysis.forecast)."""
    import pandas as pd

    from machidata.analysis.forecast import forecast_counts

    if series.grain not in FORECAST_GRAINS:
        raise InvalidInput("予測の範囲は、横軸が日か月のグラフにだけ使えます。")
    history = series.points[:-1]
    frame = pd.DataFrame({"時点": [pd.Timestamp(p.key) for p in history], "値": [p.value for p in history]})
    try:
        result = forecast_counts(
            frame, time="時点", outcome="値", horizon=1, folds=1, grain=FORECAST_GRAINS[series.grain]
        )
    except InvalidInput:  # too few periods, gaps …: the estimator's own Japanese reason
        raise
    except Exception as exc:  # noqa: BLE001 - statsmodels and numpy raise several types when a fit fails
        raise InvalidInput(f"予測を計算できませんでした（{type(exc).__name__}）。") from None
    band = next(r for r in result.chart if r["kind"] == "予測")
    return float(band["lower"]), float(band["upper"])


def _read(rule: AlertRule, series: Series) -> Reading:
    latest = series.points[-1]
    previous = _previous(series)
    if rule.condition == AlertCondition.ABOVE:
        return Reading(latest, previous, latest.value > float(rule.threshold or 0))
    if rule.condition == AlertCondition.BELOW:
        return Reading(latest, previous, latest.value < float(rule.threshold or 0))
    if rule.condition == AlertCondition.CHANGE:
        if previous is None or previous.value == 0:
            return Reading(latest, previous, False)
        change = (latest.value - previous.value) / abs(previous.value) * 100
        return Reading(
            latest,
            previous,
            abs(change) >= float(rule.percent or 0),
            f"（前の期間 {previous.label} の {_fmt(previous.value)} から {change:+.1f}%）",
        )
    if rule.condition == AlertCondition.FORECAST:
        lower, upper = _forecast_interval(series)
        return Reading(
            latest,
            previous,
            not lower <= latest.value <= upper,
            f"（予測の範囲 {_fmt(lower)}〜{_fmt(upper)}）",
        )
    changed = (latest.label, latest.value) != (rule.last_period, rule.last_value)
    return Reading(latest, previous, changed)


# ---- creating and removing rules --------------------------------------------------------------------------


def _number(value: Any, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{label}は数で入力してください。") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{label}は数で入力してください。")
    return number


def _require_account(actor: Actor) -> int:
    if not actor.is_authenticated or actor.user_id is None:
        raise PermissionDenied("アラートを使うにはログインしてください。")
    return actor.user_id


def _rule_values(
    user_id: int,
    condition: str,
    *,
    chart_uuid: Any,
    indicator_id: Any,
    threshold: Any,
    percent: Any,
    cooldown_hours: Any,
) -> AlertRule:
    """An unsaved rule with its condition, numbers and cool-down checked."""
    if condition not in AlertCondition.values:
        raise InvalidInput(
            f"条件「{condition}」は選べません（{'・'.join(AlertCondition.values)} のどれかにしてください）。"
        )
    if (chart_uuid in (None, "")) == (indicator_id in (None, "")):
        raise InvalidInput("アラートを付けるグラフか指標のどちらか一つを選んでください。")
    hours = _number(cooldown_hours if cooldown_hours not in (None, "") else 24, "通知の間隔")
    if not 0 <= hours <= MAX_COOLDOWN_HOURS or not hours.is_integer():
        raise InvalidInput(f"通知の間隔は 0〜{MAX_COOLDOWN_HOURS} 時間の整数にしてください。")
    rule = AlertRule(owner_id=user_id, condition=condition, cooldown_hours=int(hours))
    if condition in (AlertCondition.ABOVE, AlertCondition.BELOW):
        rule.threshold = _number(threshold, "しきい値")
    if condition == AlertCondition.CHANGE:
        rule.percent = _number(percent, "変化率（%）")
        if not 0 < rule.percent <= 100000:
            raise InvalidInput("変化率（%）は 0 より大きい数にしてください（例: 20）。")
    return rule


def _attach_subject(actor: Actor, rule: AlertRule, chart_uuid: Any, indicator_id: Any, series: str) -> None:
    """The chart or indicator the actor may see now (hidden and missing: NotFound)."""
    if chart_uuid not in (None, ""):
        from machidata.charts.selectors import chart_get

        rule.chart = chart_get(actor=actor, uuid=chart_uuid)
        rule.series = series
        return
    from machidata.ebpm.selectors import indicator_get

    try:
        pk = int(indicator_id)
    except (TypeError, ValueError):
        raise NotFound("検証指標が見つかりません。") from None
    rule.indicator = indicator_get(actor=actor, pk=pk)
    if rule.condition == AlertCondition.FORECAST:
        raise InvalidInput("予測の範囲は、横軸が日か月のグラフにだけ使えます（指標は年度ごとです）。")


def alert_rule_create(
    *,
    actor: Actor,
    condition: str,
    chart_uuid: Any = None,
    indicator_id: Any = None,
    series: str = "",
    threshold: Any = None,
    percent: Any = None,
    cooldown_hours: Any = 24,
) -> AlertRule:
    """Make the actor's rule on a chart (``chart_uuid``) or an indicator (``indicator_id``) they may see now.

    The current data is read at once (so a rule that cannot be evaluated is refused) and sets the
    starting state without a notice: a value already over the threshold fires only after going back.
    """
    user_id = _require_account(actor)
    rule = _rule_values(
        user_id, condition, chart_uuid=chart_uuid, indicator_id=indicator_id, threshold=threshold,
        percent=percent, cooldown_hours=cooldown_hours,
    )  # fmt: skip
    series = str(series or "").strip()
    if len(series) > 200:
        raise InvalidInput("系列の名前は200文字以内にしてください。")
    _attach_subject(actor, rule, chart_uuid, indicator_id, series)
    if AlertRule.objects.filter(owner_id=user_id).count() >= MAX_RULES_PER_USER:
        raise InvalidInput(f"アラートは一人 {MAX_RULES_PER_USER} 件までです。使わないものを消してください。")
    # refuses (NotFound / PermissionDenied / InvalidInput) before anything is saved
    data = _series(actor, rule)
    reading = _read(rule, data) if data.points else None
    with transaction.atomic():
        if reading is not None:
            rule.last_period, rule.last_value = reading.latest.label, reading.latest.value
            if reading.met and condition != AlertCondition.UPDATED:
                rule.state = AlertState.FIRED
        rule.last_evaluated_at = timezone.now()
        rule.save()
        audit_record(
            actor=actor,
            action="collect.alert_rule_create",
            obj=rule,
            changes={"condition": condition, "threshold": rule.threshold, "percent": rule.percent,
                     "cooldown_hours": rule.cooldown_hours, "series": rule.series},
        )  # fmt: skip
    return rule


def alert_rule_delete(*, actor: Actor, rule: AlertRule) -> None:
    """Remove one of the actor's own rules (its fired alerts go with it)."""
    if rule.owner_id != actor.user_id:
        raise NotFound("アラートが見つかりません。")
    with transaction.atomic():
        audit_record(actor=actor, action="collect.alert_rule_delete", obj=rule)
        rule.delete()


def alert_rules(*, actor: Actor) -> QuerySet[AlertRule]:
    """The actor's own rules, newest first."""
    if actor.user_id is None:
        return AlertRule.objects.none()
    return AlertRule.objects.filter(owner_id=actor.user_id).select_related("chart", "indicator")


def alert_rule_get(*, actor: Actor, pk: int) -> AlertRule:
    """One of the actor's own rules (anyone else's is NotFound, like a missing one)."""
    found = alert_rules(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("アラートが見つかりません。")
    return found


def alerts_fired(*, actor: Actor) -> QuerySet[Alert]:
    """The alerts of the actor's own rules, newest first."""
    if actor.user_id is None:
        return Alert.objects.none()
    return Alert.objects.filter(rule__owner_id=actor.user_id).select_related("rule__chart", "rule__indicator")


# ---- evaluating -----------------------------------------------------------------------------------------


def _link(rule: AlertRule) -> str:
    if rule.chart_id:
        return reverse("charts:detail", args=[rule.chart.uuid])  # type: ignore[union-attr]
    return reverse("ebpm:indicator", args=[rule.indicator_id])


def _message(rule: AlertRule, reading: Reading, unit: str) -> str:
    value = f"{_fmt(reading.latest.value)}{unit}"
    if rule.condition == AlertCondition.UPDATED:
        return f"{rule.subject_label}に新しい値が入りました: {reading.latest.label} {value}。"
    return (
        f"{rule.subject_label}の{reading.latest.label}の値が {value}{reading.detail}になり、"
        f"「{rule.condition_label}」の条件を満たしました。"
    )


def alert_rule_evaluate(rule: AlertRule, *, now: dt.datetime | None = None) -> Alert | None:
    """Read the rule's series as its owner and move its state; returns the alert when it fired.

    Never raises for data problems: a chart or indicator the owner may no longer see, or a series that
    cannot be read, is written to ``problem`` and the state is left as it was.
    """
    now = now or timezone.now()
    owner = rule.owner
    if not owner.is_active:
        return None
    actor = actor_for(owner)
    try:
        data = _series(actor, rule)
        if not data.points:
            raise InvalidInput("まだ値がありません。")
        reading = _read(rule, data)
    except MachidataError as exc:
        AlertRule.objects.filter(pk=rule.pk).update(problem=exc.message[:500], last_evaluated_at=now)
        return None
    fired: Alert | None = None
    with transaction.atomic():
        # re-read under the write lock, so two evaluations at once cannot both fire the same crossing
        current = (
            AlertRule.objects.select_for_update(of=("self",))
            .select_related("chart", "indicator")
            .get(pk=rule.pk)
        )
        if current.condition == AlertCondition.UPDATED:  # compared with what the locked row last saw
            seen = (reading.latest.label[:100], reading.latest.value)
            crossing = (
                seen != (current.last_period, current.last_value) and current.last_evaluated_at is not None
            )
            state = AlertState.ARMED
        else:
            crossing = reading.met and current.state == AlertState.ARMED
            state = AlertState.FIRED if reading.met else AlertState.ARMED
        updates: dict[str, Any] = {
            "state": state,
            "last_period": reading.latest.label[:100],
            "last_value": reading.latest.value,
            "last_evaluated_at": now,
            "problem": "",
        }
        if crossing:
            cooling = current.last_notified_at is not None and now - current.last_notified_at < dt.timedelta(
                hours=current.cooldown_hours
            )
            message = _message(current, reading, data.unit)
            fired = Alert.objects.create(
                rule=current,
                period=reading.latest.label[:100],
                value=reading.latest.value,
                message=message[:500],
                notified=not cooling,
            )
            if not cooling:
                notify(users=[current.owner_id], message=message, link=_link(current))
                updates["last_notified_at"] = now
            audit_record(
                actor=SYSTEM,
                action="collect.alert_fire",
                obj=current,
                changes={"period": reading.latest.label, "notified": not cooling},
            )
        AlertRule.objects.filter(pk=current.pk).update(**updates)
    for name, value in updates.items():
        setattr(rule, name, value)
    return fired


def _evaluate_all(rules: Any) -> int:
    count = 0
    for rule in rules.select_related("owner", "chart", "indicator"):
        try:
            if alert_rule_evaluate(rule) is not None:
                count += 1
        except Exception:  # one rule's trouble never stops the others
            logger.exception("alert rule %s could not be evaluated", rule.pk)
    return count


def alert_rules_evaluate_table(table_id: int) -> int:
    """Evaluate the rules on charts over a table (not pinned to a 版); returns how many fired."""
    return _evaluate_all(
        AlertRule.objects.filter(chart__table_id=table_id, chart__version_number__isnull=True)
    )


def alert_rules_evaluate_indicator(indicator_id: int) -> int:
    """Evaluate the rules on one indicator; returns how many fired."""
    return _evaluate_all(AlertRule.objects.filter(indicator_id=indicator_id))


def on_version_committed(sender: Any, version: TableVersion, **kwargs: Any) -> None:
    """Receiver of ``lake.signals.version_committed``: the charts over the new version's table."""
    alert_rules_evaluate_table(version.table_id)


def on_actual_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Receiver of ``post_save``/``post_delete`` of ``ebpm.IndicatorActual``: that indicator's rules, after the commit."""
    indicator_id = instance.indicator_id
    if AlertRule.objects.filter(indicator_id=indicator_id).exists():
        transaction.on_commit(lambda: alert_rules_evaluate_indicator(indicator_id))
