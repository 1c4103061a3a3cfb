"""Survey selectors and the policy helpers they use: the owner 課 (係 included) and 管理 read; 編集 of the 課 edit."""

from __future__ import annotations

import pytest

from machidata.access.policy import ANONYMOUS, is_unit_member, may_edit_unit_record
from machidata.core.errors import NotFound
from machidata.core.testing import Actors
from machidata.surveys.models import Round, Survey
from machidata.surveys.selectors import (
    leaves_division,
    may_edit,
    owner_unit_choices,
    round_get,
    survey_get,
    survey_list,
)
from machidata.surveys.tests.conftest import as_actor

READERS = {"owner_viewer": True, "owner_editor": True, "admin": True, "staff": False, "other_editor": False}


@pytest.mark.parametrize(("name", "sees"), list(READERS.items()))
def test_who_reads(actors: Actors, draft: Round, name: str, sees: bool) -> None:
    actor = as_actor(actors, name)
    assert (draft.survey in survey_list(actor=actor)) is sees
    if sees:
        assert survey_get(actor=actor, pk=draft.survey_id) == draft.survey
        assert round_get(actor=actor, pk=draft.pk) == draft
    else:
        with pytest.raises(NotFound):
            survey_get(actor=actor, pk=draft.survey_id)
        with pytest.raises(NotFound):
            round_get(actor=actor, pk=draft.pk)


def test_missing_and_anonymous_are_not_found(actors: Actors, survey: Survey) -> None:
    with pytest.raises(NotFound):
        survey_get(actor=as_actor(actors, "owner_viewer"), pk=survey.pk + 1000)
    assert not survey_list(actor=ANONYMOUS).exists()


@pytest.mark.parametrize(
    ("name", "edits", "leaves"),
    [
        ("owner_editor", True, False),
        ("owner_viewer", False, False),  # a 係 member belongs to the 課: tables stay inside
        ("admin", False, True),  # 管理 reads another 課's survey suppressed and does not edit it
        ("other_editor", False, True),
    ],
)
def test_edit_and_leaving_the_division(
    actors: Actors, survey: Survey, name: str, edits: bool, leaves: bool
) -> None:
    actor = as_actor(actors, name)
    assert may_edit(actor, survey) is edits
    assert may_edit_unit_record(actor, survey.unit_id) is edits
    assert leaves_division(actor, survey) is leaves
    assert is_unit_member(actor, survey.unit_id) is not leaves


def test_admin_edits_the_surveys_of_its_own_unit(actors: Actors) -> None:
    admin = as_actor(actors, "admin")
    assert may_edit_unit_record(admin, actors.org.data_strategy.pk)
    assert list(owner_unit_choices(actor=admin)) == [actors.org.data_strategy]
    assert not may_edit_unit_record(ANONYMOUS, actors.org.data_strategy.pk)
    assert list(owner_unit_choices(actor=as_actor(actors, "owner_viewer"))) == []
