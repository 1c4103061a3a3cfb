"""URL, CKAN and statistics imports against a local HTTP server the tests start (never the internet).

The server on 127.0.0.1 serves files with ETag / Last-Modified, a fake CKAN ``package_show``, a 404, a
slow answer, an oversize body without Content-Length and a redirect to a host that is not allowed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from machidata.catalog.models import Table
from machidata.collect.imports import import_source_create_remote, import_source_scan, import_sources_scan_all
from machidata.collect.models import ImportedFile, ImportedFileStatus, ImportKind, ImportSource
from machidata.collect.tests.conftest import as_actor, table_rows
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)
GOOD = "日付,区分,利用者数,備考\n2025-05-01,午前,4,\n2025-05-01,午後,6,\n2025-05-02,午前,1,\n"
CHANGED = GOOD + "2025-05-03,午後,9,追加\n"


@dataclass
class Site:
    """What the local server answers: path → (status, body, headers); and the requests it saw."""

    port: int = 0
    files: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def put(self, path: str, body: bytes, *, etag: bool = True, **headers: str) -> None:
        if etag:
            headers.setdefault("ETag", '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
        self.files[path] = (200, body, headers)


@pytest.fixture
def site(settings: Any) -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.seen.append((self.path, dict(self.headers.items())))
            path = urlsplit(self.path).path
            if path == "/slow":
                time.sleep(1.5)
            if path == "/api/3/action/package_show":
                dataset = parse_qs(urlsplit(self.path).query).get("id", [""])[0]
                key = f"ckan:{dataset}"
                if key not in state.files:
                    self._send(
                        404, json.dumps({"success": False, "error": {"message": "Not found"}}).encode(), {}
                    )
                    return
                self._send(*state.files[key])
                return
            if path not in state.files:
                self._send(404, b"not found", {})
                return
            status, body, headers = state.files[path]
            if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                self._send(304, b"", headers)
                return
            self._send(status, body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k != "X-No-Length":
                    self.send_header(k, v)
            if "X-No-Length" not in headers and status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                with contextlib.suppress(OSError):  # the client may have given up (timeout, too large)
                    self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MACHIDATA_IMPORT_URL_HOSTS = [f"127.0.0.1:{state.port}"]
    settings.MACHIDATA_IMPORT_URL_TIMEOUT = 0.5
    yield state
    server.shutdown()
    server.server_close()


def told(start: int) -> list[str]:
    return [n.message for n in Notification.objects.order_by("pk")[start:]]


def test_url_import_first_unchanged_and_changed(actors: Actors, visitors: Table, site: Site) -> None:
    editor = as_actor(actors, "owner_editor")
    site.put("/data/riyousha.csv", GOOD.encode(), **{"Last-Modified": "Thu, 01 May 2025 00:00:00 GMT"})
    source = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/data/riyousha.csv")
    )
    first = import_source_scan(source=source)
    assert (first.ingested, first.failed, first.error) == (["riyousha.csv"], [], "")
    visitors.refresh_from_db()
    assert table_rows(visitors).num_rows == 3  # replace (the default for URL imports)
    number = visitors.current_version.number
    source.refresh_from_db()
    assert source.etag
    assert source.last_modified == "Thu, 01 May 2025 00:00:00 GMT"

    again = import_source_scan(source=source)  # conditional GET: 304
    assert (again.ingested, again.failed, again.error) == ([], [], "")
    headers = site.seen[-1][1]
    assert headers.get("If-None-Match") == source.etag
    assert headers.get("If-Modified-Since") == "Thu, 01 May 2025 00:00:00 GMT"

    site.put("/data/riyousha.csv", GOOD.encode(), etag=False)  # no validators now: same SHA-256, no version
    ImportSource.objects.filter(pk=source.pk).update(etag="", last_modified="")
    assert import_source_scan(source=source).ingested == []
    visitors.refresh_from_db()
    assert visitors.current_version.number == number

    site.put("/data/riyousha.csv", CHANGED.encode())
    changed = import_source_scan(source=source)
    assert changed.ingested == ["riyousha.csv"]
    visitors.refresh_from_db()
    assert visitors.current_version.number == number + 1
    assert table_rows(visitors).num_rows == 4
    assert ImportedFile.objects.filter(source=source, status=ImportedFileStatus.INGESTED).count() == 2

    site.put("/data/riyousha.csv", GOOD.encode())  # back to the first content (A → B → A)
    back = import_source_scan(source=source)
    assert back.ingested == ["riyousha.csv"]  # the remote's current state again: never left stale at B
    visitors.refresh_from_db()
    assert visitors.current_version.number == number + 2
    assert table_rows(visitors).num_rows == 3


def test_one_check_per_import_at_a_time(actors: Actors, visitors: Table, site: Site) -> None:
    from django.core.cache import cache

    site.put("/data/riyousha.csv", GOOD.encode())
    source = import_source_create_remote(
        actor=as_actor(actors, "owner_editor"), table=visitors, kind=ImportKind.URL,
        url=site.url("/data/riyousha.csv"),
    )  # fmt: skip
    cache.add(f"collect:import-scan:{source.pk}", 1, 60)  # another process is checking this import
    busy = import_source_scan(source=source)
    assert (busy.ingested, "別の確認が進んでいます" in busy.error) == ([], True)
    assert not ImportedFile.objects.filter(source=source).exists()
    cache.delete(f"collect:import-scan:{source.pk}")
    assert import_source_scan(source=source).ingested == ["riyousha.csv"]


def test_cp932_csv(actors: Actors, visitors: Table, site: Site) -> None:
    site.put("/sjis.csv", CHANGED.encode("cp932"))
    source = import_source_create_remote(
        actor=as_actor(actors, "owner_editor"), table=visitors, kind=ImportKind.URL, url=site.url("/sjis.csv")
    )
    assert import_source_scan(source=source).ingested == ["sjis.csv"]
    visitors.refresh_from_db()
    rows = table_rows(visitors).to_pylist()
    assert "追加" in [r["備考"] for r in rows]
    assert {r["区分"] for r in rows} == {"午前", "午後"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/missing.csv", "404"), ("/slow", "タイムアウト"), ("/big.csv", "大きすぎ"), ("/bad.csv", "利用者数")],
)
def test_failures_are_told_once(  # noqa: PLR0917 -- fixtures and parameters
    actors: Actors, visitors: Table, site: Site, settings: Any, path: str, expected: str
) -> None:
    settings.MACHIDATA_MAX_UPLOAD_BYTES = 2000
    site.put("/slow", GOOD.encode())
    site.put("/big.csv", (GOOD + "2025-05-04,午前,2,\n" * 200).encode(), **{"X-No-Length": "1"})
    site.put("/bad.csv", "日付,区分,利用者数,備考\n2025-05-03,午前,-4,\n".encode())
    editor = as_actor(actors, "owner_editor")
    source = import_source_create_remote(  # append: the table's 項目定義 is checked
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url(path), mode="append"
    )
    fine_path = "/fine.csv"
    site.put(fine_path, GOOD.encode())
    fine = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url(fine_path)
    )
    start = Notification.objects.count()
    results = import_sources_scan_all()
    assert results[fine.pk].ingested == ["fine.csv"]  # the others go on
    outcome = results[source.pk]
    assert outcome.ingested == []
    assert expected in (
        outcome.error or " ".join(f.message for f in ImportedFile.objects.filter(source=source))
    )
    messages = told(start)
    assert len(messages) == 1
    assert expected in messages[0]
    assert {n.recipient_id for n in Notification.objects.order_by("pk")[start:]} == {
        actors.users["owner_editor"].pk
    }
    import_sources_scan_all()
    assert len(told(start)) == 1  # the same error is not told again
    visitors.refresh_from_db()
    assert table_rows(visitors).num_rows == 3  # only the fine source's file


def test_hosts_not_allowed_are_refused(actors: Actors, visitors: Table, site: Site, settings: Any) -> None:
    editor = as_actor(actors, "owner_editor")
    for url in (
        "http://169.254.169.254/latest/meta-data",
        f"http://localhost:{site.port}/a.csv",
        f"http://127.0.0.1:{site.port + 1}/a.csv",
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{site.port}/a.csv",
        f"http://user:pw@127.0.0.1:{site.port}/a.csv",
    ):
        with pytest.raises(InvalidInput, match=r"取り込めません|URLは"):
            import_source_create_remote(actor=editor, table=visitors, kind=ImportKind.URL, url=url)
    with pytest.raises(PermissionDenied):
        import_source_create_remote(
            actor=as_actor(actors, "owner_viewer"),
            table=visitors,
            kind=ImportKind.URL,
            url=site.url("/a.csv"),
        )
    settings.MACHIDATA_IMPORT_URL_HOSTS = []
    with pytest.raises(InvalidInput, match="使えません"):
        import_source_create_remote(actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/a.csv"))
    assert not ImportSource.objects.exists()


def test_redirect_to_another_host_is_not_followed(actors: Actors, visitors: Table, site: Site) -> None:
    other = site.url("/real.csv", host="localhost")
    site.put("/real.csv", GOOD.encode())
    site.files["/moved.csv"] = (302, b"", {"Location": other})
    site.files["/moved-ok.csv"] = (302, b"", {"Location": "/real.csv"})
    editor = as_actor(actors, "owner_editor")
    moved = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/moved.csv")
    )
    result = import_source_scan(source=moved)
    assert "localhost" in result.error
    assert result.ingested == []
    assert not any(path == "/real.csv" for path, _ in site.seen)  # never fetched from the other host
    ok = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/moved-ok.csv")
    )
    assert import_source_scan(source=ok).ingested == ["real.csv"]  # same host: followed


def ckan_answer(site: Site, resources: list[dict[str, Any]]) -> None:
    body = {"success": True, "result": {"name": "riyousha", "resources": resources}}
    site.files["ckan:riyousha"] = (200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def test_ckan_resource_by_name_or_format(actors: Actors, visitors: Table, site: Site) -> None:
    site.put("/files/r1.csv", GOOD.encode())
    site.put("/files/r1.xlsx", b"not used")
    ckan_answer(
        site,
        [
            {"id": "x1", "name": "説明.xlsx", "format": "XLSX", "url": site.url("/files/r1.xlsx")},
            {
                "id": "c1",
                "name": "利用者数.csv",
                "format": "CSV",
                "url": site.url("/files/r1.csv"),
                "last_modified": "2025-05-01T00:00:00",
            },
        ],
    )
    editor = as_actor(actors, "owner_editor")
    source = import_source_create_remote(
        actor=editor,
        table=visitors,
        kind=ImportKind.CKAN,
        url=site.url("/"),
        ckan_dataset="riyousha",
        ckan_resource="csv",
    )
    assert import_source_scan(source=source).ingested == ["r1.csv"]
    assert any(p.startswith("/api/3/action/package_show?id=riyousha") for p, _ in site.seen)

    def fetches() -> int:
        return sum(1 for p, _ in site.seen if p == "/files/r1.csv")

    before = fetches()
    assert import_source_scan(source=source).ingested == []  # same url and last_modified: not fetched
    assert fetches() == before
    site.put("/files/r1.csv", CHANGED.encode())
    newer = {
        "id": "c1",
        "name": "利用者数.csv",
        "format": "CSV",
        "url": site.url("/files/r1.csv"),
        "last_modified": "2025-06-01T00:00:00",
    }
    ckan_answer(site, [newer])
    assert import_source_scan(source=source).ingested == ["r1.csv"]
    visitors.refresh_from_db()
    assert table_rows(visitors).num_rows == 4
    # the portal now gives the SHA-256 of what we already have: nothing is fetched
    sha = hashlib.sha256(CHANGED.encode()).hexdigest()  # the content the table holds now
    ckan_answer(
        site,
        [
            {
                "id": "c1",
                "name": "利用者数.csv",
                "format": "CSV",
                "url": site.url("/files/r1.csv"),
                "hash": sha,
            }
        ],
    )
    fetched_before = sum(1 for p, _ in site.seen if p == "/files/r1.csv")
    assert import_source_scan(source=source).ingested == []
    assert sum(1 for p, _ in site.seen if p == "/files/r1.csv") == fetched_before
    # a resource that moved to a host not allowed is refused
    ckan_answer(
        site, [{"id": "c1", "name": "利用者数.csv", "format": "CSV", "url": "http://example.org/r.csv"}]
    )
    assert "example.org" in import_source_scan(source=source).error
    # missing dataset / resource
    missing = import_source_create_remote(
        actor=editor,
        table=visitors,
        kind=ImportKind.CKAN,
        url=site.url("/"),
        ckan_dataset="nai",
        ckan_resource="CSV",
    )
    assert "404" in import_source_scan(source=missing).error
    wrong = import_source_create_remote(
        actor=editor,
        table=visitors,
        kind=ImportKind.CKAN,
        url=site.url("/"),
        ckan_dataset="riyousha",
        ckan_resource="PDF",
    )
    assert "リソース「PDF」が見つかりません" in import_source_scan(source=wrong).error
    with pytest.raises(InvalidInput):
        import_source_create_remote(
            actor=editor,
            table=visitors,
            kind=ImportKind.CKAN,
            url=site.url("/"),
            ckan_dataset="",
            ckan_resource="",
        )


def test_estat_layout_with_title_rows_and_notes(actors: Actors, visitors: Table, site: Site) -> None:
    text = (
        "利用者数（合成）,,,\n"
        "表章項目：利用者数,,,\n"
        "日付,区分,利用者数,備考\n"
        "2025-06-01,午前,3,\n"
        "2025-06-01,午後,8,\n"
        "注記：数値は合成です,,,\n"
    )
    site.put("/estat/stats", text.encode("cp932"))
    source = import_source_create_remote(
        actor=as_actor(actors, "owner_editor"),
        table=visitors,
        kind=ImportKind.ESTAT,
        url=site.url("/estat/stats"),
    )
    result = import_source_scan(source=source)
    assert result.ingested == ["stats"], ImportedFile.objects.filter(source=source).values_list(
        "message", flat=True
    )
    visitors.refresh_from_db()
    assert sorted(r["利用者数"] for r in table_rows(visitors).to_pylist()) == [3, 8]


def test_schedules_api_accepts_url_and_ckan(actors: Actors, visitors: Table, site: Site) -> None:
    client = actors.client("owner_editor")
    site.put("/a.csv", GOOD.encode())
    created = client.post(
        "/api/v1/schedules/",
        {"table": "riyousha/visitors", "kind": "url", "url": site.url("/a.csv")},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content.decode()
    body = created.json()
    assert (body["kind"], body["url"], body["mode"]) == ("url", site.url("/a.csv"), "replace")
    scanned = client.post(f"/api/v1/schedules/{body['id']}/scan").json()
    assert scanned == {"ingested": ["a.csv"], "failed": [], "error": ""}
    refused = client.post(
        "/api/v1/schedules/",
        {"table": "riyousha/visitors", "kind": "url", "url": "http://10.0.0.1/a.csv"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "取り込めません" in refused.json()["detail"]
    ckan = client.post(
        "/api/v1/schedules/",
        {
            "table": "riyousha/visitors",
            "kind": "ckan",
            "url": site.url("/"),
            "ckan_dataset": "riyousha",
            "ckan_resource": "CSV",
        },
        content_type="application/json",
    )
    assert ckan.status_code == 201
    assert ckan.json()["ckan_dataset"] == "riyousha"


def test_imports_page_sets_up_a_url_import(actors: Actors, visitors: Table, site: Site) -> None:
    from django.urls import reverse

    client = actors.client("owner_editor")
    form = client.get(reverse("collect:imports")).content.decode()
    assert f"127.0.0.1:{site.port}" in form  # the allowed hosts are shown
    refused = client.post(
        reverse("collect:imports"),
        {"table": visitors.pk, "kind": "url", "url": "http://192.168.0.1/a.csv", "mode": "replace"},
    )
    assert refused.status_code == 400
    assert "許可されていないサーバーです" in refused.content.decode()
    site.put("/page.csv", GOOD.encode())
    done = client.post(
        reverse("collect:imports"),
        {"table": visitors.pk, "kind": "url", "url": site.url("/page.csv"), "mode": "replace"},
    )
    assert done.status_code == 302
    assert "まだ取り込んでいません" in client.get(done["Location"]).content.decode()
    client.post(done["Location"] + "scan")
    page = client.get(done["Location"]).content.decode()
    assert "page.csv" in page
    assert "3 行を取り込みました" in page
    assert site.url("/page.csv") in client.get(reverse("collect:imports")).content.decode()


def test_file_names_are_safe_and_get_a_suffix(actors: Actors, visitors: Table, site: Site) -> None:
    site.put(
        "/export",
        CHANGED.encode(),
        **{
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="../../x"',
        },
    )
    site.put("/export2", GOOD.encode(), **{"Content-Type": "text/csv"})
    editor = as_actor(actors, "owner_editor")
    first = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/export")
    )
    assert import_source_scan(source=first).ingested == ["x.csv"]
    second = import_source_create_remote(
        actor=editor, table=visitors, kind=ImportKind.URL, url=site.url("/export2")
    )
    assert import_source_scan(source=second).ingested == ["export2.csv"]
