"""Recipe API: create with a definition, inspect step counts (with findings), run as a job, lineage; statuses by actor."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.core.testing import Actors, check_statuses
from machidata.prep.tests.conftest import POPULATION, dispatch_rows
from machidata.prep.tests.test_services import RATE_STEPS

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/v1/recipes"
J = "application/json"


def _create(actors: Actors, steps: list[dict[str, Any]] = RATE_STEPS) -> dict[str, Any]:
    body = {
        "title": "千人当たり出動件数",
        "source": "kyukyu/dispatches",
        "dataset": "kakou",
        "table_name": "rate",
        "definition": {
            "version": 1,
            "sources": [
                {"alias": "s1", "table": "kyukyu/dispatches", "label": "救急出動記録"},
                {"alias": "s2", "table": "jinko/wards", "label": "区別人口"},
            ],
            "steps": steps,
        },
    }
    response = actors.client("owner_editor").post(f"{BASE}/", body, content_type=J)
    assert response.status_code == 201, response.content.decode()
    return dict(response.json())


def test_create_inspect_steps_and_run(actors: Actors, world: dict[str, Any]) -> None:
    created = _create(actors)
    rid = created["id"]
    steps = actors.client("owner_editor").get(f"{BASE}/{rid}/steps").json()
    assert [s["rows"] for s in steps["steps"]][:3] == [
        len(dispatch_rows()),
        len(dispatch_rows()),
        len(dispatch_rows()),
    ]
    join = steps["steps"][1]
    unmatched = next(f for f in join["findings"] if f["code"] == "join_unmatched")
    # every ward code matches after normalisation except none; the population table has no extra ward either
    assert unmatched["left"]["keys"] == 0
    assert unmatched["right"]["keys"] == len(POPULATION) - len(
        {r["区コード"] for r in dispatch_rows() if r["区コード"].isascii()}
    )
    assert steps["errors"] == []
    run = actors.client("owner_editor").post(f"{BASE}/{rid}/run")
    assert run.status_code == 202
    assert run.json()["status"] == "succeeded"
    after = actors.client("owner_editor").get(f"{BASE}/{rid}").json()
    assert after["status"] == "ok"
    assert after["output_table"] == "kakou/rate"
    assert {s["table"] for s in after["lineage"]["sources"]} == {"kyukyu/dispatches", "jinko/wards"}


def test_bad_definition_is_a_japanese_400_naming_the_step(actors: Actors, world: dict[str, Any]) -> None:
    created = _create(actors)
    bad = {
        **created["definition"],
        "steps": [{"type": "calculate", "name": "率", "expression": "[件数] / [人口]"}],
    }
    response = actors.client("owner_editor").put(
        f"{BASE}/{created['id']}/definition",
        {"definition": bad, "lock_version": created["lock_version"]},
        content_type=J,
    )
    assert response.status_code == 200  # the shape is fine; the step error shows when it is inspected
    steps = actors.client("owner_editor").get(f"{BASE}/{created['id']}/steps")
    assert steps.status_code == 400
    assert "手順1（計算列）: 計算列「率」の式: 列「件数」はこの表にありません" in steps.json()["detail"]
    stale = actors.client("owner_editor").put(
        f"{BASE}/{created['id']}/definition",
        {"definition": bad, "lock_version": created["lock_version"]},
        content_type=J,
    )
    assert stale.status_code == 409


def test_statuses_by_actor(actors: Actors, world: dict[str, Any]) -> None:
    rid = _create(actors)["id"]
    check_statuses(
        actors,
        lambda c: c.get(f"{BASE}/{rid}"),
        {
            "anonymous": 401,
            "staff": 404,
            "other_editor": 404,
            "owner_viewer": 200,
            "owner_editor": 200,
            "admin": 200,
        },
    )
    check_statuses(
        actors,
        lambda c: c.post(f"{BASE}/{rid}/run"),
        {"anonymous": 401, "staff": 404, "owner_viewer": 403},
    )


def test_copy_and_certify(actors: Actors, world: dict[str, Any]) -> None:
    created = _create(actors)
    copy = actors.client("owner_editor").post(
        f"{BASE}/{created['id']}/copy",
        {"sources": {"s1": "kyukyu/dispatches"}, "dataset": "kakou", "table_name": "rate-copy"},
        content_type=J,
    )
    assert copy.status_code == 201, copy.content.decode()
    assert copy.json()["definition"]["steps"] == created["definition"]["steps"]
    rid = created["id"]
    assert actors.client("owner_editor").post(f"{BASE}/{rid}/run").status_code == 202
    refused = actors.client("owner_editor").post(f"{BASE}/{rid}/certify", {"certify": True}, content_type=J)
    assert refused.status_code == 404
    done = actors.client("admin").post(f"{BASE}/{rid}/certify", {"certify": True}, content_type=J)
    assert done.status_code == 200
    assert done.json()["certified_at"] is not None


def test_starters_are_listed_and_make_a_recipe(actors: Actors, world: dict[str, Any]) -> None:
    from machidata.prep.models import Recipe
    from machidata.prep.starters import STARTERS

    client = actors.client("owner_editor")
    listed = client.get(f"{BASE}/starters").json()
    assert [s["slug"] for s in listed] == list(STARTERS)
    rate = next(s for s in listed if s["slug"] == "rate")
    kinds = {f["name"]: f["kind"] for f in rate["fields"]}
    assert (kinds["key"], kinds["other"], kinds["population"]) == ("column", "table", "other_column")
    yoy = next(s for s in listed if s["slug"] == "yoy")
    unit = next(f for f in yoy["fields"] if f["name"] == "unit")
    assert {c["value"] for c in unit["choices"]} == {"year", "month"}
    body = {
        "title": "千人当たり",
        "source": "kyukyu/dispatches",
        "dataset": "kakou",
        "table_name": "rate-api",
        "other": "jinko/wards",
        "params": {"key": "区", "other_key": "区名", "population": "人口", "per": "1000"},
    }
    bad = client.post(f"{BASE}/starters/rate", {**body, "params": {"key": "区"}}, content_type=J)
    assert bad.status_code == 400
    assert "を指定してください" in bad.json()["detail"]
    assert not Recipe.objects.filter(table_name="rate-api").exists()
    assert client.post(f"{BASE}/starters/nothing", body, content_type=J).status_code == 404
    made = client.post(f"{BASE}/starters/rate", body, content_type=J)
    assert made.status_code == 201, made.content.decode()
    recipe = made.json()
    assert [s["type"] for s in recipe["definition"]["steps"]] == ["aggregate", "join", "calculate"]
    assert recipe["definition"]["sources"][1]["table"] == "jinko/wards"
    steps = client.get(f"{BASE}/{recipe['id']}/steps").json()
    counts: dict[str, int] = {}
    for row in dispatch_rows():
        counts[row["区"]] = counts.get(row["区"], 0) + 1
    assert {r["区"]: r["件数"] for r in steps["rows"]} == counts
    # Someone who may not edit the target dataset gets a refusal and nothing is made.
    other = actors.client("other_editor").post(
        f"{BASE}/starters/rate", {**body, "table_name": "rate-other"}, content_type=J
    )
    assert other.status_code in (403, 404)
    assert not Recipe.objects.filter(table_name="rate-other").exists()
