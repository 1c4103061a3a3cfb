"""Public sharing of charts and dashboards (issue 7 point 5): the 公開申請 route, its gates, view-time
withdrawal, the published version only, cache isolation, the public pages and exports, the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from machidata.access.models import Classification
from machidata.access.policy import ANONYMOUS
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.query_selectors import table_query
from machidata.catalog.tests.table_fixtures import make_table, write
from machidata.charts import public
from machidata.charts.models import PublicShare, ShareAction, ShareRequest, Sharing
from machidata.charts.selectors import chart_render, document_query
from machidata.charts.services import chart_create, chart_update, dashboard_update
from machidata.charts.services_public import (
    public_withdraw,
    share_request_act,
    share_request_cancel,
    share_request_create,
)
from machidata.charts.tests.public_fixtures import (
    V1_ROWS,
    V2_ROWS,
    approve_all,
    as_,
    bar_document,
    make_board,
    make_public_chart_candidate,
    publish,
    unpublish,
)
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, make_dataset

pytestmark = pytest.mark.django_db


def counts(rendered: Any) -> dict[str, int]:
    """Ward → count from a rendered bar chart's rows."""
    return {r["区"]: r["件数"] for r in rendered.data.rows}


# ---- the route ------------------------------------------------------------------------------------


def test_request_walks_head_then_strategy_and_publishes(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart, reason="市民向けに")
    assert [s["key"] for s in req.steps] == ["head", "strategy"]
    assert req.steps[0]["unit_id"] == cast.org.health_div.pk
    assert public.public_state(chart) == public.STATE_PENDING
    with pytest.raises(NotFound):  # not public before the last approval
        public.public_chart(chart.uuid)
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    assert req.status == "pending"
    assert req.current_step == 1
    req = share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    assert req.status == "approved"
    share, shown = public.public_chart(chart.uuid)
    assert share.request_id == req.pk
    assert counts(shown.rendered) == dict.fromkeys(["中央区", "東区", "西区", "南区", "北区"], 5)
    assert public.public_state(chart) == public.STATE_PUBLIC
    verbs = list(
        AuditEvent.objects.filter(action__startswith="chart.public")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert verbs == [
        "chart.public_request",
        "chart.public_request.approve",
        "chart.public_request.approve",
        "chart.public_publish",
    ]


def test_deputy_decides_on_behalf_of_the_head(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart, by=("deputy", "admin"))
    first = ShareAction.objects.get(step_key="head")
    assert first.actor == cast.users["deputy"]
    assert first.on_behalf_of == cast.users["head"]


def test_route_rules(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(PermissionDenied):  # the requester never decides
        share_request_act(actor=as_(cast, "owner_editor"), request=req, decision="approve")
    with pytest.raises(PermissionDenied):  # データ戦略課 is not the 課長's step
        share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    with pytest.raises(Conflict):  # one pending request at a time
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(InvalidInput):  # a return needs a comment
        share_request_act(actor=as_(cast, "head"), request=req, decision="return")
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="return", comment="説明を足して")
    assert req.status == "returned"
    assert not PublicShare.objects.exists()


def test_only_owner_editor_or_admin_files(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    for name in ("staff", "owner_viewer", "other_editor"):
        with pytest.raises(PermissionDenied):
            share_request_create(actor=as_(cast, name), obj=chart)
    assert not ShareRequest.objects.exists()


def test_cancel_by_requester(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    with pytest.raises(PermissionDenied):
        share_request_cancel(actor=as_(cast, "staff"), request=req)
    assert share_request_cancel(actor=as_(cast, "owner_editor"), request=req).status == "cancelled"
    assert public.public_state(chart) == public.STATE_NONE


# ---- gates ----------------------------------------------------------------------------------------


def test_gate_refuses_a_table_without_a_published_version(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="not-yet")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "公開中の版がありません" in refused.value.message
    assert not ShareRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="chart.public").exists()


def test_gate_refuses_a_dataset_that_is_not_public(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL, slug="internal")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "公開区分ではありません" in refused.value.message


def test_gate_refuses_a_pin_to_an_unpublished_version(cast: Actors, open_table: Table) -> None:
    write(open_table, V2_ROWS)  # version 2: internal head, not published
    chart = make_public_chart_candidate(cast, open_table)
    document = {**chart.document, "query": {**chart.document["query"], "table": {
        "dataset": open_table.dataset.slug, "name": open_table.name, "version": 2}}}  # fmt: skip
    chart = chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                         title=chart.title, document=document, sharing=Sharing.STAFF)  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    assert "第2版に固定されていますが、その版は公開されていません" in refused.value.message


def test_gates_are_checked_again_at_each_approval(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    req = share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    unpublish(open_table)
    with pytest.raises(InvalidInput) as refused:
        share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    assert "公開中の版がありません" in refused.value.message
    assert not PublicShare.objects.exists()


def test_an_edit_after_filing_stops_the_approval(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=chart)
    chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                 title="別の題名", document=chart.document, sharing=Sharing.STAFF)  # fmt: skip
    with pytest.raises(Conflict):
        share_request_act(actor=as_(cast, "head"), request=req, decision="approve")


def test_a_later_edit_does_not_reach_the_public_page(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    chart_update(actor=as_(cast, "owner_editor"), chart=chart, lock_version=chart.lock_version,
                 title="こっそり変えた題名", document=chart.document, sharing=Sharing.STAFF)  # fmt: skip
    _, shown = public.public_chart(chart.uuid)
    assert shown.title == "区別の件数"


# ---- view time: the published version only, withdrawal without a request ---------------------------


def test_public_chart_follows_the_published_version_only(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    v2 = write(open_table, V2_ROWS)  # a newer internal head: staff see it, the public does not
    staff = chart_render(actor=as_(cast, "owner_editor"), chart=chart)
    assert set(counts(staff).values()) == {10}
    _, shown = public.public_chart(chart.uuid)
    assert shown.version.number == 1
    assert set(counts(shown.rendered).values()) == {5}
    publish(open_table, v2, cast.users["owner_editor"])  # the newer version is published: shown by itself
    _, shown = public.public_chart(chart.uuid)
    assert shown.version.number == 2
    assert set(counts(shown.rendered).values()) == {10}


def test_withdrawn_table_makes_the_public_chart_404_and_leaves_the_list(
    cast: Actors, open_table: Table
) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    client = Client()
    assert client.get(f"/open/charts/{chart.uuid}/").status_code == 200
    assert str(chart.uuid) in client.get("/open/charts/").content.decode()
    unpublish(open_table)
    assert client.get(f"/open/charts/{chart.uuid}/").status_code == 404
    assert client.get(f"/open/charts/{chart.uuid}/export/csv/").status_code == 404
    listing = client.get("/open/charts/").content.decode()
    assert str(chart.uuid) not in listing
    assert "まだ公開されているグラフはありません" in listing
    assert public.public_state(chart) == public.STATE_STOPPED
    assert PublicShare.objects.get().withdrawn_at is None  # nothing was filed: it comes back with the table


def test_withdrawal_through_the_publication_route(cast: Actors, open_table: Table, settings: Any) -> None:
    """The publish room's own 非公開化 (filed and decided by its services) takes the chart down."""
    from machidata.publish.services import publication_act, publication_withdraw_request

    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    req = publication_withdraw_request(
        actor=as_(cast, "owner_editor"), dataset=open_table.dataset, note="誤り"
    )
    publication_act(actor=as_(cast, "head"), request=req, decision="approve")
    assert Client().get(f"/open/charts/{chart.uuid}/").status_code == 404


def test_owner_or_admin_stops_publishing_at_once(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    for name in ("staff", "owner_viewer", "head"):
        with pytest.raises(PermissionDenied):
            public_withdraw(actor=as_(cast, name), obj=chart)
    public_withdraw(actor=as_(cast, "owner_editor"), obj=chart, reason="古くなった")
    assert Client().get(f"/open/charts/{chart.uuid}/").status_code == 404
    event = AuditEvent.objects.get(action="chart.public_withdraw")
    assert event.changes["reason"] == "古くなった"
    assert public.public_state(chart) == public.STATE_NONE
    with pytest.raises(InvalidInput):
        public_withdraw(actor=as_(cast, "admin"), obj=chart)


# ---- cache isolation ------------------------------------------------------------------------------


def test_cache_is_keyed_by_the_anonymous_context_and_the_public_version(
    cast: Actors, open_table: Table, settings: Any
) -> None:
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 600
    cache.clear()
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    cache.clear()  # saving and the gates drew the chart already (as its owner, and as the public)
    query = document_query(chart.document)
    staff = table_query(actor=as_(cast, "owner_editor"), table=open_table, query=query, version=1)
    assert staff.cached is False
    assert table_query(actor=as_(cast, "owner_editor"), table=open_table, query=query, version=1).cached
    # the same query on the same version: the public's answer is its own, never the staff member's entry
    first = table_query(actor=ANONYMOUS, table=open_table, query=query, version=1)
    assert first.cached is False
    assert table_query(actor=ANONYMOUS, table=open_table, query=query, version=1).cached


def test_staff_cached_rows_never_reach_the_public_page_and_back(
    cast: Actors, open_table: Table, settings: Any
) -> None:
    settings.MACHIDATA_QUERY_CACHE_SECONDS = 600
    cache.clear()
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    write(open_table, V2_ROWS)  # staff read the internal head (10 a ward), the public version 1 (5 a ward)
    staff_client = cast.client("owner_editor")
    assert "<td>10</td>" in staff_client.get(f"/charts/{chart.uuid}/").content.decode()
    page = Client().get(f"/open/charts/{chart.uuid}/").content.decode()
    assert "<td>5</td>" in page
    assert "<td>10</td>" not in page
    cache.clear()  # and the other way round: the public first, then staff
    page = Client().get(f"/open/charts/{chart.uuid}/").content.decode()
    assert "<td>5</td>" in page
    staff_page = staff_client.get(f"/charts/{chart.uuid}/").content.decode()
    assert "<td>10</td>" in staff_page
    assert "<td>5</td>" not in staff_page


# ---- dashboards -----------------------------------------------------------------------------------


def test_public_dashboard_and_its_gates(cast: Actors, open_table: Table, lake_home: Any) -> None:
    one = make_public_chart_candidate(cast, open_table)
    two = make_public_chart_candidate(cast, open_table, type="pie")
    board = make_board(cast, [one, two])
    approve_all(cast, board)
    response = Client().get(f"/open/dashboards/{board.uuid}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "区のようす" in body
    assert "説明の文章" in body
    assert body.count('data-vl-spec="spec-') == 2
    assert "CC BY 4.0" in body
    assert "熊本市健康づくり推進課" in body
    assert str(board.uuid) in Client().get("/open/charts/").content.decode()
    unpublish(open_table)
    assert Client().get(f"/open/dashboards/{board.uuid}/").status_code == 404


def test_dashboard_gate_names_the_chart_whose_table_is_not_published(cast: Actors, open_table: Table) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="other")
    other = make_table(dataset)
    write(other, V2_ROWS)
    hidden = make_public_chart_candidate(cast, other)
    board = make_board(cast, [make_public_chart_candidate(cast, open_table), hidden])
    with pytest.raises(InvalidInput) as refused:
        share_request_create(actor=as_(cast, "owner_editor"), obj=board)
    assert refused.value.details["gates"] == [
        f"グラフ「区別の件数」の元の表「{dataset.title}／{other.title}」には公開中の版がありません。"
        "先にデータセットの公開申請をして、決裁を受けてください。"
    ]


def test_empty_dashboard_is_refused(cast: Actors, open_table: Table) -> None:
    board = make_board(cast, [])
    with pytest.raises(InvalidInput, match="グラフを1つ以上"):
        share_request_create(actor=as_(cast, "owner_editor"), obj=board)


# ---- public pages and exports ---------------------------------------------------------------------


def test_public_chart_page_attribution_and_exports(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    client = Client()
    body = client.get(f"/open/charts/{chart.uuid}/").content.decode()
    for text in ("区別の件数", "熊本市 住民基本台帳", "CC BY 4.0", "熊本市健康づくり推進課", "公開中の第1版",
                 "データを表で見る", "/static/vendor/vega/"):  # fmt: skip
        assert text in body
    png = client.get(f"/open/charts/{chart.uuid}/export/png/")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    svg = client.get(f"/open/charts/{chart.uuid}/export/svg/")
    assert svg.status_code == 200
    assert b"<svg" in svg.content
    data = client.get(f"/open/charts/{chart.uuid}/export/csv/")
    rows = list(csv.reader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert ["中央区", "5"] in rows
    assert client.get(f"/open/charts/{chart.uuid}/export/xlsx/").status_code == 404  # PNG/SVG/CSV only
    assert AuditEvent.objects.filter(action="chart.public.export").count() == 3


def test_private_or_unpublished_things_are_404_for_everyone(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table, sharing=Sharing.PRIVATE)
    share_request_create(actor=as_(cast, "owner_editor"), obj=chart)  # pending only
    for name in ("anonymous", "owner_editor", "admin"):
        client = cast.client(name)
        assert client.get(f"/open/charts/{chart.uuid}/").status_code == 404
        assert client.get("/open/dashboards/00000000-0000-0000-0000-000000000000/").status_code == 404


# ---- staff pages and the API ----------------------------------------------------------------------


def test_chart_page_shows_the_state_and_the_inbox_shows_the_request(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    owner = cast.client("owner_editor")
    page = owner.get(f"/charts/{chart.uuid}/").content.decode()
    assert "状態: <strong>非公開</strong>" in page
    assert "公開申請する" in page
    response = owner.post(f"/charts/{chart.uuid}/public-request/", {"reason": "広報に使う"})
    req = ShareRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/charts/public-requests/{req.pk}/"
    assert "状態: <strong>公開申請中</strong>" in owner.get(f"/charts/{chart.uuid}/").content.decode()
    head = cast.client("head")
    assert f"/charts/public-requests/{req.pk}/" in head.get("/publication/?scope=awaiting").content.decode()
    assert (
        f"/charts/public-requests/{req.pk}/"
        not in cast.client("admin").get("/publication/?scope=awaiting").content.decode()
    )  # not データ戦略課's turn yet
    assert head.post(f"/charts/public-requests/{req.pk}/act/", {"decision": "approve"}).status_code == 302
    admin = cast.client("admin")
    assert f"/charts/public-requests/{req.pk}/" in admin.get("/publication/?scope=awaiting").content.decode()
    admin.post(f"/charts/public-requests/{req.pk}/act/", {"decision": "approve"})
    assert "状態: <strong>公開中</strong>" in owner.get(f"/charts/{chart.uuid}/").content.decode()
    assert cast.client("staff").get(f"/charts/public-requests/{req.pk}/").status_code == 404


def test_failed_gate_is_said_on_the_chart_page(cast: Actors, lake_home: Any) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="no-pub")
    table = make_table(dataset)
    write(table, V2_ROWS)
    chart = make_public_chart_candidate(cast, table)
    owner = cast.client("owner_editor")
    response = owner.post(f"/charts/{chart.uuid}/public-request/", follow=True)
    assert "公開中の版がありません" in response.content.decode()
    assert not ShareRequest.objects.exists()


def test_api_exposes_the_state_and_files_and_withdraws(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    board = make_board(cast, [chart])
    owner = cast.client("owner_editor")
    listed = owner.get("/api/v1/charts/").json()["items"]
    assert listed[0]["public"] == "非公開"
    assert listed[0]["public_url"] is None
    made = owner.post(
        f"/api/v1/charts/{chart.uuid}/public-requests", {"reason": ""}, content_type="application/json"
    )
    assert made.status_code == 201
    assert made.json()["status"] == "pending"
    assert owner.get(f"/api/v1/charts/{chart.uuid}").json()["public"] == "公開申請中"
    req = ShareRequest.objects.get()
    share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    got = owner.get(f"/api/v1/charts/{chart.uuid}").json()
    assert got["public"] == "公開中"
    assert got["public_url"] == f"/open/charts/{chart.uuid}/"
    refused = cast.client("staff").post(
        f"/api/v1/charts/{chart.uuid}/public-withdrawal", {}, content_type="application/json"
    )
    assert refused.status_code == 403
    gone = owner.post(f"/api/v1/charts/{chart.uuid}/public-withdrawal", {}, content_type="application/json")
    assert gone.status_code == 200
    assert gone.json() == {"public": "非公開"}
    filed = owner.post(
        f"/api/v1/dashboards/{board.uuid}/public-requests", {}, content_type="application/json"
    )
    assert filed.status_code == 201
    assert owner.get(f"/api/v1/dashboards/{board.uuid}").json()["public"] == "公開申請中"


# ---- filters on the public dashboard (the staff page's filters and cross-filter) -------------------

WARD, DAY, FISCAL = 0, 1, 2  # the index of each filter: its query parameters are f0, f1_from/f1_to, f2
FILTERS = [{"column": "区", "kind": "value"}, {"column": "日付", "kind": "date_range"},
           {"column": "時刻", "kind": "fiscal_year"}]  # fmt: skip


def with_filters(cast: Actors, board: Any, filters: list[dict[str, Any]]) -> Any:
    """``board`` with ``filters`` (through the service, as the edit page does)."""
    return dashboard_update(
        actor=as_(cast, "owner_editor"), dashboard=board, lock_version=board.lock_version, title=board.title,
        description=board.description, sharing=board.sharing, filters=filters,
    )  # fmt: skip


@pytest.fixture
def shops(cast: Actors, lake_home: Any) -> Table:
    """A second published 公開 table with neither 区 nor 日付 nor 時刻 (6 rows: 飲食 4, 物販 2)."""
    dataset = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="shops-open",
                           title="店舗（公開）")  # fmt: skip
    table = make_table(dataset, name="shops", title="店舗", schema={"fields": [{"name": "分類"}]})
    rows = [{"分類": k, "金額": 100} for k in ["飲食"] * 4 + ["物販"] * 2]
    version = write(table, rows, schema=pa.schema([("分類", pa.string()), ("金額", pa.int64())]))
    publish(table, version, cast.users["owner_editor"])
    return Table.objects.get(pk=table.pk)


def shops_chart(cast: Actors, table: Table) -> Any:
    """Count of shops by 分類 (a bar chart whose table has none of the dashboard's filter columns)."""
    document = {
        "query": {"table": {"dataset": table.dataset.slug, "name": table.name}, "filters": [],
                  "group_by": [{"column": "分類"}], "measures": [{"op": "count"}]},
        "visual": {"type": "bar", "x": "分類", "y": "件数", "options": {}}, "meta": {},
    }  # fmt: skip
    return chart_create(actor=as_(cast, "owner_editor"), title="分類別の店舗数", document=document,
                        source="熊本市", sharing=Sharing.STAFF)  # fmt: skip


@pytest.fixture
def filtered_board(cast: Actors, open_table: Table, shops: Table) -> Any:
    """A public dashboard with the three filters: 区別の件数 (open_table) and 分類別の店舗数 (shops)."""
    board = make_board(cast, [make_public_chart_candidate(cast, open_table), shops_chart(cast, shops)])
    board = with_filters(cast, board, FILTERS)
    approve_all(cast, board)
    return board


def panel_rows(board: Any, params: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(区 → 件数, 分類 → 件数) of the public dashboard with ``params``."""
    shown = public.public_dashboard(board.uuid, params)
    wards, kinds = [p.chart for p in shown.panels if p.kind == "chart"]
    assert wards is not None
    assert kinds is not None
    assert not wards.error, wards.error
    assert not kinds.error, kinds.error
    assert wards.rendered is not None
    assert kinds.rendered is not None
    return counts(wards.rendered), {r["分類"]: r["件数"] for r in kinds.rendered.data.rows}


def expected(keep: Any) -> dict[str, int]:
    """区 → number of V1_ROWS kept by ``keep`` (computed from the rows, not by the code under test)."""
    return dict(Counter(r["区"] for r in V1_ROWS if keep(r)))


ALL_SHOPS = {"飲食": 4, "物販": 2}


def test_snapshot_keeps_the_filters_and_the_fingerprint_covers_them(cast: Actors, open_table: Table) -> None:
    board = make_board(cast, [make_public_chart_candidate(cast, open_table)])
    plain = public.dashboard_snapshot(actor=as_(cast, "owner_editor"), dashboard=board)
    assert "filters" not in plain  # a dashboard without filters: the snapshot (and fingerprint) as before
    board = with_filters(cast, board, FILTERS)
    snap = public.dashboard_snapshot(actor=as_(cast, "owner_editor"), dashboard=board)
    assert snap["filters"] == FILTERS
    assert public.fingerprint(snap) != public.fingerprint(plain)
    req = share_request_create(actor=as_(cast, "owner_editor"), obj=board)
    assert req.snapshot["filters"] == FILTERS
    share_request_act(actor=as_(cast, "head"), request=req, decision="approve")
    board = with_filters(cast, board, FILTERS[:1])  # a filter taken away after filing: not what was approved
    with pytest.raises(Conflict, match="絞り込み"):
        share_request_act(actor=as_(cast, "admin"), request=req, decision="approve")
    assert not PublicShare.objects.exists()


def test_a_value_filter_narrows_the_charts_with_the_column_only(cast: Actors, filtered_board: Any) -> None:
    assert panel_rows(filtered_board, {}) == (expected(lambda r: True), ALL_SHOPS)
    wards, kinds = panel_rows(filtered_board, {f"f{WARD}": "東区"})
    assert wards == expected(lambda r: r["区"] == "東区") == {"東区": 5}
    assert kinds == ALL_SHOPS  # the shops table has no 区: unaffected
    shown = public.public_dashboard(filtered_board.uuid, {f"f{WARD}": "東区"})
    charts = [p.chart for p in shown.panels if p.chart is not None]
    assert [c.filtered for c in charts] == [["区"], []]
    assert shown.filtering


def test_a_fiscal_year_filter_and_a_date_range(cast: Actors, filtered_board: Any) -> None:
    def fiscal(r: dict[str, Any], year: int) -> bool:
        t = r["時刻"]
        return dt.datetime(year, 4, 1) <= t < dt.datetime(year + 1, 4, 1)

    assert panel_rows(filtered_board, {f"f{FISCAL}": "2023"}) == (
        expected(lambda r: fiscal(r, 2023)),
        ALL_SHOPS,
    )
    assert panel_rows(filtered_board, {f"f{FISCAL}": "2024"})[0] == expected(lambda r: fiscal(r, 2024))
    assert expected(lambda r: fiscal(r, 2023)) == {"中央区": 1}  # the rows really straddle the year's start
    start, end = dt.date(2024, 4, 3), dt.date(2024, 4, 9)  # both days included
    wards, kinds = panel_rows(
        filtered_board, {f"f{DAY}_from": start.isoformat(), f"f{DAY}_to": end.isoformat()}
    )
    assert wards == expected(lambda r: start <= r["日付"] <= end)
    assert sum(wards.values()) == 7
    assert kinds == ALL_SHOPS
    # together: every chosen filter holds
    both = {f"f{WARD}": "中央区", f"f{DAY}_from": "2024-04-01", f"f{FISCAL}": "2024"}
    assert panel_rows(filtered_board, both)[0] == expected(lambda r: r["区"] == "中央区" and fiscal(r, 2024))


@pytest.mark.parametrize(
    "params",
    [
        {f"f{FISCAL}": "abc"},
        {f"f{FISCAL}": "²"},  # a digit to str.isdigit, no number to int
        {f"f{FISCAL}": "99999"},
        {f"f{DAY}_from": "2024-13-40", f"f{DAY}_to": "yesterday"},
        {"f9": "東区", "f-1": "x", "zzz": "1"},  # no such filter
    ],
)
def test_bad_values_are_taken_as_not_chosen(
    cast: Actors, filtered_board: Any, params: dict[str, str]
) -> None:
    assert panel_rows(filtered_board, params) == (expected(lambda r: True), ALL_SHOPS)
    response = Client().get(f"/open/dashboards/{filtered_board.uuid}/", params)
    assert response.status_code == 200
    assert "絞り込み: " not in response.content.decode()


def test_a_long_or_odd_value_never_gives_a_server_error(cast: Actors, filtered_board: Any) -> None:
    client = Client()
    for value in ("東" * 10_000, "' OR 1=1 --", "%", "\\", "区\x00"):
        response = client.get(f"/open/dashboards/{filtered_board.uuid}/", {f"f{WARD}": value})
        assert response.status_code == 200, value
        wards, kinds = panel_rows(filtered_board, {f"f{WARD}": value})
        assert wards == {}  # no ward has that name: nothing shown, nothing more
        assert kinds == ALL_SHOPS


def test_a_value_filter_on_a_number_column_never_gives_a_server_error(
    cast: Actors, open_table: Table
) -> None:
    board = with_filters(cast, make_board(cast, [make_public_chart_candidate(cast, open_table)]),
                         [{"column": "人口", "kind": "value"}, {"column": "区", "kind": "fiscal_year"},
                          {"column": "名前", "kind": "date_range"}])  # fmt: skip
    approve_all(cast, board)
    client = Client()
    for params in ({"f0": "abc"}, {"f0": "100"}, {"f1": "2024"}, {"f2_from": "2024-01-01"}):
        assert client.get(f"/open/dashboards/{board.uuid}/", params).status_code == 200, params
    wards = counts(next(p.chart for p in public.public_dashboard(board.uuid, {"f0": "100"}).panels
                        if p.chart is not None).rendered)  # fmt: skip
    assert wards == dict(Counter(r["区"] for r in V1_ROWS if r["人口"] == 100))


def test_the_page_has_the_staff_form_the_note_and_the_cross_filter(
    cast: Actors, filtered_board: Any, open_table: Table
) -> None:
    url = f"/open/dashboards/{filtered_board.uuid}/"
    body = Client().get(url).content.decode()
    for text in ('name="f0"', 'name="f1_from"', 'name="f1_to"', '<select id="f2" name="f2">',
                 "（すべての年度）", "絞り込む", f'<a href="{url}">絞り込みを外す</a>'):  # fmt: skip
        assert text in body, text
    # a click on a bar of 区別の件数 sets f0 (the 区 filter); 分類別の店舗数 has no 区 filter to set
    assert body.count('data-click-field="区" data-click-param="f0"') == 1
    assert body.count("data-click-param=") == 1
    assert "絞り込み: " not in body
    chosen = Client().get(url, {"f0": "西区", "f2": "2024"}).content.decode()
    assert chosen.count("絞り込み: 区・時刻") == 1  # on the chart with the columns only
    assert 'value="西区"' in chosen
    assert '<option value="2024" selected>' in chosen
    assert "絞り込んだ結果を表示しています" in chosen
    assert "<script>" not in chosen  # no inline script: the same charts.js under the strict CSP
    assert "/static/charts/charts.js" in chosen
    # a dashboard without filters shows no form
    plain = make_board(cast, [make_public_chart_candidate(cast, open_table)])
    approve_all(cast, plain)
    assert "絞り込みを外す" not in Client().get(f"/open/dashboards/{plain.uuid}/").content.decode()


def test_filters_only_narrow_the_published_version(
    cast: Actors, filtered_board: Any, open_table: Table
) -> None:
    write(open_table, V2_ROWS)  # a newer internal head (10 a ward): a filter never reaches it
    wards, _ = panel_rows(filtered_board, {f"f{WARD}": "北区"})
    assert wards == {"北区": 5}


def test_suppression_runs_on_the_filtered_answers(cast: Actors, open_table: Table) -> None:
    """Two suppressed charts (by 区, and the total): filtered to 2024年度, 中央区 has 4 (< 5) rows; the
    total must not give it away by subtraction."""
    editor = as_(cast, "owner_editor")
    by_ward = make_public_chart_candidate(cast, open_table, options={"suppress": True})
    total = bar_document(open_table)
    total["query"]["group_by"] = []
    total["visual"] = {"type": "number", "y": "件数", "options": {"suppress": True}}
    card = chart_create(actor=editor, title="合計", document=total, source="熊本市", sharing=Sharing.STAFF)
    board = with_filters(cast, make_board(cast, [by_ward, card]), FILTERS)
    approve_all(cast, board)

    def read(params: dict[str, str]) -> tuple[dict[str, Any], Any]:
        a, b = [p.chart for p in public.public_dashboard(board.uuid, params).panels if p.chart is not None]
        assert a is not None
        assert b is not None
        assert a.rendered is not None, a.error
        assert b.rendered is not None, b.error
        return counts(a.rendered), b.rendered.data.rows[0]["件数"]

    wards, whole = read({})
    assert wards == expected(lambda r: True)  # 5 a ward: nothing small
    assert whole == len(V1_ROWS)
    wards, whole = read({f"f{FISCAL}": "2024"})
    hidden = [w for w, n in wards.items() if n is None]
    assert "中央区" in hidden
    shown = sum(n for n in wards.values() if n is not None)
    assert whole is None or len(hidden) >= 2, (wards, whole, shown)  # no single cell left by subtraction


# ---- the portal's dataset page links the public charts drawn from it --------------------------------


def test_dataset_page_lists_its_live_public_charts(cast: Actors, open_table: Table, shops: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    board = make_board(cast, [shops_chart(cast, shops), make_public_chart_candidate(cast, open_table)])
    approve_all(cast, board)
    not_public = make_public_chart_candidate(cast, open_table)  # shared with staff, never published
    client = Client()
    page = client.get("/open/datasets/pop-open/").content.decode()
    assert "このデータのグラフ・ダッシュボード" in page
    assert f'<a href="/open/charts/{chart.uuid}/">区別の件数</a>（グラフ）' in page
    assert f'<a href="/open/dashboards/{board.uuid}/">区のようす</a>（ダッシュボード）' in page
    assert str(not_public.uuid) not in page
    english = client.get("/en/open/datasets/pop-open/").content.decode()
    assert "Charts and dashboards of this data" in english
    assert f'/open/charts/{chart.uuid}/">区別の件数</a> (chart)' in english
    assert f'/open/dashboards/{board.uuid}/">区のようす</a> (dashboard)' in english
    shops_page = client.get("/open/datasets/shops-open/").content.decode()
    assert f"/open/dashboards/{board.uuid}/" in shops_page  # the dashboard reads both datasets
    assert f"/open/charts/{chart.uuid}/" not in shops_page
    # stopped: the dashboard's other table is no longer published; withdrawn: the owner stops the chart
    unpublish(shops)
    public_withdraw(actor=as_(cast, "owner_editor"), obj=chart)
    page = client.get("/open/datasets/pop-open/").content.decode()
    assert str(board.uuid) not in page
    assert str(chart.uuid) not in page
    assert "このデータのグラフ・ダッシュボード" not in page  # an empty list shows nothing


def test_dataset_page_shows_nothing_without_public_charts_nor_another_datasets(
    cast: Actors, open_table: Table
) -> None:
    other = make_dataset(cast.org.health_div, classification=Classification.PUBLIC, slug="pop-open-x",
                         title="区別人口（別）")  # fmt: skip
    other_table = make_table(other)
    publish(other_table, write(other_table, V1_ROWS), cast.users["owner_editor"])
    approve_all(cast, make_public_chart_candidate(cast, other_table))  # slug pop-open-x, not pop-open
    page = Client().get("/open/datasets/pop-open/").content.decode()
    assert "このデータのグラフ・ダッシュボード" not in page
    assert "このデータのグラフ・ダッシュボード" in Client().get("/open/datasets/pop-open-x/").content.decode()


def test_dataset_list_takes_two_queries_whatever_the_number_of_charts(
    cast: Actors, open_table: Table, shops: Table
) -> None:
    def queries() -> tuple[int, int, int]:
        with CaptureQueriesContext(connection) as listed:
            found = public.public_shares_from(open_table.dataset)
        with CaptureQueriesContext(connection) as page:
            assert Client().get("/open/datasets/pop-open/").status_code == 200
        return len(found.shares), len(listed), len(page)

    approve_all(cast, make_public_chart_candidate(cast, open_table))
    one, one_list, one_page = queries()
    for _ in range(3):
        approve_all(cast, make_public_chart_candidate(cast, open_table))
    approve_all(
        cast, make_board(cast, [make_public_chart_candidate(cast, open_table), shops_chart(cast, shops)])
    )
    five, five_list, five_page = queries()
    assert (one, five) == (1, 5)
    assert one_list == five_list == 2
    assert one_page == five_page


def test_dataset_page_is_not_answered_304_after_a_chart_is_withdrawn(cast: Actors, open_table: Table) -> None:
    chart = make_public_chart_candidate(cast, open_table)
    approve_all(cast, chart)
    client = Client()
    first = client.get("/open/datasets/pop-open/")
    since = first["Last-Modified"]
    assert client.get("/open/datasets/pop-open/", HTTP_IF_MODIFIED_SINCE=since).status_code == 304
    public_withdraw(actor=as_(cast, "owner_editor"), obj=chart)
    later = timezone.now() + dt.timedelta(seconds=2)  # the second after: http dates have whole seconds
    PublicShare.objects.filter(withdrawn_at__isnull=False).update(withdrawn_at=later)
    again = client.get("/open/datasets/pop-open/", HTTP_IF_MODIFIED_SINCE=since)
    assert again.status_code == 200
    assert str(chart.uuid) not in again.content.decode()
