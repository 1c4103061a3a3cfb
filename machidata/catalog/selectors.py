"""Reads of the catalog, always through the access policy (so lists, counts and exports agree)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from machidata.access.models import Classification, Unit
from machidata.access.policy import Action, Actor, access_dataset, restrict
from machidata.catalog.models import Category, DataFormat, Dataset, Licence


@dataclass
class CatalogFilters:
    """What the catalog list is narrowed by (絞り込み), all optional."""

    q: str = ""
    departments: list[str] = field(default_factory=list)  # unit codes
    categories: list[str] = field(default_factory=list)  # category codes
    classifications: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    licences: list[str] = field(default_factory=list)
    include_retired: bool = False

    @classmethod
    def from_query(cls, query: Any) -> CatalogFilters:
        """Build from request.GET (or any mapping with getlist)."""
        return cls(
            q=(query.get("q") or "").strip()[:200],
            departments=query.getlist("department"),
            categories=query.getlist("category"),
            classifications=query.getlist("classification"),
            formats=query.getlist("format"),
            licences=query.getlist("licence"),
            include_retired=query.get("retired") == "1",
        )


def _visible(actor: Actor, *, include_retired: bool = False) -> QuerySet[Dataset]:
    qs = restrict(Dataset.objects.all(), actor, Action.DISCOVER)
    return qs if include_retired else qs.filter(retired_at__isnull=True)


def _apply_filters(qs: QuerySet[Dataset], f: CatalogFilters, *, skip: str = "") -> QuerySet[Dataset]:
    if f.q:
        for word in f.q.split():
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(keywords__icontains=word)
                | Q(owner__name__icontains=word)
                | Q(category__name__icontains=word)
                | Q(location_detail__icontains=word)
            )
    if f.departments and skip != "department":
        qs = qs.filter(owner__code__in=f.departments)
    if f.categories and skip != "category":
        qs = qs.filter(category__code__in=f.categories)
    if f.classifications and skip != "classification":
        qs = qs.filter(classification__in=f.classifications)
    if f.formats and skip != "format":
        qs = qs.filter(formats__code__in=f.formats)
    if f.licences and skip != "licence":
        qs = qs.filter(licence__code__in=f.licences)
    return qs


def dataset_list(*, actor: Actor, filters: CatalogFilters | None = None) -> QuerySet[Dataset]:
    """Entries the actor may discover, narrowed by ``filters``, newest first."""
    f = filters or CatalogFilters()
    qs = _apply_filters(_visible(actor, include_retired=f.include_retired), f)
    if f.formats:
        qs = qs.distinct()
    return qs.select_related("owner", "owner__parent", "category", "licence").prefetch_related("formats")


@dataclass
class FacetValue:
    """One choice in a 絞り込み group with how many visible entries it would show."""

    value: str
    label: str
    count: int
    selected: bool


def dataset_facets(*, actor: Actor, filters: CatalogFilters) -> dict[str, list[FacetValue]]:
    """Counts per 絞り込み choice, computed only over entries the actor may discover.

    Each group is counted with the other groups' filters applied but not its own, so choosing one
    department still shows how many entries the other departments have.
    """
    base = _visible(actor, include_retired=filters.include_retired)
    out: dict[str, list[FacetValue]] = {}

    def counts(skip: str, key: str) -> dict[Any, int]:
        qs = _apply_filters(base, filters, skip=skip)
        rows = qs.values(key).annotate(n=Count("pk", distinct=True)).order_by()
        return {r[key]: r["n"] for r in rows if r[key] is not None}

    dept = counts("department", "owner_id")
    units = Unit.objects.filter(pk__in=dept).select_related("parent")
    out["department"] = sorted(
        (FacetValue(u.code, u.full_name, dept[u.pk], u.code in filters.departments) for u in units),
        key=lambda v: (-v.count, v.value),
    )
    cat = counts("category", "category_id")
    out["category"] = [
        FacetValue(c.code, c.name, cat[c.pk], c.code in filters.categories)
        for c in Category.objects.filter(pk__in=cat)
    ]
    cls = counts("classification", "classification")
    out["classification"] = [
        FacetValue(value, label, cls[value], value in filters.classifications)
        for value, label in Classification.choices
        if value in cls
    ]
    fmt = counts("format", "formats")
    out["format"] = [
        FacetValue(f.code, f.name, fmt[f.pk], f.code in filters.formats)
        for f in DataFormat.objects.filter(pk__in=fmt)
    ]
    lic = counts("licence", "licence_id")
    out["licence"] = [
        FacetValue(lc.code, lc.name, lic[lc.pk], lc.code in filters.licences)
        for lc in Licence.objects.filter(pk__in=lic)
    ]
    return out


def dataset_get(*, actor: Actor, slug: str, action: Action = Action.DISCOVER) -> Dataset:
    """One entry by slug for ``action`` (404 when missing or hidden, 403 when seen but not allowed)."""
    return access_dataset(actor, action, slug=slug)


def owner_choices(*, actor: Actor) -> QuerySet[Unit]:
    """Units the actor may register entries for: their own 課 as データ所有者, any 課 for 管理."""
    qs = Unit.objects.active_on().select_related("parent")
    if actor.is_admin:
        return qs
    return qs.filter(pk__in=actor.editor_unit_ids)
