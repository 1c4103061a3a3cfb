"""Bringing in what is already published: a CP932 オープンデータ一覧 with title rows and a CKAN portal, against a
local HTTP server the tests start on 127.0.0.1 (never the internet).

The server answers ``package_search`` page by page as CKAN does (``rows``, ``start``, ``count``) and serves
the files; one host name (``localhost``) is not on the allow-list. The data are synthetic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, DataFormat, Dataset, Licence, Location, Table, TableVersion
from machidata.collect import remote
from machidata.collect.models import ImportSource, OpenDataEntry, OpenDataResource, OpenDataRun
from machidata.collect.opendata import opendata_plan, opendata_preview, opendata_start
from machidata.collect.opendata_sources import read_open_data_list
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, check_statuses

pytestmark = pytest.mark.django_db(transaction=True)

SHELTERS = "名称,区,収容人数\n第一合成小学校,中央区,300\n第二合成公園,東区,1200\n第三合成体育館,西区,450\n"
SHELTERS_CHANGED = SHELTERS + "第四合成中学校,南区,500\n"
TOILETS = "名称,区,バリアフリー\n合成公園トイレ,北区,あり\n合成駅前トイレ,中央区,なし\n"


@dataclass
class Site:
    """Files and CKAN packages the local server answers, and the requests it saw."""

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    packages: list[dict[str, Any]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def site(settings: Any) -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.seen.append(self.path)
            parts = urlsplit(self.path)
            if parts.path == "/api/3/action/package_search":
                query = parse_qs(parts.query)
                rows, start = int(query["rows"][0]), int(query.get("start", ["0"])[0])
                ordered = sorted(state.packages, key=lambda p: p["id"])
                body = {
                    "success": True,
                    "result": {"count": len(ordered), "results": ordered[start : start + rows]},
                }
                self._send(200, json.dumps(body).encode(), "application/json")
                return
            if parts.path not in state.files:
                self._send(404, b"not found", "text/plain")
                return
            body = state.files[parts.path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, body, "text/csv", etag=etag)

        def _send(self, status: int, body: bytes, kind: str, etag: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MACHIDATA_IMPORT_URL_HOSTS = [f"127.0.0.1:{state.port}"]
    settings.MACHIDATA_IMPORT_URL_TIMEOUT = 2
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def vocab(home: Path) -> None:
    Category.objects.create(code="population", name="人口・世帯", order=1)
    Category.objects.create(code="safety", name="防災・安全", order=2)
    Licence.objects.create(
        code="cc-by-4.0", name="クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）", is_open=True
    )
    for code, name in (("csv", "CSV"), ("xlsx", "Excel"), ("pdf", "PDF")):
        DataFormat.objects.create(code=code, name=name)


HEADER = (
    "都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,データ名称,データ概要,データ形式,分類,"
    "更新頻度,URL,API対応有無,ライセンス,登録日,最終更新日,備考"
)


def cp932_list(site: Site, *, shelter_title: str = "指定避難所一覧") -> bytes:
    """A list as cities publish it: a title row, a blank row, the standard header, full-width text, a note."""
    rows = [
        "熊本市オープンデータ一覧（令和5年12月現在）,,,,,,,,,,,,,,",
        ",,,,,,,,,,,,,,",
        HEADER,
        f"４３１００１,１,熊本県,熊本市,{shelter_title},市が指定する避難所の一覧です。,ＣＳＶ,防災・安全,年１回,"
        f"{site.url('/files/shelters.csv')},無,CC BY 4.0,2020/4/1,2023/12/1,",
        "431001,2,熊本県,熊本市,人口統計（合成）,町丁別の人口です。,PDF,人口・世帯,毎月,"
        "https://www.city.example.lg.jp/opendata/jinko.html,無,ＣＣ ＢＹ ４．０,2020/4/1,2023/12/1,冊子版もあります",
        f"431001,3,熊本県,熊本市,公衆トイレ一覧,トイレの一覧です。,CSV,その他,不定期,"
        f"{site.url('/files/toilets.csv', host='localhost')},無,CC BY 4.0,2021/4/1,2023/12/1,",
        "431001,4,熊本県,熊本市,,名前のない行,CSV,,,,,,,,",
        "※ この一覧は毎年12月に更新します。,,,,,,,,,,,,,,",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("cp932")


def test_reading_a_cp932_list_with_title_rows(site: Site) -> None:
    reading = read_open_data_list(cp932_list(site), file_name="list.csv", default_lg_code="999999")
    assert reading.header_row == 3
    assert [d.title for d in reading.datasets] == ["指定避難所一覧", "人口統計（合成）", "公衆トイレ一覧"]
    first, second, _ = reading.datasets
    assert first.key == "431001/no:1"  # full-width 「４３１００１」「１」 read as the same key as half-width
    assert first.lg_code == "431001"
    assert [(f.name, f.format) for f in first.files] == [("shelters.csv", "csv")]
    assert first.page_url == ""  # the URL is the file itself
    assert second.page_url == "https://www.city.example.lg.jp/opendata/jinko.html"
    assert second.files == []
    assert second.description == "町丁別の人口です。\n\n備考: 冊子版もあります"
    assert reading.skipped == [(7, "データ名称が空のため、取り込みません。")]
    assert "データ名称" in reading.mapping
    assert reading.mapping["データ名称"] == "title"


def test_a_file_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(InvalidInput, match="見出し行"):
        read_open_data_list(b"a,b,c\n1,2,3\n", file_name="x.csv", default_lg_code="431001")
    with pytest.raises(InvalidInput, match="CSV"):
        read_open_data_list(b"%PDF-1.4", file_name="x.pdf", default_lg_code="431001")


def test_list_preview_writes_nothing_then_import_then_rerun_changes_nothing(
    actors: Actors, vocab: None, site: Site
) -> None:
    admin = actor_for(actors.users["admin"])
    site.files["/files/shelters.csv"] = SHELTERS.encode()
    site.files["/files/toilets.csv"] = TOILETS.encode()
    content = cp932_list(site)
    run = opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=content, file_name="list.csv"
    )
    assert Dataset.objects.count() == 0
    assert OpenDataEntry.objects.count() == 0
    assert run.preview["counts"] == {"create": 3, "update": 0, "unchanged": 0, "skip": 0, "failed": 0}
    plans = {p["title"]: p for p in run.preview["plans"]}
    assert [f["action"] for f in plans["指定避難所一覧"]["files"]] == ["ingest"]
    toilet_files = plans["公衆トイレ一覧"]["files"]
    assert [f["action"] for f in toilet_files] == ["refused"]
    assert "許されたサーバーではない" in toilet_files[0]["reason"]
    assert any("分類「その他」" in w for w in plans["公衆トイレ一覧"]["warnings"])
    assert site.seen == []  # the preview fetched no file

    opendata_start(actor=admin, run=run)
    run.refresh_from_db()
    assert run.result["counts"]["create"] == 3, run.result
    shelters = Dataset.objects.get(title="指定避難所一覧")
    assert shelters.classification == Classification.PUBLIC
    assert shelters.owner == actors.org.fire_div
    assert shelters.licence.code == "cc-by-4.0"
    assert shelters.category.code == "safety"
    assert shelters.frequency == "yearly"
    assert shelters.lg_code == "431001"
    assert shelters.location == Location.MACHIDATA
    assert sorted(shelters.formats.values_list("code", flat=True)) == ["csv"]
    table = Table.objects.get(dataset=shelters)
    assert table.current_version is not None
    assert table.current_version.rows == 3
    jinko = Dataset.objects.get(title="人口統計（合成）")
    assert jinko.location == Location.EXTERNAL_URL
    assert jinko.location_detail == "https://www.city.example.lg.jp/opendata/jinko.html"
    assert jinko.licence.code == "cc-by-4.0"  # 「ＣＣ ＢＹ ４．０」 in full width
    toilets = Dataset.objects.get(title="公衆トイレ一覧")
    assert not Table.objects.filter(dataset=toilets).exists()
    assert not any("localhost" in s or "toilets" in s for s in site.seen)  # never contacted
    record = OpenDataResource.objects.get(entry__dataset=toilets)
    assert record.table is None
    assert record.url.endswith("/files/toilets.csv")

    versions, audits = TableVersion.objects.count(), AuditEvent.objects.count()
    fetched_before = len(site.seen)
    again = opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=content, file_name="list.csv"
    )
    opendata_start(actor=admin, run=again)
    again.refresh_from_db()
    assert again.result["counts"] == {"create": 0, "update": 0, "unchanged": 3, "skip": 0, "failed": 0}
    assert TableVersion.objects.count() == versions
    assert Dataset.objects.count() == 3
    assert len(site.seen) == fetched_before + 1  # one conditional GET of the shelters file, answered 304
    new_audit = set(AuditEvent.objects.order_by("pk").values_list("action", flat=True)[audits:])
    assert "dataset.update" not in new_audit
    assert "data.ingest" not in new_audit

    # The file changes and the title changes: the entry is updated (same dataset), a new version made.
    site.files["/files/shelters.csv"] = SHELTERS_CHANGED.encode()
    third = opendata_preview(
        actor=admin,
        origin="list",
        owner=actors.org.fire_div,
        content=cp932_list(site, shelter_title="指定避難所の一覧"),
        file_name="list.csv",
    )
    assert {p["title"]: p["changed"] for p in third.preview["plans"]}["指定避難所の一覧"] == ["タイトル"]
    opendata_start(actor=admin, run=third)
    third.refresh_from_db()
    assert third.result["counts"]["update"] == 1
    assert third.result["counts"]["unchanged"] == 2
    shelters.refresh_from_db()
    assert shelters.title == "指定避難所の一覧"
    table.refresh_from_db()
    assert table.current_version.rows == 4
    assert table.current_version.number == 2
    assert Dataset.objects.count() == 3

    with pytest.raises(Conflict):
        opendata_start(actor=admin, run=third)


def test_an_edit_made_in_machidata_is_kept_when_the_list_is_unchanged(
    actors: Actors, vocab: None, site: Site
) -> None:
    admin = actor_for(actors.users["admin"])
    site.files["/files/shelters.csv"] = SHELTERS.encode()
    content = cp932_list(site)
    opendata_start(
        actor=admin,
        run=opendata_preview(
            actor=admin, origin="list", owner=actors.org.fire_div, content=content, file_name="l.csv"
        ),
    )
    Dataset.objects.filter(title="指定避難所一覧").update(description="machidata で書き直した説明")
    run = opendata_preview(
        actor=admin, origin="list", owner=actors.org.fire_div, content=content, file_name="l.csv"
    )
    opendata_start(actor=admin, run=run)
    assert Dataset.objects.get(title="指定避難所一覧").description == "machidata で書き直した説明"


def _package(site: Site, pid: str, name: str, title: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "title": title,
        "notes": f"{title}の説明（合成）",
        "license_id": "cc-by",
        "license_title": "Creative Commons Attribution",
        "tags": [{"name": "防災"}, {"name": "避難"}],
        "groups": [{"name": "bousai", "title": "防災・安全"}],
        "organization": {"name": "431001", "title": "熊本市"},
        "maintainer": "警防課",
        "extras": [{"key": "更新頻度", "value": "毎月"}],
        "resources": resources,
    }


def _resource(
    site: Site, rid: str, path: str, fmt: str, modified: str = "2024-01-01T00:00:00"
) -> dict[str, Any]:
    return {
        "id": rid,
        "name": path.rsplit("/", 1)[-1],
        "url": site.url(path),
        "format": fmt,
        "last_modified": modified,
    }


def test_ckan_portal_paged_broken_file_and_rerun(
    actors: Actors, vocab: None, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "CKAN_PAGE_ROWS", 2)
    admin = actor_for(actors.users["admin"])
    site.files["/r/shelters.csv"] = SHELTERS.encode()
    site.files["/r/toilets.csv"] = TOILETS.encode()
    site.files["/r/broken.xlsx"] = b"PK\x03\x04 this is not a workbook"
    site.packages = [
        _package(site, "a-1", "shelters", "避難所（合成）", [
            _resource(site, "ra", "/r/shelters.csv", "CSV"),
            _resource(site, "rb", "/r/manual.pdf", "PDF"),
        ]),
        _package(site, "b-2", "toilets", "トイレ（合成）", [_resource(site, "rc", "/r/toilets.csv", "CSV")]),
        _package(site, "c-3", "broken", "壊れたファイル（合成）", [_resource(site, "rd", "/r/broken.xlsx", "XLSX")]),
    ]  # fmt: skip
    run = opendata_preview(actor=admin, origin="ckan", owner=actors.org.health_div, url=site.url("/"))
    searches = [s for s in site.seen if "package_search" in s]
    assert len(searches) == 2
    assert "start=0" in searches[0]
    assert "start=2" in searches[1]
    assert run.preview["counts"]["create"] == 3
    opendata_start(actor=admin, run=run)
    run.refresh_from_db()
    counts = run.result["counts"]
    assert (counts["create"], counts["failed"]) == (2, 1), run.result
    failed = next(p for p in run.result["plans"] if p["status"] == "failed")
    assert failed["title"] == "壊れたファイル（合成）"
    assert "broken.xlsx" in failed["reasons"][0]
    assert "取り込みませんでした" in failed["reasons"][0]
    # Nothing of the failed dataset was written: no entry, no catalog entry, no table.
    assert not Dataset.objects.filter(title="壊れたファイル（合成）").exists()
    assert not OpenDataEntry.objects.filter(key="c-3").exists()
    shelters = Dataset.objects.get(identifier="ckan-shelters")
    assert shelters.owner == actors.org.fire_div  # 「警防課」 from the package's maintainer
    assert shelters.keywords == ["防災", "避難"]
    assert shelters.category.code == "safety"
    assert shelters.licence.code == "cc-by-4.0"
    assert shelters.frequency == "monthly"
    assert shelters.source_detail == site.url("/dataset/shelters")
    links = dict(OpenDataResource.objects.filter(entry__dataset=shelters).values_list("format", "table"))
    assert links["pdf"] is None
    assert links["csv"] is not None

    # Run again: the portal says nothing changed, so no file is even fetched.
    site.seen.clear()
    versions = TableVersion.objects.count()
    again = opendata_preview(actor=admin, origin="ckan", owner=actors.org.health_div, url=site.url("/"))
    opendata_start(actor=admin, run=again)
    again.refresh_from_db()
    assert again.result["counts"]["unchanged"] == 2
    assert again.result["counts"]["failed"] == 1
    assert not any(s.startswith(("/r/shelters", "/r/toilets")) for s in site.seen)
    assert TableVersion.objects.count() == versions

    # The broken file is fixed and the shelters file changes (new last_modified): both come in.
    site.files["/r/broken.xlsx"] = b""
    site.packages[2]["resources"] = [_resource(site, "rd", "/r/fixed.csv", "CSV")]
    site.files["/r/fixed.csv"] = TOILETS.encode()
    site.files["/r/shelters.csv"] = SHELTERS_CHANGED.encode()
    site.packages[0]["resources"][0]["last_modified"] = "2024-02-01T00:00:00"
    third = opendata_preview(actor=admin, origin="ckan", owner=actors.org.health_div, url=site.url("/"))
    opendata_start(actor=admin, run=third)
    third.refresh_from_db()
    assert third.result["counts"] == {"create": 1, "update": 1, "unchanged": 1, "skip": 0, "failed": 0}
    table = Table.objects.get(dataset=shelters)
    assert table.current_version.rows == 4


def test_schedule_option_sets_up_scheduled_imports(actors: Actors, vocab: None, site: Site) -> None:
    admin = actor_for(actors.users["admin"])
    site.files["/r/shelters.csv"] = SHELTERS.encode()
    site.packages = [
        _package(site, "a-1", "shelters", "避難所（合成）", [_resource(site, "ra", "/r/shelters.csv", "CSV")])
    ]
    run = opendata_preview(
        actor=admin, origin="ckan", owner=actors.org.health_div, url=site.url("/"), schedule=True
    )
    opendata_start(actor=admin, run=run)
    source = ImportSource.objects.get()
    assert (source.kind, source.ckan_dataset, source.ckan_resource) == ("ckan", "a-1", "ra")


def test_portal_on_a_host_not_allowed_is_refused(actors: Actors, vocab: None, site: Site) -> None:
    admin = actor_for(actors.users["admin"])
    with pytest.raises(InvalidInput, match="取り込めません"):
        opendata_preview(
            actor=admin, origin="ckan", owner=actors.org.health_div, url=site.url("/", host="localhost")
        )
    assert site.seen == []
    assert OpenDataRun.objects.count() == 0


def test_only_admin_may_import(actors: Actors, vocab: None, site: Site) -> None:
    for name in ("staff", "owner_editor", "other_editor"):
        with pytest.raises(PermissionDenied):
            opendata_preview(
                actor=actor_for(actors.users[name]),
                origin="list",
                owner=actors.org.health_div,
                content=cp932_list(site),
                file_name="l.csv",
            )
    admin = actor_for(actors.users["admin"])
    run = opendata_preview(
        actor=admin, origin="list", owner=actors.org.health_div, content=cp932_list(site), file_name="l.csv"
    )
    with pytest.raises(PermissionDenied):
        opendata_plan(actor=actor_for(actors.users["owner_editor"]), run=run)
    with pytest.raises(PermissionDenied):
        opendata_start(actor=actor_for(actors.users["owner_editor"]), run=run)


def test_pages_and_api(actors: Actors, vocab: None, site: Site) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    site.files["/files/shelters.csv"] = SHELTERS.encode()
    site.files["/files/toilets.csv"] = TOILETS.encode()
    start = reverse("collect:opendata")
    check_statuses(actors, lambda c: c.get(start), {"anonymous": 302, "staff": 404, "owner_viewer": 404,
                                                    "owner_editor": 404, "other_editor": 404, "admin": 200})  # fmt: skip
    client = actors.client("admin")
    answer = client.post(
        start,
        {"origin": "list", "owner": actors.org.fire_div.pk, "fetch_files": "on",
         "file": SimpleUploadedFile("list.csv", cp932_list(site), content_type="text/csv")},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    run = OpenDataRun.objects.get()
    page = client.get(answer["Location"]).content.decode()
    assert "取り込む前の確認" in page
    assert "指定避難所一覧" in page
    assert "許されたサーバーではない" in page
    assert Dataset.objects.count() == 0
    ran = client.post(reverse("collect:opendata_run", args=[run.pk]))
    assert ran.status_code == 302
    result = client.get(reverse("collect:opendata_detail", args=[run.pk])).content.decode()
    assert "取り込みの結果" in result
    assert Dataset.objects.count() == 3
    assert (
        actors.client("owner_editor").get(reverse("collect:opendata_detail", args=[run.pk])).status_code
        == 404
    )

    site.packages = [
        _package(
            site, "a-1", "shelters", "避難所（合成）", [_resource(site, "ra", "/files/shelters.csv", "CSV")]
        )
    ]
    body = {"url": site.url("/"), "owner": actors.org.fire_div.code, "run": True}
    made = client.post("/api/v1/opendata/ckan", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["state"] == "done"
    assert made.json()["counts"]["create"] == 1
    listed = client.get("/api/v1/opendata/").json()
    assert listed["count"] == 2
    refused = actors.client("owner_editor").post(
        "/api/v1/opendata/ckan", body, content_type="application/json"
    )
    assert refused.status_code == 403
    assert client.post(f"/api/v1/opendata/{made.json()['id']}/run").status_code == 409
