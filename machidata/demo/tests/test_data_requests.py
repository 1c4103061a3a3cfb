"""The demo's data requests: filed, routed and answered once, so the pages are not empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.datarequests.models import DataRequest
from machidata.demo import content
from machidata.demo.services import load_demo
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db


def test_demo_requests_in_every_stage_and_loaded_once(tmp_path: Path) -> None:
    summary = load_demo(home=tmp_path)
    assert summary.created["datarequest"] == len(content.DATA_REQUESTS) == 5
    by_title = {r.title: r for r in DataRequest.objects.select_related("routed_unit", "answer_dataset")}
    assert by_title["町丁別の空き家の件数"].status == "received"
    assert by_title["乳幼児健診の受診率（区別・年度別）"].routed_unit.name == "健康づくり推進課"  # type: ignore[union-attr]
    assert by_title["保育所の入所待ち児童数（町丁別）"].answer_kind == "will_create"
    ambulance = by_title["救急出動の件数（町丁別・月別）"]
    assert ambulance.answer_dataset is not None
    assert ambulance.answer_dataset.slug == "ambulance-dispatch-records"
    assert ambulance.events.filter(kind="comment").count() == 1
    assert by_title["特定健診の受診率（町丁別）"].answer_dataset is None
    assert Notification.objects.filter(recipient__username="admin").exists()
    again = load_demo(home=tmp_path)
    assert again.created["datarequest"] == 0
    assert DataRequest.objects.count() == 5
