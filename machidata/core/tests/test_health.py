import pytest


@pytest.mark.django_db
def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_request_id_is_returned_and_kept_when_safe(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")
    assert response["X-Request-ID"] == "abcdef123456"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert generated["X-Request-ID"] != "<script>"
    assert len(generated["X-Request-ID"]) == 32


def test_admin_site_requires_admin_role(actors):
    from django.test import Client

    staff = actors.users["staff"]
    staff.is_staff = True
    staff.save()
    admin = actors.users["admin"]
    admin.is_staff = True
    admin.save()
    c = Client()
    c.force_login(staff)
    assert c.get("/admin/").status_code == 302  # sent to the admin login: not for them
    c.force_login(admin)
    assert c.get("/admin/").status_code == 200
