# ruff: noqa: S608 — the statements here are test inputs, built from fixed names
"""The abuse cases outside the room: download, export, publication and joins of a 仮名加工 table.

Each is refused with a Japanese message and leaves an audit event; the same paths still work for
ordinary tables (so the refusals are about the 仮名加工 class, not a broken path).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from machidata.access.models import PersonalData
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, make_table, write
from machidata.core.errors import InvalidInput
from machidata.core.testing import make_dataset, make_token
from machidata.deid.services import LinkageRefused, extract_run, linkage_problem, plan_create
from machidata.deid.tests.conftest import ANON_PLAN, AS_OF, PSEUDO_PLAN, as_actor, jumin_rows, to_csv
from machidata.deid.tests.conftest import write as write_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def pseudo_table(actors: Any, deid_world: dict[str, Any], tmp_path: Any) -> Table:
    """The 仮名加工 table made by the pipeline from a synthetic extract; its plan names the source ledger."""
    plan = plan_create(actor=as_actor(actors, "owner_editor"), dataset=deid_world["pseudo"],
                       source_dataset=deid_world["source"], **PSEUDO_PLAN)  # fmt: skip
    extract_run(actor=as_actor(actors, "owner_editor"), plan=plan, path=write_file(tmp_path, to_csv(jumin_rows(5))),
                source_name="jumin.csv", as_of=AS_OF)  # fmt: skip
    return Table.objects.get(dataset=deid_world["pseudo"], name="jumin")


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# ---- downloads and exports ------------------------------------------------------------------------


def test_download_of_a_pseudonymised_table_is_refused_on_the_page(actors, pseudo_table):
    client = actors.client("owner_editor")
    slug = pseudo_table.dataset.slug
    # The owner reads it here …
    page = client.get(reverse("catalog:table_detail", args=[slug, "jumin"]))
    assert page.status_code == 200
    # … the page offers no download and says why …
    download_url = reverse("catalog:table_download", args=[slug, "jumin"])
    assert download_url not in page.content.decode()
    assert "仮名加工情報の表はダウンロード・書き出しができません" in page.content.decode()
    # … and a download asked for directly is refused.
    for fmt in ("csv", "xlsx", "parquet", "json"):
        response = client.get(reverse("catalog:table_download", args=[slug, "jumin"]) + f"?format={fmt}")
        assert response.status_code == 403, fmt
        assert "仮名加工情報の表はダウンロード" in response.content.decode()
    assert _events("data.export_refused") == 4
    assert _events("data.download") == 0


def test_download_and_query_export_of_a_pseudonymised_table_are_refused_in_the_api(actors, pseudo_table):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(actors.users['owner_editor'])}")
    slug = pseudo_table.dataset.slug
    response = client.get(f"/api/v1/datasets/{slug}/tables/jumin/download?format=csv")
    assert response.status_code == 403
    assert "ダウンロード" in response.json()["detail"]
    body = {"dataset": slug, "table": "jumin", "query": {"measures": [{"op": "count"}]}}
    answer = client.post("/api/v1/query?format=json", json.dumps(body), content_type="application/json")
    assert answer.status_code == 200  # an aggregate inside the platform is fine
    for fmt in ("csv", "arrow"):
        refused = client.post(
            f"/api/v1/query?format={fmt}", json.dumps(body), content_type="application/json"
        )
        assert refused.status_code == 403, fmt
    assert _events("data.export_refused") == 3


def test_ordinary_tables_still_download(actors, deid_world):
    dataset = make_dataset(
        actors.org.health_div, classification="restricted", personal_data=PersonalData.PERSONAL
    )
    write(make_table(dataset, name="t"), ROWS[:5])
    url = reverse("catalog:table_download", args=[dataset.slug, "t"]) + "?format=csv"
    response = actors.client("owner_editor").get(url)
    assert response.status_code == 200


# ---- publication -------------------------------------------------------------------------------------


def _gates(dataset: Any) -> dict[str, Any]:
    from machidata.catalog.models import Licence
    from machidata.publish.gates import run_gates

    versions = [t.current_version for t in dataset.tables.all()]
    licence = Licence.objects.filter(is_open=True).first()
    results = run_gates(dataset, versions, licence=licence, attribution="熊本市", check_licence=False)
    return {(r.gate, r.table): r for r in results}


def test_a_pseudonymised_table_can_never_pass_the_publication_gates(actors, pseudo_table):
    results = _gates(pseudo_table.dataset)
    gate = results[("classification", "")]
    assert not gate.passed
    assert not gate.overridable
    assert "仮名加工情報" in gate.detail


def test_publication_attempt_of_a_pseudonymised_dataset_is_refused(actors, pseudo_table):
    from machidata.publish.services import publication_request_create

    with pytest.raises(InvalidInput):
        publication_request_create(
            actor=as_actor(actors, "owner_editor"), dataset=pseudo_table.dataset,
            version_ids=[pseudo_table.current_version.pk], licence_code="cc-by-4.0", attribution="熊本市",
        )  # fmt: skip


def test_anonymised_table_passes_only_with_a_complete_article_62_record(actors, deid_world, tmp_path):
    anon = deid_world["anon"]
    # A table uploaded straight into the 匿名加工情報 dataset (no pipeline, no record) is blocked …
    write(make_table(anon, name="by-hand"), ROWS[:5])
    by_hand = _gates(anon)[("anonymisation", "by-hand")]
    assert not by_hand.passed
    assert not by_hand.overridable
    # … the pipeline's version passes.
    plan = plan_create(actor=as_actor(actors, "owner_editor"), dataset=anon, **ANON_PLAN)
    extract_run(actor=as_actor(actors, "owner_editor"), plan=plan, path=write_file(tmp_path, to_csv(jumin_rows(5))),
                source_name="jumin.csv", as_of=AS_OF)  # fmt: skip
    made = _gates(anon)[("anonymisation", "jumin-anon")]
    assert made.passed, made.detail
    assert "第62条" in made.detail
    # A record with a criterion not met (tampered or from an older rule set) is not enough.
    from machidata.deid.models import DeidRun

    run = DeidRun.objects.get(plan=plan)
    run.checks = [c for c in run.checks if c["key"] != "art62_3"]
    run.save()
    assert not _gates(anon)[("anonymisation", "jumin-anon")].passed


# ---- joins -------------------------------------------------------------------------------------------


def _source_table(deid_world: dict[str, Any]) -> Table:
    table = make_table(deid_world["source"], name="t")
    write(table, ROWS[:5])
    return table


def test_sql_join_with_the_source_ledger_is_refused_and_audited(actors, deid_world, pseudo_table):
    from machidata.console.services import sql_run

    source = _source_table(deid_world)
    editor = as_actor(actors, "owner_editor")
    p, s = f'"{pseudo_table.dataset.slug}"."jumin"', f'"{source.dataset.slug}"."t"'
    with pytest.raises(InvalidInput) as err:
        sql_run(actor=editor, sql=f"SELECT count(*) FROM {p} a JOIN {s} b ON true")
    assert "元データ" in err.value.message
    event = AuditEvent.objects.get(action="deid.linkage_refused")
    assert event.changes["where"] == "sql"
    # The 仮名加工 table alone is fine.
    assert sql_run(actor=editor, sql=f"SELECT count(*) FROM {p}").rows == [[500]]


def test_join_with_any_personal_table_is_refused(actors, deid_world, pseudo_table):
    other = make_dataset(
        actors.org.health_div, classification="restricted", personal_data=PersonalData.SENSITIVE
    )
    table = make_table(other, name="t")
    write(table, ROWS[:5])
    problem = linkage_problem([pseudo_table, table])
    assert "個人情報を含む表" in problem
    assert linkage_problem([pseudo_table]) == ""


def test_recipe_joining_the_source_or_leaving_the_class_is_refused(actors, deid_world, pseudo_table):
    from machidata.prep.services import recipe_create, recipe_source_add

    editor = as_actor(actors, "owner_editor")
    plain = make_dataset(actors.org.health_div, classification="restricted")
    with pytest.raises(LinkageRefused, match="仮名加工情報"):
        recipe_create(actor=editor, title="持ち出し", dataset=plain, table_name="out", source=pseudo_table)
    assert _events("deid.linkage_refused") == 1
    # Inside a 仮名加工情報 dataset a recipe may work on it …
    recipe = recipe_create(
        actor=editor, title="集計", dataset=deid_world["pseudo"], table_name="agg", source=pseudo_table
    )
    # … but not join it with its source ledger.
    source = _source_table(deid_world)
    with pytest.raises(LinkageRefused, match="元データ"):
        recipe_source_add(actor=editor, recipe=recipe, source=source, lock_version=recipe.lock_version)
    assert _events("deid.linkage_refused") == 2
    recipe.refresh_from_db()
    assert len(recipe.definition["sources"]) == 1
