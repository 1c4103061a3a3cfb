"""``python -m bench portal``: the public portal's CKAN API against tuned Datasette, 8 clients on loopback.

What one invocation does (issue 6, "Speed (benchmark)"):

1. a fresh ``MACHIDATA_HOME`` (a temporary folder, or ``--home``), ``machidata migrate`` and ``machidata
   demo --load-only --no-data`` (the demo organisation, accounts and licences), production settings;
2. in a child process with that home (:func:`setup`):

   * a 1,000,000-row table (``--rows``; 区, 受付日, 分類, 件数, 金額, generated with a fixed seed) is
     ingested through the real ingest service (``ingest_file``) and published through the real
     publication route (``publication_request_create``, then ``publication_act`` by the 課長 and by
     データ戦略課), so the portal sees an approved version;
   * ``--templates`` (default 10) small datasets are ingested and published the same way; the other
     public datasets up to ``--datasets`` (default 20,000) are bulk-inserted copies of those
     templates: the same Dataset, Table, TableVersion, PublicationRequest (approved), RequestVersion
     and PublishedVersion rows the route wrote, with their own slug, identifier, title, owner, 分野 and
     keywords. ``publish.selectors`` (what the portal asks) reads only those rows, so it cannot tell a
     copy from a route-published dataset; the copies have no lake files, so only package_search and
     package_show touch them (datastore_search reads the 1M-row table, which is real);
   * the same 1M rows go into a SQLite file for Datasette, with an index on each filtered column
     (区, 分類, 受付日 and 区+分類);

3. ``machidata serve --no-worker`` (gunicorn, as in production) and ``datasette serve`` with the issue's
   fair tuning: ``-i`` (immutable: counts cached), ``suggest_facets off``, ``sql_time_limit_ms 10000``,
   ``facet_time_limit_ms 10000``, ``max_returned_rows 10000``;
4. per run (``--runs``, default 2) and per endpoint (:data:`ENDPOINTS`), ``--clients`` threads (default
   8), each with its own keep-alive ``requests`` session, send requests back to back for ``--duration``
   seconds (after one warm-up request per client); a request counts when its whole body arrived with
   status 200 and a correct shape (:func:`check`); anything else is an error. The 1-minute load
   average is recorded before each endpoint: the machine is shared, so the ratios within one run are
   the figures that count;
5. results to ``.bench/results/portal-<stamp>.json`` and the "Portal" block of docs/benchmarks.md.

The grouped query: machidata's public grouped endpoint is CKAN ``datastore_search_sql`` with a GROUP BY
(anonymous, through the engine's SQL sandbox); ``/api/v1/query`` (a TableQuery with group_by and
measures, with a signed-in person's API token) is measured too. ``datastore_search_sql`` keeps answers
(a result cache per public version), so it is measured twice: the same GROUP BY again and again (the
cache answers all but the first request per server), and ``GROUP BY, no cache`` — the same grouping over
a date range that no other request of the invocation asks (:func:`group_range`), so every request runs
the statement. The home's result caches (``MACHIDATA_HOME/cache``) are emptied before the server starts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.live import (
    api_token,
    free_port,
    machidata,
    prepare,
    production_env,
    server,
    sign_in,
    wait_ready,
)
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".bench" / "results"
TABLE = "records"  # the 1M-row table's name (machidata) and the SQLite table's name (Datasette)
BIG_SLUG = "bench-uketsuke"
WARDS = ("中央区", "東区", "西区", "南区", "北区")
KINDS = ("住民票", "印鑑登録", "転入", "転出", "戸籍", "税証明", "国保", "年金")
COLUMNS = ("区", "受付日", "分類", "件数", "金額")
STEWARD = ("steward", "demo-steward-2024")  # a demo account (machidata/demo/content.py); demo only
TOPICS = (
    "人口", "世帯", "保育所", "避難所", "ごみ", "観光", "公園", "バス停", "AED", "医療機関",
    "子育て", "防災", "選挙", "予算", "道路", "図書館", "水道", "消防", "介護", "学校",
)  # fmt: skip
GROUP_SQL = 'SELECT "区", "分類", COUNT(*) AS n, SUM("金額") AS total FROM {t} GROUP BY "区", "分類" ORDER BY "区", "分類"'
# The same grouping over a date range that differs in every request of an invocation (365 × 185 ranges, drawn
# in turn), so no answer can come from a result cache: the figure of a statement actually run.
GROUP_RANGE_SQL = (
    'SELECT "区", "分類", COUNT(*) AS n, SUM("金額") AS total FROM {t} '
    'WHERE "受付日" BETWEEN DATE \'{a}\' AND DATE \'{b}\' GROUP BY "区", "分類" ORDER BY "区", "分類"'
)
_range_turn = itertools.count()
_range_lock = threading.Lock()
TIMEOUT_S = 60.0
WARMUP = 3  # requests per client before the clock starts (8 clients × 3 reach every gunicorn worker)
WARMUP_TIMEOUT_S = 900.0  # a worker's first package list at 20,000 datasets takes long on a busy machine


# ---- data --------------------------------------------------------------------------------------------


def rows_csv(path: Path, rows: int, seed: int = 6) -> None:
    """``rows`` reception records (区, 受付日, 分類, 件数, 金額) as UTF-8 CSV, the same for the same seed."""
    rng = random.Random(seed)
    start = dt.date(2024, 4, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        for _ in range(rows):
            day = start + dt.timedelta(days=rng.randrange(730))
            fh.write(
                f"{rng.choice(WARDS)},{day.isoformat()},{rng.choice(KINDS)},"
                f"{rng.randint(1, 20)},{rng.randint(0, 300) * 100}\n"
            )


def sqlite_from_csv(csv_path: Path, db: Path) -> None:
    """The CSV's rows as table ``records`` of a SQLite file, indexed on every filtered column."""
    import csv

    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.execute(
        'CREATE TABLE records ("区" TEXT, "受付日" TEXT, "分類" TEXT, "件数" INTEGER, "金額" INTEGER)'
    )
    with csv_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", reader)
    for cols in (("区",), ("分類",), ("受付日",), ("区", "分類")):
        name = "idx_" + "_".join(str(COLUMNS.index(c)) for c in cols)
        con.execute(f"CREATE INDEX {name} ON records ({', '.join(chr(34) + c + chr(34) for c in cols)})")
    con.commit()
    con.execute("ANALYZE")
    con.close()


# ---- setup (a child process with Django on the benchmark's home) -------------------------------------


def _publish(dataset: Any, version: Any, owner: Any, head: Any, admin: Any) -> None:
    from machidata.publish.services import publication_act, publication_request_create

    req = publication_request_create(
        actor=owner, dataset=dataset, version_ids=[version.pk], licence_code="cc-by-4.0",
        attribution="熊本市オープンデータ（ベンチマーク）",
    )  # fmt: skip
    while req.status == "pending":  # the full route (課長, then 管理) or the routine one (管理 only)
        who = admin if req.steps[req.current_step]["who"] == "admin" else head
        req = publication_act(actor=who, request=req, decision="approve")
    if req.status != "approved":
        raise RuntimeError(f"publication of {dataset.slug} ended {req.status}: {req.gate_results}")


def _real_dataset(slug: str, title: str, unit: Any, path: Path, *, owner: Any, head: Any, admin: Any) -> Any:
    from machidata.catalog.models import Dataset, Table
    from machidata.ingest.services import ingest_file, table_get_or_create

    ds = Dataset.objects.create(
        slug=slug, identifier=f"bench-{slug}", title=title, owner=unit, classification="internal",
        personal_data="none", description=f"{title}（ベンチマーク用の合成データ）", is_synthetic=True,
        keywords=["ベンチマーク"],
    )  # fmt: skip
    table = table_get_or_create(actor=owner, dataset=ds, name=TABLE, title=title)
    version = ingest_file(actor=owner, table=Table.objects.get(pk=table.pk), path=path, source_name=path.name)
    _publish(ds, version, owner, head, admin)
    return Dataset.objects.get(pk=ds.pk)


def _copies(templates: list[Any], count: int, seed: int = 6) -> dict[str, int]:
    """``count`` bulk-inserted copies of the route-published ``templates`` (the same rows the route
    wrote, each with its own names); returns how many went to each unit's CKAN organization name."""
    import uuid

    from django.db import transaction

    from machidata.access.models import Unit
    from machidata.catalog.models import Category, Dataset, Table, TableVersion
    from machidata.publish.models import PublicationRequest, PublishedVersion, RequestVersion

    rng = random.Random(seed)
    units = list(Unit.objects.filter(kind="division").order_by("code"))
    categories: list[Any] = list(Category.objects.order_by("code")) or [None]
    per_unit: dict[str, int] = {}
    batch = 2000
    for start in range(0, count, batch):
        n = min(batch, count - start)
        with transaction.atomic():
            picks = [templates[(start + i) % len(templates)] for i in range(n)]
            new_ds = []
            for i, tpl in enumerate(picks):
                k = start + i
                topic = rng.choice(TOPICS)
                unit = rng.choice(units)
                per_unit[unit.code] = per_unit.get(unit.code, 0) + 1
                d = Dataset.objects.get(pk=tpl["dataset"].pk)
                d.pk = None
                d.slug, d.identifier = f"bench-{k:05d}", f"bench-copy-{k:05d}"
                d.title = f"{unit.name}の{topic}データ 第{k}号"
                d.description = f"{topic}に関する{unit.name}のデータです（ベンチマーク用の複製 {k}）。"
                d.owner, d.category = unit, rng.choice(categories)
                d.keywords = [topic, rng.choice(TOPICS)]
                new_ds.append(d)
            Dataset.objects.bulk_create(new_ds)
            new_tables = []
            for d, tpl in zip(new_ds, picks, strict=True):
                t = Table.objects.get(pk=tpl["table"].pk)
                t.pk, t.dataset, t.current_version, t.storage_key = None, d, None, uuid.uuid4().hex
                new_tables.append(t)
            Table.objects.bulk_create(new_tables)
            new_versions = []
            for t, tpl in zip(new_tables, picks, strict=True):
                v = TableVersion.objects.get(pk=tpl["version"].pk)
                v.pk, v.table = None, t
                new_versions.append(v)
            TableVersion.objects.bulk_create(new_versions)
            for t, v in zip(new_tables, new_versions, strict=True):
                t.current_version = v
            Table.objects.bulk_update(new_tables, ["current_version"])
            new_reqs = []
            for d, tpl in zip(new_ds, picks, strict=True):
                r = PublicationRequest.objects.get(pk=tpl["request"].pk)
                r.pk, r.dataset = None, d
                new_reqs.append(r)
            PublicationRequest.objects.bulk_create(new_reqs)
            RequestVersion.objects.bulk_create(
                [RequestVersion(request=r, version=v) for r, v in zip(new_reqs, new_versions, strict=True)]
            )
            PublishedVersion.objects.bulk_create(
                [
                    PublishedVersion(table=t, version=v, request=r)
                    for t, v, r in zip(new_tables, new_versions, new_reqs, strict=True)
                ]
            )
    return per_unit


def setup(
    home: Path, *, datasets: int, rows: int, templates: int, people: tuple[Any, Any, Any, Any] | None = None
) -> dict[str, Any]:
    """Fill ``home`` (Django already set up on it): the big table, the public datasets, the SQLite file.

    ``people``: the owning unit and the actors of its editor, its 課長 and データ戦略課 (default: the demo's)."""
    from django.contrib.auth import get_user_model

    from machidata.access.models import Unit
    from machidata.access.policy import actor_for
    from machidata.catalog.models import Table
    from machidata.portal.selectors import organization_name, resource_id
    from machidata.publish.demo import OWNER_CODE, _head
    from machidata.publish.models import PublishedVersion

    timings: dict[str, float] = {}
    if people is None:
        users = get_user_model().objects
        unit = Unit.objects.get(code=OWNER_CODE)
        people = (unit, actor_for(users.get(username="steward")), actor_for(_head(unit)),
                  actor_for(users.get(username="admin")))  # fmt: skip
    unit, owner, head, admin = people
    folder = home / "bench"
    folder.mkdir(exist_ok=True)
    big_csv = folder / "records.csv"
    t0 = time.perf_counter()
    rows_csv(big_csv, rows)
    timings["generate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    big = _real_dataset(
        BIG_SLUG, "窓口受付記録（ベンチマーク）", unit, big_csv, owner=owner, head=head, admin=admin
    )
    timings["ingest_publish_big_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    small_csv = folder / "small.csv"
    rows_csv(small_csv, 20, seed=7)
    made = []
    for i in range(max(1, min(templates, datasets - 1))):
        ds = _real_dataset(
            f"bench-route-{i:02d}", f"{TOPICS[i % len(TOPICS)]}の一覧（ベンチマーク）", unit, small_csv,
            owner=owner, head=head, admin=admin,
        )  # fmt: skip
        pv = PublishedVersion.objects.select_related("version", "request", "table").get(table__dataset=ds)
        made.append({"dataset": ds, "table": pv.table, "version": pv.version, "request": pv.request})
    timings["route_templates_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    copies = max(0, datasets - 1 - len(made))
    per_unit = _copies(made, copies)
    timings["bulk_copies_s"] = time.perf_counter() - t0
    per_unit[unit.code] = per_unit.get(unit.code, 0) + 1 + len(made)
    t0 = time.perf_counter()
    sqlite_from_csv(big_csv, folder / "portal.db")
    timings["sqlite_s"] = time.perf_counter() - t0
    table = Table.objects.select_related("dataset").get(dataset=big, name=TABLE)
    units = {u.code: u for u in Unit.objects.filter(code__in=per_unit)}
    return {
        "datasets": datasets,
        "rows": rows,
        "route_published": 1 + len(made),
        "bulk_copies": copies,
        "big_slug": big.slug,
        "resource_id": resource_id(table),
        "copy_slugs": [f"bench-{k:05d}" for k in range(0, copies, max(1, copies // 200) if copies else 1)],
        "org_counts": {organization_name(units[c]): n for c, n in per_unit.items()},
        "sqlite": str(folder / "portal.db"),
        "timings": timings,
    }


def _setup_child(argv: list[str]) -> None:
    """Entry of the setup child: ``python -m bench.portal --setup-child HOME DATASETS ROWS TEMPLATES``."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machidata.config.settings")
    django.setup()
    home, datasets, rows, templates = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    info = setup(home, datasets=datasets, rows=rows, templates=templates)
    (home / "bench" / "setup.json").write_text(
        json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8"
    )


def prepare_home(
    home: Path, env: dict[str, str], *, datasets: int, rows: int, templates: int
) -> dict[str, Any]:
    """Migrate, load the demo organisation and run :func:`setup` in a child; a prepared home is reused
    (migrated first: the code may have new migrations since it was prepared)."""
    done = home / "bench" / "setup.json"
    if done.is_file():
        machidata(env, "migrate", log=home / "setup.log")
        return dict(json.loads(done.read_text(encoding="utf-8")))
    home.mkdir(parents=True, exist_ok=True)
    prepare(home, env, data=False)
    with (home / "setup.log").open("ab") as log:
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "bench.portal",
                "--setup-child",
                str(home),
                str(datasets),
                str(rows),
                str(templates),
            ],
            env={**env, "DJANGO_SETTINGS_MODULE": "machidata.config.settings"},
            cwd=ROOT,
            stdout=log,
            stderr=log,
            check=True,
        )
    return dict(json.loads(done.read_text(encoding="utf-8")))


# ---- servers -----------------------------------------------------------------------------------------

DATASETTE_SETTINGS = (
    ("suggest_facets", "off"),
    ("sql_time_limit_ms", "10000"),
    ("facet_time_limit_ms", "10000"),
    ("max_returned_rows", "10000"),
)


@contextlib.contextmanager
def datasette(db: Path, *, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``datasette serve -i db`` on 127.0.0.1:``port``, tuned as the issue says, until the block ends."""
    args = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "-i",
        str(db),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    for key, value in DATASETTE_SETTINGS:
        args += ["--setting", key, value]
    out = log.open("ab")
    proc = subprocess.Popen(args, cwd=db.parent, stdout=out, stderr=out)  # noqa: S603 - our interpreter
    try:
        wait_ready(proc, log=log, ready_url=f"http://127.0.0.1:{port}/-/versions.json", wait_s=120)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


# ---- requests ----------------------------------------------------------------------------------------


@dataclass
class Target:
    """Where the two servers are and what the setup made."""

    machidata: str
    datasette: str
    info: dict[str, Any]
    token: str = ""

    @property
    def db(self) -> str:
        return Path(self.info["sqlite"]).stem


# One request: (session, target, rng) → (method, url, kwargs); its answer is checked by CHECKS[name].
Make = Callable[..., requests.Response]


def _ckan(
    session: requests.Session, t: Target, action: str, timeout: float, **params: Any
) -> requests.Response:
    return session.get(f"{t.machidata}/api/3/action/{action}", params=params, timeout=timeout)


def _sql(session: requests.Session, t: Target, sql: str, timeout: float) -> requests.Response:
    return session.get(
        f"{t.datasette}/{t.db}.json", params={"sql": sql, "_shape": "objects"}, timeout=timeout
    )


def _filters(rng: random.Random) -> dict[str, str]:
    return {"区": rng.choice(WARDS), "分類": rng.choice(KINDS)}


def search_q(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """package_search with a free word (as people search) and the default sort."""
    return _ckan(s, t, "package_search", timeout, q=rng.choice(TOPICS), rows=10)


def search_fq(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """package_search with ``fq=organization:…`` and a facet (as a portal's 絞り込み does)."""
    org = rng.choice(sorted(t.info["org_counts"]))
    return _ckan(
        s,
        t,
        "package_search",
        timeout,
        fq=f"organization:{org}",
        rows=20,
        **{"facet.field": '["groups","tags"]'},
    )


def search_harvest(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """package_search as a harvester pages: everything, 100 per page, sorted by id."""
    return _ckan(
        s, t, "package_search", timeout, q="*:*", rows=100, start=rng.randrange(0, 200) * 100, sort="id asc"
    )


def package_show(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """package_show of one of the public datasets."""
    return _ckan(s, t, "package_show", timeout, id=rng.choice(t.info["copy_slugs"] or [t.info["big_slug"]]))


def ds_first(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """datastore_search: the first page (100 rows, CKAN's default) with the total."""
    return _ckan(s, t, "datastore_search", timeout, resource_id=t.info["resource_id"])


def ds_filtered(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """datastore_search filtered on 区 and 分類: the first page and the filtered total."""
    f = json.dumps(_filters(rng), ensure_ascii=False)
    return _ckan(s, t, "datastore_search", timeout, resource_id=t.info["resource_id"], filters=f)


def ds_sql_group(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """datastore_search_sql: GROUP BY 区, 分類 with COUNT and SUM over the 1M rows (public, sandboxed)."""
    return _ckan(s, t, "datastore_search_sql", timeout, sql=GROUP_SQL.format(t=f'"{t.info["resource_id"]}"'))


def group_range() -> tuple[str, str]:
    """The next date range of :data:`GROUP_RANGE_SQL`: never the same twice within 67,525 requests."""
    with _range_lock:
        n = next(_range_turn)
    a = dt.date(2024, 4, 1) + dt.timedelta(days=n % 365)
    b = a + dt.timedelta(days=180 + (n // 365) % 185)
    return a.isoformat(), b.isoformat()


def ds_sql_group_uncached(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """datastore_search_sql: the GROUP BY over a date range no other request of this invocation asks."""
    a, b = group_range()
    text = GROUP_RANGE_SQL.format(t=f'"{t.info["resource_id"]}"', a=a, b=b)
    return _ckan(s, t, "datastore_search_sql", timeout, sql=text)


def api_query_group(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """/api/v1/query: the same grouping as a TableQuery, with a signed-in person's token."""
    query = {
        "group_by": ["区", "分類"],
        "measures": [{"op": "count", "as": "n"}, {"op": "sum", "column": "金額", "as": "total"}],
        "sort": [["区", "asc"], ["分類", "asc"]],
    }
    return s.post(
        f"{t.machidata}/api/v1/query",
        json={"dataset": t.info["big_slug"], "table": TABLE, "query": query},
        headers={"Authorization": f"Bearer {t.token}"},
        timeout=timeout,
    )


def dt_first(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """Datasette's table page as JSON: the first 100 rows and the count."""
    return s.get(
        f"{t.datasette}/{t.db}/{TABLE}.json", params={"_shape": "objects", "_size": 100}, timeout=timeout
    )


def dt_filtered(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """Datasette's table page filtered on 区 and 分類 (indexed), with the filtered count."""
    params: dict[str, Any] = {"_shape": "objects", "_size": 100, **_filters(rng)}
    return s.get(f"{t.datasette}/{t.db}/{TABLE}.json", params=params, timeout=timeout)


def dt_facet(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """Datasette's table page with one facet (区)."""
    params = {"_shape": "objects", "_size": 100, "_facet": "区"}
    return s.get(f"{t.datasette}/{t.db}/{TABLE}.json", params=params, timeout=timeout)


def dt_group(
    s: requests.Session, t: Target, rng: random.Random, timeout: float = TIMEOUT_S
) -> requests.Response:
    """Datasette's SQL: the same GROUP BY 区, 分類."""
    return _sql(s, t, GROUP_SQL.format(t=TABLE), timeout)


# name → (server, request, what it is compared with)
ENDPOINTS: dict[str, tuple[str, Make, str]] = {
    "package_search q": ("machidata", search_q, ""),
    "package_search fq+facets": ("machidata", search_fq, ""),
    "package_search harvest page": ("machidata", search_harvest, ""),
    "package_show": ("machidata", package_show, ""),
    "datastore_search first page": ("machidata", ds_first, "datasette first page"),
    "datastore_search filtered": ("machidata", ds_filtered, "datasette filtered"),
    "datastore_search_sql GROUP BY": ("machidata", ds_sql_group, "datasette GROUP BY"),
    "datastore_search_sql GROUP BY, no cache": ("machidata", ds_sql_group_uncached, "datasette GROUP BY"),
    "/api/v1/query group_by": ("machidata", api_query_group, "datasette GROUP BY"),
    "datasette first page": ("datasette", dt_first, ""),
    "datasette filtered": ("datasette", dt_filtered, ""),
    "datasette one facet": ("datasette", dt_facet, ""),
    "datasette GROUP BY": ("datasette", dt_group, ""),
}


def check(name: str, answer: requests.Response) -> str:
    """Empty when ``answer`` has the shape this endpoint must give, else what is wrong."""
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}"
    body = answer.json()
    server_name = ENDPOINTS[name][0]
    if server_name == "machidata" and not name.startswith("/api/v1"):
        if body.get("success") is not True:
            return "success is not true"
        result = body["result"]
        if name.startswith("package_search"):
            ok = isinstance(result.get("count"), int) and isinstance(result.get("results"), list)
        elif name == "package_show":
            ok = bool(result.get("name"))
        else:
            ok = bool(result.get("records"))
        return "" if ok else "empty or malformed result"
    rows = body.get("rows")
    return "" if rows else "no rows"


# ---- load --------------------------------------------------------------------------------------------


def load_1m() -> float:
    return os.getloadavg()[0]


def measure(name: str, target: Target, *, clients: int, duration: float, seed: int) -> dict[str, Any]:
    """``clients`` threads send ``name`` back to back for ``duration`` seconds; returns its figures."""
    _, make, _ = ENDPOINTS[name]
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)  # the clock starts once every client has warmed up
    stop_at = [0.0]

    def client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        session = requests.Session()
        try:
            for _ in range(WARMUP):  # warm-up: connections and every server process's caches
                with contextlib.suppress(requests.RequestException):
                    make(session, target, rng, timeout=WARMUP_TIMEOUT_S)
        finally:
            ready.wait()
        while time.monotonic() < stop_at[0]:
            started = time.perf_counter()
            try:
                answer = make(session, target, rng)
                problem = check(name, answer)
            except (requests.RequestException, ValueError) as err:
                problem = type(err).__name__
            took = time.perf_counter() - started
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    times.append(took)
        session.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for th in threads:
        th.start()
    stop_at[0] = time.monotonic() + 10 * 24 * 3600.0  # set for real below, as the barrier opens
    ready.wait()
    started = time.monotonic()
    stop_at[0] = started + duration
    load = load_1m()
    for th in threads:
        th.join()
    wall = time.monotonic() - started
    ms = sorted(x * 1000 for x in times)

    def pct(p: float) -> float | None:
        return round(ms[min(len(ms) - 1, int(p * len(ms)))], 1) if ms else None

    return {
        "endpoint": name,
        "server": ENDPOINTS[name][0],
        "clients": clients,
        "load_1m": round(load, 2),
        "seconds": round(wall, 2),
        "requests": len(ms),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "rps": round(len(ms) / wall, 2) if wall else 0.0,
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": pct(0.95),
        "max_ms": round(ms[-1], 1) if ms else None,
    }


# ---- report ------------------------------------------------------------------------------------------


def verdicts(run: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, figures, met) for the issue's three targets in one run."""
    by = {m["endpoint"]: m for m in run["measurements"]}
    out = []

    def rps(n: str) -> float:
        return float(by[n]["rps"]) if n in by else 0.0

    def p95(n: str) -> float:
        v = by.get(n, {}).get("p95_ms")
        return float(v) if v is not None else float("inf")

    for mine, theirs in (
        ("datastore_search first page", "datasette first page"),
        ("datastore_search filtered", "datasette filtered"),
    ):
        ok = rps(mine) >= rps(theirs) and p95(mine) <= 100
        out.append((f"{mine} ≥ {theirs}, p95 ≤ 100 ms",
                    f"{rps(mine):.1f} vs {rps(theirs):.1f} req/s, p95 {p95(mine):.0f} ms", ok))  # fmt: skip
    for mine in (
        "datastore_search_sql GROUP BY",
        "datastore_search_sql GROUP BY, no cache",
        "/api/v1/query group_by",
    ):
        if mine not in by:
            continue
        ratio = rps(mine) / rps("datasette GROUP BY") if rps("datasette GROUP BY") else float("inf")
        ok = ratio >= 30 and p95(mine) <= 100
        out.append((f"{mine} ≥ 30× datasette GROUP BY, p95 ≤ 100 ms",
                    f"{ratio:.1f}× ({rps(mine):.1f} vs {rps('datasette GROUP BY'):.2f} req/s), p95 {p95(mine):.0f} ms", ok))  # fmt: skip
    for mine in ("package_search q", "package_search fq+facets", "package_search harvest page"):
        out.append(
            (
                f"{mine} p95 ≤ 100 ms at {run['datasets']:,} datasets",
                f"p95 {p95(mine):.0f} ms",
                p95(mine) <= 100,
            )
        )
    return out


def report(runs: list[dict[str, Any]]) -> str:
    """The Markdown block: one table per run, then the verdicts."""
    lines: list[str] = []
    for k, run in enumerate(runs, 1):
        lines += [
            f"**Run {k}** ({run['stamp']}, {run['datasets']:,} public datasets, {run['rows']:,}-row table, "
            f"{run['clients']} clients, {run['duration']:.0f} s per endpoint, gunicorn {run['workers']} workers × "
            f"{run['threads']} threads, {run['cpus']} CPUs shared with other workers){': ' + run['note'] if run.get('note') else ''}",
            "",
            "| endpoint | server | load (1 min) | requests | errors | req/s | p50 ms | p95 ms | max ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m in run["measurements"]:
            lines.append(
                f"| {m['endpoint']} | {m['server']} | {m['load_1m']:.2f} | {m['requests']} | {m['errors']} | "
                f"{m['rps']:.1f} | {m['p50_ms']} | {m['p95_ms']} | {m['max_ms']} |"
            )
        lines += ["", "| target | figures | met |", "|---|---|---|"]
        lines += [f"| {t} | {f} | {'yes' if ok else '**no**'} |" for t, f, ok in verdicts(run)]
        lines.append("")
    return "\n".join(lines).rstrip()


def write_doc(paths: list[Path]) -> None:
    """Rewrite the generated block of the Portal section from saved result files."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    write_section("Portal", report(runs))


# ---- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> Path | None:  # noqa: PLR0915 - the steps of a run, in order
    """Parse options, prepare a home, start both servers, measure every endpoint, write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench portal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=20_000, help="public datasets (default 20,000)")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the big table (default 1,000,000)"
    )
    parser.add_argument("--templates", type=int, default=10, help="datasets published through the route")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint (default 15)")
    parser.add_argument("--runs", type=int, default=2, help="runs over every endpoint (default 2)")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × CPUs)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--only", action="append", help="endpoints to measure (repeatable; default all)")
    parser.add_argument("--home", type=Path, help="MACHIDATA_HOME (reused when prepared; default temporary)")
    parser.add_argument("--note", default="", help="a sentence for the doc")
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for result JSON")
    parser.add_argument("--setup-only", action="store_true", help="prepare --home and stop")
    parser.add_argument(
        "--report", nargs="*", type=Path, help="rewrite the doc block from these result files"
    )
    args = parser.parse_args(argv)
    if args.report is not None:
        write_doc(args.report or sorted(RESULTS.glob("portal-*.json"))[-2:])
        return None
    cpus = os.cpu_count() or 1
    workers = args.workers or 2 * cpus
    temp = None if args.home else tempfile.mkdtemp(prefix="machidata-portal-bench-")
    home = args.home or Path(str(temp))
    try:
        env = production_env(home)
        started = time.perf_counter()
        info = prepare_home(home, env, datasets=args.datasets, rows=args.rows, templates=args.templates)
        print(f"setup: {time.perf_counter() - started:.0f} s ({info['timings']})", flush=True)
        if args.setup_only:
            return None
        mport, dport = free_port(), free_port()
        names = [n for n in ENDPOINTS if not args.only or n in args.only]
        # Every invocation starts with empty result caches (MACHIDATA_HOME/cache: answers kept by an earlier
        # run on this home would make the first requests look cheaper than a freshly started server's).
        shutil.rmtree(home / "cache", ignore_errors=True)
        out: Path | None = None
        args.results.mkdir(parents=True, exist_ok=True)
        with (
            server(
                env,
                port=mport,
                workers=workers,
                threads=args.threads,
                log=home / "serve.log",
                with_runner=False,
            ),
            datasette(Path(info["sqlite"]), port=dport, log=home / "datasette.log"),
        ):
            base = f"http://127.0.0.1:{mport}"
            target = Target(machidata=base, datasette=f"http://127.0.0.1:{dport}", info=info)
            target.token = api_token(sign_in(base, *STEWARD), base, "bench-portal")
            for k in range(args.runs):
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
                run: dict[str, Any] = {
                    "stamp": stamp, "datasets": info["datasets"], "rows": info["rows"], "clients": args.clients,
                    "duration": args.duration, "workers": workers, "threads": args.threads, "cpus": cpus,
                    "route_published": info["route_published"], "bulk_copies": info["bulk_copies"],
                    "setup_timings": info["timings"], "note": args.note, "measurements": [],
                }  # fmt: skip
                for name in names:
                    m = measure(name, target, clients=args.clients, duration=args.duration, seed=k + 1)
                    run["measurements"].append(m)
                    print(
                        f"run {k + 1} {name:34} load {m['load_1m']:5.2f}  {m['rps']:8.1f} req/s  "
                        f"p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  errors {m['errors']} {m['error_kinds']}",
                        flush=True,
                    )
                out = args.results / f"portal-{stamp}.json"
                out.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
                for t, f, ok in verdicts(run):
                    print(f"  {'OK ' if ok else 'NO '} {t}: {f}", flush=True)
        if out is not None and not args.no_doc:
            write_doc(sorted(args.results.glob("portal-*.json"))[-args.runs :])
        return out
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--setup-child"]:
        _setup_child(sys.argv[2:])
    else:
        main(sys.argv[1:])
