"""The upload limit is enforced while the body streams in: 413 in Japanese, nothing stored, the view never runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.core.testing import Actors, make_dataset
from machidata.core.uploads import FORM_MARGIN_BYTES, LimitedUploadHandler

pytestmark = pytest.mark.django_db
LIMIT = 4000


@pytest.fixture
def limited(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_MAX_UPLOAD_BYTES = LIMIT
    settings.MACHIDATA_HOME = tmp_path
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    return tmp_path


def _post(client: Client, url: str, size: int) -> Any:
    upload = SimpleUploadedFile("big.csv", b"a,b\n" + b"1,2\n" * (size // 4), content_type="text/csv")
    return client.post(url, {"file": upload, "table": "", "mode": "replace"})


def _stored(home: Path) -> list[Path]:
    return [p for p in (home / "uploads").rglob("*") if p.is_file()] if (home / "uploads").exists() else []


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    actors: Actors, limited: Path
) -> None:
    d = make_dataset(actors.org.health_div, slug="big")
    client = actors.client("owner_editor")
    response = _post(client, reverse("catalog:ingest_upload", args=[d.slug]), LIMIT + FORM_MARGIN_BYTES + 10)
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.content.decode()
    assert "MB までです" in response.content.decode()
    assert _stored(limited) == []


def test_a_body_that_passes_the_length_check_is_stopped_while_streaming(
    actors: Actors, limited: Path
) -> None:
    """Within the form margin the length check lets it through; the handler stops it at the limit."""
    d = make_dataset(actors.org.health_div, slug="big")
    client = actors.client("owner_editor")
    response = _post(client, reverse("catalog:ingest_upload", args=[d.slug]), LIMIT * 3)
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.content.decode()
    assert _stored(limited) == []
    assert "machidata.ingest.pending" not in client.session  # the view did not run
    # A file under the limit goes through to the preview as before.
    small = _post(client, reverse("catalog:ingest_upload", args=[d.slug]), LIMIT // 2)
    assert small.status_code == 302
    assert len(_stored(limited)) == 1
    assert "machidata.ingest.pending" in client.session


def test_the_api_answers_json(actors: Actors, limited: Path) -> None:
    client = actors.client("owner_editor")
    response = _post(client, "/api/v1/anything", LIMIT + FORM_MARGIN_BYTES + 10)
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.json()["detail"]


def test_the_handler_counts_every_file_of_a_request(settings: Any) -> None:
    from django.core.files.uploadhandler import StopUpload

    settings.MACHIDATA_MAX_UPLOAD_BYTES = 100
    handler = LimitedUploadHandler(None)
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * 60, 0)  # a second file: 120 bytes in all
