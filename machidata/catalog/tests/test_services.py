"""Catalog services: rules, optimistic locking, audit in the same transaction, nothing partial."""

from __future__ import annotations

import pytest

from machidata.access.models import Classification, PersonalData
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, DataFormat, Dataset
from machidata.catalog.services import dataset_create, dataset_retire, dataset_update
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(actors):
    return actor_for(actors.users["owner_editor"])


@pytest.fixture
def admin(actors):
    return actor_for(actors.users["admin"])


def test_create_with_codes(actors, editor):
    Category.objects.create(code="health", name="健康・福祉")
    DataFormat.objects.create(code="csv", name="CSV")
    d = dataset_create(
        actor=editor,
        data={
            "title": " 乳幼児健診受診率 ",
            "owner": actors.org.health_div.code,
            "category": "health",
            "formats": ["csv"],
            "keywords": "健診、乳幼児, 母子保健",
            "classification": Classification.INTERNAL,
        },
    )
    assert d.title == "乳幼児健診受診率"
    assert d.keywords == ["健診", "乳幼児", "母子保健"]
    assert [f.code for f in d.formats.all()] == ["csv"]
    assert d.identifier == "431001-00001"
    assert d.slug == "431001-00001"
    event = AuditEvent.objects.get(action="dataset.create")
    assert event.changes["after"]["title"] == "乳幼児健診受診率"
    second = dataset_create(actor=editor, data={"title": "別のデータ", "owner": actors.org.health_div})
    assert second.identifier == "431001-00002"


def test_create_refuses_other_division_and_unknown_codes(actors, editor):
    with pytest.raises(PermissionDenied):
        dataset_create(actor=editor, data={"title": "x", "owner": actors.org.fire_div})
    with pytest.raises(InvalidInput, match="分野「nope」が見つかりません"):
        dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div, "category": "nope"})
    with pytest.raises(InvalidInput, match="形式"):
        dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div, "formats": ["zip"]})
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_only_admin_may_make_an_entry_public(actors, editor, admin):
    with pytest.raises(PermissionDenied, match="公開申請"):
        dataset_create(
            actor=editor, data={"title": "x", "owner": actors.org.health_div, "classification": "public"}
        )
    d = dataset_create(
        actor=admin, data={"title": "x", "owner": actors.org.health_div, "classification": "public"}
    )
    assert d.classification == Classification.PUBLIC


def test_validation_messages_are_japanese_and_nothing_is_saved(actors, editor):
    cases = [
        ({"title": ""}, "title"),
        ({"title": "あ" * 201}, "title"),
        ({"title": "x", "lg_code": "43100"}, "lg_code"),
        ({"title": "x", "contact_email": "not-an-email"}, "contact_email"),
        ({"title": "x", "classification": "top-secret"}, "classification"),
        ({"title": "x", "keywords": ["k"] * 1 + [f"w{i}" for i in range(40)]}, "keywords"),
    ]
    for data, field in cases:
        with pytest.raises(InvalidInput) as exc:
            dataset_create(actor=editor, data={"owner": actors.org.health_div, **data})
        assert field in (exc.value.details or {}), (data, exc.value.details)
        assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
    assert not Dataset.objects.exists()


def test_public_personal_data_is_refused(actors, admin):
    with pytest.raises(InvalidInput, match="個人情報を含むデータは「公開」にできません"):
        dataset_create(
            actor=admin,
            data={
                "title": "x",
                "owner": actors.org.health_div,
                "classification": "public",
                "personal_data": "personal",
            },
        )


def test_update_optimistic_locking(actors, editor, admin):
    d = dataset_create(actor=editor, data={"title": "元の題名", "owner": actors.org.health_div})
    dataset_update(actor=admin, dataset=d, data={"title": "管理者が直した"}, lock_version=1)
    with pytest.raises(Conflict) as exc:
        dataset_update(actor=editor, dataset=d, data={"title": "古い画面からの変更"}, lock_version=1)
    assert exc.value.details == {"current_lock_version": 2}
    d.refresh_from_db()
    assert d.title == "管理者が直した"
    assert AuditEvent.objects.filter(action="dataset.update").count() == 1


def test_unchanged_update_writes_no_audit_event(actors, editor):
    d = dataset_create(actor=editor, data={"title": "同じ", "owner": actors.org.health_div})
    dataset_update(actor=editor, dataset=d, data={"title": "同じ"}, lock_version=1)
    assert not AuditEvent.objects.filter(action="dataset.update").exists()


def test_classification_change_is_audited_separately(actors, editor):
    d = dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div})
    dataset_update(
        actor=editor, dataset=d, data={"classification": Classification.CONFIDENTIAL}, lock_version=1
    )
    event = AuditEvent.objects.get(action="dataset.classification_change")
    assert event.changes == {"before": "restricted", "after": "confidential"}


def test_identifier_cannot_change(actors, editor):
    d = dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div})
    with pytest.raises(InvalidInput):
        dataset_update(actor=editor, dataset=d, data={"identifier": "other"}, lock_version=1)


def test_staff_cannot_update_or_retire(actors, editor):
    d = dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div})
    staff = actor_for(actors.users["staff"])
    with pytest.raises(PermissionDenied):
        dataset_update(actor=staff, dataset=d, data={"title": "y"}, lock_version=1)
    with pytest.raises(PermissionDenied):
        dataset_retire(actor=staff, dataset=d, reason="不要")


def test_failed_audit_rolls_back_the_change(actors, editor, monkeypatch):
    d = dataset_create(actor=editor, data={"title": "元", "owner": actors.org.health_div})

    def boom(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("machidata.catalog.services.audit_record", boom)
    with pytest.raises(RuntimeError):
        dataset_update(actor=editor, dataset=d, data={"title": "新"}, lock_version=1)
    d.refresh_from_db()
    assert d.title == "元"
    assert d.lock_version == 1


def test_retire_keeps_the_entry(actors, editor):
    d = dataset_create(actor=editor, data={"title": "x", "owner": actors.org.health_div})
    dataset_retire(actor=editor, dataset=d, reason="統合したため")
    d.refresh_from_db()
    assert d.is_retired
    assert d.retired_reason == "統合したため"
    with pytest.raises(InvalidInput):
        dataset_update(actor=editor, dataset=d, data={"title": "y"}, lock_version=d.lock_version)
    assert d.personal_data == PersonalData.NONE
