"""What keeps the CKAN actions fast at 20,000 datasets (bench/portal.py): the package list is built once
per change of what is public, package_show finds a dataset by its slug without reading every dataset, and
a resource id is found again without recomputing every table's id — and none of it shows stale data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from machidata.catalog.models import Dataset, TableVersion
from machidata.catalog.services import dataset_update
from machidata.core.testing import Actors, make_dataset
from machidata.portal import selectors as s
from machidata.portal.tests.conftest import publish
from machidata.publish.services import publication_act, publication_withdraw_request
from machidata.publish.tests.conftest import FACILITIES_V1, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)


def search(client: Client, **params: Any) -> dict[str, Any]:
    body = client.get("/api/3/action/package_search", params).json()
    assert body["success"] is True
    return dict(body["result"])


def more_public(cast: Actors, n: int) -> list[Dataset]:
    out = []
    for i in range(n):
        ds = make_dataset(
            cast.org.health_div, title=f"施設一覧その{i}", classification="internal", slug=f"shisetsu-{i}"
        )
        publish(cast, ds, [ingest_text(cast, ds, "facilities", FACILITIES_V1)])
        out.append(ds)
    return out


def test_a_second_search_reuses_the_package_list(published: Dataset) -> None:
    client = Client()
    first = search(client, q="保健")
    with CaptureQueriesContext(connection) as queries:
        second = search(client, q="保健")
    assert second == first
    assert first["count"] == 1
    # the fingerprint (3 aggregates) and nothing per dataset, table or version
    assert len(queries.captured_queries) <= 3, [q["sql"][:120] for q in queries.captured_queries]


def test_the_list_follows_publication_edits_and_withdrawal(
    cast: Actors, published: Dataset, v1: TableVersion
) -> None:
    client = Client()
    assert [r["machidata_version"] for r in search(client, q="保健")["results"][0]["resources"]] == [
        v1.number
    ]
    # a later version is not public until approved; then the search shows it at once
    v2 = ingest_text(cast, published, "facilities", FACILITIES_V1 + "南保健センター,南区,25\n")
    assert [r["machidata_version"] for r in search(client, q="保健")["results"][0]["resources"]] == [
        v1.number
    ]
    req = publish(cast, published, [v2])
    assert req.status == "approved"
    assert [r["machidata_version"] for r in search(client, q="保健")["results"][0]["resources"]] == [
        v2.number
    ]
    # an edit of the public dataset's metadata through the catalog's service
    ds = Dataset.objects.get(pk=published.pk)
    dataset_update(
        actor=as_actor(cast, "owner_editor"), dataset=ds, data={"title": "保健センターの一覧（改訂）"},
        lock_version=ds.lock_version,
    )  # fmt: skip
    assert search(client, q="改訂")["count"] == 1
    # an audited read (a download) does not throw the list away
    assert client.get("/open/datasets/hoken-center/facilities.csv").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert search(client, q="改訂")["count"] == 1
    assert len(queries.captured_queries) <= 3
    # a withdrawal empties every list action at once
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert search(client)["count"] == 0
    assert client.get("/api/3/action/package_list").json()["result"] == []


def test_package_show_by_slug_does_not_read_every_dataset(
    cast: Actors, published: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    more_public(cast, 3)
    ids: list[str] = []
    real = s.stable_id
    monkeypatch.setattr(s, "stable_id", lambda kind, key: (ids.append(kind), real(kind, key))[1])
    client = Client()
    for slug in ("shisetsu-2", "hoken-center"):
        ids.clear()
        body = client.get("/api/3/action/package_show", {"id": slug}).json()
        assert body["result"]["name"] == slug
        # the package's own id (once for itself, once per resource), not one per public dataset
        assert ids.count("dataset") <= 2, ids
    # by id still works, and a hidden or unknown one is 404
    pkg_id = body["result"]["id"]
    assert client.get("/api/3/action/package_show", {"id": pkg_id}).json()["result"]["name"] == "hoken-center"
    assert client.get("/api/3/action/package_show", {"id": "HOKEN-CENTER"}).status_code == 404
    assert client.get("/api/3/action/package_show", {"id": real("dataset", "nothing")}).status_code == 404


def test_a_resource_is_found_again_without_every_tables_id(
    cast: Actors, published: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    more_public(cast, 3)
    client = Client()
    res_id = client.get("/api/3/action/package_show", {"id": "shisetsu-0"}).json()["result"]["resources"][0][
        "id"
    ]
    assert (
        client.get("/api/3/action/datastore_search", {"resource_id": res_id}).json()["result"]["total"] == 3
    )
    ids: list[str] = []
    real = s.stable_id
    monkeypatch.setattr(s, "stable_id", lambda kind, key: (ids.append(kind), real(kind, key))[1])
    body = client.get("/api/3/action/datastore_search", {"resource_id": res_id}).json()
    assert body["result"]["total"] == 3
    assert ids.count("table") <= 1, ids  # the hint, checked once; not one id per public table
    # the hint never outlives the publication: withdrawn, the resource is 404
    ds = Dataset.objects.get(slug="shisetsu-0")
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=ds, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert client.get("/api/3/action/datastore_search", {"resource_id": res_id}).status_code == 404


def _rows(client: Client, resource: str, **params: Any) -> tuple[int, dict[str, Any]]:
    r = client.get("/api/3/action/datastore_search", {"resource_id": resource, **params})
    return r.status_code, r.json()


def _watch(monkeypatch: pytest.MonkeyPatch, name: str, note: Callable[..., Any]) -> list[Any]:
    """Empty the portal's caches, then record ``note(*args, **kwargs)`` of every call of ``datastore.<name>``."""
    from machidata.portal import datastore

    datastore.forget_pages()
    seen: list[Any] = []
    real = getattr(datastore, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(note(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(datastore, name, spy)
    return seen


def _hoken_resource(client: Client) -> str:
    """The resource id of the hoken-center dataset's table, as a CKAN client finds it."""
    return str(
        client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"]["resources"][0][
            "id"
        ]
    )


def test_datastore_pages_are_cached_by_version_and_withdrawal_removes_them_at_once(
    cast: Actors, published: Dataset, v1: TableVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _watch(monkeypatch, "table_rows", lambda **kw: kw["version"].pk)
    client = Client()
    resource = _hoken_resource(client)
    status, first = _rows(client, resource, filters='{"区": "東区"}')
    assert status == 200
    assert [r["施設名"] for r in first["result"]["records"]] == ["東保健センター"]
    assert _rows(client, resource, filters='{"区": "東区"}')[1] == first
    assert reads == [v1.pk]  # the second page came from the cache
    assert _rows(client, resource, filters='{"区": "西区"}')[1]["result"]["total"] == 1
    assert reads == [v1.pk, v1.pk]  # another query is another key
    # a newer approved version is another key: its rows show at once
    v2 = ingest_text(cast, published, "facilities", FACILITIES_V1 + "南保健センター,南区,25\n")
    assert _rows(client, resource)[1]["result"]["total"] == 3  # not public yet: still v1
    publish(cast, published, [v2])
    assert _rows(client, resource)[1]["result"]["total"] == 4
    assert reads[-1] == v2.pk
    # a withdrawal answers 404 at once although the pages are still in the cache
    cached = len(reads)
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    assert _rows(client, resource)[0] == 404
    assert _rows(client, resource, filters='{"区": "東区"}')[0] == 404
    assert len(reads) == cached


def test_a_committed_versions_files_are_resolved_once(
    published: Dataset, v1: TableVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.lake import readers, storage
    from machidata.portal import datastore

    datastore.forget_pages()
    with readers._read_cache_lock:
        readers._read_cache.clear()
    opened: list[int | None] = []
    real = storage.open_delta
    monkeypatch.setattr(storage, "open_delta", lambda t, v=None: (opened.append(v), real(t, v))[1])
    client = Client()
    resource = client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"]["resources"][
        0
    ]["id"]
    for limit in (1, 2, 3):  # three different pages: three engine reads, one Delta log read
        body = _rows(client, resource, limit=limit)[1]
        assert len(body["result"]["records"]) == limit
    assert opened == [v1.delta_version]
    # files gone from disk (a vacuum, a restore): resolved again rather than failing
    read = readers.version_read(v1)
    with readers._read_cache_lock:
        key = next(iter(readers._read_cache))
        readers._read_cache[key] = readers.VersionRead(files=("/nonexistent.parquet",), schema=read.schema)
    assert readers.version_read(v1).files == read.files
    assert len(opened) == 2


def test_the_sorted_package_list_is_kept_with_the_list_and_filters_keep_its_order(
    cast: Actors, published: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.portal import ckan

    more_public(cast, 3)
    sorts: list[str] = []
    real = ckan._sort
    monkeypatch.setattr(ckan, "_sort", lambda pkgs, sort: (sorts.append(sort), real(pkgs, sort))[1])
    client = Client()
    by_name = search(client, q="*:*", sort="name desc", rows=100)
    assert [p["name"] for p in by_name["results"]] == sorted(
        ["hoken-center", "shisetsu-0", "shisetsu-1", "shisetsu-2"], reverse=True
    )
    filtered = search(client, q="施設一覧その", sort="name desc", rows=100)  # the same order, filtered
    assert [p["name"] for p in filtered["results"]] == [
        n for n in [p["name"] for p in by_name["results"]] if n.startswith("shisetsu")
    ]
    assert sorts == ["name desc"]  # sorted once for both
    search(client, q="*:*", sort="name asc")
    assert sorts == ["name desc", "name asc"]
    # a change of what is public makes a new list: sorted again, and the new dataset is in it
    more = make_dataset(
        cast.org.health_div, title="施設一覧その9", classification="internal", slug="shisetsu-9"
    )
    publish(cast, more, [ingest_text(cast, more, "facilities", FACILITIES_V1)])
    again = search(client, q="*:*", sort="name desc", rows=100)
    assert again["results"][0]["name"] == "shisetsu-9"
    assert sorts == ["name desc", "name asc", "name desc"]


def _pkg(i: int) -> dict[str, Any]:
    """A plain package dict of the shape the search reads (no database)."""
    org = f"unit-{i % 4}"
    return {
        "id": f"id-{i:03d}", "name": f"ds-{i:03d}", "title": f"データ{i}", "notes": "人口" if i % 3 == 0 else "",
        "organization": {"name": org, "title": org, "id": f"org-{i % 4}"},
        "groups": [{"name": f"g{i % 5}", "title": f"g{i % 5}"}], "tags": [{"name": f"t{i % 7}"}],
        "resources": [{"name": "表", "format": "CSV"}], "metadata_modified": f"2026-01-{1 + i % 28:02d}T00:00:00.{i:06d}",
        "license_id": "cc-by-4.0",
    }  # fmt: skip


@pytest.mark.django_db(transaction=False)
def test_searches_answered_from_the_kept_indexes_match_a_plain_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from machidata.portal import ckan

    pkgs = [_pkg(i) for i in range(200)]
    texts = {p["id"]: s.package_text(p) for p in pkgs}
    monkeypatch.setattr(s, "cached_packages", lambda base_url: (pkgs, texts))
    org = lambda p: p["organization"]["name"]  # noqa: E731
    tags = lambda p: [t["name"] for t in p["tags"]]  # noqa: E731
    cases = [
        ({"q": "人口"}, lambda p: "人口" in p["notes"]),
        ({"fq": "organization:unit-1"}, lambda p: org(p) == "unit-1"),
        ({"fq": "-tags:t3"}, lambda p: "t3" not in tags(p)),
        ({"fq": '+organization:"unit-2" tags:t4'}, lambda p: org(p) == "unit-2" and "t4" in tags(p)),
        ({"q": "人口", "fq": "groups:g1 -organization:unit-0"},
         lambda p: "人口" in p["notes"] and p["groups"][0]["name"] == "g1" and org(p) != "unit-0"),
        ({"q": "データ1"}, lambda p: "データ1" in p["title"]),
        ({"fq": "organization:nobody"}, lambda p: False),
        ({"fq": "metadata_modified:[2026-01-20T00:00:00Z TO *]"}, lambda p: p["metadata_modified"] >= "2026-01-20"),
    ]  # fmt: skip
    for params, keep in cases:
        for sort in ("score desc, metadata_modified desc", "id asc"):
            expected = sorted((p for p in pkgs if keep(p)), key=lambda p: p[sort.split()[-2] if "," in sort else "id"], reverse="desc" in sort.split(",")[-1])  # fmt: skip
            for _ in range(2):  # the second time from the kept indexes and word ids
                got = ckan.package_search({**params, "sort": sort, "rows": 1000}, "http://x")
                assert got["count"] == len(expected), (params, sort)
                assert [p["id"] for p in got["results"]] == [p["id"] for p in expected], (params, sort)


def test_package_search_writes_the_kept_json_byte_for_byte(cast: Actors, published: Dataset) -> None:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    more_public(cast, 2)
    client = Client()
    for params in ({}, {"q": "施設", "rows": 2, "start": 1}, {"sort": "id asc", "facet.field": '["tags"]'}):
        for _ in range(2):  # the second time the packages' text comes from the kept JSON
            r = client.get("/api/3/action/package_search", params)
            assert r.status_code == 200
            assert r["Content-Type"] == "application/json"
            body = r.json()
            assert body["success"] is True
            assert r.content == json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8")
    assert [p["name"] for p in client.get("/api/3/action/package_search", {"sort": "name asc"}).json()["result"]["results"]] == [
        "hoken-center", "shisetsu-0", "shisetsu-1",
    ]  # fmt: skip
    # an error keeps CKAN's envelope
    bad = client.get("/api/3/action/package_search", {"rows": "x"})
    assert bad.status_code == 409
    assert bad.json()["error"]["rows"] == ["Invalid integer"]


def _sql(client: Client, text: str) -> tuple[int, dict[str, Any]]:
    r = client.get("/api/3/action/datastore_search_sql", {"sql": text})
    return r.status_code, r.json()


def test_sql_answers_are_kept_by_version_and_a_withdrawn_version_is_never_served(
    cast: Actors, published: Dataset, v1: TableVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.portal import datastore

    runs = _watch(monkeypatch, "run_sql", lambda checked, views, **kw: checked.sql)
    client = Client()
    resource = _hoken_resource(client)
    count = f'SELECT count(*) AS n FROM "{resource}"'  # noqa: S608
    rows = len(FACILITIES_V1.strip().splitlines()) - 1  # v1's rows (the header aside)
    status, first = _sql(client, count)
    assert (status, first["result"]["records"]) == (200, [{"n": rows}])
    assert _sql(client, count)[1] == first
    assert len(runs) == 1  # the second answer came from the cache
    # another server process (its own memory, the same home) answers from the shared folder
    datastore._caches.clear()
    assert _sql(client, count)[1] == first
    assert len(runs) == 1
    # the same statement written differently is the same checked SQL: one run
    assert _sql(client, count.replace(" AS n", "  AS  n"))[1]["result"]["records"] == [{"n": rows}]
    assert len(runs) == 1
    # a statement whose answer may change is run every time
    rnd = f'SELECT count(*) AS n, random() < 2 AS r FROM "{resource}"'  # noqa: S608
    _sql(client, rnd)
    _sql(client, rnd)
    assert len(runs) == 3
    # a newer approved version is another key: its rows show at once
    v2 = ingest_text(cast, published, "facilities", FACILITIES_V1 + "南保健センター,南区,25\n")
    assert _sql(client, count)[1]["result"]["records"] == [{"n": rows}]  # not public yet: still v1, cached
    assert len(runs) == 3
    publish(cast, published, [v2])
    assert _sql(client, count)[1]["result"]["records"] == [{"n": rows + 1}]
    assert len(runs) == 4
    # a withdrawal answers 403 at once although the answers are still kept
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    status, body = _sql(client, count)
    assert (status, body["error"]["__type"]) == (403, "Authorization Error")
    datastore._caches.clear()  # nor from the shared folder, in a process that never saw it
    assert _sql(client, count)[0] == 403
    assert len(runs) == 4


def test_datastore_pages_are_shared_between_server_processes(
    published: Dataset, v1: TableVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    from machidata.portal import datastore

    datastore.forget_pages()
    reads: list[int] = []
    real = datastore.table_rows
    monkeypatch.setattr(datastore, "table_rows", lambda **kw: (reads.append(kw["version"].pk), real(**kw))[1])
    client = Client()
    resource = client.get("/api/3/action/package_show", {"id": "hoken-center"}).json()["result"]["resources"][
        0
    ]["id"]
    first = _rows(client, resource, filters='{"区": "東区"}')[1]
    datastore._caches.clear()  # another process: nothing in its memory
    assert _rows(client, resource, filters='{"区": "東区"}')[1] == first
    assert reads == [v1.pk]
