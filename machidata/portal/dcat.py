"""DCAT-AP 3 of the public catalogue (``/catalog.ttl|.rdf|.jsonld``, paged) and of each public dataset.

Built with rdflib from :func:`machidata.portal.selectors.public_entries` (so only approved versions
of published datasets appear). Mapping:

* the catalogue: ``dcat:Catalog`` published by the city (``foaf:Agent``), its home page, Japanese,
  its 分野 as a ``skos:ConceptScheme`` (``dcat:themeTaxonomy``);
* a dataset (``dcat:Dataset``, IRI ``<landing page>#dataset``): title and description (``@ja``,
  ``@en`` where given), 識別子, the 所管課 as ``dct:publisher`` (``foaf:Agent``, IRI ``urn:uuid:`` of
  its CKAN organisation id), a ``vcard:Organization`` contact point (mail, telephone), the 分野 as
  ``dcat:theme`` (``skos:Concept`` in the catalogue's scheme), キーワード as ``dcat:keyword``,
  ``dct:temporal`` (``dct:PeriodOfTime`` with ``dcat:startDate``/``dcat:endDate``),
  ``dct:spatial`` (``dct:Location`` with the 全国地方公共団体コード), ``dct:language`` and
  ``dct:accrualPeriodicity`` as the EU vocabularies' URIs, ``dct:issued``/``dct:modified``;
* a public table version (``dcat:Distribution``, IRI ``<landing page>#<table>``): the CSV download
  (``dcat:downloadURL``; ``dcat:accessURL`` the landing page), ``dct:format`` (EU file type CSV),
  ``dcat:mediaType`` (IANA ``text/csv``), ``dct:license`` (``dct:LicenseDocument``) and the
  attribution text as ``dct:rights`` (``dct:RightsStatement``), per distribution.

Objects of vocabulary URIs carry their class in the graph (``dct:LinguisticSystem``,
``dct:Frequency``, ``dct:MediaTypeOrExtent`` …) so the DCAT-AP range shapes hold without loading the
vocabularies. Paging follows ckanext-dcat: a ``hydra:PagedCollection`` with the total and the links.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final
from urllib.parse import urlencode

from django.conf import settings
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from machidata.portal import selectors as s

VCARD: Final = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA: Final = Namespace("http://www.w3.org/ns/hydra/core#")
EU_LANG: Final = Namespace("http://publications.europa.eu/resource/authority/language/")
EU_FREQ: Final = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_FILE: Final = Namespace("http://publications.europa.eu/resource/authority/file-type/")
EU_AVAILABILITY: Final = URIRef(
    "http://publications.europa.eu/resource/authority/planned-availability/STABLE"
)
DCATAP: Final = Namespace("http://data.europa.eu/r5r/")
LOCAL_AUTHORITY: Final = URIRef("http://purl.org/adms/publishertype/LocalAuthority")  # ADMS publisher type
IANA: Final = Namespace("https://www.iana.org/assignments/media-types/")
PAGE_SIZE: Final = 100
FORMATS: Final = {  # extension → (rdflib format, content type)
    "ttl": ("turtle", "text/turtle; charset=utf-8"),
    "rdf": ("pretty-xml", "application/rdf+xml; charset=utf-8"),
    "jsonld": ("json-ld", "application/ld+json; charset=utf-8"),
}
# machidata's 更新頻度 → the EU frequency vocabulary.
FREQUENCIES: Final = {
    "realtime": "UPDATE_CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
    "quarterly": "QUARTERLY", "yearly": "ANNUAL", "irregular": "IRREG", "none": "NEVER",
}  # fmt: skip


class BadParameterError(ValueError):
    """A query parameter that cannot be read (``page``, ``modified_since``)."""


def _ja(text: str) -> Literal:
    return Literal(text, lang="ja")


def _when(value: dt.datetime) -> Literal:
    return Literal(value.astimezone(dt.UTC).replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


def _typed(g: Graph, node: URIRef, cls: URIRef) -> URIRef:
    g.add((node, RDF.type, cls))
    return node


def _concept(g: Graph, node: URIRef, ja: str, en: str) -> URIRef:
    """A concept of an outside vocabulary, typed and labelled so the shapes hold without loading it."""
    _typed(g, node, SKOS.Concept)
    g.add((node, SKOS.prefLabel, _ja(ja)))
    g.add((node, SKOS.prefLabel, Literal(en, lang="en")))
    return node


def _graph() -> Graph:
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS), ("vcard", VCARD),
                       ("hydra", HYDRA), ("xsd", XSD), ("rdfs", RDFS), ("dcatap", DCATAP)):  # fmt: skip
        g.bind(prefix, ns)
    return g


def _scheme(base: str) -> URIRef:
    return URIRef(f"{base}/open/search/#categories")


def landing(base: str, slug: str) -> str:
    """The dataset's page on the portal (also the base of its RDF identifiers)."""
    return f"{base}/open/datasets/{slug}/"


def _city_agent(g: Graph, base: str) -> URIRef:
    agent = _typed(g, URIRef(f"{base}/open/#publisher"), FOAF.Agent)
    city = str(getattr(settings, "MACHIDATA_CITY_NAME", "") or "まちデータ")
    g.add((agent, FOAF.name, _ja(city)))
    g.add((agent, DCTERMS.type, _concept(g, LOCAL_AUTHORITY, "地方公共団体", "Local Authority")))
    return agent


def _licence(g: Graph, base: str, entry: s.PublicEntry) -> URIRef | None:
    lic = entry.dataset.licence
    code = entry.attribution.get("licence") or (lic.code if lic else "")
    if not code:
        return None
    url = lic.url if lic is not None and lic.code == code and lic.url else f"{base}/open/licences/{code}"
    node = _typed(g, URIRef(url), DCTERMS.LicenseDocument)
    name = entry.attribution.get("licence_name") or (lic.name if lic else code)
    g.add((node, DCTERMS.title, Literal(name)))
    return node


def _add_dataset(g: Graph, base: str, entry: s.PublicEntry) -> URIRef:  # noqa: PLR0912, PLR0915 — one block per property
    ds = entry.dataset
    page = landing(base, ds.slug)
    node = _typed(g, URIRef(page + "#dataset"), DCAT.Dataset)
    g.add((node, DCTERMS.title, _ja(ds.title)))
    g.add((node, DCTERMS.description, _ja(ds.description or ds.title)))
    if ds.title_en:
        g.add((node, DCTERMS.title, Literal(ds.title_en, lang="en")))
    if ds.description_en:
        g.add((node, DCTERMS.description, Literal(ds.description_en, lang="en")))
    g.add((node, DCTERMS.identifier, Literal(ds.identifier)))
    g.add((node, DCAT.landingPage, _typed(g, URIRef(page), FOAF.Document)))
    g.add((node, DCTERMS.issued, _when(ds.created_at)))
    g.add((node, DCTERMS.modified, _when(entry.modified)))
    g.add((node, DCTERMS.language, _typed(g, EU_LANG.JPN, DCTERMS.LinguisticSystem)))
    if ds.frequency in FREQUENCIES:
        g.add(
            (
                node,
                DCTERMS.accrualPeriodicity,
                _typed(g, EU_FREQ[FREQUENCIES[ds.frequency]], DCTERMS.Frequency),
            )
        )
    unit = ds.owner
    publisher = _typed(g, URIRef(f"urn:uuid:{s.organization_id(unit)}"), FOAF.Agent)
    g.add((publisher, FOAF.name, _ja(unit.name)))
    g.add((publisher, DCTERMS.type, _concept(g, LOCAL_AUTHORITY, "地方公共団体", "Local Authority")))
    g.add((node, DCTERMS.publisher, publisher))
    contact = BNode()
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, VCARD.fn, _ja(unit.name)))
    email = ds.contact_email or unit.mailbox
    if email:
        g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    phone = ds.contact_phone or unit.phone
    if phone:
        g.add(
            (
                contact,
                VCARD.hasTelephone,
                URIRef("tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")),
            )
        )
    g.add((node, DCAT.contactPoint, contact))
    if ds.category is not None:
        concept = _typed(g, URIRef(f"{base}/open/search/?group={ds.category.code}"), SKOS.Concept)
        g.add((concept, SKOS.prefLabel, _ja(ds.category.name)))
        g.add((concept, SKOS.inScheme, _scheme(base)))
        g.add((node, DCAT.theme, concept))
    for word in ds.keywords or []:
        if str(word).strip():
            g.add((node, DCAT.keyword, _ja(str(word))))
    for word in entry.standard_tags:  # a standard dataset: 自治体標準ODS and the dataset type
        if word not in (ds.keywords or []):
            g.add((node, DCAT.keyword, _ja(word)))
    if ds.temporal_start or ds.temporal_end:
        period = BNode()
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if ds.temporal_start:
            g.add((period, DCAT.startDate, Literal(ds.temporal_start.isoformat(), datatype=XSD.date)))
        if ds.temporal_end:
            g.add((period, DCAT.endDate, Literal(ds.temporal_end.isoformat(), datatype=XSD.date)))
        g.add((node, DCTERMS.temporal, period))
    if ds.spatial or ds.lg_code:
        place = BNode()
        g.add((place, RDF.type, DCTERMS.Location))
        if ds.spatial:
            g.add((place, SKOS.prefLabel, _ja(ds.spatial)))
        if ds.lg_code:
            g.add((place, DCTERMS.identifier, Literal(ds.lg_code)))
        g.add((node, DCTERMS.spatial, place))
    licence = _licence(g, base, entry)
    attribution = str(entry.attribution.get("attribution") or "")
    for pt in entry.tables:
        g.add((node, DCAT.distribution, _add_distribution(g, page, pt, licence, attribution)))
    return node


def _add_distribution(
    g: Graph, page: str, pt: s.PublicTable, licence: URIRef | None, attribution: str
) -> URIRef:
    t, v = pt.table, pt.version
    node = _typed(g, URIRef(f"{page}#{t.name}"), DCAT.Distribution)
    g.add((node, DCTERMS.title, _ja(t.title or t.name)))
    g.add((node, DCTERMS.description, _ja(t.description or t.title or t.name)))
    g.add((node, DCTERMS.identifier, Literal(s.resource_id(t))))
    g.add((node, DCAT.accessURL, URIRef(page)))
    g.add((node, DCAT.downloadURL, URIRef(f"{page}{t.name}.csv")))
    g.add((node, DCTERMS.format, _typed(g, EU_FILE.CSV, DCTERMS.MediaTypeOrExtent)))
    g.add((node, DCAT.mediaType, _typed(g, IANA["text/csv"], DCTERMS.MediaType)))
    g.add((node, DCTERMS.language, _typed(g, EU_LANG.JPN, DCTERMS.LinguisticSystem)))
    g.add((node, DCTERMS.modified, _when(v.committed_at or v.created_at)))
    g.add((node, DCATAP.availability, _concept(g, EU_AVAILABILITY, "安定（長く提供する）", "stable")))
    if licence is not None:
        g.add((node, DCTERMS.license, licence))
    if attribution:
        rights = BNode()
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        g.add((rights, RDFS.label, _ja(attribution)))
        g.add((node, DCTERMS.rights, rights))
    return node


def _modified_since(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadParameterError(
            "modified_since は 2024-04-01 や 2024-04-01T00:00:00Z の形で指定してください。"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _page(raw: str) -> int:
    try:
        page = int(raw or "1")
    except ValueError:
        raise BadParameterError("page は 1 以上の整数で指定してください。") from None
    if not 1 <= page <= 1_000_000:
        raise BadParameterError("page は 1 以上の整数で指定してください。")
    return page


def catalog_graph(base: str, *, page: str = "", modified_since: str = "", ext: str = "ttl") -> Graph:
    """The catalogue: one page of its public datasets (``PAGE_SIZE``), optionally only those changed since."""
    number, since = _page(page), _modified_since(modified_since)
    entries = s.public_entries()
    if since is not None:
        entries = [e for e in entries if e.modified >= since]
    chosen = entries[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    g = _graph()
    catalog = _typed(g, URIRef(f"{base}/catalog"), DCAT.Catalog)
    city = str(getattr(settings, "MACHIDATA_CITY_NAME", "") or "")
    title = f"{city} オープンデータカタログ".strip()
    g.add((catalog, DCTERMS.title, _ja(title)))
    g.add((catalog, DCTERMS.description, _ja(f"{title}（まちデータで公開しているデータセットの一覧）")))
    g.add((catalog, DCTERMS.publisher, _city_agent(g, base)))
    g.add((catalog, FOAF.homepage, _typed(g, URIRef(f"{base}/open/"), FOAF.Document)))
    g.add((catalog, DCTERMS.language, _typed(g, EU_LANG.JPN, DCTERMS.LinguisticSystem)))
    scheme = _typed(g, _scheme(base), SKOS.ConceptScheme)
    g.add((scheme, DCTERMS.title, _ja("分野")))
    g.add((catalog, DCAT.themeTaxonomy, scheme))
    if entries:
        g.add((catalog, DCTERMS.modified, _when(max(e.modified for e in entries))))
        g.add((catalog, DCTERMS.issued, _when(min(e.dataset.created_at for e in entries))))
    for entry in chosen:
        g.add((catalog, DCAT.dataset, _add_dataset(g, base, entry)))
    _paging(g, base, ext, number=number, total=len(entries), since=modified_since)
    return g


def _paging(g: Graph, base: str, ext: str, *, number: int, total: int, since: str) -> None:
    def link(n: int) -> URIRef:
        params = {"page": str(n), **({"modified_since": since} if since else {})}
        return URIRef(f"{base}/catalog.{ext}?{urlencode(params)}")

    last = max(1, -(-total // PAGE_SIZE))
    node = _typed(g, link(number), HYDRA.PagedCollection)
    g.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    g.add((node, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
    g.add((node, HYDRA.firstPage, link(1)))
    g.add((node, HYDRA.lastPage, link(last)))
    if number > 1:
        g.add((node, HYDRA.previousPage, link(number - 1)))
    if number < last:
        g.add((node, HYDRA.nextPage, link(number + 1)))


def dataset_graph(base: str, slug: str) -> Graph | None:
    """One public dataset with its distributions (None when ``slug`` is not public)."""
    entries = s.public_entries(slug)
    if not entries:
        return None
    g = _graph()
    _add_dataset(g, base, entries[0])
    return g


def serialize(g: Graph, ext: str) -> tuple[bytes, str]:
    """The graph as bytes in the format of ``ext`` (ttl, rdf, jsonld) and its content type."""
    fmt, content_type = FORMATS[ext]
    extra: dict[str, Any] = {"auto_compact": True} if fmt == "json-ld" else {}
    data = g.serialize(format=fmt, encoding="utf-8", **extra)
    return data, content_type
