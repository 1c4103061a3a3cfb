"""Django admin for the catalog: 管理 only (through the policy), saved by the services, retired not deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, DataFormat, Dataset, DatasetGrant
from machidata.core.testing import Actors, check_statuses, make_dataset, make_user

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/dataset/"
SIGNED_IN = ("staff", "owner_viewer", "owner_editor", "other_editor", "admin")


@pytest.fixture
def staff_actors(actors: Actors) -> Actors:
    """The standard cast, all with Django's is_staff flag: only 管理 must get in anyway."""
    for name in SIGNED_IN:
        user = actors.users[name]
        user.is_staff = True
        user.save()
    return actors


@pytest.fixture
def datasets(actors: Actors) -> dict[str, Dataset]:
    org = actors.org
    return {
        "restricted": make_dataset(org.health_div, title="所属限定データ"),
        "secret": make_dataset(
            org.health_div, title="機密データ", classification=Classification.CONFIDENTIAL
        ),
        "fire": make_dataset(org.fire_div, title="警防データ", classification=Classification.INTERNAL),
    }


def _admin_client(actors: Actors) -> Client:
    return actors.client("admin")


def _form_data(ds: Dataset, **changes: Any) -> dict[str, Any]:
    """The change form as the browser would post it, with ``changes`` applied."""
    data: dict[str, Any] = {
        "title": ds.title,
        "title_en": ds.title_en,
        "description": ds.description,
        "description_en": ds.description_en,
        "owner": ds.owner_id,
        "contact_email": ds.contact_email,
        "contact_phone": ds.contact_phone,
        "category": ds.category_id or "",
        "keywords": "[]",
        "classification": ds.classification,
        "personal_data": ds.personal_data,
        "location": ds.location,
        "location_detail": ds.location_detail,
        "frequency": ds.frequency,
        "source": ds.source,
        "source_detail": ds.source_detail,
        "licence": ds.licence_id or "",
        "temporal_start": "",
        "temporal_end": "",
        "spatial": ds.spatial,
        "lg_code": ds.lg_code,
        "lock_version": ds.lock_version,
        "_save": "保存",
    }
    if ds.discoverable:
        data["discoverable"] = "on"
    data.update(changes)
    return data


# ---- who gets in ---------------------------------------------------------------------------------


def test_changelist_is_for_admin_only(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    check_statuses(
        staff_actors,
        lambda c: c.get(CHANGELIST),
        {
            "anonymous": 302,  # to the admin login
            "staff": 302,  # the admin site itself refuses non-管理 users
            "owner_viewer": 302,  # the admin site itself refuses non-管理 users
            "owner_editor": 302,  # the admin site itself refuses non-管理 users
            "other_editor": 302,  # the admin site itself refuses non-管理 users
            "admin": 200,
        },
        label="dataset changelist",
    )


def test_change_page_is_for_admin_only(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    pk = datasets["secret"].pk
    check_statuses(
        staff_actors,
        lambda c: c.get(f"{CHANGELIST}{pk}/change/"),
        {"anonymous": 302, "staff": 302, "owner_editor": 302, "admin": 200},
        label="dataset change page",
    )


@pytest.mark.parametrize("model", ["category", "licence", "dataformat", "datasetgrant", "inventorytemplate"])
def test_vocabulary_admin_is_for_admin_only(staff_actors: Actors, model: str) -> None:
    check_statuses(
        staff_actors,
        lambda c: c.get(f"/admin/catalog/{model}/"),
        {"anonymous": 302, "staff": 302, "owner_editor": 302, "admin": 200},
        label=f"{model} changelist",
    )


def test_admin_sees_every_row_and_others_see_none(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    page = _admin_client(staff_actors).get(CHANGELIST)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 3
    body = page.content.decode()
    for ds in datasets.values():
        assert ds.title in body

    refused = staff_actors.client("owner_editor").get(CHANGELIST)
    assert refused.status_code == 302  # to the admin login: the site is for 管理 only
    for ds in datasets.values():
        assert ds.title not in refused.content.decode()
    index = staff_actors.client("owner_editor").get("/admin/")
    assert "データセット" not in index.content.decode()


def test_superuser_without_membership_is_admin(db: None, datasets: dict[str, Dataset]) -> None:
    root = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    assert client.get(CHANGELIST).context["cl"].result_count == 3


def test_stored_xss_in_title_is_escaped_in_changelist(staff_actors: Actors) -> None:
    make_dataset(staff_actors.org.health_div, title='<script>alert("x")</script>')
    body = _admin_client(staff_actors).get(CHANGELIST).content.decode()
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


# ---- saving through the services ------------------------------------------------------------------


def test_change_goes_through_service_and_is_audited(
    staff_actors: Actors, datasets: dict[str, Dataset]
) -> None:
    ds = datasets["restricted"]
    client = _admin_client(staff_actors)
    response = client.post(f"{CHANGELIST}{ds.pk}/change/", _form_data(ds, title="管理画面で直した"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    ds.refresh_from_db()
    assert ds.title == "管理画面で直した"
    assert ds.lock_version == 2  # the service's optimistic locking ran
    events = AuditEvent.objects.filter(action="dataset.update", object_id=str(ds.pk))
    assert events.count() == 1  # the validation dry run left nothing behind
    assert events.get().changes["title"]["after"] == "管理画面で直した"


def test_stale_form_is_refused_with_message(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    stale = _form_data(ds, title="古い画面から")
    Dataset.objects.filter(pk=ds.pk).update(title="別の人が保存", lock_version=2)
    response = _admin_client(staff_actors).post(f"{CHANGELIST}{ds.pk}/change/", stale)
    assert response.status_code == 200  # the form again, with the error
    assert "ほかの人が先に" in response.content.decode()
    ds.refresh_from_db()
    assert (ds.title, ds.lock_version) == ("別の人が保存", 2)
    assert not AuditEvent.objects.filter(action="dataset.update").exists()


def test_service_rules_become_form_errors(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    data = _form_data(ds, classification=Classification.PUBLIC, personal_data="personal")
    response = _admin_client(staff_actors).post(f"{CHANGELIST}{ds.pk}/change/", data)
    assert response.status_code == 200
    assert "個人情報を含むデータは「公開」にできません" in response.content.decode()
    ds.refresh_from_db()
    assert ds.classification == Classification.RESTRICTED


def test_add_goes_through_service(staff_actors: Actors) -> None:
    csv = DataFormat.objects.create(code="csv", name="CSV")
    category = Category.objects.create(code="fire", name="防災")
    ds_stub = Dataset(
        title="管理画面で登録", owner=staff_actors.org.fire_div, category=category, lock_version=1
    )
    data = _form_data(ds_stub, formats=[csv.pk], identifier="", slug="")
    response = _admin_client(staff_actors).post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    created = Dataset.objects.get(title="管理画面で登録")
    assert created.identifier.startswith("431001-")  # numbered by the service
    assert list(created.formats.values_list("code", flat=True)) == ["csv"]
    assert created.created_by == staff_actors.users["admin"]
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(created.pk)).count() == 1
    assert Dataset.objects.filter(title="管理画面で登録").count() == 1


def test_datasets_cannot_be_deleted(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    ds = datasets["restricted"]
    response = _admin_client(staff_actors).get(f"{CHANGELIST}{ds.pk}/delete/")
    assert response.status_code == 403
    response = _admin_client(staff_actors).post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [ds.pk]}
    )
    assert Dataset.objects.filter(pk=ds.pk).exists()


def test_retire_action_needs_reason_and_is_all_or_nothing(
    staff_actors: Actors, datasets: dict[str, Dataset]
) -> None:
    client = _admin_client(staff_actors)
    pks = [datasets["restricted"].pk, datasets["fire"].pk]
    no_reason = client.post(
        CHANGELIST, {"action": "retire_selected", "_selected_action": pks, "reason": ""}, follow=True
    )
    assert "廃止の理由を入力してください" in no_reason.content.decode()
    assert not Dataset.objects.filter(pk__in=pks, retired_at__isnull=False).exists()

    done = client.post(
        CHANGELIST,
        {"action": "retire_selected", "_selected_action": pks, "reason": "統合のため"},
        follow=True,
    )
    assert "2件のデータセットを廃止しました" in done.content.decode()
    assert set(Dataset.objects.filter(retired_at__isnull=False).values_list("pk", flat=True)) == set(pks)
    assert AuditEvent.objects.filter(action="dataset.retire").count() == 2


def test_retire_action_refused_to_non_admin(staff_actors: Actors, datasets: dict[str, Dataset]) -> None:
    pk = datasets["restricted"].pk
    check_statuses(
        staff_actors,
        lambda c: c.post(CHANGELIST, {"action": "retire_selected", "_selected_action": [pk], "reason": "x"}),
        {"anonymous": 302, "owner_editor": 302, "staff": 302},
        label="retire action",
    )
    assert Dataset.objects.get(pk=pk).retired_at is None


# ---- vocabularies and grants are audited ----------------------------------------------------------


def test_category_changes_are_audited(staff_actors: Actors) -> None:
    client = _admin_client(staff_actors)
    response = client.post("/admin/catalog/category/add/", {"code": "bosai", "name": "防災", "order": 1})
    assert response.status_code == 302
    category = Category.objects.get(code="bosai")
    create = AuditEvent.objects.get(action="category.create")
    assert create.object_id == str(category.pk)
    assert create.changes["after"]["name"] == "防災"

    client.post(
        f"/admin/catalog/category/{category.pk}/change/", {"code": "bosai", "name": "防災・安全", "order": 1}
    )
    update = AuditEvent.objects.get(action="category.update")
    assert update.changes == {"name": {"before": "防災", "after": "防災・安全"}}

    client.post(f"/admin/catalog/category/{category.pk}/delete/", {"post": "yes"})
    assert not Category.objects.filter(pk=category.pk).exists()
    assert AuditEvent.objects.filter(action="category.delete", object_id=str(category.pk)).exists()


def test_grant_added_in_admin_is_audited_and_takes_effect(
    staff_actors: Actors, datasets: dict[str, Dataset]
) -> None:
    secret = datasets["secret"]
    outsider = staff_actors.users["other_editor"]
    data = {
        "dataset": secret.pk,
        "user": outsider.pk,
        "unit": "",
        "level": "read",
        "expires_on": "",
        "note": "利用申請",
    }
    response = _admin_client(staff_actors).post("/admin/catalog/datasetgrant/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    grant = DatasetGrant.objects.get(dataset=secret, user=outsider)
    assert AuditEvent.objects.filter(action="dataset.grant.create", object_id=str(grant.pk)).exists()
    # the policy now lets the outsider discover the 機密 entry
    assert staff_actors.client("other_editor").get(f"/api/v1/datasets/{secret.slug}").status_code == 200
