"""The collection room's system tables: import results, freshness and alerts, masked like the catalog's own.

Expected rows are worked out here from what each test did (files put in a folder, versions committed,
values recorded), never read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from machidata.access.models import Classification
from machidata.catalog.models import Dataset, Frequency, Table
from machidata.catalog.system_datasets import HIDDEN_TITLE, build_table, system_tables
from machidata.collect.alerts import alert_rule_create
from machidata.collect.imports import import_source_create, import_source_scan
from machidata.collect.system_table import alert_rows, freshness_rows, import_rows
from machidata.collect.tests.conftest import as_actor
from machidata.collect.tests.test_alerts import indicator, record
from machidata.core.testing import Actors, make_dataset
from machidata.ebpm.models import Indicator
from machidata.jp.fiscal import fiscal_year

__all__ = ["indicator"]

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_collect_table_is_registered_with_its_schema() -> None:
    names = {t.name for t in system_tables()}
    assert {"campaign_returns", "scheduled_imports", "freshness", "alerts"} <= names


def test_import_results_one_row_per_file_and_confidential_masked(
    actors: Actors, visitors: Table, settings: Any, tmp_path: Path
) -> None:
    root = tmp_path / "share"
    (root / "k").mkdir(parents=True)
    settings.MACHIDATA_IMPORT_ROOT = str(root)
    for name, text in (("a.csv", "日付,区分,利用者数,備考\n2025-05-01,午前,4,\n2025-05-02,午後,2,\n"),
                       ("b.csv", "日付,区分,利用者数,備考\n2025-05-03,午前,-4,\n")):  # fmt: skip
        (root / "k" / name).write_text(text, encoding="utf-8")
        os.utime(root / "k" / name, (time.time() - 900, time.time() - 900))
    source = import_source_create(actor=as_actor(actors, "owner_editor"), table=visitors, folder="k")
    import_source_scan(source=source)
    rows = import_rows(visitors.dataset)
    assert [(r[0], r[1], r[2], r[3], r[7], r[8]) for r in rows] == [
        (source.pk, "共有フォルダ", "健康づくり推進課", visitors.dataset.identifier, "取り込み済み", 2),
        (source.pk, "共有フォルダ", "健康づくり推進課", visitors.dataset.identifier, "失敗", None),
    ]
    assert rows[0][6] == fiscal_year(timezone.localdate())
    Dataset.objects.filter(pk=visitors.dataset_id).update(
        classification=Classification.CONFIDENTIAL, discoverable=False
    )
    masked = import_rows(visitors.dataset)
    assert {(r[3], r[4]) for r in masked} == {(None, HIDDEN_TITLE)}
    spec = next(t for t in system_tables() if t.name == "scheduled_imports")
    assert build_table(spec, visitors.dataset).num_rows == 2


def test_freshness_counts_days_late_from_the_last_version(actors: Actors, visitors: Table) -> None:
    dataset = visitors.dataset
    Dataset.objects.filter(pk=dataset.pk).update(frequency=Frequency.MONTHLY)
    irregular = make_dataset(actors.org.fire_div, slug="fuki", title="不定期のデータ")
    Dataset.objects.filter(pk=irregular.pk).update(frequency=Frequency.IRREGULAR)
    today = timezone.localdate()
    last = today - dt.timedelta(days=45)
    while last.day > 28:  # keep "the same day next month" free of month-end clamping
        last -= dt.timedelta(days=1)
    noon = timezone.make_aware(dt.datetime.combine(last, dt.time(12, 0)))
    visitors.versions.update(committed_at=noon)  # the fixture's one version, now old
    due = dt.date(last.year + last.month // 12, last.month % 12 + 1, last.day)
    own = make_dataset(actors.org.data_strategy, slug="own", title="利用状況")
    rows = {r[1]: r for r in freshness_rows(own)}
    assert "不定期のデータ" not in rows  # no period: not tracked
    assert rows[dataset.title] == (
        dataset.identifier, dataset.title, "健康づくり推進課", "毎月", dt.datetime.combine(last, dt.time(12, 0)),
        due, (today - due).days, True,
    )  # fmt: skip
    visitors.versions.update(committed_at=timezone.now())
    assert freshness_rows(own)[0][6:] == (0, False)


def test_alerts_one_row_per_alert_without_values(actors: Actors, indicator: Indicator) -> None:
    record(actors, indicator, 2022, 80)
    rule = alert_rule_create(
        actor=as_actor(actors, "staff"), indicator_id=indicator.pk, condition="above", threshold=100,
        cooldown_hours=0,
    )  # fmt: skip
    record(actors, indicator, 2023, 120)
    record(actors, indicator, 2024, 90)
    record(actors, indicator, 2025, 130)
    rows = alert_rows(make_dataset(actors.org.health_div, slug="own", title="利用状況"))
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [(rule.pk, "指標", "しきい値を上回ったら", True)] * 2
    assert all(120.0 not in r and 130.0 not in r for r in rows)  # figures may come from restricted tables
    assert rows[0][4] == fiscal_year(timezone.localdate())
