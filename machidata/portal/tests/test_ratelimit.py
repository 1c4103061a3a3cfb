"""Rate limits per client on the public surfaces (portal pages, CKAN API, DCAT); never on staff pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from machidata.portal.ratelimit import limiter, rules_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits_on(settings: Any) -> Iterator[None]:
    settings.MACHIDATA_PUBLIC_RATE_LIMIT = "3/minute"
    settings.MACHIDATA_PUBLIC_SQL_RATE_LIMIT = "1/minute"
    limiter().storage.reset()
    yield
    limiter().storage.reset()


@pytest.mark.usefixtures("limits_on")
def test_a_page_over_the_limit_is_429_in_japanese_with_retry_after() -> None:
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert [client.get("/open/").status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/open/search/")  # every public page counts against one limit
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 60
    assert "しばらくお待ちください" in r.content.decode()
    # another client is not held back by the first
    assert Client(REMOTE_ADDR="198.51.100.8").get("/open/").status_code == 200


@pytest.mark.usefixtures("limits_on")
def test_the_ckan_api_answers_its_own_envelope_when_limited() -> None:
    client = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(3):
        assert client.get("/api/3/action/package_list").status_code == 200
    r = client.get("/api/action/status_show")
    assert r.status_code == 429
    body = r.json()
    assert body["success"] is False
    assert body["error"]["__type"] == "Rate Limit Error"
    assert "Retry-After" in r


@pytest.mark.usefixtures("limits_on")
def test_sql_has_its_own_lower_limit() -> None:
    client = Client(REMOTE_ADDR="198.51.100.10")
    sql = "/api/3/action/datastore_search_sql?sql=SELECT%201"
    assert client.get(sql).status_code != 429
    assert client.get(sql).status_code == 429  # 1/minute for SQL
    assert client.get("/api/3/action/package_list").status_code == 200  # the general limit still has room


@pytest.mark.usefixtures("limits_on")
def test_staff_pages_and_the_staff_api_are_never_limited() -> None:
    client = Client(REMOTE_ADDR="198.51.100.11")
    for _ in range(6):
        assert client.get("/login/").status_code == 200
        assert client.get("/api/v1/search").status_code != 429
    assert rules_for("/catalog/") == []
    assert rules_for("/api/v1/search") == []
    assert [g for g, _ in rules_for("/en/open/")] == ["public"]
    assert [g for g, _ in rules_for("/catalog.ttl")] == ["public"]
    assert [g for g, _ in rules_for("/api/3/action/datastore_search_sql")] == ["public", "sql"]


def test_off_turns_a_limit_off(settings: Any) -> None:
    settings.MACHIDATA_PUBLIC_RATE_LIMIT = "off"
    settings.MACHIDATA_PUBLIC_SQL_RATE_LIMIT = ""
    assert rules_for("/open/") == []
    assert rules_for("/api/3/action/datastore_search_sql") == []
