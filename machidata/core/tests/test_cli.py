"""The machidata command: help, unknown commands, deploy check."""

from __future__ import annotations

import pytest

from machidata import cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_unknown_command_exits_non_zero(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "というコマンドはありません" in capsys.readouterr().err


@pytest.mark.django_db
def test_check_fails_outside_production(capsys):
    assert cli.main(["check"]) != 0
    assert "MACHIDATA_PRODUCTION" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_help(name, capsys):
    # Each sub-command maps onto a real management command with --help.
    from django.core.management import execute_from_command_line

    with pytest.raises(SystemExit) as exc:
        execute_from_command_line(["machidata", cli.COMMANDS[name][0], "--help"])
    assert exc.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_command_error_is_one_japanese_line_without_django_prefix(capsys, tmp_path):
    missing = tmp_path / "nai.csv"
    assert cli.main(["ingest", str(missing), "--dataset", "x", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"エラー: ファイル「{missing}」が見つかりません。\n"
    assert "CommandError" not in err


@pytest.mark.django_db
def test_domain_error_of_a_command_is_one_japanese_line(capsys, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("区,人口\n中央区,1\n", encoding="utf-8")
    assert cli.main(["ingest", str(path), "--dataset", "x", "--quiet", "--type", "人口=数値"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("エラー: 列「人口」の型「数値」は使えません。")
    assert "Traceback" not in err


def test_traceback_option_still_shows_the_traceback(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        cli.main(["ingest", str(tmp_path / "nai.csv"), "--dataset", "x", "--traceback"])
