"""Catalog pages: permissions, 絞り込み counts, editing with optimistic locking, XSS, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from machidata.access.models import Classification, PersonalData
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, Dataset
from machidata.core.testing import check_statuses, make_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def datasets(actors):
    org = actors.org
    return {
        "public": make_dataset(org.health_div, title="公開データ", classification=Classification.PUBLIC),
        "internal": make_dataset(org.health_div, title="庁内データ", classification=Classification.INTERNAL),
        "restricted": make_dataset(org.health_div, title="所属限定データ"),
        "secret": make_dataset(
            org.health_div, title="機密データ", classification=Classification.CONFIDENTIAL
        ),
        "secret_listed": make_dataset(
            org.health_div,
            title="機密だが存在は示す",
            classification=Classification.CONFIDENTIAL,
            discoverable=True,
        ),
    }


def _titles(response) -> set[str]:
    return {d.title for d in response.context["datasets"]}


def test_list_shows_only_discoverable_entries(actors, datasets):
    assert _titles(actors.client("anonymous").get(reverse("catalog:list"))) == {"公開データ"}
    staff = _titles(actors.client("staff").get(reverse("catalog:list")))
    assert staff == {"公開データ", "庁内データ", "所属限定データ", "機密だが存在は示す"}
    owner = _titles(actors.client("owner_viewer").get(reverse("catalog:list")))
    assert owner == {d.title for d in datasets.values()}


def test_facet_counts_only_count_visible_entries(actors, datasets):
    response = actors.client("staff").get(reverse("catalog:list"))
    facets = {key: values for key, _, values in response.context["facets"]}
    by_class = {v.value: v.count for v in facets["classification"]}
    assert by_class == {"public": 1, "internal": 1, "restricted": 1, "confidential": 1}
    assert sum(v.count for v in facets["department"]) == 4


def test_filter_by_classification_and_paging(actors, datasets, settings):
    settings.MACHIDATA_PAGE_SIZE = 2
    client = actors.client("owner_viewer")
    response = client.get(reverse("catalog:list"), {"classification": "confidential"})
    assert _titles(response) == {"機密データ", "機密だが存在は示す"}
    page2 = client.get(reverse("catalog:list"), {"page": 2})
    assert page2.context["result"].page == 2
    assert len(page2.context["datasets"]) == 2


def test_search_by_word(actors, datasets):
    response = actors.client("staff").get(reverse("catalog:list"), {"q": "庁内"})
    assert _titles(response) == {"庁内データ"}


def test_detail_statuses(actors, datasets):
    url = reverse("catalog:detail", args=[datasets["restricted"].slug])
    check_statuses(
        actors,
        lambda c: c.get(url),
        {"anonymous": 404, "staff": 200, "owner_viewer": 200, "owner_editor": 200, "admin": 200},
    )
    secret = reverse("catalog:detail", args=[datasets["secret"].slug])
    check_statuses(
        actors, lambda c: c.get(secret), {"anonymous": 404, "staff": 404, "owner_viewer": 200, "admin": 200}
    )
    missing = reverse("catalog:detail", args=["no-such-thing"])
    check_statuses(actors, lambda c: c.get(missing), {"staff": 404, "admin": 404})


def test_edit_page_statuses(actors, datasets):
    url = reverse("catalog:edit", args=[datasets["restricted"].slug])
    check_statuses(
        actors,
        lambda c: c.get(url),
        {
            "anonymous": 302,
            "staff": 404,
            "owner_viewer": 404,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
    )


def _form_data(dataset: Dataset, **changes) -> dict:
    data = {
        "title": dataset.title,
        "description": dataset.description,
        "owner": dataset.owner_id,
        "classification": dataset.classification,
        "personal_data": dataset.personal_data,
        "location": dataset.location,
        "frequency": dataset.frequency,
        "source": dataset.source,
        "keywords": "",
        "lock_version": dataset.lock_version,
    }
    data.update(changes)
    return data


def test_edit_saves_and_audits(actors, datasets):
    d = datasets["restricted"]
    client = actors.client("owner_editor")
    response = client.post(
        reverse("catalog:edit", args=[d.slug]), _form_data(d, title="新しい題名", keywords="人口、世帯")
    )
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.title == "新しい題名"
    assert d.keywords == ["人口", "世帯"]
    assert d.lock_version == 2
    event = AuditEvent.objects.filter(action="dataset.update", object_id=str(d.pk)).get()
    assert event.changes["title"] == {"before": "所属限定データ", "after": "新しい題名"}


def test_stale_edit_is_refused_not_overwritten(actors, datasets):
    d = datasets["restricted"]
    editor = actors.client("owner_editor")
    admin = actors.client("admin")
    url = reverse("catalog:edit", args=[d.slug])
    stale = _form_data(d, title="編集者Aの変更")
    assert admin.post(url, _form_data(d, title="管理者の変更")).status_code == 302
    response = editor.post(url, stale)
    assert response.status_code == 409
    assert "ほかの人が先に" in response.content.decode()
    d.refresh_from_db()
    assert d.title == "管理者の変更"


def test_public_with_personal_data_is_refused_with_japanese_error(actors, datasets):
    d = datasets["public"]
    response = actors.client("admin").post(
        reverse("catalog:edit", args=[d.slug]), _form_data(d, personal_data=PersonalData.PERSONAL)
    )
    assert response.status_code == 200
    assert "個人情報を含むデータは「公開」にできません" in response.content.decode()
    d.refresh_from_db()
    assert d.personal_data == PersonalData.NONE


def test_create_requires_csrf(actors):
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["owner_editor"])
    response = client.post(reverse("catalog:create"), {"title": "x", "owner": actors.org.health_div.pk})
    assert response.status_code == 403
    assert not Dataset.objects.filter(title="x").exists()


def test_create_by_steward_for_own_division_only(actors):
    client = actors.client("owner_editor")
    base = {
        "title": "救急出動記録",
        "classification": "restricted",
        "personal_data": "none",
        "location": "machidata",
        "frequency": "monthly",
        "source": "city",
    }
    response = client.post(reverse("catalog:create"), {**base, "owner": actors.org.fire_div.pk})
    assert response.status_code == 200  # not one of the choices offered
    assert not Dataset.objects.exists()
    response = client.post(reverse("catalog:create"), {**base, "owner": actors.org.health_div.pk})
    assert response.status_code == 302
    created = Dataset.objects.get()
    assert created.owner == actors.org.health_div
    assert created.identifier.startswith("431001-")
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(created.pk)).exists()


def test_staff_cannot_open_create_page(actors):
    check_statuses(
        actors,
        lambda c: c.get(reverse("catalog:create")),
        {"anonymous": 302, "staff": 404, "owner_viewer": 404, "owner_editor": 200, "admin": 200},
    )


def test_retire(actors, datasets):
    d = datasets["internal"]
    url = reverse("catalog:retire", args=[d.slug])
    client = actors.client("owner_editor")
    assert client.post(url, {"reason": ""}).status_code == 200
    d.refresh_from_db()
    assert not d.is_retired
    assert client.post(url, {"reason": "システム更新で不要になったため"}).status_code == 302
    d.refresh_from_db()
    assert d.is_retired
    assert "庁内データ" not in _titles(client.get(reverse("catalog:list")))
    assert "庁内データ" in _titles(client.get(reverse("catalog:list"), {"retired": "1"}))


def test_stored_xss_is_escaped_on_list_and_detail(actors):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    d = make_dataset(actors.org.health_div, title=payload, description=payload, classification="internal")
    for url in (reverse("catalog:list"), reverse("catalog:detail", args=[d.slug])):
        html = actors.client("staff").get(url).content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_csp_header_forbids_inline_script(actors):
    response = actors.client("staff").get(reverse("catalog:list"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_export_xlsx_contains_only_visible_entries_and_is_audited(actors, datasets):
    Category.objects.create(code="health", name="健康・福祉")
    response = actors.client("staff").get(reverse("catalog:export", args=["xlsx"]))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in ws[3]]
    assert header[:2] == ["識別子", "データ名"]
    titles = {row[1] for row in ws.iter_rows(min_row=4, values_only=True)}
    assert titles == {"公開データ", "庁内データ", "所属限定データ", "機密だが存在は示す"}
    assert AuditEvent.objects.filter(action="catalog.export").count() == 1


def test_export_csv_encodings_and_injection_guard(actors):
    make_dataset(actors.org.health_div, title='=HYPERLINK("http://evil")', classification="internal")
    make_dataset(actors.org.health_div, title="髙橋の𠮷野家データ", classification="internal")
    client = actors.client("staff")
    utf8 = client.get(reverse("catalog:export", args=["csv"]))
    assert utf8.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(utf8.content.decode("utf-8-sig"))))
    titles = {r[1] for r in rows[1:]}
    assert '\'=HYPERLINK("http://evil")' in titles
    assert "髙橋の𠮷野家データ" in titles
    sjis = client.get(reverse("catalog:export", args=["csv"]), {"encoding": "cp932"})
    text = sjis.content.decode("cp932")
    assert "髙橋の?野家データ" in text  # 𠮷 is outside CP932: replaced, never an error
    assert client.get(reverse("catalog:export", args=["pdf"])).status_code == 404


def test_discoverable_confidential_entry_shows_only_title_owner_contact(actors):
    d = make_dataset(
        actors.org.health_div,
        title="要保護児童の記録",
        description="秘密の説明文",
        keywords=["秘密のキーワード"],
        location="file_share",
        location_detail=r"\\fs01\機密\児童",
        classification=Classification.CONFIDENTIAL,
        discoverable=True,
    )
    staff_html = actors.client("staff").get(reverse("catalog:detail", args=[d.slug])).content.decode()
    assert "要保護児童の記録" in staff_html
    assert "健康づくり推進課" in staff_html
    for secret in ("秘密の説明文", "秘密のキーワード", "fs01"):
        assert secret not in staff_html
    owner_html = actors.client("owner_viewer").get(reverse("catalog:detail", args=[d.slug])).content.decode()
    assert "秘密の説明文" in owner_html
