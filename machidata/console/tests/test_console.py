"""The SQL console: who sees which tables, what runs, what is refused, limits, the page, the API and the audit."""
# ruff: noqa: S608 — the statements here are test inputs, built from fixed names

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from machidata.access.models import Classification, PersonalData
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.console.selectors import console_tables
from machidata.console.services import sql_run
from machidata.core.errors import Conflict, InvalidInput, NotFound
from machidata.core.testing import Actors, make_dataset, make_token
from machidata.lake.readers import files_for

__all__ = ["lake_home"]

# The owning 課 is 健康づくり推進課 (actors.org.health_div); ``staff`` and ``other_editor`` are 警防課.
KINDS = {
    "naibu": (Classification.INTERNAL, PersonalData.NONE),  # 庁内: every member of staff reads it
    "gentei": (Classification.RESTRICTED, PersonalData.NONE),  # 所属限定: the 課 and 管理
    "kimitsu": (Classification.CONFIDENTIAL, PersonalData.NONE),  # 機密: the 課 only
    "kojin": (Classification.INTERNAL, PersonalData.PERSONAL),  # 個人情報: the 課 only
}
# Written out from the policy's rules (docs/architecture.md "The access policy"), not computed by it.
READS = {
    "staff": {"naibu"},
    "other_editor": {"naibu"},
    "owner_viewer": {"naibu", "gentei", "kimitsu", "kojin"},
    "owner_editor": {"naibu", "gentei", "kimitsu", "kojin"},
    "admin": {"naibu", "gentei"},  # 管理 reads 機密 and personal data only with a grant
}
ROWS5 = ROWS[:5]


@pytest.fixture
def world(lake_home: Path, actors: Actors) -> dict[str, Any]:
    """One dataset of each kind owned by 健康づくり推進課, each with table ``pop`` holding five rows."""
    out = {}
    for key, (classification, personal) in KINDS.items():
        d = make_dataset(
            actors.org.health_div,
            slug=f"kenko-{key}",
            title=f"健康 {key}",
            classification=classification,
            personal_data=personal,
        )
        table = make_table(d, name="pop")
        write(table, ROWS5)
        out[key] = table
    return out


def _actor(actors: Actors, name: str) -> Any:
    return actor_for(actors.users[name])


def _ref(key: str) -> str:
    return f'"kenko-{key}"."pop"'


def _count_sql(key: str) -> str:
    return f"SELECT count(*) AS n FROM {_ref(key)}"


# ---- the policy ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(READS))
def test_list_holds_exactly_the_readable_tables(world: dict[str, Any], actors: Actors, name: str) -> None:
    listed = {t.ref for t in console_tables(actor=_actor(actors, name))}
    assert listed == {_ref(k) for k in READS[name]}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(READS))
def test_only_readable_tables_can_be_queried(world: dict[str, Any], actors: Actors, name: str) -> None:
    actor = _actor(actors, name)
    for key in KINDS:
        if key in READS[name]:
            assert sql_run(actor=actor, sql=_count_sql(key)).rows == [[len(ROWS5)]]
            continue
        with pytest.raises(NotFound) as info:
            sql_run(actor=actor, sql=_count_sql(key))
        # the same answer as for a table that does not exist: nothing is revealed
        assert info.value.message == f"表 {_ref(key)} は見つからないか、読む権限がありません。"
    with pytest.raises(NotFound) as missing:
        sql_run(actor=actor, sql='SELECT * FROM "no-such"."pop"')
    assert missing.value.message == '表 "no-such"."pop" は見つからないか、読む権限がありません。'


@pytest.mark.django_db
def test_a_restricted_table_cannot_be_reached_by_its_path(world: dict[str, Any], actors: Actors) -> None:
    """Staff of 警防課 name the 所属限定 table's Parquet file and the metadata database directly."""
    actor = _actor(actors, "staff")
    secret_file = files_for(world["gentei"].current_version)[0]
    database = str(django_settings.DATABASES["default"]["NAME"])
    payloads = [
        f"SELECT * FROM read_parquet('{secret_file}')",
        f"SELECT * FROM '{secret_file}'",
        f'SELECT * FROM "{secret_file}"',
        f"SELECT * FROM {_ref('naibu')} UNION ALL SELECT * FROM read_parquet('{secret_file}')",
        f"ATTACH '{database}' AS meta",
        f"SELECT * FROM read_blob('{database}')",
        "SELECT * FROM glob('**')",
    ]
    for sql in payloads:
        with pytest.raises(InvalidInput):
            sql_run(actor=actor, sql=sql)
    refused = AuditEvent.objects.filter(action="sql.refused", actor_id=actors.users["staff"].pk)
    assert refused.count() == len(payloads)


@pytest.mark.django_db
def test_join_of_two_readable_tables(world: dict[str, Any], actors: Actors) -> None:
    answer = sql_run(
        actor=_actor(actors, "owner_viewer"),
        sql=(
            f"SELECT a.区, sum(b.人口) AS 合計 FROM {_ref('naibu')} a "
            f"JOIN {_ref('gentei')} b ON a._id = b._id GROUP BY a.区 ORDER BY a.区"
        ),
    )
    expected: dict[str, int] = {}
    for r in ROWS5:
        expected[r["区"]] = expected.get(r["区"], 0) + r["人口"]
    assert {row[0]: row[1] for row in answer.rows} == expected
    assert sorted(t["dataset"] for t in answer.tables) == ["kenko-gentei", "kenko-naibu"]


# ---- audit -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_query_is_audited_with_tables_rows_and_time(world: dict[str, Any], actors: Actors) -> None:
    sql = f"SELECT 区 FROM {_ref('naibu')} ORDER BY _id"
    answer = sql_run(actor=_actor(actors, "staff"), sql=sql)
    assert [r[0] for r in answer.rows] == [r["区"] for r in ROWS5]
    event = AuditEvent.objects.filter(action="sql.query").latest("id")
    assert event.actor_id == actors.users["staff"].pk
    assert event.changes["sql"] == sql
    assert event.changes["tables"] == [
        {"dataset": "kenko-naibu", "table": "pop", "version": world["naibu"].current_version.number}
    ]
    assert event.changes["rows"] == len(ROWS5)
    assert event.changes["truncated"] is False
    assert isinstance(event.changes["duration_ms"], int)
    assert event.changes["duration_ms"] >= 0


@pytest.mark.django_db
def test_a_refused_query_is_audited(world: dict[str, Any], actors: Actors) -> None:
    with pytest.raises(InvalidInput):
        sql_run(actor=_actor(actors, "staff"), sql="DROP VIEW x")
    event = AuditEvent.objects.latest("id")
    assert event.action == "sql.refused"
    assert event.changes["sql"] == "DROP VIEW x"
    assert "SELECT" in event.changes["reason"]


# ---- limits ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rows_are_capped_and_the_cut_is_said(world: dict[str, Any], actors: Actors, settings: Any) -> None:
    settings.MACHIDATA_SQL_MAX_ROWS = 3
    answer = sql_run(actor=_actor(actors, "staff"), sql=f"SELECT * FROM {_ref('naibu')} ORDER BY _id")
    assert answer.row_count == 3
    assert answer.truncated
    assert AuditEvent.objects.filter(action="sql.query").latest("id").changes["truncated"] is True


@pytest.mark.django_db
def test_timeout_kills_and_is_audited(world: dict[str, Any], actors: Actors, settings: Any) -> None:
    settings.MACHIDATA_SQL_TIMEOUT_S = 1.5
    with pytest.raises(InvalidInput) as info:
        sql_run(
            actor=_actor(actors, "staff"),
            sql="SELECT count(*) FROM range(1000000) a, range(1000000) b, range(1000) c",
        )
    assert "制限時間（1.5秒）" in info.value.message
    event = AuditEvent.objects.latest("id")
    assert event.action == "sql.failed"
    assert event.changes["duration_ms"] < 5000


@pytest.mark.django_db
def test_memory_limit(world: dict[str, Any], actors: Actors, settings: Any) -> None:
    settings.MACHIDATA_SQL_MEMORY_MB = 64
    with pytest.raises(InvalidInput) as info:
        sql_run(actor=_actor(actors, "staff"), sql="SELECT list(a.range) FROM range(1000000) a, range(200) b")
    assert "メモリ" in info.value.message
    assert AuditEvent.objects.latest("id").action == "sql.failed"


# ---- the page --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_needs_sign_in(world: dict[str, Any]) -> None:
    response = Client().get(reverse("console:page"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_page_lists_readable_tables_with_columns(world: dict[str, Any], actors: Actors) -> None:
    page = actors.client("staff").get(reverse("console:page")).content.decode()
    assert "&quot;kenko-naibu&quot;.&quot;pop&quot;" in page
    assert "kenko-gentei" not in page
    assert "<code>人口</code>" in page
    assert "書き方の例" in page


@pytest.mark.django_db
def test_page_runs_a_statement(world: dict[str, Any], actors: Actors) -> None:
    response = actors.client("staff").post(
        reverse("console:page"), {"sql": f"SELECT 区, 人口 FROM {_ref('naibu')} ORDER BY _id"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "5 行" in body
    assert f'<td title="{ROWS5[1]["区"]}">{ROWS5[1]["区"]}</td>' in body


@pytest.mark.django_db
def test_page_says_when_rows_were_cut(world: dict[str, Any], actors: Actors, settings: Any) -> None:
    settings.MACHIDATA_SQL_MAX_ROWS = 2
    body = actors.client("staff").post(reverse("console:page"), {"sql": "SELECT * FROM range(10)"}).content
    assert "先頭の 2 行だけを表示しています" in body.decode()


@pytest.mark.django_db
def test_page_shows_a_refusal_in_japanese(world: dict[str, Any], actors: Actors) -> None:
    response = actors.client("staff").post(reverse("console:page"), {"sql": _count_sql("gentei")})
    assert response.status_code == 404
    body = response.content.decode()
    assert "見つからないか、読む権限がありません" in body
    assert 'role="alert"' in body


@pytest.mark.django_db
def test_page_shows_a_failed_statement_with_400(world: dict[str, Any], actors: Actors) -> None:
    response = actors.client("staff").post(reverse("console:page"), {"sql": "DROP VIEW x"})
    assert response.status_code == 400
    assert "SELECT" in response.content.decode()


@pytest.mark.django_db
def test_page_post_needs_csrf(world: dict[str, Any], actors: Actors) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["staff"])
    assert client.post(reverse("console:page"), {"sql": "SELECT 1"}).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="sql.").exists()


@pytest.mark.django_db
def test_page_values_are_escaped(world: dict[str, Any], actors: Actors) -> None:
    body = (
        actors.client("staff")
        .post(reverse("console:page"), {"sql": "SELECT '<script>alert(1)</script>' AS \"<b>x</b>\""})
        .content.decode()
    )
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>x</b>" not in body


# ---- the API ---------------------------------------------------------------------------------------


def _api(client: Client, sql: str, **extra: Any) -> Any:
    return client.post("/api/v1/sql", json.dumps({"sql": sql}), content_type="application/json", **extra)


@pytest.mark.django_db
def test_api_with_a_token(world: dict[str, Any], actors: Actors) -> None:
    token = make_token(actors.users["staff"])
    response = _api(
        Client(), f"SELECT 区, 人口 FROM {_ref('naibu')} ORDER BY _id", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    body = response.json()
    assert [c["name"] for c in body["columns"]] == ["区", "人口"]
    assert body["rows"] == [[r["区"], r["人口"]] for r in ROWS5]
    assert body["truncated"] is False
    assert body["row_count"] == len(ROWS5)
    assert body["tables"][0]["dataset"] == "kenko-naibu"


@pytest.mark.django_db
def test_api_refusals(world: dict[str, Any], actors: Actors) -> None:
    assert _api(Client(), "SELECT 1").status_code == 401
    token = make_token(actors.users["staff"])
    refused = _api(Client(), _count_sql("gentei"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 404
    assert "読む権限がありません" in refused.json()["detail"]
    bad = _api(Client(), "SELECT * FROM read_text('/etc/passwd')", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 400
    assert "root:" not in bad.content.decode()


@pytest.mark.django_db
def test_api_with_a_session_needs_csrf(world: dict[str, Any], actors: Actors) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(actors.users["staff"])
    assert _api(client, "SELECT 1").status_code == 403


@pytest.mark.django_db
def test_page_examples_pass_the_check_and_run(world: dict[str, Any], actors: Actors) -> None:
    from machidata.console.views import examples
    from machidata.engine.sql import check_sql

    shown = examples([_ref("naibu"), _ref("gentei")], "区")
    for _, sql in shown:
        check_sql(sql)
    actor = _actor(actors, "owner_viewer")
    for _, sql in shown[:4]:  # the join example names placeholder columns
        assert sql_run(actor=actor, sql=sql).columns


# ---- concurrency -----------------------------------------------------------------------------------


def _hold(path: Path) -> Any:
    """Take a lock file the way another web worker's running statement does (released on close)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


@pytest.mark.django_db
def test_one_statement_at_a_time_per_person(world: dict[str, Any], actors: Actors, lake_home: Path) -> None:
    user = actors.users["staff"]
    held = _hold(lake_home / "run" / "sql" / f"user-{user.pk}.lock")
    try:
        with pytest.raises(Conflict) as info:
            sql_run(actor=_actor(actors, "staff"), sql="SELECT 1")
        assert "まだ実行中" in info.value.message
        assert AuditEvent.objects.latest("id").action == "sql.refused"
        # someone else is not held up
        assert sql_run(actor=_actor(actors, "owner_viewer"), sql="SELECT 1").rows == [[1]]
    finally:
        held.close()
    assert sql_run(actor=_actor(actors, "staff"), sql="SELECT 1").rows == [[1]]


@pytest.mark.django_db
def test_server_slots(world: dict[str, Any], actors: Actors, lake_home: Path, settings: Any) -> None:
    settings.MACHIDATA_SQL_CONCURRENCY = 2
    held = [_hold(lake_home / "run" / "sql" / f"slot-{i}.lock") for i in range(2)]
    try:
        response = _api(
            Client(), "SELECT 1", HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['staff'])}"
        )
        assert response.status_code == 409
        assert "混み合っています" in response.json()["detail"]
    finally:
        held[0].close()
    assert sql_run(actor=_actor(actors, "staff"), sql="SELECT 1").rows == [[1]]
    held[1].close()
