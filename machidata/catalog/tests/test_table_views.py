"""Table pages: the permission matrix, preview with sort/paging/絞り込み, downloads, restore, 項目定義 edit."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_rows, make_table, write
from machidata.core.testing import Actors, check_statuses, make_dataset

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)

EVERYONE = ("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")


def _table(actors: Actors, classification: str = Classification.RESTRICTED, **extra: Any) -> Table:
    dataset = make_dataset(actors.org.health_div, classification=classification, **extra)
    table = make_table(dataset)
    write(table, ROWS, user=actors.users["owner_editor"])
    return table


def detail_url(table: Table, **params: Any) -> str:
    url = reverse("catalog:table_detail", args=[table.dataset.slug, table.name])
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params, doseq=True)
    return url


def download_url(table: Table, **params: Any) -> str:
    from urllib.parse import urlencode

    return reverse("catalog:table_download", args=[table.dataset.slug, table.name]) + "?" + urlencode(params)


def test_permission_matrix_restricted(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    page = {
        "anonymous": 404,
        "staff": 200,
        "owner_viewer": 200,
        "owner_editor": 200,
        "other_editor": 200,
        "admin": 200,
    }
    check_statuses(actors, lambda c: c.get(detail_url(table)), page, label="page")
    data = {
        "anonymous": 404,
        "staff": 403,
        "owner_viewer": 200,
        "owner_editor": 200,
        "other_editor": 403,
        "admin": 200,
    }
    check_statuses(actors, lambda c: c.get(download_url(table, format="csv")), data, label="download")
    edit = {
        "anonymous": 302,
        "staff": 404,
        "owner_viewer": 404,
        "owner_editor": 200,
        "other_editor": 404,
        "admin": 200,
    }
    check_statuses(
        actors,
        lambda c: c.get(reverse("catalog:table_schema_edit", args=[table.dataset.slug, table.name])),
        edit,
        label="schema edit",
    )
    check_statuses(
        actors,
        lambda c: c.get(reverse("catalog:table_create", args=[table.dataset.slug])),
        edit,
        label="table create",
    )


def test_permission_matrix_confidential_and_public(actors: Actors, lake_home: Path) -> None:
    secret = _table(actors, Classification.CONFIDENTIAL)
    check_statuses(
        actors,
        lambda c: c.get(detail_url(secret)),
        {
            "anonymous": 404,
            "staff": 404,
            "other_editor": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "admin": 200,
        },
        label="confidential page",
    )
    check_statuses(
        actors,
        lambda c: c.get(download_url(secret, format="csv")),
        {"anonymous": 404, "staff": 404, "owner_viewer": 200, "admin": 403},
        label="confidential download",
    )
    public = _table(actors, Classification.PUBLIC)
    check_statuses(
        actors, lambda c: c.get(detail_url(public)), dict.fromkeys(EVERYONE, 200), label="public page"
    )
    check_statuses(
        actors,
        lambda c: c.get(download_url(public, format="json")),
        dict.fromkeys(EVERYONE, 200),
        label="public dl",
    )
    missing = reverse("catalog:table_detail", args=[public.dataset.slug, "nothing"])
    check_statuses(actors, lambda c: c.get(missing), dict.fromkeys(EVERYONE, 404), label="missing table")


def test_staff_without_read_see_metadata_and_how_to_ask(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    html = actors.client("staff").get(detail_url(table)).content.decode()
    assert "区別人口" in html
    assert "項目定義" in html
    assert "区名" in html
    assert "整数" in html
    assert "利用申請" in html
    assert "健康づくり推進課" in html
    assert "中央区" not in html  # no data value leaks
    assert reverse("catalog:table_download", args=[table.dataset.slug, table.name]) not in html


def _cells(html: str, column: int) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("データの一覧")[1].split("</tbody>", maxsplit=1)[0], re.S)
    out = []
    for row in rows:
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if len(cells) > column:
            out.append(cells[column])
    return out


def test_preview_page_sort_paging_and_filter(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = actors.client("owner_viewer")
    html = client.get(detail_url(table)).content.decode()
    assert "25件中 1～20件目" in html
    # time zone: naive wall clock is shown as stored
    assert "2024-03-31 23:30" in html
    names = _cells(html, 5)
    assert names[:2] == ["店00", "𠮷野家"]
    assert "aria-sort" not in html.split("データの一覧")[1].split("</thead>")[0]
    # sort by 人口 descending via the header link, 50 per page
    html = client.get(detail_url(table, sort="-人口", per=50)).content.decode()
    assert 'aria-sort="descending"' in html
    want = sorted(range(len(ROWS)), key=lambda i: (-ROWS[i]["人口"], i))
    assert _cells(html, 5) == ["𠮷野家" if i == 1 else f"店{i:02d}" for i in want]
    # page 2 of 20
    html = client.get(detail_url(table, page=2)).content.decode()
    assert "25件中 21～25件目" in html
    # the simple form redirects to a canonical `filter` parameter
    response = client.get(detail_url(table, fc="区", fo="eq", fv="中央区"))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "5件中 1～5件目" in html
    assert "の条件を外す" in html
    # a bad value is a Japanese message, not an error page
    response = client.get(detail_url(table, filter="人口:eq:たくさん"))
    assert response.status_code == 200
    assert "整数" in response.content.decode()


def test_preview_partial_for_htmx(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    response = actors.client("owner_viewer").get(
        detail_url(table, page=2), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="preview"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="preview"')
    assert "<html" not in html


def test_profile_and_history_on_the_page(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    write(table, make_rows(3), source_name="人口_改訂.csv")
    html = actors.client("owner_editor").get(detail_url(table)).content.decode()
    assert "列ごとの概要" in html
    assert "<meter" in html
    assert "ヒストグラム" in html
    assert "第2版（現在）" in html
    assert "人口_改訂.csv" in html
    assert "この版に戻す" in html
    assert reverse("catalog:table_restore", args=[table.dataset.slug, table.name, 1]) in html
    old = actors.client("owner_viewer").get(detail_url(table, v=1)).content.decode()
    assert "過去の版（第1版）" in old
    assert "25件中" in old
    assert "この版に戻す" not in old  # viewers cannot restore


def test_empty_table_explains_upload(actors: Actors, lake_home: Path) -> None:
    dataset = make_dataset(actors.org.health_div)
    table = make_table(dataset, name="empty", title="空の表")
    response = actors.client("owner_viewer").get(detail_url(table))
    assert response.status_code == 200
    assert "まだデータがありません" in response.content.decode()
    assert actors.client("owner_viewer").get(download_url(table, format="csv")).status_code == 404


def test_downloads_from_the_page(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = actors.client("owner_viewer")
    response = client.get(download_url(table, format="csv", encoding="cp932"))
    body = b"".join(response.streaming_content)
    assert "〓野家" in body.decode("cp932")
    assert 'attachment; filename="' in response["Content-Disposition"]
    response = client.get(download_url(table, format="xlsx", v=1))
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert len(list(wb["データ"].iter_rows(values_only=True))) == len(ROWS) + 1
    assert AuditEvent.objects.filter(action="data.download").count() == 2
    # an unusable format goes back to the page with a message
    response = client.get(download_url(table, format="geojson"))
    assert response.status_code == 302


def test_restore_permissions_and_redirect_to_job(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    write(table, make_rows(3))
    url = reverse("catalog:table_restore", args=[table.dataset.slug, table.name, 1])
    check_statuses(
        actors,
        lambda c: c.post(url),
        {"anonymous": 302, "staff": 403, "owner_viewer": 403, "other_editor": 403},
        label="restore refused",
    )
    table.refresh_from_db()
    assert table.current_version.number == 2
    assert actors.client("owner_editor").get(url).status_code == 405
    response = actors.client("owner_editor").post(url)
    assert response.status_code == 302
    assert "/jobs/" in response["Location"]
    table.refresh_from_db()
    assert (table.current_version.number, table.current_version.rows) == (3, len(ROWS))
    missing = reverse("catalog:table_restore", args=[table.dataset.slug, table.name, 99])
    assert actors.client("owner_editor").post(missing).status_code == 404


def test_restore_requires_csrf(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["owner_editor"])
    url = reverse("catalog:table_restore", args=[table.dataset.slug, table.name, 1])
    assert client.post(url).status_code == 403


def test_schema_edit_saves_titles_and_units(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    client = actors.client("owner_editor")
    url = reverse("catalog:table_schema_edit", args=[table.dataset.slug, table.name])
    context = client.get(url).context
    form = context["form"]
    data = {name: "" if field.initial is None else field.initial for name, field in form.fields.items()}
    names = [r["field"].name for r in context["rows"]]
    i = names.index("面積")
    data[f"f{i}_title"] = "面積"
    data[f"f{i}_unit"] = "㎢"
    response = client.post(url, data)
    assert response.status_code == 302
    table.refresh_from_db()
    declared = {f["name"]: f for f in table.schema["fields"]}
    assert declared["面積"] == {"name": "面積", "title": "面積", "unit": "㎢"}
    assert declared["人口"]["unit"] == "人"  # untouched
    assert AuditEvent.objects.filter(action="table.schema_update").count() == 1
    # the same (now stale) form again is refused
    data[f"f{i}_unit"] = "km2"
    response = client.post(url, data)
    assert response.status_code == 409
    assert "先に更新しました" in response.content.decode()


def test_create_table(actors: Actors, lake_home: Path) -> None:
    dataset = make_dataset(actors.org.health_div)
    client = actors.client("owner_editor")
    url = reverse("catalog:table_create", args=[dataset.slug])
    response = client.post(url, {"name": "Bad Name", "title": "表"})
    assert response.status_code == 200
    assert "半角の英小文字" in response.content.decode()
    response = client.post(url, {"name": "visits", "title": "来所者数", "description": ""})
    assert response.status_code == 302
    table = Table.objects.get(dataset=dataset, name="visits")
    assert len(table.storage_key) == 32
    response = client.post(url, {"name": "visits", "title": "もう一度"})
    assert "すでに" in response.content.decode()
    assert AuditEvent.objects.filter(action="table.create").count() == 1
