"""``machidata demo``: migrate, load, ingest data, print accounts; then hand over to ``serve`` unless --load-only."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from machidata.catalog.models import Dataset
from machidata.demo import content
from machidata.demo.management.commands import demo as demo_command
from machidata.demo.services import DataSummary
from machidata.search.models import IndexPending

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> list[tuple[str, dict[str, Any]]]:
    """Record the commands ``demo`` calls instead of running migrate, the data ingests or a server.

    The real ingests write to the lake, which needs transaction=True tests: see test_data.py.
    """
    settings.MACHIDATA_HOME = tmp_path
    seen: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(demo_command, "call_command", lambda name, **kw: seen.append((name, kw)))

    def fake_data(**kw: Any) -> DataSummary:
        seen.append(("load_demo_data", {"home": kw["home"]}))
        kw["say"]("実データを取り込んでいます: a.csv … ", end="")
        kw["say"]("3行（第1版、0.1秒）")
        return DataSummary(ingested={"a.csv": 3}, skipped=["b.csv"])

    monkeypatch.setattr(demo_command, "load_demo_data", fake_data)
    return seen


def test_load_only(calls: list[tuple[str, dict[str, Any]]], tmp_path: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--load-only", stdout=out)
    assert calls == [
        ("migrate", {"interactive": False, "verbosity": 0}),
        ("load_demo_data", {"home": tmp_path}),
    ]
    assert Dataset.objects.count() == len(content.DATASETS)
    text = out.getvalue()
    assert "読み込みました" in text
    assert "実データを取り込んでいます: a.csv … 3行（第1版、0.1秒）\n" in text
    assert "新しい版 1 件、取り込み済み 1 件" in text
    assert "demo-admin-2024" in text
    # The first search of the served demo finds the catalog: the index is brought up to date here.
    assert f"検索索引を更新しています … {Dataset.objects.count()}件" in text
    assert not IndexPending.objects.exists()


def test_no_data_skips_the_ingests(calls: list[tuple[str, dict[str, Any]]]) -> None:
    out = io.StringIO()
    call_command("demo", "--load-only", "--no-data", stdout=out)
    assert [name for name, _ in calls] == ["migrate"]
    assert "取り込み" not in out.getvalue()


def test_second_run_says_nothing_changed(calls: list[tuple[str, dict[str, Any]]]) -> None:
    call_command("demo", "--load-only", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo", "--load-only", stdout=out)
    assert "変更なし" in out.getvalue()


def test_serves_after_loading(calls: list[tuple[str, dict[str, Any]]]) -> None:
    out = io.StringIO()
    call_command("demo", "--port", "8123", "--host", "0.0.0.0", stdout=out)  # noqa: S104 - only passed to a stub
    assert [name for name, _ in calls] == ["migrate", "load_demo_data", "serve"]
    assert calls[2][1] == {"host": "0.0.0.0", "port": 8123}  # noqa: S104
    assert "http://0.0.0.0:8123/" in out.getvalue()


def test_default_port(calls: list[tuple[str, dict[str, Any]]]) -> None:
    call_command("demo", stdout=io.StringIO())
    assert calls[-1] == ("serve", {"host": "127.0.0.1", "port": 8000})


def test_serve_command_exists() -> None:
    from django.core.management import get_commands

    assert "serve" in get_commands()
