"""Portal fixtures: the publication cast, plus a published dataset (v1 approved through the real route)."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.catalog.models import Category, Dataset, TableVersion
from machidata.core.testing import Actors
from machidata.publish.services import publication_act, publication_request_create
from machidata.publish.tests.conftest import as_actor, cast, dataset, v1

__all__ = ["cast", "dataset", "publish", "published", "v1"]


def publish(cast: Actors, ds: Dataset, versions: list[TableVersion]) -> Any:
    """File and approve a 公開申請 of ``versions`` through whichever route it takes."""
    req = publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=ds, version_ids=[v.pk for v in versions],
        licence_code="cc-by-4.0", attribution="熊本市オープンデータ（健康づくり推進課）",
    )  # fmt: skip
    while req.status == "pending":  # the full route (課長, then 管理) or the routine one (管理 only)
        who = "admin" if req.steps[req.current_step]["who"] == "admin" else "head"
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")
    return req


@pytest.fixture
def published(cast: Actors, dataset: Dataset, v1: TableVersion) -> Dataset:
    """保健センター一覧 with keywords and a 分野, v1 of its table approved and public."""
    cat = Category.objects.create(code="kenko-fukushi", name="健康・福祉", order=1)
    Dataset.objects.filter(pk=dataset.pk).update(category=cat, keywords=["保健", "施設"])
    publish(cast, dataset, [v1])
    return Dataset.objects.get(pk=dataset.pk)
