"""HTTP for clients of the public surfaces: CORS (any origin, no credentials) and conditional GET (ETag and
Last-Modified, 304)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from machidata.catalog.models import Dataset
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "https://opendata.example.jp"


@pytest.mark.parametrize(
    "path",
    ["/api/3/action/package_show?id=hoken-center", "/api/action/package_list", "/catalog.ttl", "/open/"],
)
def test_public_surfaces_answer_any_origin_without_credentials(published: Dataset, path: str) -> None:
    r = Client().get(path, HTTP_ORIGIN=ORIGIN)
    assert r.status_code == 200
    assert r["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r


def test_a_preflight_for_a_ckan_post_is_allowed(published: Dataset) -> None:
    r = Client().options(
        "/api/3/action/package_search",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert r.status_code == 200
    assert "POST" in r["Access-Control-Allow-Methods"]
    assert r["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/api/v1/search?q=保健", "/catalog/", "/login/"])
def test_staff_surfaces_send_no_cors_header(cast: Actors, published: Dataset, path: str) -> None:
    r = cast.client("admin").get(path, HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in r


def test_etag_and_not_modified(published: Dataset) -> None:
    client = Client()
    first = client.get("/api/3/action/package_show", {"id": "hoken-center"})
    etag = first["ETag"]
    assert etag
    again = client.get("/api/3/action/package_show", {"id": "hoken-center"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    other = client.get("/api/3/action/package_list", HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200  # another answer, another tag
    page = client.get("/open/")
    assert client.get("/open/", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 304


def test_last_modified_and_if_modified_since(published: Dataset) -> None:
    from django.utils.http import parse_http_date

    client = Client()
    for path in ("/open/datasets/hoken-center/", "/open/datasets/hoken-center/facilities.csv"):
        r = client.get(path)
        assert r.status_code == 200
        stamp = r["Last-Modified"]
        assert abs(parse_http_date(stamp) - published.updated_at.timestamp()) < 24 * 3600
        assert client.get(path, HTTP_IF_MODIFIED_SINCE=stamp).status_code == 304
        assert client.get(path, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code == 200
    # a metadata change moves the page's Last-Modified on
    before = client.get("/open/datasets/hoken-center/")["Last-Modified"]
    Dataset.objects.filter(pk=published.pk).update(updated_at=published.updated_at + dt.timedelta(days=2))
    after = client.get("/open/datasets/hoken-center/", HTTP_IF_MODIFIED_SINCE=before)
    assert after.status_code == 200
    assert parse_http_date(after["Last-Modified"]) > parse_http_date(before)
