"""One rule for paid data that names its users and publication: terms that name the units or staff who
may use the data cannot be published (the gate refuses, not overridable), and while a dataset is public
its terms cannot be narrowed to named users — so an approved publication's anonymous downloads are
never refused by a list of users."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from machidata.access.models import DatasetContract
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, TableVersion
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors
from machidata.portal.tests.conftest import cast, dataset, publish, published, v1
from machidata.privacy import contracts
from machidata.publish.gates import run_gates

__all__ = ["cast", "dataset", "published", "v1"]
pytestmark = pytest.mark.django_db


def _set(cast: Actors, ds: Dataset, **data: Any) -> DatasetContract | None:
    return contracts.contract_set(actor=actor_for(cast.users["owner_editor"]), dataset=ds, data=data)


def _contract_gate(ds: Dataset) -> list[Any]:
    return [
        r
        for r in run_gates(ds, [], licence=None, attribution="", check_licence=False)
        if r.gate == "contract"
    ]


def test_named_users_block_publication_before_the_route(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    _set(cast, dataset, kind="paid", publication_allowed=True, permitted_units=[cast.org.health_div.code])
    (result,) = _contract_gate(dataset)
    assert not result.passed
    assert not result.overridable
    assert "利用できる課・職員が決まっているため、公開できません" in result.detail
    _set(cast, dataset, kind="paid", publication_allowed=True)  # the licence lets anyone use it
    assert _contract_gate(dataset) == []
    publish(cast, dataset, [v1])
    assert Dataset.objects.get(pk=dataset.pk).classification == "public"


def test_public_dataset_terms_cannot_name_users_and_anonymous_downloads_go_on(
    cast: Actors, published: Dataset
) -> None:
    url = reverse("portal:download", args=[published.slug, "facilities"])
    _set(cast, published, kind="paid", publication_allowed=True, cost_yen=300000)
    assert Client().get(url).status_code == 200
    before = AuditEvent.objects.filter(action="dataset.contract").count()
    for data in (
        {"permitted_users": [cast.users["staff"].get_username()]},
        {"permitted_units": [cast.org.health_div.code]},
    ):
        with pytest.raises(InvalidInput, match=r"公開中のため.*非公開化の申請"):
            _set(cast, published, kind="paid", publication_allowed=True, **data)
    with pytest.raises(InvalidInput, match="公開を認めていない"):
        _set(cast, published, kind="paid", publication_allowed=False)
    contract = DatasetContract.objects.get(dataset=published)  # unchanged: the refusals rolled back
    assert contract.publication_allowed
    assert not contract.permitted_users.exists()
    assert not contract.permitted_units.exists()
    assert AuditEvent.objects.filter(action="dataset.contract").count() == before
    got = Client().get(url)
    assert got.status_code == 200
    assert b"".join(got.streaming_content)
