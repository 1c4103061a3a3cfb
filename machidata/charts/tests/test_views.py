"""Chart pages across actors: sharing AND READ on the table decide; builder, preview, save, detail, exports."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from django.urls import reverse

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.charts.models import Chart, Sharing
from machidata.charts.services import chart_update
from machidata.charts.tests.conftest import ROWS, bar_document, make_chart
from machidata.core.errors import Conflict
from machidata.core.testing import Actors, check_statuses

pytestmark = pytest.mark.django_db
NOBODY_ELSE = {"anonymous": 302, "staff": 404, "other_editor": 404}


def test_detail_follows_sharing_and_read_on_the_table(actors: Actors, table: Table) -> None:
    private = make_chart(actors, table, sharing=Sharing.PRIVATE)
    dept = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    staff = make_chart(actors, table, sharing=Sharing.STAFF)
    url = lambda c: reverse("charts:detail", args=[c.uuid])  # noqa: E731 - a one-line helper
    check_statuses(actors, lambda cl: cl.get(url(private)),
                   {**NOBODY_ELSE, "owner_viewer": 404, "owner_editor": 200, "admin": 200}, label="private")  # fmt: skip
    check_statuses(actors, lambda cl: cl.get(url(dept)),
                   {**NOBODY_ELSE, "owner_viewer": 200, "owner_editor": 200, "admin": 200}, label="department")  # fmt: skip
    # Shared with all staff, but staff of other 課 may not read the 所属限定 table: still 404.
    check_statuses(actors, lambda cl: cl.get(url(staff)),
                   {**NOBODY_ELSE, "owner_viewer": 200, "owner_editor": 200, "admin": 200}, label="staff")  # fmt: skip
    table.dataset.classification = Classification.INTERNAL
    table.dataset.save()
    check_statuses(actors, lambda cl: cl.get(url(staff)), {"staff": 200, "other_editor": 200}, label="庁内")
    check_statuses(actors, lambda cl: cl.get(url(dept)), {"staff": 404}, label="庁内 department")


def test_list_shows_only_visible_charts_with_empty_state(actors: Actors, table: Table) -> None:
    make_chart(actors, table, sharing=Sharing.STAFF)
    body = actors.client("owner_viewer").get(reverse("charts:list")).content.decode()
    assert "区別の件数" in body
    other = actors.client("staff").get(reverse("charts:list")).content.decode()
    assert "区別の件数" not in other
    assert "表示できるグラフはありません" in other


def test_builder_defaults_preview_and_save(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    url = reverse("charts:new") + f"?table={table.dataset.slug}/{table.name}"
    page = client.get(url).content.decode()
    assert '<label for="id_type">グラフの種類' in page
    assert 'value="fiscal_year" selected' in page  # a date column suggests 年度
    assert "データを表で見る" in page
    preview = client.get(reverse("charts:preview"), {"table": f"{table.dataset.slug}/{table.name}", "type": "bar",
                         "x": "区", "y_op": "count", "sort": "key", "stack": "stacked", "era": "wareki",
                         "week_start": "monday", "sharing": "private"}).content.decode()  # fmt: skip
    expected = Counter(r["区"] for r in ROWS)
    for ward, n in expected.items():
        assert f"<td>{ward}</td><td>{n}</td>" in preview
    response = client.post(reverse("charts:new"), {"table": f"{table.dataset.slug}/{table.name}", "type": "bar",
                           "x": "日付", "x_grain": "fiscal_year", "y_op": "sum", "y_column": "人口", "sort": "key",
                           "stack": "stacked", "era": "wareki", "week_start": "monday", "title": "年度別人口",
                           "sharing": "department", "save": "1"})  # fmt: skip
    assert response.status_code == 302
    chart = Chart.objects.get(title="年度別人口")
    body = client.get(response["Location"]).content.decode()
    total = sum(r["人口"] for r in ROWS)  # all 25 days fall in FY2024 (令和6年度)
    assert f"<td>令和6年度</td><td>{total:,}</td>" in body
    assert "グラフの説明:" in body
    assert f"最大は令和6年度の{total:,}" in body  # the text alternative names the largest value
    assert AuditEvent.objects.filter(action="chart.create", object_id=str(chart.pk)).exists()


def test_builder_needs_read_on_the_table(actors: Actors, table: Table) -> None:
    url = reverse("charts:new") + f"?table={table.dataset.slug}/{table.name}"
    check_statuses(actors, lambda c: c.get(url), {"staff": 403, "owner_viewer": 200, "anonymous": 302})


def test_exports_are_audited_and_follow_access(actors: Actors, table: Table) -> None:
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    client = actors.client("owner_viewer")
    png = client.get(reverse("charts:export", args=[chart.uuid, "png"]))
    assert png.content.startswith(b"\x89PNG")
    data = client.get(reverse("charts:export", args=[chart.uuid, "csv"])).content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["区", "件数"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == dict(Counter(r["区"] for r in ROWS))
    assert client.get(reverse("charts:export", args=[chart.uuid, "xlsx"])).content.startswith(b"PK")
    assert AuditEvent.objects.filter(action="chart.export").count() == 3
    assert actors.client("staff").get(reverse("charts:export", args=[chart.uuid, "png"])).status_code == 404
    assert client.get(reverse("charts:export", args=[chart.uuid, "exe"])).status_code == 404


def test_stale_update_is_refused(actors: Actors, table: Table) -> None:
    chart = make_chart(actors, table)
    actor = actor_for(actors.users["owner_editor"])
    chart_update(actor=actor, chart=chart, lock_version=1, title="新しい題名", document=bar_document(table))
    with pytest.raises(Conflict):
        chart_update(
            actor=actor, chart=chart, lock_version=1, title="古い画面から", document=bar_document(table)
        )
    assert Chart.objects.get(pk=chart.pk).title == "新しい題名"


def test_delete_only_by_owner_or_admin(actors: Actors, table: Table) -> None:
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    url = reverse("charts:delete", args=[chart.uuid])
    assert actors.client("owner_viewer").post(url).status_code == 403
    assert actors.client("owner_editor").post(url).status_code == 302
    assert not Chart.objects.filter(pk=chart.pk).exists()


def test_fiscal_year_and_hour_at_the_3_31_to_4_1_edge_in_exports(actors: Actors, table: Table) -> None:
    # 時刻 runs from 2024-03-31 23:30 by the hour: the first row is 令和5年度 at 23時, the rest 令和6年度.
    document = bar_document(table)
    document["query"]["group_by"] = [{"column": "時刻", "grain": "fiscal_year", "as": "年度"}]
    document["visual"].update({"x": "年度"})
    chart = make_chart(actors, table)
    chart_update(actor=actor_for(actors.users["owner_editor"]), chart=chart, lock_version=1, title="年度別",
                 document=document, sharing=Sharing.STAFF)  # fmt: skip
    client = actors.client("owner_viewer")
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("charts:export", args=[chart.uuid, "csv"])).content.decode("utf-8-sig")
            )
        )
    )
    expected = Counter("令和5年度" if r["時刻"].month == 3 else "令和6年度" for r in ROWS)
    assert {r[0]: int(r[1]) for r in rows[1:]} == dict(expected)
    document["query"]["group_by"] = [{"column": "時刻", "grain": "hour", "as": "時"}]
    document["visual"].update({"x": "時"})
    chart_update(actor=actor_for(actors.users["owner_editor"]), chart=chart, lock_version=2, title="時間帯別",
                 document=document, sharing=Sharing.STAFF)  # fmt: skip
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("charts:export", args=[chart.uuid, "csv"])).content.decode("utf-8-sig")
            )
        )
    )
    by_hour = Counter(f"{r['時刻'].hour}時" for r in ROWS)
    assert {r[0]: int(r[1]) for r in rows[1:]} == dict(by_hour)
    assert rows[1][0] == "0時"  # hours in time order, not as text


def test_edit_page_round_trips_and_refuses_stale_edits(actors: Actors, table: Table) -> None:
    chart = make_chart(actors, table, sharing=Sharing.DEPARTMENT)
    url = reverse("charts:edit", args=[chart.uuid])
    check_statuses(
        actors, lambda c: c.get(url), {"owner_editor": 200, "admin": 200, "owner_viewer": 403, "staff": 404}
    )
    page = actors.client("owner_editor").get(url).content.decode()
    assert '<option value="区" selected>' in page  # the saved x comes back
    form = {"table": f"{table.dataset.slug}/{table.name}", "type": "pie", "x": "区", "y_op": "sum", "y_column": "人口",
            "sort": "value_desc", "stack": "stacked", "era": "wareki", "week_start": "monday", "donut": "on",
            "title": "区別の人口", "sharing": "staff", "lock_version": "1", "save": "1"}  # fmt: skip
    assert actors.client("owner_editor").post(url, form).status_code == 302
    chart.refresh_from_db()
    assert (chart.title, chart.sharing, chart.lock_version) == ("区別の人口", "staff", 2)
    assert chart.document["visual"]["type"] == "pie"
    expected: Counter[str] = Counter()
    for r in ROWS:
        expected[r["区"]] += r["人口"]
    body = actors.client("owner_viewer").get(reverse("charts:detail", args=[chart.uuid])).content.decode()
    for ward, total in expected.items():
        assert f"<td>{ward}</td><td>{total:,}</td>" in body
    stale = actors.client("owner_editor").post(url, {**form, "title": "古い画面"})
    assert stale.status_code == 409
    assert "他の人がこのグラフを先に変更しました" in stale.content.decode()


def test_ward_map_from_the_builder_shows_the_attribution(actors: Actors, table: Table) -> None:
    preview = actors.client("owner_editor").get(reverse("charts:preview"), {"table": f"{table.dataset.slug}/{table.name}",
        "type": "map", "x": "区", "y_op": "count", "sort": "key", "stack": "stacked", "era": "wareki",
        "week_start": "monday", "sharing": "private"}).content.decode()  # fmt: skip
    assert '<p class="help">地図: 「国土数値情報（行政区域データ）」（国土交通省）' in preview
    assert "区ごとの件数を示す" in preview


def test_data_of_a_colour_split_chart_is_exported_as_its_matrix(actors: Actors, table: Table) -> None:
    document = bar_document(table)
    document["query"]["group_by"] = [{"column": "区", "as": "区"}, {"column": "人口", "as": "人口"}]
    document["visual"].update({"x": "区", "y": "件数", "color": "人口"})
    chart = make_chart(actors, table)
    chart_update(actor=actor_for(actors.users["owner_editor"]), chart=chart, lock_version=1, title="区と人口",
                 document=document, sharing=Sharing.STAFF)  # fmt: skip
    data = actors.client("owner_viewer").get(reverse("charts:export", args=[chart.uuid, "csv"])).content
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    expected = Counter((r["区"], r["人口"]) for r in ROWS)
    people = rows[0][1:]
    assert rows[0][0] == "区"
    assert sorted(people, key=int) == sorted({str(r["人口"]) for r in ROWS}, key=int)
    for line in rows[1:]:
        for p, cell in zip(people, line[1:], strict=True):
            assert (int(cell) if cell else 0) == expected.get((line[0], int(p)), 0)


def test_builder_takes_several_conditions_all_of_which_must_hold(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    ref = f"{table.dataset.slug}/{table.name}"
    params = {"table": ref, "type": "bar", "x": "区", "y_op": "count", "sort": "key", "stack": "stacked",
              "era": "wareki", "week_start": "monday", "sharing": "private",
              "filter_column_0": "人口", "filter_op_0": "ge", "filter_value_0": "100",
              "filter_column_1": "区", "filter_op_1": "ne", "filter_value_1": "東区",
              "filter_column_2": "名前", "filter_op_2": "eq", "filter_value_2": ""}  # fmt: skip
    body = client.get(reverse("charts:preview"), params).content.decode()
    want = Counter(r["区"] for r in ROWS if r["人口"] >= 100 and r["区"] != "東区")
    for ward, n in want.items():
        assert f"<td>{ward}</td><td>{n}</td>" in body
    assert "<td>東区</td>" not in body  # the empty third condition is left out, not "名前 = ''"
    saved = client.post(reverse("charts:new"), {**params, "title": "条件つき", "save": "1"})
    assert saved.status_code == 302
    chart = Chart.objects.get(title="条件つき")
    assert chart.document["query"]["filters"] == [
        {"column": "人口", "op": "ge", "value": 100},
        {"column": "区", "op": "ne", "value": "東区"},
    ]
    edit = client.get(reverse("charts:edit", args=[chart.uuid])).content.decode()
    assert '<label for="id_filter_column_1">条件2：列</label>' in edit
    assert 'name="filter_value_1" value="東区"' in edit
    blanks = client.get(
        reverse("charts:preview"), {**params, "filter_column_2": "名前", "filter_op_2": "not_null"}
    )
    assert blanks.status_code == 200
