"""Organisation pages: the tree and the import (管理 only), API tokens (everyone signed in)."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.access.models import ApiToken, Role, Unit
from machidata.access.tests.orgdata import ORG_2024
from machidata.access.views import SESSION_KEY
from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors, check_statuses, make_dataset, make_token, make_user

ADMIN_ONLY = {
    "anonymous": 404,
    "staff": 404,
    "owner_viewer": 404,
    "owner_editor": 404,
    "other_editor": 404,
    "admin": 200,
}
SIGNED_IN = {
    "anonymous": 302,
    "staff": 200,
    "owner_viewer": 200,
    "owner_editor": 200,
    "other_editor": 200,
    "admin": 200,
}


def test_admin_pages_answer_404_to_everyone_else(actors: Actors) -> None:
    for name in ("access:units", "access:import"):
        check_statuses(actors, lambda c, n=name: c.get(reverse(n)), ADMIN_ONLY, label=name)
    # The preview without an upload sends 管理 back to the upload page.
    check_statuses(
        actors,
        lambda c: c.get(reverse("access:import_preview")),
        {**ADMIN_ONLY, "admin": 302},
        label="preview",
    )
    check_statuses(
        actors,
        lambda c: c.post(reverse("access:import_preview")),
        {**ADMIN_ONLY, "admin": 302},
        label="confirm",
    )


def test_unit_tree_shows_counts(actors: Actors) -> None:
    make_dataset(actors.org.health_div)
    page = actors.client("admin").get(reverse("access:units")).content.decode()
    assert "健康福祉局" in page
    assert "健康づくり推進課" in page
    # health_div: the owner_editor; its 係 holds the owner_viewer; one dataset.
    assert "職員 1名・データセット 1件" in page
    past = actors.client("admin").get(reverse("access:units"), {"date": "1999-01-01"}).content.decode()
    assert "この日に有効な所属はありません" in past


def test_import_upload_preview_confirm(actors: Actors, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_HOME = tmp_path
    client = actors.client("admin")
    upload = SimpleUploadedFile("組織表.csv", ORG_2024.read_bytes(), content_type="text/csv")
    response = client.post(reverse("access:import"), {"org_file": upload, "effective_date": "2024-04-01"})
    assert response.status_code == 302
    assert response["Location"] == reverse("access:import_preview")
    upload_id = client.session[SESSION_KEY]
    stored = sorted(p.name for p in (tmp_path / "uploads" / "org").iterdir())
    assert stored == [f"{upload_id}-org.csv", f"{upload_id}.json"]

    # Another 管理 cannot use someone else's upload id.
    other_admin = actors.users["admin"].__class__.objects.create_user("admin2", password="x" * 12)
    other = Client()
    other.force_login(other_admin)
    actors.users["admin"].memberships.first()  # (admin2 gets 管理 below)
    from machidata.access.models import Membership

    Membership.objects.create(user=other_admin, unit=actors.org.data_strategy, role=Role.ADMIN)
    session = other.session
    session[SESSION_KEY] = upload_id
    session.save()
    assert other.get(reverse("access:import_preview")).status_code == 302

    preview = client.get(reverse("access:import_preview"))
    assert preview.status_code == 200
    text = preview.content.decode()
    # The test organisation's 200000 becomes 都市建設局; its other units are not in the list and close.
    assert "新設（36件）" in text
    assert "所属名: 健康福祉局 → 都市建設局" in text
    assert "廃止（5件）" in text
    assert (
        "組織表.csv: 所属「消防局 警防課」（300100）の職員2名は、移管先がないため所属が終了します。" in text
    )
    assert "適用する" in text
    assert not Unit.objects.filter(code="110201").exists()

    done = client.post(reverse("access:import_preview"))
    assert done.status_code == 200
    assert "組織改正を適用しました" in done.content.decode()
    assert Unit.objects.filter(code="110201").exists()
    assert (
        AuditEvent.objects.get(action="organisation.reorganise").actor_label == actors.users["admin"].username
    )
    assert list((tmp_path / "uploads" / "org").iterdir()) == []
    assert SESSION_KEY not in client.session


def test_import_with_errors_shows_them_and_offers_no_confirmation(
    actors: Actors, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_HOME = tmp_path
    client = actors.client("admin")
    body = "所属コード,所属名,種別,上位所属コード\r\n1,政策局,局,\r\n2,データ戦略課,課,9\r\n".encode("cp932")
    client.post(
        reverse("access:import"),
        {"org_file": SimpleUploadedFile("org.csv", body), "effective_date": "2025-04-01"},
    )
    page = client.get(reverse("access:import_preview")).content.decode()
    assert "3行目: 上位所属コード「9」が組織表にありません" in page
    assert "適用する" not in page
    assert client.post(reverse("access:import_preview")).status_code == 400
    assert not Unit.objects.filter(code="1").exists()


def test_import_form_refuses_other_files(actors: Actors) -> None:
    response = actors.client("admin").post(
        reverse("access:import"),
        {"org_file": SimpleUploadedFile("org.pdf", b"%PDF"), "effective_date": "2025-04-01"},
    )
    assert response.status_code == 400
    assert "Excel（.xlsx）または CSV" in response.content.decode()


def test_token_pages(actors: Actors) -> None:
    check_statuses(actors, lambda c: c.get(reverse("access:tokens")), SIGNED_IN, label="list")
    check_statuses(actors, lambda c: c.get(reverse("access:token_create")), SIGNED_IN, label="form")
    check_statuses(
        actors,
        lambda c: c.post(reverse("access:token_create"), {"name": "BI"}),
        SIGNED_IN,
        label="create",
    )
    check_statuses(
        actors,
        lambda c: c.post(reverse("access:token_create"), {"name": ""}),
        {**dict.fromkeys(SIGNED_IN, 400), "anonymous": 302},
        label="blank",
    )


def test_token_created_once_then_revoked(actors: Actors) -> None:
    client = actors.client("staff")
    response = client.post(reverse("access:token_create"), {"name": "集計スクリプト"})
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=actors.users["staff"])
    page = response.content.decode()
    raw = page.split('id="raw-token"')[1].split('value="')[1].split('"')[0]
    assert raw.startswith(token.prefix)
    listing = client.get(reverse("access:tokens")).content.decode()
    assert "集計スクリプト" in listing
    assert raw not in listing
    # Someone else's token: the same 404 as a missing one.
    check_statuses(
        actors,
        lambda c: c.post(reverse("access:token_revoke", args=[token.pk])),
        {"anonymous": 302, "other_editor": 404, "admin": 404},
        label="revoke other",
    )
    assert client.get(reverse("access:token_revoke", args=[token.pk])).status_code == 405
    assert client.post(reverse("access:token_revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    actions = (
        AuditEvent.objects.filter(action__startswith="token.").order_by("id").values_list("action", flat=True)
    )
    assert list(actions) == ["token.create", "token.revoke"]


def test_revoked_token_no_longer_authenticates(db: None) -> None:
    user = make_user()
    raw = make_token(user)
    client = Client()
    assert client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    ApiToken.objects.update(revoked_at="2025-01-01T00:00:00Z")
    assert client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
