"""Django admin of EBPM: read-only for 管理 (every change goes through the audited services and pages)."""

from __future__ import annotations

from django.contrib import admin

from machidata.catalog.admin import ReadOnlyAdmin
from machidata.ebpm.models import (
    BudgetLine,
    Evaluation,
    EvaluationPlan,
    Indicator,
    IndicatorActual,
    IndicatorTarget,
    LogicModelVersion,
    PageRequest,
    PlanItem,
    PublicPage,
)


@admin.register(PlanItem)
class PlanItemAdmin(ReadOnlyAdmin):
    """政策・施策・事業."""

    list_display = ("id", "level", "code", "name", "unit", "stage")
    list_filter = ("level", "stage")
    search_fields = ("name", "code", "plan_reference")


@admin.register(BudgetLine)
class BudgetLineAdmin(ReadOnlyAdmin):
    """Budget figures."""

    list_display = ("item", "fiscal_year", "kind", "amount_yen")


@admin.register(LogicModelVersion)
class LogicModelVersionAdmin(ReadOnlyAdmin):
    """Saved logic model versions (immutable)."""

    list_display = ("model", "number", "note", "actor_label", "created_at")


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin):
    """検証指標."""

    list_display = ("id", "name", "kind", "status", "source_kind", "responsible_unit")
    list_filter = ("kind", "status", "source_kind")


@admin.register(IndicatorTarget)
class IndicatorTargetAdmin(ReadOnlyAdmin):
    """Targets, current and superseded."""

    list_display = ("indicator", "fiscal_year", "kind", "value", "superseded_at")


@admin.register(IndicatorActual)
class IndicatorActualAdmin(ReadOnlyAdmin):
    """Actuals by 年度."""

    list_display = ("indicator", "fiscal_year", "value", "status", "source", "version_number")


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    """Yearly evaluations (changed only on the evaluation pages and API)."""

    list_display = ("item", "fiscal_year", "direction", "evidence_level", "next_request_amount_yen")
    list_filter = ("fiscal_year", "direction", "evidence_level")


@admin.register(EvaluationPlan)
class EvaluationPlanAdmin(ReadOnlyAdmin):
    """Evaluation plans fixed at 立案."""

    list_display = ("item", "indicator", "design", "fiscal_year", "stage_at_fixing")


@admin.register(PageRequest)
class PageRequestAdmin(ReadOnlyAdmin):
    """Requests to publish or withdraw a 事業's public page (made only by the route's services)."""

    list_display = ("id", "item", "kind", "status", "route_name", "created_at", "decided_at")


@admin.register(PublicPage)
class PublicPageAdmin(ReadOnlyAdmin):
    """Published page snapshots (frozen; withdrawn only through the route)."""

    list_display = ("id", "item", "published_at", "superseded_at", "withdrawn_at")
