"""Issue 14 point 3: path traversal and IDOR on every download and export route.

The attacker is an 編集 of 健康づくり推進課 (signed in by session, and with a personal API token); the
victims are 警防課's 所属限定 entry, a hidden 機密 entry, a retired 所属限定 entry, 警防課's private
chart, dashboard and 照会, and files of the server itself (the secret key, settings). Every
download and export route is tried with the victims' ids, with ids that do not exist or overflow the
database, with encoded traversal (``..%2f``, ``%2e%2e``, ``%252e``, backslashes, NUL) in path
parameters, format names and query parameters, and with one object's id under another's (a 照会's
recipient under a different 照会). Every answer must be a refusal (401/403/404, or 400/422 for a
malformed parameter) and hold none of the victims' data; none may be a server error. The
attacker's own downloads are fetched too, so the data markers are shown to be findable.

Figure (``MACHIDATA_SECURITY_REPORT``): routes, requests, leaks 0, server errors 0.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.tests.table_fixtures import make_table, write
from machidata.core.testing import Actors, make_actors, make_dataset, make_token

SECRETS = {"other": "秘密の警防データ", "hidden": "秘密の機密データ", "retired": "秘密の廃止データ"}
OWN = "自課のデータ"
SENTINEL = "SENTINEL-SECRET-KEY-0123456789"  # written as MACHIDATA_HOME/secret_key
REFUSED = {400, 401, 403, 404, 405, 422}
# Encoded ways out of a path segment: each is tried in place of an id, a name or a format.
TRAVERSALS = (
    "..%2f..%2f..%2fsecret_key",
    "%2e%2e%2f%2e%2e%2fsecret_key",
    "%252e%252e%252fsecret_key",
    "..%5c..%5csecret_key",
    "....%2f%2f....%2f%2fsecret_key",
    "..",
    "%2e%2e",
    "csv%00",
    "csv%2f..%2f..%2fsecret_key",
)
HUGE = "99999999999999999999999"


@dataclass
class Victims:
    own: Any
    datasets: dict[str, Any]
    chart: Any
    own_chart: Any
    board: Any
    campaign: Any
    recipient: Any
    own_campaign: Any


def _dataset(actors: Actors, key: str, unit: Any, **fields: Any) -> Any:
    d = make_dataset(unit, title=f"{key}のデータ", slug=f"dl-{key}", **fields)
    table = make_table(d, name="t")
    write(table, [{"区": SECRETS.get(key, OWN), "人口": 1}])
    write(table, [{"区": SECRETS.get(key, OWN), "人口": 2}])  # two versions: version numbers to try
    return d


def build(actors: Actors, home: Path) -> Victims:
    from machidata.catalog.services import dataset_retire
    from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_create
    from machidata.collect.services import campaign_create

    org = actors.org
    (home / "secret_key").write_text(SENTINEL)
    fire = org.fire_div
    victim = actor_for(actors.users["other_editor"])
    own = _dataset(actors, "own", org.health_div, classification=Classification.RESTRICTED)
    datasets = {
        "other": _dataset(actors, "other", fire, classification=Classification.RESTRICTED),
        "hidden": _dataset(
            actors, "hidden", fire, classification=Classification.CONFIDENTIAL, discoverable=False
        ),
        "retired": _dataset(actors, "retired", fire, classification=Classification.RESTRICTED),
    }
    dataset_retire(actor=victim, dataset=datasets["retired"], reason="統合のため")

    def document(d: Any) -> dict[str, Any]:
        return {
            "query": {
                "table": {"dataset": d.slug, "name": "t"},
                "filters": [],
                "group_by": [{"column": "区"}],
                "measures": [{"op": "count"}],
            },
            "visual": {"type": "bar", "x": "区", "y": "件数", "options": {}},
            "meta": {},
        }

    chart = chart_create(
        actor=victim,
        title="警防の内部グラフ",
        document=document(datasets["other"]),
        source="",
        sharing="private",
    )
    editor = actor_for(actors.users["owner_editor"])
    own_chart = chart_create(
        actor=editor, title='自課の"グラフ"/../../x\\y', document=document(own), source="", sharing="private"
    )
    board = dashboard_create(actor=victim, title="警防の内部ボード", sharing="private")
    board = dashboard_add_chart(
        actor=victim, dashboard=board, lock_version=board.lock_version, chart_uuid=str(chart.uuid)
    )
    deadline = dt.date.today() + dt.timedelta(days=14)
    campaign = campaign_create(
        actor=victim, table=datasets["other"].tables.get(), title="警防の照会", deadline=deadline,
        unit_ids=[], facilities=["第1消防出張所"],
    )  # fmt: skip
    own_campaign = campaign_create(
        actor=editor, table=own.tables.get(), title="自課の照会", deadline=deadline,
        unit_ids=[], facilities=["第1合成小学校"],
    )  # fmt: skip
    return Victims(
        own=own,
        datasets=datasets,
        chart=chart,
        own_chart=own_chart,
        board=board,
        campaign=campaign,
        recipient=campaign.recipients.get(),
        own_campaign=own_campaign,
    )


def attempts(v: Victims) -> list[tuple[str, str, str, Any]]:
    """(route, method, URL, JSON body) of every attempt: victims' ids, overflowing ids, traversal."""
    out: list[tuple[str, str, str, Any]] = []
    own = v.own.slug

    def get(route: str, url: str) -> None:
        out.append((route, "GET", url, None))

    # The list of versions is shown to whoever may discover an entry (metadata, no data): the hidden one.
    get("GET /api/v1/.../versions", f"/api/v1/datasets/{v.datasets['hidden'].slug}/tables/t/versions")
    for d in v.datasets.values():
        for fmt in ("csv", "xlsx", "json", "parquet", "geojson"):
            get("catalog:table_download", f"/catalog/{d.slug}/tables/t/download/?format={fmt}")
            get("GET /api/v1/.../download", f"/api/v1/datasets/{d.slug}/tables/t/download?format={fmt}")
        for number in ("1", "2"):
            get("catalog:table_download", f"/catalog/{d.slug}/tables/t/download/?v={number}")
            get("GET /api/v1/.../download", f"/api/v1/datasets/{d.slug}/tables/t/download?version={number}")
        get("GET /api/v1/.../rows", f"/api/v1/datasets/{d.slug}/tables/t/rows")
        get("portal:download", f"/open/datasets/{d.slug}/t.csv")
        preview = "/charts/preview/?type=bar&x=区&measure=count&table="
        for table in (
            f"{d.slug}/t",
            f"{own}/../{d.slug}/t",
            f"{own}%2f..%2f{d.slug}%2ft",
            f"{own}/t/../../{d.slug}/t",
        ):
            get("charts:preview", preview + table)
        for fmt in ("json", "csv", "arrow"):
            body = {"dataset": d.slug, "table": "t", "query": {}}
            out.append(("POST /api/v1/query", "POST", f"/api/v1/query?format={fmt}", body))
        # Another entry's table reached through the attacker's own entry.
        for hop in (f"..%2f..%2f{d.slug}%2ftables%2ft", f"%2e%2e%2f%2e%2e%2f{d.slug}%2ftables%2ft"):
            get("catalog:table_download", f"/catalog/{own}/tables/{hop}/download/")
            get("GET /api/v1/.../download", f"/api/v1/datasets/{own}/tables/{hop}/download")
        get("catalog:table_download", f"/catalog/{own}/../{d.slug}/tables/t/download/")
        get("GET /api/v1/query (table path)", "/api/v1/query")  # GET on a POST route: 405
        body = {"dataset": own, "table": f"../../{d.slug}/t", "query": {}}
        out.append(("POST /api/v1/query", "POST", "/api/v1/query", body))
        body = {"dataset": f"{own}/../{d.slug}", "table": "t", "query": {}}
        out.append(("POST /api/v1/query", "POST", "/api/v1/query", body))
    # Overflowing and malformed ids and versions on the attacker's own table.
    for raw in (HUGE, "-1", "0", "1e3", "..%2f1", "1%00", "%c0%ae%c0%ae%2f"):
        get("catalog:table_download", f"/catalog/{own}/tables/t/download/?v={raw}")
        get("GET /api/v1/.../download", f"/api/v1/datasets/{own}/tables/t/download?version={raw}")
    for t in TRAVERSALS:
        get("catalog:table_download", f"/catalog/{own}/tables/t/download/?format={t}")
        get("catalog:table_download", f"/catalog/{own}/tables/t/download/?encoding={t}")
        get("catalog:table_download", f"/catalog/{own}/tables/{t}/download/")
        get("catalog:table_download", f"/catalog/{t}/tables/t/download/")
        get("GET /api/v1/.../download", f"/api/v1/datasets/{own}/tables/t/download?format={t}")
        get("GET /api/v1/.../download", f"/api/v1/datasets/{own}/tables/{t}/download")
        get("GET /api/v1/.../download", f"/api/v1/datasets/{t}/tables/t/download")
        get("portal:download", f"/open/datasets/{t}/t.csv")
        get("portal:download", f"/open/datasets/{own}/{t}.csv")
        get("catalog:export", f"/catalog/export.{t}")
        get("charts:export", f"/charts/{v.own_chart.uuid}/export/{t}/")
        get("GET /api/v1/charts/{uuid}/export/{fmt}", f"/api/v1/charts/{v.own_chart.uuid}/export/{t}")
        get("charts:dashboard_export", f"/charts/dashboards/{v.board.uuid}/export/{t}/")
        get("analysis:export", f"/analysis/1/export/{t}")
        get("static", f"/static/{t}")
        get("static", f"/static/admin/{t}")
    # Private charts, dashboards and 照会 of 警防課; one object's id under another's.
    for fmt in ("csv", "xlsx", "png", "svg", "json"):
        get("charts:export", f"/charts/{v.chart.uuid}/export/{fmt}/")
        get("GET /api/v1/charts/{uuid}/export/{fmt}", f"/api/v1/charts/{v.chart.uuid}/export/{fmt}")
    get("GET /api/v1/charts/{uuid}/spec", f"/api/v1/charts/{v.chart.uuid}/spec")
    for fmt in ("pptx", "pdf", "csv"):
        get("charts:dashboard_export", f"/charts/dashboards/{v.board.uuid}/export/{fmt}/")
    for campaign in (v.campaign, v.own_campaign):
        get("collect:template", f"/collect/{campaign.pk}/r/{v.recipient.pk}/template.xlsx")
        api = f"/api/v1/campaigns/{campaign.pk}/recipients/{v.recipient.pk}/template"
        get("GET /api/v1/campaigns/.../template", api)
    get("collect:template", f"/collect/{v.own_campaign.pk}/r/{HUGE}/template.xlsx")
    get("analysis:export", f"/analysis/{HUGE}/export/xlsx")
    get("static", "/static/../secret_key")
    get("static", "/static/%2e%2e/%2e%2e/machidata/config/settings.py")
    return out


@dataclass
class Tally:
    routes: set[str] = field(default_factory=set)
    requests: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def figure(self) -> dict[str, int]:
        return {
            "routes": len(self.routes),
            "requests": self.requests,
            "leaks": len(self.leaks),
            "server_errors": len(self.errors),
        }


def _body(response: Any) -> str:
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return raw.decode("utf-8", "replace")


def _send(client: Client, method: str, url: str, body: Any) -> Any:
    if method == "POST":
        return client.post(url, json.dumps(body), content_type="application/json")
    return client.get(url)


def _judge(tally: Tally, response: Any, *, who: str, route: str, method: str, url: str) -> None:
    tally.requests += 1
    tally.routes.add(route)
    where = f"{route} as {who}: {method} {url} → {response.status_code}"
    if response.status_code >= 500:
        tally.errors.append(where)
        return
    body = _body(response)
    leaked = [s for s in (*SECRETS.values(), SENTINEL, "SECRET_KEY", "DJANGO_SETTINGS_MODULE") if s in body]
    refused = response.status_code in REFUSED or (
        # a malformed format on one's own table sends the user back to its page with a message
        response.status_code == 302
        and str(response["Location"]).startswith(("/catalog/", "/accounts/", "/login"))
    )
    if leaked or not refused:
        tally.leaks.append(f"{where} {leaked or ''}")


@pytest.mark.slow
@pytest.mark.django_db
def test_downloads_refuse_other_ids_and_traversal(settings: Any, tmp_path: Path) -> None:
    settings.MACHIDATA_HOME = tmp_path
    actors = make_actors()
    v = build(actors, tmp_path)
    attacker = actors.client("owner_editor")
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['owner_editor'])}")
    tally = Tally()
    # The markers are findable: the attacker's own data comes through where it should.
    own = attacker.get(f"/catalog/{v.own.slug}/tables/t/download/?format=csv")
    assert own.status_code == 200
    assert OWN in _body(own)
    theirs = actors.client("other_editor").get(f"/catalog/{v.datasets['other'].slug}/tables/t/download/")
    assert SECRETS["other"] in _body(theirs)  # and the victims' markers come through to their owners
    for route, method, url, body in attempts(v):
        for who, client in (("session", attacker), ("anonymous", Client())):
            if url.startswith("/api/") and who == "session":
                client = bearer  # noqa: PLW2901 — the API as a program calls it
            _judge(tally, _send(client, method, url, body), who=who, route=route, method=method, url=url)
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": "downloads", **tally.figure()}) + "\n")
    print("downloads:", tally.figure())  # noqa: T201 — the figure for docs/security.md
    assert not tally.errors, "server errors:\n" + "\n".join(tally.errors)
    assert not tally.leaks, "answered or leaked:\n" + "\n".join(tally.leaks)


@pytest.mark.django_db
def test_export_file_names_cannot_leave_the_download(settings: Any, tmp_path: Path) -> None:
    """A title full of quotes, slashes and dots becomes a plain file name (no path, no header break)."""
    settings.MACHIDATA_HOME = tmp_path
    actors = make_actors()
    v = build(actors, tmp_path)
    client = actors.client("owner_editor")
    for fmt in ("csv", "xlsx"):
        response = client.get(reverse("charts:export", args=[v.own_chart.uuid, fmt]))
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert "../" not in disposition
        assert "\\" not in disposition.replace('\\"', "")
        assert "\n" not in disposition
