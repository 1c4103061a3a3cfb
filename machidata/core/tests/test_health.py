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


def test_domain_errors_escaping_a_view_become_error_pages(rf, db):
    from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
    from machidata.core.middleware import DomainErrorMiddleware

    mw = DomainErrorMiddleware(lambda r: None)
    request = rf.get("/x")
    request.user = None
    assert mw.process_exception(request, NotFound()).status_code == 404
    assert mw.process_exception(request, PermissionDenied()).status_code == 403
    assert mw.process_exception(request, InvalidInput("だめです")).status_code == 400
    assert mw.process_exception(request, ValueError("other")) is None


def test_json_log_carries_request_id_and_actor(actors, caplog):
    import json
    import logging

    from machidata.core.logging import JsonFormatter, RequestContextFilter

    record = logging.LogRecord("machidata.test", logging.INFO, __file__, 1, "記録", None, None)
    from machidata.core.context import reset_request_meta, set_request_meta

    token = set_request_meta(request_id="req-12345678", actor="steward")
    try:
        RequestContextFilter().filter(record)
    finally:
        reset_request_meta(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-12345678"
    assert line["actor"] == "steward"
    assert line["message"] == "記録"
