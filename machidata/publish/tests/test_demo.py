"""Demo content: one dataset published through the route after suppression, one request pending."""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.catalog.models import Dataset
from machidata.publish import selectors
from machidata.publish.demo import PENDING_SLUG, PUBLISHED_SLUG, load_publication_demo
from machidata.publish.models import (
    PublicationRequest,
    RequestStatus,
    SuppressionRun,
)
from machidata.publish.tests.conftest import REAL, TAKAMATSU

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not TAKAMATSU.exists(), reason="../shared is not beside the repository"),
]


def test_demo_publishes_one_and_leaves_one_pending_once(
    settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from machidata.demo.services import load_demo

    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    load_demo(home=tmp_path)
    made = load_publication_demo(home=tmp_path, real_dir=REAL)
    assert made == {"published": 1, "pending": 1}
    published = Dataset.objects.get(slug=PUBLISHED_SLUG)
    assert selectors.publication_state(published) == selectors.STATE_PUBLIC
    table = published.tables.get()
    public = selectors.public_version_for(table)
    assert public is not None
    run = SuppressionRun.objects.get(table=table)
    assert run.result_version == public  # the suppressed version is the public one, not the raw one
    assert run.report["cells_exposed"] == 0
    assert run.report["cells_checked"] > 0
    pending = PublicationRequest.objects.get(dataset__slug=PENDING_SLUG)
    assert pending.status == RequestStatus.PENDING
    assert pending.current_step == 0
    assert load_publication_demo(home=tmp_path, real_dir=REAL) == {"published": 0, "pending": 0}
