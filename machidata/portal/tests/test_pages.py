"""The public pages, without a browser and without login."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pyarrow.parquet as pq
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


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_dataset_page_has_field_definitions_history_and_every_format(published: Dataset) -> None:
    html = Client().get("/open/datasets/hoken-center/").content.decode()
    assert "項目定義" in html
    assert "<code>施設名</code>" in html
    assert "<code>定員</code>" in html
    assert "更新履歴" in html
    assert "第1版" in html
    base = "/open/datasets/hoken-center/facilities"
    for link in (f"{base}.csv?encoding=cp932", f"{base}.xlsx", f"{base}.json", f"{base}.parquet"):
        assert link in html
    assert f"{base}.geojson" not in html  # no geometry column: not offered

    client = Client()
    sjis = client.get(f"{base}.csv", {"encoding": "cp932"})
    assert sjis.status_code == 200
    assert "Shift_JIS" in sjis["Content-Type"]
    assert "西保健センター" in _body(sjis).decode("cp932")

    book = openpyxl.load_workbook(io.BytesIO(_body(client.get(f"{base}.xlsx"))), read_only=True)
    cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]
    assert "東保健センター" in cells

    rows = json.loads(_body(client.get(f"{base}.json")))
    names = {r["施設名"] for r in (rows if isinstance(rows, list) else rows["rows"])}
    assert names == {"中央保健センター", "東保健センター", "西保健センター"}

    table = pq.read_table(io.BytesIO(_body(client.get(f"{base}.parquet"))))
    assert table.num_rows == 3
    assert "定員" in table.column_names

    assert client.get(f"{base}.geojson").status_code == 404
    assert client.get("/open/datasets/hoken-center/nothing.xlsx").status_code == 404


def test_organization_page_and_search_counts_by_department(published: Dataset) -> None:
    client = Client()
    code = published.owner.code
    home = client.get("/open/").content.decode()
    assert f"/open/organizations/{code}/" in home
    assert "所管課から探す" in home
    page = client.get(f"/open/organizations/{code}/").content.decode()
    assert published.owner.name in page
    assert "保健センター一覧" in page
    assert "1件のデータを公開しています" in page
    assert client.get("/open/organizations/no-such-unit/").status_code == 404

    html = client.get("/open/search/", {"organization": code}).content.decode()
    assert "保健センター一覧" in html
    assert f"{published.owner.name}（1）" in html
    other = client.get("/open/search/", {"organization": "no-such-unit"}).content.decode()
    assert "保健センター一覧" not in other
    assert "0件見つかりました" in other
    # a category's count keeps the department's choice: 健康・福祉 has 1 in this 課, 0 elsewhere
    assert "健康・福祉（1）" in html
    assert "健康・福祉（0）" in other
    assert client.get("/open/search/", {"sort": "title", "q": "保健"}).status_code == 200


def test_english_switch(published: Dataset) -> None:
    client = Client()
    ja = client.get("/open/").content.decode()
    assert 'lang="ja"' in ja
    assert 'href="/en/open/"' in ja
    en = client.get("/en/open/")
    assert en.status_code == 200
    assert en["Content-Language"] == "en"
    text = en.content.decode()
    assert '<html lang="en">' in text
    assert "Find data" in text
    assert "データを探す" not in text
    assert 'href="/open/"' in text  # the way back to Japanese
    # no English title yet: the Japanese one is shown, in the English page
    assert "保健センター一覧" in client.get("/en/open/datasets/hoken-center/").content.decode()
    Dataset.objects.filter(pk=published.pk).update(
        title_en="Health centres", description_en="Where they are."
    )
    page = client.get("/en/open/datasets/hoken-center/").content.decode()
    assert "<h1>Health centres</h1>" in page
    assert "Where they are." in page
    assert "Field definitions" in page
    assert "<h1>保健センター一覧</h1>" in client.get("/open/datasets/hoken-center/").content.decode()
    assert "Health centres" in client.get("/en/open/search/", {"q": "Health"}).content.decode()
    # the query string survives the switch
    switch = client.get("/open/search/", {"q": "保健"}).content.decode()
    assert 'href="/en/open/search/?q=%E4%BF%9D%E5%81%A5"' in switch
    assert "CSV (Shift_JIS)" in page
    assert "（第" not in page


def test_staff_pages_stay_japanese_for_an_english_browser() -> None:
    r = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert r["Content-Language"] == "ja"
