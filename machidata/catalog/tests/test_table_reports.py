"""The table page shows what ingestion found in each version's file: personal-data flags, the
machine-readability report (score, rules broken, cells, how to fix at the source) and validation."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from machidata.catalog.models import Table
from machidata.core.testing import check_statuses, make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

MESSY = (
    "令和6年度 相談受付一覧\n"
    "受付番号,氏名,電話番号,相談件数\n"
    "1001,山田太郎,096-328-2111,3件\n"
    "1002,佐藤花子,096-328-2112,5件\n"
    "1003,鈴木一郎,096-328-2113,2件\n"
)
CLEAN = "区,件数\n中央区,3\n東区,5\n"


@pytest.fixture
def table(actors, tmp_path, settings):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="soudan", classification="restricted")
    for name, text in (("messy.csv", MESSY), ("clean.csv", CLEAN)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        call_command(
            "ingest", str(path), "--dataset", d.slug, "--table", "t", "--quiet", stdout=io.StringIO()
        )
    return Table.objects.get(dataset=d, name="t")


def _url(table: Table) -> str:
    return reverse("catalog:table_detail", args=[table.dataset.slug, table.name])


def test_reports_of_an_earlier_version_show_flags_rules_cells_and_fixes(actors, table):
    html = actors.client("owner_viewer").get(_url(table) + "?v=1").content.decode()
    assert "取り込み時の確認結果（第1版）" in html
    assert "個人情報の可能性がある列" in html
    assert "<strong>氏名</strong>" in html
    assert "<strong>電話番号</strong>" in html
    assert "機械判読性 79 点" in html
    assert "L1-04 データ本体と無関係な情報がないか" in html
    assert "令和6年度 相談受付一覧" in html  # the cell concerned
    assert "表題や作成日はファイル名やデータの説明" in html  # how to fix it at the source


def test_current_version_shows_its_own_report(actors, table):
    html = actors.client("owner_viewer").get(_url(table)).content.decode()
    assert "取り込み時の確認結果（第2版）" in html
    assert "個人情報らしい列は見つかりませんでした" in html
    assert "L1-04 データ本体" not in html


def test_history_lists_each_versions_score_and_flags(actors, table):
    html = actors.client("owner_viewer").get(_url(table)).content.decode()
    assert "個人情報の可能性: 氏名、電話番号" in html
    assert 'href="?v=1#reports">第1版の確認結果' in html
    assert 'href="?v=2#reports">第2版の確認結果' in html


def test_reports_quote_cells_so_they_need_read(actors, table):
    """Staff outside the department may discover the table but not read it: no cells, no report."""
    url = _url(table) + "?v=1"
    check_statuses(
        actors,
        lambda c: c.get(url),
        {"anonymous": 404, "staff": 200, "owner_viewer": 200, "other_editor": 200, "admin": 200},
    )
    html = actors.client("staff").get(url).content.decode()
    assert "令和6年度 相談受付一覧" not in html
    assert "取り込み時の確認結果" not in html


def test_a_restored_version_shows_the_report_of_the_version_it_copies(actors, table):
    client = actors.client("owner_editor")
    restore = reverse("catalog:table_restore", args=[table.dataset.slug, table.name, 1])
    response = client.post(restore)
    assert response.status_code == 302
    # The restore job's page links back to the table (jobs' result convention: message + link).
    job_page = client.get(response["Location"]).content.decode()
    assert "を第1版に戻し、第3版（3 行）を作りました。" in job_page
    assert f'href="{_url(table)}"' in job_page
    html = client.get(_url(table)).content.decode()
    assert "取り込み時の確認結果（第3版）" in html
    assert "第1版を取り込んだときの確認結果を表示しています" in html
    assert "<strong>氏名</strong>" in html
