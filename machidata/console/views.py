"""The SQL console page (/sql/): a textarea, the tables the viewer may read, the answer or a Japanese error."""
# ruff: noqa: S608 — example statements shown on the page, never run by the server

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from machidata.access.policy import Actor
from machidata.console import selectors, services
from machidata.core.errors import Conflict, InvalidInput, NotFound

TABLES_PER_PAGE = 30


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def examples(refs: list[str], first_column: str | None) -> list[tuple[str, str]]:
    """A few statements to start from, written with the viewer's own tables when there are any."""
    one = refs[0] if refs else '"データセット"."表"'
    column = f'"{first_column}"' if first_column else "列名"
    out = [
        ("先頭の100行を見る", f"SELECT *\nFROM {one}\nLIMIT 100"),
        (
            "値ごとの件数を数える",
            f"SELECT {column}, count(*) AS 件数\nFROM {one}\nGROUP BY {column}\nORDER BY 件数 DESC",
        ),
        (
            "WITH で途中の結果に名前を付ける",
            f"WITH t AS (\n  SELECT * FROM {one}\n)\nSELECT count(*) AS 件数 FROM t",
        ),
        (
            "月の一覧を作る（日付の連番）",
            "SELECT *\nFROM generate_series(DATE '2024-04-01', DATE '2025-03-01', INTERVAL 1 MONTH) AS g(月)",
        ),
    ]
    if len(refs) > 1:
        out.append(
            (
                "2つの表を結び付ける（列名は表に合わせて書き換えてください）",
                f"SELECT a.*, b.*\nFROM {refs[0]} AS a\nJOIN {refs[1]} AS b ON a.列名 = b.列名\nLIMIT 100",
            )
        )
    return out


@login_required
@require_http_methods(["GET", "POST"])
def console_page(request: HttpRequest) -> HttpResponse:
    """GET: the empty console; POST: run the statement and show its rows (or why it was refused)."""
    actor = _actor(request)
    sql = ""
    answer = None
    error = None
    status = 200
    if request.method == "POST":
        sql = str(request.POST.get("sql", ""))
        try:
            answer = services.sql_run(actor=actor, sql=sql)
        except (InvalidInput, NotFound, Conflict) as exc:
            error, status = exc.message, exc.status
    readable = selectors.readable_tables(actor=actor)
    page = Paginator(readable, TABLES_PER_PAGE).get_page(request.GET.get("page"))
    listed = selectors.console_tables(actor=actor, tables=list(page.object_list))
    first_fields = listed[0].fields if listed else []
    return render(
        request,
        "console/console.html",
        {
            "sql": sql,
            "answer": answer,
            "error": error,
            "tables": listed,
            "page_obj": page,
            "examples": examples([t.ref for t in listed[:2]], first_fields[0].name if first_fields else None),
            "max_chars": 20_000,
        },
        status=status,
    )
