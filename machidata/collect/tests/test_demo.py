"""The demo campaign: on the catalog's 学校別児童生徒数 entry, 10 fictional schools, 5 answered, 1 to fix; loaded once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from machidata.catalog.models import Dataset, Table
from machidata.collect.demo import SCHOOLS, SLUG, load_collect_demo
from machidata.collect.models import SENDER_COLUMN, Campaign, Recipient, RecipientStatus
from machidata.collect.tests.conftest import table_rows
from machidata.core.testing import Actors, make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_campaign(actors: Actors, home: Path) -> None:
    assert load_collect_demo(home=home).skipped.startswith("カタログ項目")
    make_dataset(actors.org.health_div, slug=SLUG, title="学校別児童生徒数・学級数", is_synthetic=True)
    made = load_collect_demo(home=home)
    assert (made.accepted, made.rejected) == (5, 1)
    campaign = Campaign.objects.get()
    assert campaign.is_synthetic
    assert "合成データ" in campaign.title
    statuses = Counter(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {RecipientStatus.ANSWERED: 5, RecipientStatus.NEEDS_FIX: 1, RecipientStatus.WAITING: 4}
    table = Table.objects.get(dataset=Dataset.objects.get(slug=SLUG))
    rows = table_rows(table)
    assert rows.num_rows == 3 * 6 + 5 * 6  # last year's three schools, this year's five
    assert pc.count_distinct(rows.column(SENDER_COLUMN)).as_py() == 5
    assert set(rows.column(SENDER_COLUMN).drop_null().to_pylist()) == set(SCHOOLS[:5])
    version = table.current_version_id
    assert load_collect_demo(home=home).skipped == "作成済み"
    table.refresh_from_db()
    assert table.current_version_id == version
