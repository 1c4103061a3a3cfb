"""A chart of a 仮名加工情報 table is seen by its readers but never leaves as a file (image or data)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table
from machidata.charts.models import Sharing
from machidata.charts.tests.conftest import make_chart
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["png", "csv", "xlsx"])
def test_chart_export_of_pseudonymised_table_is_refused_and_audited(
    actors: Actors, table: Table, fmt: str
) -> None:
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    client = actors.client("owner_editor")
    assert client.get(reverse("charts:export", args=[chart.uuid, fmt])).status_code == 200
    Dataset.objects.filter(pk=table.dataset_id).update(personal_data="pseudonymised")
    refused = client.get(reverse("charts:export", args=[chart.uuid, fmt]))
    assert refused.status_code == 403
    assert "仮名加工" in refused.content.decode()
    event = AuditEvent.objects.get(action="data.export_refused")
    assert event.changes["attempted"] == "chart.export"
    assert event.changes["format"] == fmt
    assert AuditEvent.objects.filter(action="chart.export").count() == 1  # only the first, allowed one
    assert client.get(reverse("charts:detail", args=[chart.uuid])).status_code == 200  # still seen on screen
