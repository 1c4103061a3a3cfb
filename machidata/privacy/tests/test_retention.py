"""保存期間 and the purge of expired versions: rules, the plan, what is kept, bad input, the command."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table, TableVersion, VersionStatus
from machidata.catalog.tests.table_fixtures import ROWS, make_table, write
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.privacy import retention
from machidata.privacy.models import RetentionRule
from machidata.privacy.tests.conftest import as_actor
from machidata.publish.models import PublicationRequest, PublishedVersion

pytestmark = pytest.mark.django_db
LATER = timezone.localdate() + dt.timedelta(days=3 * 366)  # every version made today has expired by then


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def personal(actors: Actors, home: Path) -> Dataset:
    """A 個人情報 dataset of 健康づくり推進課 with three versions (1, 2 old; 3 current)."""
    ds = make_dataset(
        actors.org.health_div, title="特定健診の受診者", personal_data="personal", classification="restricted"
    )
    table = make_table(ds)
    for _ in range(3):
        write(table, ROWS)
    return ds


def _table(ds: Dataset) -> Table:
    return ds.tables.get()


def statuses(ds: Dataset) -> list[tuple[int, str]]:
    return list(
        TableVersion.objects.filter(table__dataset=ds).order_by("number").values_list("number", "status")
    )


def test_retention_set_by_owner_and_audited(actors: Actors, personal: Dataset) -> None:
    rule = retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years="5", clock="created"
    )
    assert (rule.years, rule.clock) == (5, "created")
    assert rule.label() == "保存期間5年・版の作成日から"
    event = AuditEvent.objects.get(action="privacy.retention_set")
    assert event.changes["after"]["years"] == 5
    assert event.changes["before"] is None
    with pytest.raises(PermissionDenied):
        retention.retention_set(actor=as_actor(actors, "staff"), dataset=personal, years=3, clock="created")
    retention.retention_clear(actor=as_actor(actors, "owner_editor"), dataset=personal)
    assert not RetentionRule.objects.exists()


@pytest.mark.parametrize("years", ["-1", "0", "abc", "101", ""])
def test_bad_periods_are_refused_in_japanese_and_audited(
    actors: Actors, personal: Dataset, years: str
) -> None:
    with pytest.raises(InvalidInput, match="保存期間は1年から100年までの整数"):
        retention.retention_set(
            actor=as_actor(actors, "owner_editor"), dataset=personal, years=years, clock="created"
        )
    assert not RetentionRule.objects.exists()
    assert AuditEvent.objects.filter(action="privacy.retention_refused").count() == 1


def test_bad_clock_is_refused(actors: Actors, personal: Dataset) -> None:
    with pytest.raises(InvalidInput, match="起算日"):
        retention.retention_set(
            actor=as_actor(actors, "owner_editor"), dataset=personal, years=5, clock="yesterday"
        )
    assert AuditEvent.objects.filter(action="privacy.retention_refused").exists()


def test_add_years_handles_29_february() -> None:
    assert retention.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert retention.add_years(dt.date(2024, 4, 1), 5) == dt.date(2029, 4, 1)


def test_plan_lists_expired_versions_and_keeps_the_current_one(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=1, clock="created"
    )
    actor = retention.SYSTEM_ACTOR
    assert retention.purge_plan(actor=actor).items == []  # nothing has expired today
    plan = retention.purge_plan(actor=actor, today=LATER)
    assert [(i.version.number, i.action) for i in plan.items] == [
        (1, "purge"),
        (2, "purge"),
        (3, "keep_current"),
    ]
    assert "現在の版のため消去しません" in plan.items[2].note


def test_a_published_version_is_kept(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=1, clock="created"
    )
    table = _table(personal)
    v2 = TableVersion.objects.get(table=table, number=2)
    req = PublicationRequest.objects.create(
        dataset=personal, route_name="full", requested_by=actors.users["owner_editor"], status="approved"
    )
    PublishedVersion.objects.create(table=table, version=v2, request=req)
    plan = retention.purge_plan(actor=retention.SYSTEM_ACTOR, today=LATER)
    assert [(i.version.number, i.action) for i in plan.items] == [
        (1, "purge"),
        (2, "keep_published"),
        (3, "keep_current"),
    ]
    retention.purge_apply(actor=retention.SYSTEM_ACTOR, plan=plan)
    assert statuses(personal) == [(1, "purged"), (2, "committed"), (3, "committed")]


def test_period_end_clock_uses_the_datasets_period(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=5, clock="period_end"
    )
    plan = retention.purge_plan(actor=retention.SYSTEM_ACTOR, today=LATER)
    assert plan.items == []
    assert "対象期間（終了）が未記入" in plan.problems[0]
    Dataset.objects.filter(pk=personal.pk).update(temporal_end=dt.date(2015, 3, 31))
    plan = retention.purge_plan(actor=retention.SYSTEM_ACTOR)
    assert [i.expires_on for i in plan.items] == [dt.date(2020, 3, 31)] * 3


def test_apply_purges_and_leaves_tombstones_on_the_history(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=1, clock="created"
    )
    result = retention.purge_expired(today=LATER)
    assert len(result.versions) == 2
    assert result.files >= 2
    assert not result.errors
    assert statuses(personal) == [(1, "purged"), (2, "purged"), (3, "committed")]
    v1 = TableVersion.objects.get(table__dataset=personal, number=1)
    assert v1.reports["purge"]["rule_label"] == "保存期間1年・版の作成日から"
    assert v1.reports["purge"]["by_label"] == "system:retention"
    assert AuditEvent.objects.filter(action="lake.version_purge").count() == 2
    assert AuditEvent.objects.get(action="privacy.purge").changes["versions"] == result.versions
    table = _table(personal)
    page = actors.client("owner_editor").get(
        reverse("catalog:table_detail", args=[personal.slug, table.name])
    )
    text = page.content.decode()
    assert "消去済み" in text
    assert "保存期間1年・版の作成日から" in text


def test_current_version_only_with_a_reason(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=1, clock="created"
    )
    plan = retention.purge_plan(actor=retention.SYSTEM_ACTOR, today=LATER)
    with pytest.raises(InvalidInput, match="決定の理由"):
        retention.purge_apply(actor=retention.SYSTEM_ACTOR, plan=plan, include_current=True)
    assert statuses(personal) == [(1, "committed"), (2, "committed"), (3, "committed")]
    assert AuditEvent.objects.filter(action="privacy.purge_refused").exists()
    retention.purge_apply(
        actor=retention.SYSTEM_ACTOR, plan=plan, include_current=True, reason="決裁 第123号"
    )
    assert statuses(personal) == [(1, "purged"), (2, "purged"), (3, "purged")]
    v3 = TableVersion.objects.get(table__dataset=personal, number=3)
    assert "決裁 第123号" in v3.reports["purge"]["rule_label"]
    assert _table(personal).current_version is None


def test_non_personal_dataset_needs_the_flag(actors: Actors, home: Path) -> None:
    ds = make_dataset(actors.org.health_div, title="区別人口", personal_data="none")
    table = make_table(ds)
    write(table, ROWS)
    write(table, ROWS)
    retention.retention_set(actor=as_actor(actors, "owner_editor"), dataset=ds, years=1, clock="created")
    with pytest.raises(InvalidInput, match="個人情報を含むデータではない"):
        retention.purge_plan(actor=retention.SYSTEM_ACTOR, dataset=ds, today=LATER)
    assert AuditEvent.objects.filter(action="privacy.purge_refused").count() == 1
    plan = retention.purge_plan(actor=retention.SYSTEM_ACTOR, today=LATER)
    assert plan.items == []
    assert "個人情報を含むデータではない" in plan.problems[0]
    plan = retention.purge_plan(
        actor=retention.SYSTEM_ACTOR, dataset=ds, today=LATER, include_non_personal=True
    )
    assert [(i.version.number, i.action) for i in plan.items] == [(1, "purge"), (2, "keep_current")]


def test_unknown_dataset_is_a_clear_error(actors: Actors) -> None:
    with pytest.raises(NotFound, match="「nai-data」は見つかりません"):
        retention.dataset_by_slug(actor=retention.SYSTEM_ACTOR, slug="nai-data")
    assert AuditEvent.objects.get(action="privacy.purge_refused").changes["dataset"] == "nai-data"


def test_command_dry_run_then_apply(actors: Actors, personal: Dataset) -> None:
    retention.retention_set(
        actor=as_actor(actors, "owner_editor"), dataset=personal, years=1, clock="created"
    )
    out = io.StringIO()
    call_command("purge", "--dry-run", f"--today={LATER}", stdout=out)
    assert "消去の対象は2版" in out.getvalue()
    assert "[保存]" in out.getvalue()
    assert statuses(personal) == [(1, "committed"), (2, "committed"), (3, "committed")]
    out = io.StringIO()
    call_command("purge", "--apply", f"--today={LATER}", f"--dataset={personal.slug}", stdout=out)
    assert "2版を消去しました" in out.getvalue()
    assert statuses(personal)[:2] == [(1, "purged"), (2, "purged")]
    with pytest.raises(CommandError, match="見つかりません"):
        call_command("purge", "--dataset=nai-data", stdout=io.StringIO())
    with pytest.raises(CommandError, match="決定の理由"):
        call_command("purge", "--apply", "--include-current", f"--today={LATER}", stdout=io.StringIO())


def test_retention_form_on_the_entry_page(actors: Actors, personal: Dataset) -> None:
    url = reverse("privacy_register:retention", args=[personal.slug])
    c = actors.client("owner_editor")
    r = c.post(url, {"years": "-3", "clock": "created"})
    assert r.status_code == 400
    assert "保存期間は1年から100年までの整数" in r.content.decode()
    r = c.post(url, {"years": "7", "clock": "created", "basis": "文書管理規程"})
    assert r.status_code == 302
    assert RetentionRule.objects.get(dataset=personal).years == 7
    assert actors.client("staff").post(url, {"years": "1", "clock": "created"}).status_code == 404
    assert VersionStatus.PURGED.label == "消去済み"
