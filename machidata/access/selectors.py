"""Reads of the organisation and of API tokens, already filtered for the actor."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from machidata.access.models import ApiToken, Membership, Unit, UnitHistory, UnitKind
from machidata.access.policy import Actor, require_admin
from machidata.core.errors import NotFound


@dataclass
class UnitNode:
    """A unit in the organisation tree with its children and how many members and datasets it has."""

    unit: Unit
    members: int = 0
    datasets: int = 0
    children: list[UnitNode] = field(default_factory=list)

    @property
    def shows_counts(self) -> bool:
        """Counts are shown where work is owned: 課 and 係."""
        return self.unit.kind in {UnitKind.DIVISION, UnitKind.SECTION}


def unit_tree(*, actor: Actor, day: dt.date | None = None) -> list[UnitNode]:
    """The organisation in force on ``day`` as a forest (局・区役所・行政委員会・公営企業 at the top); 管理 only."""
    from machidata.catalog.models import Dataset

    require_admin(actor)
    day = day or timezone.localdate()
    units = list(Unit.objects.active_on(day).order_by("code"))
    # Renames and moves are dated: show each unit as it was named and placed on ``day``.
    past = {h.unit_id: h for h in UnitHistory.objects.filter(valid_from__lte=day, valid_to__gte=day)}
    for u in units:
        h = past.get(u.pk)
        if h is not None:
            u.name, u.kind, u.parent_id = h.name, h.kind, h.parent_id
    members = Counter(Membership.objects.active_on(day).values_list("unit_id", flat=True))
    datasets = Counter(Dataset.objects.live().values_list("owner_id", flat=True))
    nodes = {u.pk: UnitNode(u, members[u.pk], datasets[u.pk]) for u in units}
    roots: list[UnitNode] = []
    for u in units:
        parent = nodes.get(u.parent_id) if u.parent_id else None
        (parent.children if parent is not None else roots).append(nodes[u.pk])
    return roots


def departments_active(
    *, actor: Actor, kind: str | None = None, day: dt.date | None = None
) -> QuerySet[Unit]:
    """Units in force (the city's published organisation, visible to everyone), optionally of one kind."""
    queryset = Unit.objects.active_on(day).select_related("parent").order_by("code")
    if kind:
        by_label = {k.label: k.value for k in UnitKind}
        queryset = queryset.filter(kind=by_label.get(kind, kind))
    return queryset


def department_get(*, actor: Actor, code: str, day: dt.date | None = None) -> Unit:
    """One unit in force by its 所属コード."""
    unit = Unit.objects.active_on(day).select_related("parent").filter(code=code).first()
    if unit is None:
        raise NotFound("所属が見つかりません。")
    return unit


def tokens_of(*, actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own API tokens, newest first (nothing for the anonymous public)."""
    if actor.user_id is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=actor.user_id).order_by("-created_at", "-id")
