"""/api/v1/query: permissions (read, hidden = 404), JSON/CSV/Arrow answers, Japanese 400s naming the field.

One test runs over real data: 熊本市 飲食店営業許可一覧 (出典：熊本市オープンデータ（CC BY 4.0）, via
codeforkumamoto/od_kumamoto_city; see ``/work/shared/data/real/SOURCE.md``); only 業種, the ward of the
address and the permit date are used, no names.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.testing import Actors, check_statuses, make_dataset

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/query"
EVERYONE = ("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")
BY_WARD = {"group_by": ["区"], "measures": [{"op": "count"}, {"op": "sum", "column": "人口"}]}
PERMITS = Path("/work/shared/data/real/431001_kumamoto_inshokuten_eigyo_kyoka.csv")


def _table(actors: Actors, classification: str = Classification.RESTRICTED) -> Table:
    dataset = make_dataset(actors.org.health_div, classification=classification)
    table = make_table(dataset)
    write(table, ROWS, user=actors.users["owner_editor"])
    return table


def _post(client: Any, body: dict[str, Any], fmt: str | None = None) -> Any:
    path = API + (f"?format={fmt}" if fmt else "")
    return client.post(path, body, content_type="application/json")


def _by_ward() -> dict[str, tuple[int, int]]:
    """The test's own answer for BY_WARD."""
    out: dict[str, tuple[int, int]] = {}
    for r in ROWS:
        n, s = out.get(r["区"], (0, 0))
        out[r["区"]] = (n + 1, s + r["人口"])
    return out


def test_permission_matrix(actors: Actors, lake_home: Path) -> None:
    restricted = _table(actors)
    body = {"table_id": restricted.pk, "query": BY_WARD}
    expected = {
        "anonymous": 404,
        "staff": 403,
        "owner_viewer": 200,
        "owner_editor": 200,
        "other_editor": 403,
        "admin": 200,
    }
    for fmt in (None, "csv", "arrow"):
        check_statuses(actors, lambda c, f=fmt: _post(c, body, f), expected, label=f"restricted {fmt}")
    by_name = {"dataset": restricted.dataset.slug, "table": restricted.name, "query": BY_WARD}
    check_statuses(actors, lambda c: _post(c, by_name), expected, label="by name")


def test_hidden_and_missing_tables_are_the_same_404(actors: Actors, lake_home: Path) -> None:
    secret = _table(actors, Classification.CONFIDENTIAL)
    hidden = {"anonymous": 404, "staff": 404, "other_editor": 404, "owner_viewer": 200}
    check_statuses(
        actors, lambda c: _post(c, {"table_id": secret.pk, "query": BY_WARD}), hidden, label="secret"
    )
    missing = _post(actors.client("admin"), {"table_id": secret.pk + 999, "query": BY_WARD})
    hidden_answer = _post(actors.client("staff"), {"table_id": secret.pk, "query": BY_WARD})
    assert missing.status_code == hidden_answer.status_code == 404
    assert missing.json() == hidden_answer.json()
    check_statuses(
        actors,
        lambda c: _post(c, {"dataset": secret.dataset.slug, "table": "nope", "query": BY_WARD}),
        dict.fromkeys(EVERYONE, 404),
        label="no such table",
    )


def test_json_answer(actors: Actors, lake_home: Path) -> None:
    table = _table(actors, Classification.PUBLIC)
    response = _post(actors.client("anonymous"), {"table_id": table.pk, "query": BY_WARD})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["table"] == {"id": table.pk, "dataset": table.dataset.slug, "name": table.name, "version": 1}
    assert body["aggregate"] is True
    assert body["columns"] == [
        {"name": "区", "type": "string"},
        {"name": "件数", "type": "integer"},
        {"name": "合計（人口）", "type": "integer"},
    ]
    expected = _by_ward()
    assert {r[0]: (r[1], r[2]) for r in body["rows"]} == expected
    assert [r[0] for r in body["rows"]] == sorted(expected)
    assert (body["total"], body["offset"], body["truncated"]) == (len(expected), 0, False)


def test_csv_answer_has_a_bom_and_is_audited(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    response = _post(actors.client("owner_viewer"), {"table_id": table.pk, "query": BY_WARD}, "csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    content = response.content
    assert content.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(content[len(codecs.BOM_UTF8) :].decode("utf-8"))))
    assert rows[0] == ["区", "件数", "合計（人口）"]
    assert {r[0]: (int(r[1]), int(r[2])) for r in rows[1:]} == _by_ward()
    event = AuditEvent.objects.filter(action="data.query_export").get()
    assert event.changes["format"] == "csv"
    assert event.changes["rows"] == len(_by_ward())


def test_arrow_answer_is_an_ipc_stream(actors: Actors, lake_home: Path) -> None:
    table = _table(actors)
    query = {
        "group_by": [
            {"column": "時刻", "grain": "fiscal_year", "as": "年度"},
            {"column": "時刻", "grain": "hour"},
        ],
        "measures": [{"op": "count"}],
    }
    response = _post(actors.client("owner_viewer"), {"table_id": table.pk, "query": query}, "arrow")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.arrow.stream"
    result = pa.ipc.open_stream(response.content).read_all()
    assert result.column_names == ["年度", "時刻（時）", "件数"]
    expected = Counter(
        (r["時刻"].year if r["時刻"].month >= 4 else r["時刻"].year - 1, r["時刻"].hour) for r in ROWS
    )
    assert {(r["年度"], r["時刻（時）"]): r["件数"] for r in result.to_pylist()} == dict(expected)
    assert (2023, 23) in expected  # the 2024-03-31 23:30 row is in fiscal year 2023


def test_row_queries_page_like_the_rows_endpoint(actors: Actors, lake_home: Path) -> None:
    table = _table(actors, Classification.PUBLIC)
    query = {
        "filters": [{"column": "区", "op": "eq", "value": "東区"}],
        "sort": [["人口", "desc"]],
        "limit": 3,
    }
    body = _post(actors.client("anonymous"), {"table_id": table.pk, "query": query}).json()
    matching = [i for i, r in enumerate(ROWS) if r["区"] == "東区"]
    ordered = sorted(matching, key=lambda i: (-ROWS[i]["人口"], i))[:3]
    names = [c["name"] for c in body["columns"]]
    assert body["aggregate"] is False
    assert body["total"] == len(matching)
    assert [r[names.index("_id")] for r in body["rows"]] == [i + 1 for i in ordered]


def test_pinned_version(actors: Actors, lake_home: Path) -> None:
    table = _table(actors, Classification.PUBLIC)
    write(table, ROWS[:5], user=actors.users["owner_editor"])
    client = actors.client("anonymous")
    count = {"measures": [{"op": "count"}]}
    assert _post(client, {"table_id": table.pk, "query": count}).json()["rows"] == [[5]]
    old = _post(client, {"table_id": table.pk, "version": 1, "query": count}).json()
    assert (old["rows"], old["table"]["version"]) == ([[len(ROWS)]], 1)
    assert _post(client, {"table_id": table.pk, "version": 9, "query": count}).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"measures": [{"op": "sum", "column": "区"}]}, "列「区」は文字列の列なので計算できません"),
        ({"group_by": [{"column": "区", "grain": "month"}]}, "列「区」は文字列の列なので「月」ごとには"),
        (
            {"group_by": [{"column": "区", "grain": "century"}]},
            "問い合わせの形式が正しくありません（group_by.0.grain）",
        ),
        ({"measures": [{"op": "count", "column": "なし"}]}, "列「なし」はこの表にありません"),
        ({"measures": [{"op": "rate_per"}]}, "母数の列（denominator）を指定してください"),
    ],
)
def test_invalid_queries_are_japanese_400s(
    actors: Actors, lake_home: Path, query: dict[str, Any], message: str
) -> None:
    table = _table(actors, Classification.PUBLIC)
    response = _post(actors.client("anonymous"), {"table_id": table.pk, "query": query})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_table_must_be_named_one_way(actors: Actors, lake_home: Path) -> None:
    table = _table(actors, Classification.PUBLIC)
    client = actors.client("anonymous")
    both = _post(client, {"table_id": table.pk, "dataset": table.dataset.slug, "table": table.name})
    assert both.status_code == 400
    assert "どちらか一方" in both.json()["detail"]
    assert _post(client, {"query": BY_WARD}).status_code == 400
    bad_format = _post(client, {"table_id": table.pk, "query": BY_WARD}, "xlsx")
    assert bad_format.status_code == 422


def _permit_rows() -> list[dict[str, Any]]:
    """業種, 区 (from the address) and 許可日 of the real permit list, parsed by the test itself."""
    with PERMITS.open(encoding="utf-8-sig", newline="") as f:
        records = list(csv.DictReader(f))
    rows = []
    for rec in records:
        ward = re.match(r"熊本市(.区)", rec["営業所所在地"])
        day = re.fullmatch(r"(\d{4})年(\d{2})月(\d{2})日", rec["許可日"])
        rows.append(
            {
                "業種": rec["業種"],
                "区": ward.group(1) if ward else None,
                "許可日": dt.date(int(day[1]), int(day[2]), int(day[3])) if day else None,
            }
        )
    return rows


@pytest.mark.skipif(not PERMITS.exists(), reason="shared real data not present")
def test_real_permits_by_fiscal_year_and_ward_top_n(actors: Actors, lake_home: Path) -> None:
    rows = _permit_rows()
    schema = pa.schema([("業種", pa.string()), ("区", pa.string()), ("許可日", pa.date32())])
    dataset = make_dataset(actors.org.health_div, classification=Classification.PUBLIC)
    table = make_table(dataset, name="permits", title="飲食店営業許可", schema={})
    write(table, rows, schema=schema, user=actors.users["owner_editor"], source_name=PERMITS.name)
    query = {
        "filters": [{"column": "区", "op": "not_null"}, {"column": "許可日", "op": "not_null"}],
        "group_by": [{"column": "許可日", "grain": "fiscal_year", "as": "年度"}],
        "measures": [{"op": "count"}, {"op": "share_of_total"}],
        "top_n": {"n": 3, "by": "件数"},
    }
    body = _post(actors.client("anonymous"), {"table_id": table.pk, "query": query}).json()
    counts = Counter(
        d.year if d.month >= 4 else d.year - 1 for r in rows if r["区"] and (d := r["許可日"]) is not None
    )
    kept = sum(counts.values())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(r[0], r[1]) for r in body["rows"]] == top
    for r in body["rows"]:
        assert abs(r[2] - counts[r[0]] / kept) < 1e-12
