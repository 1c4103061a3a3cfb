"""The import-organisation and createuser commands (via call_command)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from machidata.access.models import ApiToken, Membership, Role, Unit, hash_token
from machidata.access.tests.conftest import Kumamoto
from machidata.access.tests.orgdata import ORG_2024, rows_2025, write_xlsx
from machidata.audit.models import AuditEvent


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_dry_run_prints_the_preview_and_changes_nothing(db: None) -> None:
    out = run("import_organisation", str(ORG_2024), "--effective-date", "2024-04-01", "--dry-run")
    assert "新設（38件）" in out
    assert "110201 データ戦略課（課）" in out
    assert "--dry-run のため、適用していません。" in out
    assert Unit.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_apply_records_the_acting_user(kumamoto: Kumamoto) -> None:
    out = run(
        "import_organisation", str(kumamoto.workbook_2025), "--effective-date", "2025-04-01", "--as", "k0001"
    )
    assert "適用しました" in out
    assert "廃止（2件）" in out
    assert AuditEvent.objects.filter(action="organisation.reorganise", actor_label="k0001").count() == 1
    again = run(
        "import_organisation", str(kumamoto.workbook_2025), "--effective-date", "2025-04-01", "--as", "k0001"
    )
    assert "変更はありません" in again


def test_errors_exit_non_zero_and_save_nothing(kumamoto: Kumamoto, tmp_path: Path) -> None:
    rows = [r if r[0] != "150104" else [*r[:2], "センター", *r[3:]] for r in rows_2025()]
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    count = AuditEvent.objects.count()
    out = StringIO()
    with pytest.raises(CommandError, match="取り込みませんでした"):
        call_command(
            "import_organisation", str(path), "--effective-date", "2025-04-01", "--as", "k0001", stdout=out
        )
    assert "種別「センター」は使えません" in out.getvalue()
    assert AuditEvent.objects.count() == count
    assert not Unit.objects.filter(code="150103").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--effective-date", "2025/04/01"], "YYYY-MM-DD"),
        (["--effective-date", "2025-04-01", "--as", "nobody"], "登録されていない"),
    ],
)
def test_bad_arguments_have_clear_messages(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("import_organisation", str(ORG_2024), *args, stdout=StringIO())


def test_missing_file(db: None) -> None:
    with pytest.raises(CommandError, match="見つかりません"):
        call_command(
            "import_organisation", "/nonexistent.xlsx", "--effective-date", "2025-04-01", stdout=StringIO()
        )


def test_createuser_with_token(kumamoto: Kumamoto) -> None:
    out = run(
        "createuser", "k0200", "--unit", "110201", "--role", "編集", "--name", "宇土 五郎",
        "--email", "goro@city.kumamoto.example.jp", "--random-password", "--token", "集計スクリプト", "--as", "k0001",
    )  # fmt: skip
    raw = out.split("APIトークン（この表示は一度きりです）: ")[1].strip()
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert token.user.username == "k0200"
    assert token.user.get_full_name() == "宇土 五郎"
    password = out.split("パスワード: ")[1].split()[0]
    assert token.user.check_password(password)
    membership = Membership.objects.get(user=token.user)
    assert (membership.unit.code, membership.role) == ("110201", Role.EDITOR)
    actions = list(
        AuditEvent.objects.filter(actor_label="k0001").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["user.create", "membership.change"]
    assert AuditEvent.objects.filter(action="token.create", actor_label="k0200").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["k0001", "--unit", "110201", "--role", "閲覧", "--no-password"], "既に登録されています"),
        (["k0300", "--unit", "999", "--role", "閲覧", "--no-password"], "有効な所属がありません"),
        (["k0300", "--unit", "110201", "--role", "課長", "--no-password"], "役割「課長」は使えません"),
        (
            ["k0300", "--unit", "110201", "--role", "閲覧", "--password", "short"],
            "パスワードが条件を満たしません",
        ),
    ],
)
def test_createuser_errors(kumamoto: Kumamoto, args: list[str], message: str) -> None:
    count = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("createuser", *args, stdout=StringIO())
    assert AuditEvent.objects.count() == count
