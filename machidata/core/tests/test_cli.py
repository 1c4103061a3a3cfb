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
