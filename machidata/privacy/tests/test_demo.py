"""Demo content: one 利用申請 granted through the route, one waiting for 警防課長; loading twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.access.policy import Action, actor_for, can
from machidata.catalog.models import Dataset
from machidata.privacy.demo import GRANTED_SLUG, HEAD_USERNAME, PENDING_SLUG, load_privacy_demo
from machidata.privacy.models import AccessRequest, AccessStatus
from machidata.privacy.selectors import access_request_list

pytestmark = pytest.mark.django_db


def test_demo_grants_one_and_leaves_one_pending_once(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    from django.contrib.auth import get_user_model

    from machidata.demo.services import load_demo

    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    load_demo(home=tmp_path)
    assert load_privacy_demo() == {"granted": 1, "pending": 1}
    users = get_user_model().objects
    staff = actor_for(users.get(username="staff"))
    granted = AccessRequest.objects.get(dataset__slug=GRANTED_SLUG)
    assert granted.status == AccessStatus.APPROVED
    assert can(staff, Action.READ, Dataset.objects.get(slug=GRANTED_SLUG))
    assert not can(staff, Action.READ, Dataset.objects.get(slug=PENDING_SLUG))
    pending = AccessRequest.objects.get(dataset__slug=PENDING_SLUG)
    head = actor_for(users.get(username=HEAD_USERNAME))
    assert list(access_request_list(actor=head, scope="awaiting")) == [pending]
    assert load_privacy_demo() == {"granted": 0, "pending": 0}
    assert AccessRequest.objects.count() == 2
