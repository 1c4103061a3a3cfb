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
