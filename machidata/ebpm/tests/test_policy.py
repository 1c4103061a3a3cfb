"""The two policy rules EBPM uses: all staff read, the owning 課's 編集 (係 included) and 管理 edit."""

from __future__ import annotations

import pytest

from machidata.access.policy import ANONYMOUS, may_edit_unit_owned, restrict_staff
from machidata.core.testing import Actors, make_user
from machidata.ebpm.models import PlanItem
from machidata.ebpm.tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def test_restrict_staff(actors: Actors, project: PlanItem) -> None:
    qs = PlanItem.objects.all()
    assert not restrict_staff(qs, ANONYMOUS).exists()
    for name in ("staff", "owner_viewer", "other_editor", "admin"):
        assert restrict_staff(qs, as_actor(actors, name)).count() == qs.count()


def test_may_edit_unit_owned(actors: Actors) -> None:
    from machidata.access.models import Role
    from machidata.access.policy import actor_for

    unit = actors.org.health_div.pk
    allowed = {
        n
        for n in ("staff", "owner_viewer", "owner_editor", "other_editor", "admin")
        if may_edit_unit_owned(as_actor(actors, n), unit)
    }
    assert allowed == {"owner_editor", "admin"}
    assert not may_edit_unit_owned(ANONYMOUS, unit)
    assert not may_edit_unit_owned(as_actor(actors, "owner_editor"), None)
    # an 編集 of a 係 edits for its 課
    section_editor = make_user(unit=actors.org.health_sec, role=Role.EDITOR)
    assert may_edit_unit_owned(actor_for(section_editor), unit)
