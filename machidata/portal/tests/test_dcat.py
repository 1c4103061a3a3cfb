"""DCAT-AP 3: the catalogue and each dataset in Turtle, RDF/XML and JSON-LD, valid against the
DCAT-AP 3.0.1 SHACL shapes (mandatory ``shapes.ttl`` plus ``range.ttl``: 0 violations; the recommended
shapes are reported), offline — the ``imports`` files, which fetch vocabularies, are never loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from machidata.catalog.models import Dataset, Licence, TableVersion
from machidata.core.testing import Actors, make_dataset
from machidata.publish.services import publication_act, publication_withdraw_request
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, ingest_text

pyshacl = pytest.importorskip("pyshacl")

pytestmark = pytest.mark.django_db(transaction=True)
SHAPES = Path(__file__).resolve().parents[4] / "shared" / "data" / "dcat-ap-shapes" / "3.0.1" / "html-shacl"
needs_shapes = pytest.mark.skipif(not SHAPES.exists(), reason="../shared is not beside the repository")
EU = "http://publications.europa.eu/resource/authority/"


def fetch(path: str, fmt: str) -> Graph:
    r = Client().get(path)
    assert r.status_code == 200, r.content[:300]
    return Graph().parse(data=r.content, format=fmt)


def shapes(*names: str) -> Graph:
    g = Graph()
    for name in names:
        g.parse(SHAPES / name, format="turtle")
    return g


def validate(data: Graph, *names: str) -> tuple[int, int, str]:
    """(violations, warnings, report text) of ``data`` against the named shape files."""
    _, report, text = pyshacl.validate(data, shacl_graph=shapes(*names), inference="none", advanced=True)
    sev = URIRef("http://www.w3.org/ns/shacl#resultSeverity")
    levels = [str(o) for o in report.objects(None, sev)]
    return (
        sum(x.endswith("Violation") for x in levels),
        sum(not x.endswith("Violation") for x in levels),
        text,
    )


@pytest.fixture
def richer(cast: Actors, published: Dataset) -> Dataset:
    """The published dataset with the fields DCAT carries (English title, period, place, frequency)."""
    Licence.objects.filter(code="cc-by-4.0").update(url="https://creativecommons.org/licenses/by/4.0/")
    Dataset.objects.filter(pk=published.pk).update(
        title_en="Health centres", description="市の保健センターの一覧です。", temporal_start="2024-04-01",
        temporal_end="2025-03-31", spatial="熊本市", lg_code="431001", frequency="yearly",
        contact_email="kenko@example.jp", contact_phone="096-000-0000",
    )  # fmt: skip
    return Dataset.objects.get(pk=published.pk)


@needs_shapes
@pytest.mark.parametrize(("ext", "fmt"), [("ttl", "turtle"), ("rdf", "xml"), ("jsonld", "json-ld")])
def test_catalog_is_valid_dcat_ap_3(richer: Dataset, ext: str, fmt: str) -> None:
    g = fetch(f"/catalog.{ext}", fmt)
    datasets = list(g.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 1
    violations, _, text = validate(g, "shapes.ttl", "range.ttl")
    assert violations == 0, text
    _, recommended, _ = validate(g, "shapes_recommended.ttl")
    figure = {"test": "dcat_shacl", "format": ext, "triples": len(g), "violations": violations,
              "recommended_warnings": recommended}  # fmt: skip
    if os.environ.get("MACHIDATA_SECURITY_REPORT"):
        with open(os.environ["MACHIDATA_SECURITY_REPORT"], "a", encoding="utf-8") as f:
            f.write(json.dumps(figure) + "\n")
    print(figure)  # noqa: T201 - the figure, shown with -s


@needs_shapes
def test_dataset_carries_licence_publisher_themes_coverage_and_eu_uris(richer: Dataset) -> None:
    g = fetch("/open/datasets/hoken-center/dcat.ttl", "turtle")
    assert validate(g, "shapes.ttl", "range.ttl")[0] == 0
    (ds,) = g.subjects(RDF.type, DCAT.Dataset)
    assert Literal("保健センター一覧", lang="ja") in set(g.objects(ds, DCTERMS.title))
    assert Literal("Health centres", lang="en") in set(g.objects(ds, DCTERMS.title))
    assert URIRef(EU + "language/JPN") in set(g.objects(ds, DCTERMS.language))
    assert set(g.objects(ds, DCTERMS.accrualPeriodicity)) == {URIRef(EU + "frequency/ANNUAL")}
    publisher = g.value(ds, DCTERMS.publisher)
    assert str(g.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name"))) == "健康づくり推進課"
    theme = g.value(ds, DCAT.theme)
    assert str(g.value(theme, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"))) == "健康・福祉"
    assert {str(k) for k in g.objects(ds, DCAT.keyword)} == {"保健", "施設"}
    period = g.value(ds, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) == "2024-04-01"
    (dist,) = g.objects(ds, DCAT.distribution)
    assert g.value(dist, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(dist, DCTERMS.format) == URIRef(EU + "file-type/CSV")
    assert str(g.value(dist, DCAT.downloadURL)).endswith("/open/datasets/hoken-center/facilities.csv")
    rights = g.value(dist, DCTERMS.rights)
    assert "熊本市オープンデータ（健康づくり推進課）" in str(g.serialize(format="turtle"))
    assert rights is not None


def test_paging_and_modified_since(cast: Actors, published: Dataset, settings: Any) -> None:
    from machidata.portal import dcat

    from .conftest import publish

    other = make_dataset(cast.org.health_div, title="あいう施設", classification="internal", slug="aiu")
    publish(cast, other, [ingest_text(cast, other, "t2", "a,b\n1,2\n")])
    hydra = "http://www.w3.org/ns/hydra/core#"
    g = fetch("/catalog.ttl", "turtle")
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 2
    assert [int(x) for x in g.objects(None, URIRef(hydra + "totalItems"))] == [2]
    original = dcat.PAGE_SIZE
    dcat.PAGE_SIZE = 1  # type: ignore[misc]
    try:
        first, second = fetch("/catalog.ttl?page=1", "turtle"), fetch("/catalog.ttl?page=2", "turtle")
        assert len(list(first.subjects(RDF.type, DCAT.Dataset))) == 1
        assert [str(x)[-6:] for x in first.objects(None, URIRef(hydra + "nextPage"))] == ["page=2"]
        names = {str(x) for gr in (first, second) for x in gr.subjects(RDF.type, DCAT.Dataset)}
        assert len(names) == 2
        assert not list(fetch("/catalog.ttl?page=3", "turtle").subjects(RDF.type, DCAT.Dataset))
    finally:
        dcat.PAGE_SIZE = original  # type: ignore[misc]
    assert not list(
        fetch("/catalog.ttl?modified_since=2999-01-01", "turtle").subjects(RDF.type, DCAT.Dataset)
    )
    assert (
        len(
            list(
                fetch("/catalog.ttl?modified_since=2000-01-01T00:00:00Z", "turtle").subjects(
                    RDF.type, DCAT.Dataset
                )
            )
        )
        == 2
    )
    assert Client().get("/catalog.ttl?modified_since=yesterday").status_code == 400
    assert Client().get("/catalog.ttl?page=0").status_code == 400


def test_only_approved_versions_and_nothing_withdrawn(
    cast: Actors, published: Dataset, v1: TableVersion
) -> None:
    ingest_text(cast, published, "facilities", FACILITIES_V2)
    text = Client().get("/catalog.ttl").content.decode()
    assert "担当者氏名" not in text
    internal = make_dataset(
        cast.org.health_div, title="庁内専用の台帳", classification="internal", slug="naibu"
    )
    ingest_text(cast, internal, "ledger", "a\n1\n")
    assert "庁内専用の台帳" not in Client().get("/catalog.jsonld").content.decode()
    assert Client().get("/open/datasets/naibu/dcat.ttl").status_code == 404
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=published, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    for ext in ("ttl", "rdf", "jsonld"):
        assert "保健センター一覧" not in Client().get(f"/catalog.{ext}").content.decode()
    assert Client().get("/open/datasets/hoken-center/dcat.ttl").status_code == 404
