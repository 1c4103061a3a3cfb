"""Inventory import pages: who sees them, the whole flow, file checks, templates, CSRF, the error CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, InventoryTemplate
from machidata.catalog.tests.inventory_fixtures import (
    FIRE_CP932,
    HEALTH_ROWS,
    make_vocabularies,
    workbook_bytes,
)
from machidata.core.testing import check_statuses

pytestmark = pytest.mark.django_db


@pytest.fixture
def vocab(db):
    return make_vocabularies()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGES = ["inventory_upload", "inventory_sheet", "inventory_mapping", "inventory_preview", "inventory_result"]


@pytest.fixture(autouse=True)
def _home(settings, tmp_path):
    settings.MACHIDATA_HOME = tmp_path


def _upload(client: Client, content: bytes, name: str = "health.xlsx"):
    return client.post(
        reverse("catalog:inventory_upload"), {"file": SimpleUploadedFile(name, content, content_type=XLSX)}
    )


def test_upload_page_statuses(actors):
    url = reverse("catalog:inventory_upload")
    check_statuses(
        actors,
        lambda c: c.get(url),
        {
            "anonymous": 302,
            "staff": 404,
            "owner_viewer": 404,
            "owner_editor": 200,
            "other_editor": 200,
            "admin": 200,
        },
    )
    response = actors.client("anonymous").get(url)
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", PAGES[1:])
def test_later_steps_without_an_upload(actors, page):
    url = reverse(f"catalog:{page}")
    check_statuses(
        actors, lambda c: c.get(url), {"anonymous": 302, "staff": 404, "owner_editor": 302, "admin": 302}
    )
    response = actors.client("admin").get(url)
    assert response["Location"] == reverse("catalog:inventory_upload")
    check_statuses(
        actors, lambda c: c.get(reverse("catalog:inventory_errors_csv")), {"staff": 404, "admin": 404}
    )


def test_whole_flow_with_sheet_choice_mapping_preview_and_import(actors, vocab, settings):
    client = actors.client("admin")
    response = _upload(client, workbook_bytes(HEALTH_ROWS))
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:inventory_sheet")
    stored = list((settings.MACHIDATA_HOME / "uploads" / "inventory").iterdir())
    assert len(stored) == 1
    assert "health" not in stored[0].name  # random name, not the user's

    page = client.get(reverse("catalog:inventory_sheet"))
    assert page.status_code == 200
    assert [c[0] for c in page.context["form"].fields["sheet"].choices] == ["記入要領", "棚卸表"]
    response = client.post(
        reverse("catalog:inventory_sheet"), {"sheet": "棚卸表", "header_row": "", "template": ""}
    )
    assert response["Location"] == reverse("catalog:inventory_mapping")

    page = client.get(reverse("catalog:inventory_mapping"))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.headers[:4] == ["整理番号", "データ名", "概要", "所管課"]
    assert form["col_3"].initial == "owner"
    assert form["col_14"].initial == "note"
    html = page.content.decode()
    assert '<label for="id_col_3">列「所管課」</label>' in html
    assert "<script>" not in html

    post = {f"col_{i}": form[f"col_{i}"].initial for i in range(len(form.headers))}
    post["col_14"] = ""  # 備考 not imported
    post["save_template"] = "健康福祉局 棚卸表"
    response = client.post(reverse("catalog:inventory_mapping"), post)
    assert response.status_code == 302, response.context["form"].errors
    template = InventoryTemplate.objects.get(name="健康福祉局 棚卸表")
    assert template.mapping["備考"] == ""
    assert template.header_row == 3

    preview = client.get(reverse("catalog:inventory_preview"))
    assert preview.status_code == 200
    assert preview.context["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert [r.identifier for r in preview.context["rows"]] == ["H-001", "H-002", "H-003"]
    assert not Dataset.objects.exists()  # the preview writes nothing

    response = client.post(reverse("catalog:inventory_preview"), {})
    assert response["Location"] == reverse("catalog:inventory_result")
    result = client.get(reverse("catalog:inventory_result"))
    assert result.status_code == 200
    assert result.context["report"].committed
    assert Dataset.objects.count() == 3
    assert Dataset.objects.get(identifier="H-001").description == "地区別の受診者数"  # 備考 left out
    assert AuditEvent.objects.filter(action="inventory.import").count() == 1

    # the same layout next time: the saved template is recognised by its headers
    _upload(client, workbook_bytes(HEALTH_ROWS))
    client.post(reverse("catalog:inventory_sheet"), {"sheet": "棚卸表"})
    page = client.get(reverse("catalog:inventory_mapping"))
    assert page.context["template_name"] == "健康福祉局 棚卸表"
    assert page.context["form"]["col_14"].initial == ""


def test_errors_block_the_import_and_csv_report_downloads(actors, vocab):
    client = actors.client("owner_editor")
    rows = [list(HEALTH_ROWS[1]), list(HEALTH_ROWS[1])]
    rows[1][0], rows[1][3] = "F-001", "警防課"
    _upload(client, workbook_bytes(rows))
    client.post(reverse("catalog:inventory_sheet"), {"sheet": "棚卸表"})
    form = client.get(reverse("catalog:inventory_mapping")).context["form"]
    client.post(
        reverse("catalog:inventory_mapping"), {f"col_{i}": form[f"col_{i}"].initial for i in range(15)}
    )
    preview = client.get(reverse("catalog:inventory_preview"))
    assert preview.context["counts"]["failed"] == 1
    assert "エラーのない行だけ取り込む" in preview.content.decode()

    client.post(reverse("catalog:inventory_preview"), {})
    result = client.get(reverse("catalog:inventory_result"))
    assert not result.context["report"].committed
    assert not Dataset.objects.exists()
    download = client.get(reverse("catalog:inventory_errors_csv"))
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [row[:3] for row in table[1:]] == [["5", "F-001", "所管課"]]

    client.post(reverse("catalog:inventory_preview"), {"valid_rows_only": "on"})
    result = client.get(reverse("catalog:inventory_result"))
    assert result.context["report"].committed
    assert list(Dataset.objects.values_list("identifier", flat=True)) == ["H-002"]


def test_single_sheet_csv_goes_straight_to_mapping(actors, vocab):
    client = actors.client("admin")
    response = _upload(client, FIRE_CP932.read_bytes(), name="fire.csv")
    assert response["Location"] == reverse("catalog:inventory_mapping")
    page = client.get(reverse("catalog:inventory_mapping"))
    assert page.context["form"].headers[:2] == ["管理番号", "名称"]


def test_mapping_must_name_required_columns(actors, vocab):
    client = actors.client("admin")
    _upload(client, FIRE_CP932.read_bytes(), name="fire.csv")
    response = client.post(reverse("catalog:inventory_mapping"), {"col_0": "identifier", "col_1": "title"})
    assert response.status_code == 200
    assert "データ所有者（所管課）" in " ".join(response.context["form"].non_field_errors())
    twice = client.post(
        reverse("catalog:inventory_mapping"),
        {"col_0": "identifier", "col_1": "title", "col_2": "title", "col_3": "owner"},
    )
    assert "1つの列だけ" in str(twice.context["form"]["col_2"].errors)


def test_upload_refuses_other_extensions_and_big_files(actors, settings):
    client = actors.client("admin")
    response = _upload(client, b"%PDF-1.4", name="inventory.pdf")
    assert response.status_code == 200
    assert "Excel（.xlsx / .xls）または CSV" in str(response.context["form"]["file"].errors)
    big = _upload(client, b"a" * (20 * 1024 * 1024 + 1), name="big.csv")
    assert "20MB" in str(big.context["form"]["file"].errors)
    broken = _upload(client, b"not a workbook", name="broken.xlsx")
    assert "Excelファイルを開けません" in str(broken.context["form"]["file"].errors)
    assert not (settings.MACHIDATA_HOME / "uploads" / "inventory").exists() or not list(
        (settings.MACHIDATA_HOME / "uploads" / "inventory").iterdir()
    )


def test_post_without_csrf_token_is_refused(actors):
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["admin"])
    response = client.post(
        reverse("catalog:inventory_upload"),
        {"file": SimpleUploadedFile("a.csv", b"x", content_type="text/csv")},
    )
    assert response.status_code == 403
