"""An analysis of a 仮名加工情報 table is shown on screen but never exported as a file."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.analysis.models import Analysis
from machidata.analysis.tests.test_views import _post
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)


def test_analysis_export_of_pseudonymised_table_is_refused_and_audited(
    actors: Actors, counter_table: Table
) -> None:
    client = actors.client("owner_editor")
    client.post(reverse("analysis:list"), _post(counter_table))
    analysis = Analysis.objects.get()
    assert client.get(reverse("analysis:export", args=[analysis.pk, "xlsx"])).status_code == 200
    Dataset.objects.filter(pk=counter_table.dataset_id).update(personal_data="pseudonymised")
    for fmt in ("xlsx", "pptx"):
        refused = client.get(reverse("analysis:export", args=[analysis.pk, fmt]))
        assert refused.status_code == 403
        assert "仮名加工" in refused.content.decode()
    events = AuditEvent.objects.filter(action="data.export_refused")
    assert sorted(e.changes["format"] for e in events) == ["pptx", "xlsx"]
    assert {e.changes["attempted"] for e in events} == {"analysis.export"}
    assert client.get(reverse("analysis:detail", args=[analysis.pk])).status_code == 200
