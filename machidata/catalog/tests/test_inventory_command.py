"""``machidata import-inventory``: summary, error table, exit status, dry run, templates, --as permissions."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, InventoryTemplate
from machidata.catalog.tests.inventory_fixtures import (
    FIRE_CP932,
    HEALTH_ROWS,
    make_vocabularies,
    workbook_bytes,
)
from machidata.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def vocab(db):
    return make_vocabularies()


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_inventory", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def health_file(tmp_path):
    path = tmp_path / "健康福祉局_棚卸表.xlsx"
    path.write_bytes(workbook_bytes(HEALTH_ROWS))
    return path


def test_import_prints_japanese_summary(actors, vocab, health_file):
    out = _run(str(health_file), "--sheet", "棚卸表", "--as", actors.users["admin"].username)
    assert "作成 3件 / 更新 0件 / 変更なし 0件 / エラー 0件" in out
    assert "見出し行 3 行目" in out
    assert Dataset.objects.count() == 3
    again = _run(str(health_file), "--sheet", "棚卸表", "--as", actors.users["admin"].username)
    assert "作成 0件 / 更新 0件 / 変更なし 3件 / エラー 0件" in again
    assert AuditEvent.objects.filter(action="inventory.import").count() == 2


def test_errors_exit_1_and_change_nothing(actors, vocab, tmp_path):
    rows = [list(HEALTH_ROWS[0]), list(HEALTH_ROWS[1])]
    rows[1][6] = "ひみつ"
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook_bytes(rows))
    out = io.StringIO()
    with pytest.raises(CommandError, match="取り込みませんでした") as info:
        call_command(
            "import_inventory",
            str(path),
            "--sheet",
            "棚卸表",
            "--as",
            actors.users["admin"].username,
            stdout=out,
        )
    assert info.value.returncode == 1
    text = out.getvalue()
    assert "取り込みを中止しました" in text
    assert "5\t公開・非公開\tひみつ\t公開区分「ひみつ」を読み取れません" in text
    assert not Dataset.objects.exists()
    out = _run(str(path), "--sheet", "棚卸表", "--valid-rows-only", "--as", actors.users["admin"].username)
    assert "作成 1件 / 更新 0件 / 変更なし 0件 / エラー 1件" in out
    assert list(Dataset.objects.values_list("identifier", flat=True)) == ["H-001"]


def test_dry_run_and_cp932_csv(actors, vocab):
    out = _run(str(FIRE_CP932), "--dry-run", "--as", actors.users["admin"].username)
    assert "試行" in out
    assert "作成 2件" in out
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_data_owner_is_limited_to_own_division(actors, vocab):
    with pytest.raises(CommandError):
        _run(str(FIRE_CP932), "--as", actors.users["owner_editor"].username)
    assert not Dataset.objects.exists()
    with pytest.raises(CommandError, match="取り込めます"):
        _run(str(FIRE_CP932), "--as", actors.users["staff"].username)
    with pytest.raises(CommandError, match="見つかりません"):
        _run(str(FIRE_CP932), "--as", "nobody")


def test_save_and_use_template(actors, vocab, health_file):
    admin = actors.users["admin"].username
    _run(
        str(health_file),
        "--sheet",
        "棚卸表",
        "--header-row",
        "3",
        "--save-template",
        "健康福祉局",
        "--dry-run",
        "--as",
        admin,
    )
    template = InventoryTemplate.objects.get(name="健康福祉局")
    assert template.sheet == "棚卸表"
    assert template.header_row == 3
    out = _run(str(health_file), "--template", "健康福祉局", "--as", admin)
    assert "作成 3件" in out
    assert AuditEvent.objects.get(action="inventory.import").changes["template"] == "健康福祉局"
    with pytest.raises(CommandError, match="テンプレート「なし」はありません"):
        _run(str(health_file), "--template", "なし", "--as", admin)


def test_header_row_not_found_is_a_clear_error(actors, vocab, health_file):
    with pytest.raises(CommandError, match="見出し行"):
        _run(str(health_file), "--sheet", "記入要領", "--as", actors.users["admin"].username)


def test_machidata_cli_maps_the_hyphenated_name(actors, vocab, health_file, capsys):
    code = main(
        [
            "import-inventory",
            str(health_file),
            "--sheet",
            "棚卸表",
            "--dry-run",
            "--as",
            actors.users["admin"].username,
        ]
    )
    assert code == 0
    assert "作成 3件" in capsys.readouterr().out
