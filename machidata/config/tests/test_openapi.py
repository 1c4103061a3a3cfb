"""The OpenAPI document of /api/v1: served, lists every room's paths, and no GET path crashes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from machidata.access.models import Classification
from machidata.core.testing import Actors, check_statuses, make_dataset

pytestmark = pytest.mark.django_db

OPENAPI = "/api/v1/openapi.json"


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = Client().get(OPENAPI)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_openapi_is_served_to_everyone(actors: Actors) -> None:
    check_statuses(
        actors,
        lambda c: c.get(OPENAPI),
        dict.fromkeys(("anonymous", "staff", "owner_editor", "admin"), 200),
        label="openapi.json",
    )


def test_datasets_paths_and_operations(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    datasets = {p: sorted(ops) for p, ops in paths.items() if p.startswith("/api/v1/datasets")}
    assert datasets == {
        "/api/v1/datasets": ["get", "post"],
        "/api/v1/datasets/{slug}": ["get", "patch"],
        "/api/v1/datasets/{slug}/retire": ["post"],
        "/api/v1/datasets/{slug}/tables": ["get"],
        "/api/v1/datasets/{slug}/tables/{name}": ["get"],
        "/api/v1/datasets/{slug}/tables/{name}/download": ["get"],
        "/api/v1/datasets/{slug}/tables/{name}/rows": ["get"],
        "/api/v1/datasets/{slug}/tables/{name}/versions": ["get"],
    }
    ids = {
        op["operationId"]
        for p, ops in paths.items()
        if p.startswith("/api/v1/datasets")
        for op in ops.values()
    }
    assert ids == {
        "dataset_list", "dataset_create", "dataset_detail", "dataset_update", "dataset_retire",
        "table_list", "table_detail", "table_versions", "table_rows", "table_download",
    }  # fmt: skip
    list_params = {p["name"] for p in paths["/api/v1/datasets"]["get"]["parameters"]}
    assert list_params == {
        "q", "department", "category", "classification", "format", "licence", "retired", "limit", "offset", "facets",
    }  # fmt: skip
    patch = paths["/api/v1/datasets/{slug}"]["patch"]
    assert "409" in patch["responses"]


def test_dataset_schemas_document_locking_and_choices(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert "lock_version" in components["DatasetPatch"]["required"]
    assert set(components["DatasetIn"]["required"]) >= {"title", "owner"}
    out = components["DatasetOut"]["properties"]
    for name in ("description_html", "allowed_actions", "lock_version", "owner", "licence", "temporal"):
        assert name in out
    classification = components["DatasetIn"]["properties"]["classification"]
    assert "confidential" in str(classification)


def test_other_rooms_are_listed(schema: dict[str, Any]) -> None:
    # Built by other rooms: only check that they are mounted and offer a GET somewhere.
    paths = schema["paths"]
    for prefix in ("/api/v1/departments", "/api/v1/jobs"):
        mounted = [p for p in paths if p.startswith(prefix)]
        assert mounted, f"{prefix} is not in the OpenAPI document"
        assert any("get" in paths[p] for p in mounted), f"{prefix} has no GET operation"


def test_every_operation_has_an_operation_id_and_a_response(schema: dict[str, Any]) -> None:
    seen: set[str] = set()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            assert op.get("operationId"), f"{method} {path}"
            assert op["operationId"] not in seen, f"duplicate operationId {op['operationId']}"
            seen.add(op["operationId"])
            assert op.get("responses"), f"{method} {path}"


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_get_paths_without_parameters_do_not_crash(schema: dict[str, Any], actors: Actors, who: str) -> None:
    make_dataset(actors.org.health_div, title="公開データ", classification=Classification.PUBLIC)
    make_dataset(actors.org.health_div, title="所属限定データ")
    plain = [p for p, ops in schema["paths"].items() if "get" in ops and not re.search(r"\{[^}]+\}", p)]
    assert "/api/v1/datasets" in plain
    client = actors.client(who)
    client.raise_request_exception = False  # a crash must show as a 500 here, not as a test error
    answers = {path: client.get(path).status_code for path in plain}
    crashed = {path: status for path, status in answers.items() if status >= 500}
    assert not crashed, crashed
    assert answers["/api/v1/datasets"] == 200


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_schema_names_are_unique(schema: dict[str, Any]) -> None:
    """The OpenAPI document names each schema by its class name: two rooms' ``AnswerIn`` would
    silently share one entry, and clients would be told the wrong body for one of the operations."""
    from ninja import Schema

    names: dict[str, str] = {}
    clashes = []
    for cls in _subclasses(Schema):
        if not cls.__module__.startswith("machidata.") or ".tests" in cls.__module__:
            continue
        where = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__name__ in names and names[cls.__name__] != where:
            clashes.append(f"{cls.__name__}: {names[cls.__name__]} and {where}")
        names.setdefault(cls.__name__, where)
    assert not clashes, "schema names used twice:\n" + "\n".join(clashes)
