"""CKAN's datastore_search_sql through the engine's SQL sandbox: public resources only, and the escape
corpus of issue 6 (read_csv/read_text/read_blob, glob, COPY TO, ATTACH, INSTALL/LOAD, SET/RESET/PRAGMA,
CREATE TEMP TABLE, query(), huge range()) with 0 escapes. An *escape* is an answer that holds a planted
secret (a line of /etc/passwd, a file under the home, a row of a 庁内 table, a row or column of the
later, unapproved version) or a file written where a payload asked. ``MACHIDATA_SECURITY_REPORT=file``
appends the figure."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.testing import Actors, make_dataset
from machidata.lake.readers import files_for
from machidata.portal import selectors as s
from machidata.publish.tests.conftest import FACILITIES_V2, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_INTERNAL = "TOPSECRET-INTERNAL-ROW"
SECRET_HOME = "TOPSECRET-HOME-FILE"
PASSWD_MARK = "root:x:0:0"
LATER = ("担当者氏名", "山田 太郎", "南保健センター")


def sql(text: str) -> tuple[int, dict[str, Any]]:
    r = Client().post(
        "/api/3/action/datastore_search_sql", data=json.dumps({"sql": text}), content_type="application/json"
    )
    return r.status_code, r.json()


@pytest.fixture
def world(
    cast: Actors, published: Dataset, v1: TableVersion, settings: Any, tmp_path: Path
) -> dict[str, str]:
    """The public resource, a 庁内 table, an unapproved later version and a secret file."""
    settings.MACHIDATA_SQL_TIMEOUT_S = 4
    internal = make_dataset(cast.org.health_div, title="庁内台帳", classification="internal", slug="naibu")
    ledger = ingest_text(cast, internal, "ledger", f"項目,値\n{SECRET_INTERNAL},1\n")
    later = ingest_text(cast, published, "facilities", FACILITIES_V2)
    (tmp_path / "secret.txt").write_text(SECRET_HOME)
    return {
        "rid": s.resource_id(Table.objects.get(pk=v1.table_id)),
        "internal_rid": s.resource_id(Table.objects.get(pk=ledger.table_id)),
        "internal_file": files_for(ledger)[0],
        "later_file": files_for(later)[0],
        "lake": str(Path(files_for(ledger)[0]).parents[2]),
        "secret": str(tmp_path / "secret.txt"),
        "db": str(Path(settings.MACHIDATA_HOME) / "machidata.sqlite3"),
        "out": str(tmp_path / "out.csv"),
        "outdir": str(tmp_path / "exported"),
    }


def test_select_over_a_public_resource(world: dict[str, str]) -> None:
    status, body = sql(f'SELECT "区", sum("定員") AS n FROM "{world["rid"]}" GROUP BY 1 ORDER BY 1')  # noqa: S608
    assert status == 200, body
    res = body["result"]
    assert res["records"] == [{"区": "中央区", "n": 40}, {"区": "東区", "n": 35}, {"区": "西区", "n": 30}]
    assert [f["id"] for f in res["fields"]] == ["区", "n"]
    assert res["fields"][0]["type"] == "text"
    # the approved version only: the later one's rows and column are not there
    assert sql(f'SELECT count(*) AS c FROM "{world["rid"]}"')[1]["result"]["records"] == [{"c": 3}]  # noqa: S608
    status, body = sql(f'SELECT "担当者氏名" FROM "{world["rid"]}"')  # noqa: S608
    assert (status, body["error"]["__type"]) == (409, "Validation Error")
    assert "query" in body["error"]


def test_errors_have_ckan_shapes(world: dict[str, str]) -> None:
    status, body = Client().get("/api/3/action/datastore_search_sql").status_code, None
    assert status == 409
    status, body = sql(f'SELECT * FROM "{world["internal_rid"]}"')  # noqa: S608
    assert (status, body["error"]) == (
        403, {"message": "Not authorized to read resource.", "__type": "Authorization Error"}
    )  # fmt: skip
    assert sql('SELECT * FROM "00000000-0000-0000-0000-000000000000"')[1]["error"] == body["error"]
    status, body = sql("DELETE FROM x")
    assert (status, body["error"]["__type"]) == (409, "Validation Error")


CORPUS = [
    # reading local files
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd', header = false)",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_parquet('{internal_file}')",
    "SELECT * FROM read_parquet('{later_file}')",
    "SELECT * FROM '{internal_file}'",
    'SELECT * FROM "{later_file}"',
    "SELECT * FROM read_csv('/etc/passw' || 'd')",
    "SELECT * FROM \"read_text\"('/etc/passwd')",
    "SELECT * FROM main.read_text('/etc/passwd')",
    "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x",
    "SELECT (SELECT content FROM read_text('/etc/passwd')) AS c FROM \"{rid}\"",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    # glob
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM glob('{lake}/**')",
    "SELECT glob('/etc/*')",
    # writing files
    "COPY (SELECT * FROM \"{rid}\") TO '{out}'",
    "COPY \"{rid}\" TO '{out}' (FORMAT csv)",
    "EXPORT DATABASE '{outdir}'",
    "SELECT * FROM \"{rid}\"; COPY (SELECT 1) TO '{out}'",
    # other databases
    "ATTACH '{db}' AS m",
    "ATTACH '{db}' AS m (TYPE sqlite)",
    "SELECT * FROM \"{rid}\"; ATTACH ':memory:' AS x",
    "SELECT * FROM m.main.auth_user",
    # extensions
    "INSTALL httpfs",
    "LOAD httpfs",
    "INSTALL sqlite; LOAD sqlite",
    "SELECT * FROM read_csv('https://example.com/a.csv')",
    # configuration
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET allowed_paths = ['/etc/passwd']",
    "PRAGMA enable_external_access",
    "SET lock_configuration = false",
    "SELECT current_setting('allowed_paths')",
    "SELECT getenv('HOME')",
    "SELECT * FROM duckdb_settings()",
    "CALL pragma_version()",
    # temporary objects (DuckDB accepts these even read-only)
    'CREATE TEMP TABLE x AS SELECT * FROM "{rid}"',
    "CREATE TEMP TABLE x AS SELECT * FROM read_csv('/etc/passwd')",
    "CREATE TEMP VIEW v AS SELECT 1",
    "CREATE MACRO m(a) AS a",
    # query() and friends
    "SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
    "SELECT * FROM query_table('{internal_rid}')",
    "SELECT * FROM query_table(['{internal_rid}'])",
    # huge ranges
    "SELECT count(*) FROM range(100000000000)",
    "SELECT count(*) FROM generate_series(1, 100000000000)",
    "SELECT count(*) FROM range(1000000) a, range(1000000) b",
    'SELECT sum(a.range) FROM range(1000000) a CROSS JOIN range(1000000) b CROSS JOIN "{rid}"',
    # tables that are not public
    'SELECT * FROM "{internal_rid}"',
    'SELECT * FROM main."{internal_rid}"',
    'SELECT * FROM "{rid}" UNION ALL SELECT "項目", NULL, NULL, NULL FROM "{internal_rid}"',
    'SELECT * FROM "naibu"."ledger"',
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM duckdb_tables()",
    # text only: the "attack" sits in a comment or a string
    "SELECT count(*) FROM \"{rid}\" /* ; SELECT * FROM read_text('/etc/passwd') */",
    "SELECT '; SELECT * FROM read_text(''/etc/passwd'')' AS t",
]
ONLY_TEXT = {CORPUS[-2], CORPUS[-1]}


def _payload(template: str, world: dict[str, str]) -> str:
    out = template
    for key, value in world.items():
        out = out.replace("{" + key + "}", value)
    return out


def test_escape_corpus(world: dict[str, str]) -> None:
    tally = {"refused": 0, "denied": 0, "stopped": 0, "ran": 0}
    escapes: list[str] = []
    ran: list[str] = []
    for template in CORPUS:
        status, body = sql(_payload(template, world))
        text = json.dumps(body, ensure_ascii=False)
        leaked = [m for m in (SECRET_INTERNAL, SECRET_HOME, PASSWD_MARK, *LATER) if m in text]
        written = [p for p in (world["out"], world["outdir"]) if os.path.exists(p)]
        if leaked or written:
            escapes.append(f"{template!r}: {status} leaked={leaked} wrote={written}")
        elif status == 200:
            tally["ran"] += 1
            ran.append(template)
        elif status == 403:
            tally["denied"] += 1
        elif "took too long" in text or "メモリ" in text:
            tally["stopped"] += 1
        else:
            assert (status, body["error"]["__type"]) == (409, "Validation Error"), (template, body)
            tally["refused"] += 1
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": "datastore_sql_escape_corpus", "payloads": len(CORPUS),
                                **tally, "escapes": len(escapes)}) + "\n")  # fmt: skip
    assert not escapes, "\n".join(escapes)
    assert set(ran) <= ONLY_TEXT
    assert sum(tally.values()) == len(CORPUS)
    print(tally)  # noqa: T201 - the figure, shown with -s
