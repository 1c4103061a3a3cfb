"""Run in a subprocess by the two-home bundle test: ``python -m machidata.publish.tests.bundle_script CMD``.

Each command works on the home named by MACHIDATA_HOME and prints one JSON line:
- ``internal``: migrate, then a public dataset whose table has two versions (replace, then append) with
  the second one published (recorded as an approved request, as the route records it);
- ``public``: migrate and one unit only (データ戦略課, the import unit): the dataset's 所管課 must come
  with the bundle;
- ``view``: what the public surfaces see — identifier → title and each public table's rows (names in
  ``_id`` order, read with pyarrow from the files);
- ``ids``: the CKAN identifiers the portal gives — package, resources, organisation, groups.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import django

FIRST = [f"行{i}" for i in range(1, 6)]
SECOND = [f"追加{i}" for i in range(1, 4)]


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
    return {"org": org.data_strategy.code}


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
    result = {"internal": _internal, "public": _public, "view": _view, "ids": _ids}[command]()
    print(json.dumps(result, ensure_ascii=False))  # noqa: T201 - read by the test
