"""restrict_routed (records filed by a person and routed to a 課) and unit_scope.

Job rows stand in for any such record: they have a person (created_by) and a unit.
"""

from __future__ import annotations

import pytest

from machidata.access.policy import ANONYMOUS, actor_for, restrict_routed, unit_scope
from machidata.core.testing import Actors
from machidata.jobs.models import Job

pytestmark = pytest.mark.django_db


def _visible(actors: Actors, name: str) -> set[str]:
    actor = ANONYMOUS if name == "anonymous" else actor_for(actors.users[name])
    rows = restrict_routed(Job.objects.all(), actor, owner_field="created_by", unit_field="unit")
    return set(rows.values_list("title", flat=True))


def test_filer_routed_unit_and_admin_see_it(actors: Actors) -> None:
    org = actors.org
    Job.objects.create(
        kind="k", title="filed-by-staff-routed-health", created_by=actors.users["staff"], unit=org.health_div
    )
    Job.objects.create(kind="k", title="filed-by-staff-unrouted", created_by=actors.users["staff"], unit=None)
    Job.objects.create(
        kind="k", title="filed-by-other-routed-fire", created_by=actors.users["admin"], unit=org.fire_div
    )
    both = {"filed-by-staff-routed-health", "filed-by-staff-unrouted"}
    assert _visible(actors, "anonymous") == set()
    assert _visible(actors, "staff") == both | {"filed-by-other-routed-fire"}  # filer, and 警防課 member
    # 母子保健係 is a 係 of 健康づくり推進課: its members stand as the routed 課.
    assert _visible(actors, "owner_viewer") == {"filed-by-staff-routed-health"}
    assert _visible(actors, "owner_editor") == {"filed-by-staff-routed-health"}
    assert _visible(actors, "other_editor") == {"filed-by-other-routed-fire"}
    assert _visible(actors, "admin") == both | {"filed-by-other-routed-fire"}


def test_unit_scope_spans_the_division_and_its_sections(actors: Actors) -> None:
    org = actors.org
    assert unit_scope(org.health_div.pk) == {org.health_div.pk, org.health_sec.pk}
    assert unit_scope(org.health_sec.pk) == {org.health_div.pk, org.health_sec.pk}
    assert unit_scope(org.fire_div.pk) == {org.fire_div.pk}
