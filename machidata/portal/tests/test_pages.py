"""The public pages, without a browser and without login."""

from __future__ import annotations

import pytest
from django.test import Client

from machidata.catalog.models import Dataset

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_lists_categories_and_recent(published: Dataset) -> None:
    r = Client().get("/open/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "健康・福祉" in html
    assert "保健センター一覧" in html
    assert "ログアウト" not in html
    assert "/catalog/" not in html  # no staff navigation


def test_search_by_word_and_category_with_paging(published: Dataset) -> None:
    client = Client()
    assert "保健センター一覧" in client.get("/open/search/", {"q": "保健"}).content.decode()
    assert "保健センター一覧" in client.get("/open/search/", {"q": "施設"}).content.decode()  # a keyword
    assert "保健センター一覧" not in client.get("/open/search/", {"q": "下水道"}).content.decode()
    assert "保健センター一覧" in client.get("/open/search/", {"group": "kenko-fukushi"}).content.decode()
    assert "保健センター一覧" not in client.get("/open/search/", {"group": "other"}).content.decode()
    assert client.get("/open/search/", {"page": "999"}).status_code == 200


def test_dataset_page_shows_licence_attribution_preview_and_download(published: Dataset) -> None:
    r = Client().get("/open/datasets/hoken-center/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "CC BY 4.0" in html
    assert "熊本市オープンデータ（健康づくり推進課）" in html
    assert "中央保健センター" in html  # preview row
    assert ">_id<" not in html
    assert "/open/datasets/hoken-center/facilities.csv" in html
    r = Client().get("/open/datasets/hoken-center/facilities.csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    lines = b"".join(r.streaming_content).decode("utf-8-sig").splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 4  # header + 3 rows of v1
    assert "西保健センター" in lines[-1]


def test_missing_dataset_is_404() -> None:
    assert Client().get("/open/datasets/nothing-here/").status_code == 404
