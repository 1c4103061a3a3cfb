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


def _slides(content: bytes) -> int:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return len([n for n in z.namelist() if n.startswith("ppt/slides/slide") and n.endswith(".xml")])


@pytest.mark.parametrize("why", ["pseudonymised", "contract"])
def test_dashboard_exports_leave_out_charts_that_may_not_leave_and_audit_it(
    actors: Actors, table: Table, why: str
) -> None:
    from machidata.access.models import ContractKind, DatasetContract
    from machidata.access.policy import actor_for
    from machidata.charts.services import dashboard_add_chart, dashboard_create

    owner = actor_for(actors.users["owner_editor"])
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    board = dashboard_create(actor=owner, title="概況", sharing=Sharing.DEPARTMENT, filters=[])
    dashboard_add_chart(actor=owner, dashboard=board, lock_version=1, chart_uuid=str(chart.uuid), width=6)
    client = actors.client("owner_viewer")
    pptx = reverse("charts:dashboard_export", args=[board.uuid, "pptx"])
    assert _slides(client.get(pptx).content) == 2  # title + the chart
    if why == "pseudonymised":
        Dataset.objects.filter(pk=table.dataset_id).update(personal_data="pseudonymised")
    else:  # a paid licence naming only other staff
        contract = DatasetContract.objects.create(dataset_id=table.dataset_id, kind=ContractKind.PAID)
        contract.permitted_users.add(actors.users["owner_editor"])
    assert client.get(pptx).status_code == 200
    assert _slides(client.get(pptx).content) == 1  # the chart is left out
    assert client.get(reverse("charts:dashboard_export", args=[board.uuid, "pdf"])).content.startswith(
        b"%PDF"
    )
    refused = AuditEvent.objects.filter(action="data.export_refused").order_by("id")
    assert [e.changes["attempted"] for e in refused] == ["dashboard.export"] * 3
    assert {e.changes["reason"] for e in refused} == {why}
    assert [e.changes["format"] for e in refused] == ["pptx", "pptx", "pdf"]
    if why == "contract":  # the person the licence names still exports it
        assert _slides(actors.client("owner_editor").get(pptx).content) == 2
