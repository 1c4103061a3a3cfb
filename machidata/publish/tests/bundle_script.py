"""Run in a subprocess by the two-home bundle test: ``python -m machidata.publish.tests.bundle_script CMD``.

Each command works on the home named by MACHIDATA_HOME and prints one JSON line:
- ``internal``: migrate, then a public dataset whose table has two versions (replace, then append) with
  the second one published (recorded as an approved request, as the route records it);
- ``public``: migrate and one unit only (データ戦略課, the import unit): the dataset's 所管課 must come
  with the bundle;
- ``view``: what the public surfaces see — identifier → title and each public table's rows (names in
  ``_id`` order, read with pyarrow from the files);
- ``ids``: the CKAN identifiers the portal gives — package, resources, organisation, groups;
- ``extras``: what the public sees beyond the tables — the 事業 pages on /open/projects/ (as served over
  HTTP) and each dataset's tags and standard-format CSV (its header, downloaded from the portal);
- ``withdraw``: withdraw the table and the 事業 page, as approved 非公開化 requests record it.

The internal side also has an EBPM 事業 page approved through the route (the ebpm room's own snapshot)
and a standard declaration (標準データセット) on the table.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import django

FIRST = [f"行{i}" for i in range(1, 6)]
SECOND = [f"追加{i}" for i in range(1, 4)]
PAGE_NAME = "特定健診受診勧奨事業（試験）"


def _internal() -> dict[str, Any]:
    import pyarrow as pa
    from django.core.management import call_command

    from machidata.catalog.models import Category, Table
    from machidata.core.testing import make_dataset, make_org, make_user
    from machidata.lake.protocol import write_version
    from machidata.publish.models import PublicationRequest, PublishedVersion

    call_command("migrate", interactive=False, verbosity=0)
    org = make_org()
    dataset = make_dataset(
        org.health_div, title="二つの環境の試験", classification="public", slug="two-homes"
    )
    dataset.category = Category.objects.create(code="kenko", name="健康・福祉")
    dataset.save(update_fields=["category"])
    table = Table.objects.create(dataset=dataset, name="t", title="表", storage_key=uuid.uuid4().hex)
    schema = pa.schema([("name", pa.string())])
    version = None
    for mode, names in (("replace", FIRST), ("append", SECOND)):
        batch = pa.record_batch([pa.array(names)], schema=schema)
        version = write_version(
            table=table, batches=[batch], schema=schema, mode=mode, job_id=uuid.uuid4().hex
        )
    req = PublicationRequest.objects.create(
        dataset=dataset,
        route_name="full",
        status="approved",
        requested_by=make_user("steward", unit=org.health_div),
    )
    PublishedVersion.objects.create(table=table, version=version, request=req)
    _internal_extras(table, req.requested_by)
    return {"org": org.data_strategy.code}


def _internal_extras(table: Any, user: Any) -> None:
    """A 事業 page approved through the route, and a standard declaration on the public table."""
    import importlib

    from django.apps import apps

    from machidata.ebpm import logic
    from machidata.ebpm.models import LogicModel, LogicModelVersion, PageRequest, PlanItem, PublicPage
    from machidata.ebpm.selectors_pages import fingerprint, page_snapshot

    # The standards room sits above publication (import-linter): this script declares a standard the
    # way its page would, reaching the room by name rather than importing it.
    definitions = importlib.import_module("machidata.standards.definitions")
    declaration = apps.get_model("standards", "StandardDeclaration")

    item = PlanItem.objects.create(level="project", code="D-1-1", name=PAGE_NAME, unit=table.dataset.owner,
                                   description="健診の受診を勧める事業です。")  # fmt: skip
    doc = logic.empty_document()
    model = LogicModel.objects.create(item=item, number=1, document=doc)
    LogicModelVersion.objects.create(model=model, number=1, document=doc, actor_label="steward")
    snap = page_snapshot(item, model_number=1, evaluation_ids=[])
    req = PageRequest.objects.create(item=item, kind="publish", requested_by=user, route_name="full", steps=[],
                                     status="approved", preview=snap, fingerprint=fingerprint(snap))  # fmt: skip
    PublicPage.objects.create(item=item, request=req, snapshot=snap)
    standard = next(s for s in definitions.declarable() if "yyyymmdd" not in s.file_pattern)
    declaration.objects.create(table=table, standard=standard.code,
                                       mapping={standard.items[1].name: "name"}, declared_by=user)  # fmt: skip


def _withdraw() -> dict[str, Any]:
    from django.utils import timezone

    from machidata.ebpm.models import PublicPage
    from machidata.publish.models import PublishedVersion

    PublishedVersion.objects.update(withdrawn_at=timezone.now())
    PublicPage.objects.update(withdrawn_at=timezone.now())
    return {}


def _extras() -> dict[str, Any]:
    from django.test import Client

    from machidata.ebpm.selectors_pages import public_pages
    from machidata.portal import selectors as portal

    client = Client()
    listing = client.get("/open/projects/")
    pages = {}
    for page in public_pages():
        detail = client.get(f"/open/projects/{page.item_id}/")
        pages[page.snapshot["item"]["name"]] = {
            "status": detail.status_code, "listed": page.snapshot["item"]["name"] in listing.content.decode(),
            "named": page.snapshot["item"]["name"] in detail.content.decode(), "snapshot": page.snapshot,
        }  # fmt: skip
    packages = {}
    for pkg in portal.package_dicts(base_url=""):
        csvs = {}
        for r in pkg["resources"]:
            if r.get("machidata_standard"):
                got = client.get(r["url"])
                body = b"".join(got.streaming_content) if got.streaming else got.content  # type: ignore[attr-defined]
                csvs[r["name"]] = [got.status_code, body.decode("utf-8-sig").splitlines()[:1]]
        packages[pkg["name"]] = {"tags": sorted(t["name"] for t in pkg["tags"]), "standard_csv": csvs}
    return {"list_status": listing.status_code, "pages": pages, "packages": packages}


def _public() -> dict[str, Any]:
    from django.core.management import call_command

    from machidata.core.testing import make_unit

    call_command("migrate", interactive=False, verbosity=0)
    return {"org": make_unit("データ戦略課", code="PUBLIC-IMPORT").code}


def _view() -> dict[str, Any]:
    import pyarrow.dataset as pads

    from machidata.lake.readers import files_for
    from machidata.publish import selectors

    out: dict[str, Any] = {}
    for t in selectors.public_tables():
        v = selectors.public_version_for(t)
        assert v is not None
        rows = pads.dataset(files_for(v), format="parquet").to_table().sort_by("_id")
        out.setdefault(t.dataset.identifier, {"title": t.dataset.title, "tables": {}})
        out[t.dataset.identifier]["tables"][t.name] = rows.column("name").to_pylist()
    return out


def _ids() -> dict[str, Any]:
    from machidata.portal import selectors as portal

    out: dict[str, Any] = {}
    for pkg in portal.package_dicts(base_url="http://x"):
        out[pkg["name"]] = {
            "id": pkg["id"], "organization": [pkg["organization"]["id"], pkg["organization"]["title"]],
            "groups": [g["id"] for g in pkg["groups"]],
            "resources": {r["name"]: [r["id"], r["package_id"]] for r in pkg["resources"]},
        }  # fmt: skip
    return out


if __name__ == "__main__":
    django.setup()
    command = sys.argv[1]
    commands = {"internal": _internal, "public": _public, "view": _view, "ids": _ids, "extras": _extras,
                "withdraw": _withdraw}  # fmt: skip
    result = commands[command]()
    print(json.dumps(result, ensure_ascii=False))  # noqa: T201 - read by the test
