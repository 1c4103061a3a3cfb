"""What the portal and the CKAN API show, built only from ``publish.selectors`` (THE public source).

Mapping to CKAN: dataset ↔ package, the public version of a table ↔ resource, the owning unit
(所管課) ↔ organization, the category (分野) ↔ group. Ids are name-based UUIDs (uuid5) of natural keys
that the publication bundle carries unchanged — the dataset's 識別子, the table's name within it, the
unit's 所属コード, the category's code — so they are the same across versions and on the internal and
the public instance (database keys differ between the two). A resource's id follows its table; its
``last_modified`` and ``machidata_version`` follow the approved version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from machidata.access.models import Unit
from machidata.access.policy import ANONYMOUS
from machidata.catalog.models import Category, Dataset, Table, TableVersion
from machidata.core.errors import NotFound
from machidata.publish.selectors import (
    public_attribution,
    public_attributions,
    public_datasets,
    public_download,
    public_fingerprint,
    public_history,
    public_tables,
    public_version_for,
    public_versions,
)
from machidata.standards.selectors import PublicStandard, public_standards

_NS: Final = uuid.UUID("6f1c3a52-6d61-4d2c-9c1a-6d6163686964")  # machidata's namespace for uuid5 ids
_NAME_RE: Final = re.compile(r"[^a-z0-9_-]+")


def stable_id(kind: str, key: str) -> str:
    """A UUID that never changes for one object (CKAN clients key on ``id``): uuid5 of its natural key."""
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))


def package_id(dataset: Dataset) -> str:
    """The CKAN id of a dataset: from its 識別子 (the key the bundle carries it by)."""
    return stable_id("dataset", dataset.identifier)


def resource_id(table: Table) -> str:
    """The CKAN id of a table (every public version of it): its dataset's 識別子 and its name."""
    return stable_id("table", f"{table.dataset.identifier}/{table.name}")


def organization_id(unit: Unit) -> str:
    """The CKAN id of a unit: from its 所属コード."""
    return stable_id("unit", unit.code)


def group_id(category: Category) -> str:
    """The CKAN id of a category: from its code."""
    return stable_id("category", category.code)


def ckan_time(value: dt.datetime | None) -> str | None:
    """CKAN's timestamp format: UTC, no offset, microseconds (``2026-11-26T05:00:00.000000``)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def ckan_name(text: str, prefix: str) -> str:
    """A CKAN name: lowercase ASCII letters, digits, ``-`` and ``_``, 2 to 100 characters."""
    name = _NAME_RE.sub("-", text.lower()).strip("-")
    return f"{prefix}-{name}"[:100] if len(name) < 2 or not name[0].isalnum() else name[:100]


def organization_name(unit: Unit) -> str:
    """The CKAN name of a unit: ``unit-<所属コード>``."""
    return ckan_name(f"unit-{unit.code}", "unit")


def group_name(category: Category) -> str:
    """The CKAN name of a category: its code."""
    return ckan_name(category.code, "group")


def organization_dict(unit: Unit) -> dict[str, Any]:
    """CKAN ``organization_show`` shape of a unit."""
    return {
        "id": organization_id(unit), "name": organization_name(unit), "title": unit.name,
        "display_name": unit.name, "description": "", "type": "organization", "state": "active",
        "is_organization": True, "approval_status": "approved", "image_url": "",
        "image_display_url": "", "created": None,
    }  # fmt: skip


def group_dict(category: Category) -> dict[str, Any]:
    """CKAN group shape of a category."""
    return {
        "id": group_id(category), "name": group_name(category), "title": category.name,
        "display_name": category.name, "description": "", "type": "group", "state": "active",
        "is_organization": False, "approval_status": "approved", "image_url": "",
        "image_display_url": "", "created": None,
    }  # fmt: skip


def tag_dict(word: str) -> dict[str, Any]:
    """CKAN tag shape (tags keep their Japanese words)."""
    return {
        "id": str(uuid.uuid5(_NS, f"tag:{word}")), "name": word, "display_name": word,
        "state": "active", "vocabulary_id": None,
    }  # fmt: skip


@dataclass(frozen=True)
class PublicTable:
    """A table with its approved version (never a later one)."""

    table: Table
    version: TableVersion


def public_tables_of(dataset: Dataset) -> list[PublicTable]:
    """The dataset's tables that have an approved version, with that version (asked table by table:
    ``public_tables()`` would read every public table first, 20,000 of them in a large portal)."""
    out = []
    for table in Table.objects.filter(dataset=dataset).select_related("dataset").order_by("name"):
        version = public_version_for(table)
        if version is not None:
            out.append(PublicTable(table=table, version=version))
    return out


def resource_dict(pt: PublicTable, *, position: int, base_url: str) -> dict[str, Any]:
    """CKAN resource shape of one public table version (a CSV download of that version)."""
    t, v = pt.table, pt.version
    ds = t.dataset
    return {
        "id": resource_id(t), "package_id": package_id(ds),
        "name": t.title or t.name, "description": t.description, "format": "CSV",
        "mimetype": "text/csv",
        "url": f"{base_url}/open/datasets/{ds.slug}/{t.name}.csv",
        "url_type": None, "size": None, "hash": "", "position": position, "state": "active",
        "created": ckan_time(t.created_at), "last_modified": ckan_time(v.committed_at or v.created_at),
        "metadata_modified": ckan_time(v.committed_at or v.created_at),
        "datastore_active": True, "machidata_table": t.name, "machidata_version": v.number,
        "machidata_rows": v.rows,
    }  # fmt: skip


def standard_resource_dict(
    pt: PublicTable, std: PublicStandard, *, position: int, base_url: str
) -> dict[str, Any]:
    """CKAN resource shape of the standard-format CSV (標準形式) made from the approved version."""
    t, v = pt.table, pt.version
    ds = t.dataset
    return {
        "id": stable_id("standard", f"{ds.identifier}/{t.name}"), "package_id": package_id(ds),
        "name": f"{std.standard.name}（標準形式: {std.file_name}）",
        "description": f"{t.title or t.name}を{std.standard.generation}「{std.standard.name}」の列の順と名前にしたCSV。",
        "format": "CSV", "mimetype": "text/csv",
        "url": f"{base_url}/open/datasets/{ds.slug}/{t.name}/standard/{std.file_name}",
        "url_type": None, "size": None, "hash": "", "position": position, "state": "active",
        "created": ckan_time(t.created_at), "last_modified": ckan_time(v.committed_at or v.created_at),
        "metadata_modified": ckan_time(v.committed_at or v.created_at),
        "datastore_active": False, "machidata_table": t.name, "machidata_version": v.number,
        "machidata_standard": std.standard.code,
    }  # fmt: skip


def package_dict(
    dataset: Dataset,
    *,
    base_url: str,
    tables: list[PublicTable] | None = None,
    attribution: dict[str, Any] | None = None,
    standards: dict[int, PublicStandard] | None = None,
) -> dict[str, Any]:
    """CKAN ``package_show`` shape of a public dataset (``tables``/``attribution``/``standards`` when read in bulk)."""
    tables = public_tables_of(dataset) if tables is None else tables
    if standards is None:
        standards = public_standards({pt.table.pk: pt.version for pt in tables})
    attribution = (public_attribution(dataset) if attribution is None else attribution) or {}
    licence = dataset.licence
    resources = [resource_dict(pt, position=i, base_url=base_url) for i, pt in enumerate(tables)]
    for pt in tables:  # the standard-format CSV of a table declared to be a standard dataset
        if pt.table.pk in standards:
            resources.append(
                standard_resource_dict(pt, standards[pt.table.pk], position=len(resources), base_url=base_url)
            )
    modified = max(
        [dataset.updated_at, *[(pt.version.committed_at or pt.version.created_at) for pt in tables]]
    )
    extras = [
        {"key": "identifier", "value": dataset.identifier},
        {"key": "attribution", "value": attribution.get("attribution", "")},
        {"key": "frequency", "value": dataset.get_frequency_display()},
        {"key": "spatial", "value": dataset.spatial},
        {"key": "lg_code", "value": dataset.lg_code},
        {"key": "temporal_start", "value": dataset.temporal_start.isoformat() if dataset.temporal_start else ""},
        {"key": "temporal_end", "value": dataset.temporal_end.isoformat() if dataset.temporal_end else ""},
    ]  # fmt: skip
    words = [str(k) for k in dataset.keywords or [] if str(k).strip()]
    words += [w for pt in tables if pt.table.pk in standards for w in standards[pt.table.pk].tags]
    tags = [tag_dict(w) for w in dict.fromkeys(words)]
    groups = [group_dict(dataset.category)] if dataset.category else []
    org = organization_dict(dataset.owner)
    return {
        "id": package_id(dataset), "name": dataset.slug.lower(), "title": dataset.title,
        "notes": dataset.description, "type": "dataset", "state": "active", "private": False,
        "author": dataset.owner.name, "author_email": None,
        "maintainer": dataset.owner.name, "maintainer_email": dataset.contact_email or None,
        "license_id": licence.code if licence else "", "license_title": licence.name if licence else "",
        "license_url": licence.url if licence else "", "isopen": bool(licence and licence.is_open),
        "url": f"{base_url}/open/datasets/{dataset.slug}/", "version": None,
        "metadata_created": ckan_time(dataset.created_at), "metadata_modified": ckan_time(modified),
        "owner_org": org["id"], "organization": org, "groups": groups,
        "tags": tags, "num_tags": len(tags), "extras": extras,
        "resources": resources, "num_resources": len(resources),
        "relationships_as_object": [], "relationships_as_subject": [],
    }  # fmt: skip


def _public() -> QuerySet[Dataset]:
    return public_datasets().select_related("owner", "category", "licence")


@dataclass(frozen=True)
class PublicEntry:
    """A public dataset with its public tables (approved versions) and its licence/attribution."""

    dataset: Dataset
    tables: list[PublicTable]
    attribution: dict[str, Any]
    standards: dict[int, PublicStandard] = field(default_factory=dict)  # table id → its standard dataset

    @property
    def standard_tags(self) -> list[str]:
        """The tags of the standard datasets among the tables (自治体標準ODS and the dataset type)."""
        return list(
            dict.fromkeys(
                w
                for pt in self.tables
                if pt.table.pk in self.standards
                for w in self.standards[pt.table.pk].tags
            )
        )

    @property
    def modified(self) -> dt.datetime:
        """When the entry last changed: its metadata or the newest approved version."""
        return max(
            [
                self.dataset.updated_at,
                *[(pt.version.committed_at or pt.version.created_at) for pt in self.tables],
            ]
        )


def public_entries(slug: str | None = None) -> list[PublicEntry]:
    """Every public dataset (or the one with ``slug``) with its tables, read in a fixed number of queries."""
    versions = public_versions()
    attributions = public_attributions()
    by_dataset: dict[int, list[PublicTable]] = {}
    tables = public_tables() if slug is None else public_tables().filter(dataset__slug=slug)
    for table in tables.order_by("name"):
        if table.pk in versions:
            by_dataset.setdefault(table.dataset_id, []).append(PublicTable(table, versions[table.pk]))
    standards = public_standards({pt.table.pk: pt.version for pts in by_dataset.values() for pt in pts})
    datasets = _public() if slug is None else _public().filter(slug=slug)
    return [
        PublicEntry(d, by_dataset.get(d.pk, []), attributions.get(d.pk, {}), standards)
        for d in datasets.order_by("slug")
    ]


def _build_package_dicts(base_url: str) -> list[dict[str, Any]]:
    return [
        package_dict(
            e.dataset, base_url=base_url, tables=e.tables, attribution=e.attribution, standards=e.standards
        )
        for e in public_entries()
    ]


# package_search, package_list and the list actions read every public package: building 20,000 of them
# takes seconds, so each server process keeps the last list it built, with the search text of each
# package, under a fingerprint of what can change it (see :func:`_fingerprint`); a list older than
# PACKAGE_CACHE_TTL_S is rebuilt whatever the fingerprint says (changes made straight in the database,
# outside the audited services, show within that time).
PACKAGE_CACHE_TTL_S: Final = 300.0
_packages: dict[str, tuple[tuple[Any, ...], float, list[dict[str, Any]], dict[str, str], dict[str, str]]] = {}
_packages_lock = threading.Lock()


def _fingerprint() -> tuple[Any, ...]:
    """What changes whenever a public package can change (``publish.selectors.public_fingerprint``)."""
    return public_fingerprint()


def package_text(pkg: dict[str, Any]) -> str:
    """The lowercase text a free-word search matches: name, title, notes, owner, tags, groups, resources."""
    parts = [pkg["name"], pkg["title"], pkg["notes"] or "", pkg["organization"]["title"]]
    parts += [t["name"] for t in pkg["tags"]] + [g["title"] for g in pkg["groups"]]
    parts += [r["name"] for r in pkg["resources"]]
    return " ".join(parts).lower()


def cached_packages(*, base_url: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every public package (by slug) and its search text by id, built once per change of what is public.

    The caller must not change the dicts (they are shared by every request of this process)."""
    key = _fingerprint()
    hit = _packages.get(base_url)
    if hit is not None and hit[0] == key and time.monotonic() - hit[1] < PACKAGE_CACHE_TTL_S:
        return hit[2], hit[3]
    with _packages_lock:  # one build at a time; the others wait for it and take it
        hit = _packages.get(base_url)
        if hit is not None and hit[0] == key and time.monotonic() - hit[1] < PACKAGE_CACHE_TTL_S:
            return hit[2], hit[3]
        pkgs = _build_package_dicts(base_url)
        texts = {p["id"]: package_text(p) for p in pkgs}
        # the JSON text of each package as the API writes it (package_search pages splice it in)
        jsons = {p["id"]: json.dumps(p, ensure_ascii=False, cls=DjangoJSONEncoder) for p in pkgs}
        if len(_packages) > 8:  # a handful of base URLs at most (host names of one site)
            _packages.clear()
        _packages[base_url] = (key, time.monotonic(), pkgs, texts, jsons)
        return pkgs, texts


def package_json_texts(pkgs: list[dict[str, Any]]) -> dict[str, str]:
    """The JSON text by id of each package of ``pkgs``, a list :func:`cached_packages` gave (else empty)."""
    for entry in list(_packages.values()):
        if entry[2] is pkgs:
            return entry[4]
    return {}


def package_dicts(*, base_url: str) -> list[dict[str, Any]]:
    """Every public dataset as a CKAN package (from :func:`cached_packages`; do not change them)."""
    return cached_packages(base_url=base_url)[0]


def public_dataset(name_or_id: str) -> Dataset:
    """A public dataset by slug or by its CKAN id (404 for anything else, hidden or missing alike)."""
    plain = Dataset.objects.select_related("owner", "category", "licence")
    found = plain.filter(slug=name_or_id).first()  # the unique index; a lowercase name only if need be
    candidates = (
        [found] if found is not None else list(plain.filter(slug__iexact=name_or_id).order_by("slug"))
    )
    for d in candidates:
        if name_or_id in (d.slug, d.slug.lower()) and public_tables_of(d):  # public: an approved version
            return d
    try:
        uuid.UUID(name_or_id)
    except ValueError:
        raise NotFound("Not found") from None
    for pk, identifier in public_datasets().values_list("pk", "identifier"):
        if stable_id("dataset", identifier) == name_or_id:
            return _public().get(pk=pk)
    raise NotFound("Not found")


# resource id → table id: ids are uuid5 of natural keys and cannot be reversed, so the first look-up of
# an id reads every public table's key; the answer is only a hint, checked again on every use.
_resource_hints: dict[str, int] = {}


def public_table(id_: str) -> PublicTable:
    """A public table version by its CKAN resource id (404 otherwise)."""
    pk = _resource_hints.get(id_)
    table = Table.objects.select_related("dataset").filter(pk=pk).first() if pk is not None else None
    if table is None or resource_id(table) != id_:  # public or not: public_version_for says below
        table = None
        for tpk, name, identifier in public_tables().values_list("pk", "name", "dataset__identifier"):
            if stable_id("table", f"{identifier}/{name}") == id_:
                table = Table.objects.select_related("dataset").get(pk=tpk)
                if len(_resource_hints) > 100_000:
                    _resource_hints.clear()
                _resource_hints[id_] = tpk
                break
    version = public_version_for(table) if table is not None else None
    if table is None or version is None:
        raise NotFound("Not found")
    version.table = table  # the same row (public_version_for filtered on it): readers need not load it again
    return PublicTable(table=table, version=version)


def public_standard_table(id_: str) -> PublicTable:
    """The public table whose standard-format CSV resource has id ``id_`` (404 otherwise)."""
    for pk, name, identifier in public_tables().values_list("pk", "name", "dataset__identifier"):
        if stable_id("standard", f"{identifier}/{name}") == id_:
            table = Table.objects.select_related("dataset").get(pk=pk)
            version = public_version_for(table)
            if version is not None:
                pt = PublicTable(table=table, version=version)
                if public_standard_of(pt) is not None:
                    return pt
    raise NotFound("Not found")


def public_table_by_name(slug: str, name: str) -> PublicTable:
    """A public table version by dataset slug and table name (404 otherwise)."""
    table = public_tables().filter(dataset__slug=slug, name=name).first()
    version = public_version_for(table) if table is not None else None
    if table is None or version is None:
        raise NotFound("公開されている表が見つかりません。")
    return PublicTable(table=table, version=version)


def organizations() -> list[Unit]:
    """Units owning at least one public dataset."""
    ids = _public().values("owner_id")
    return list(Unit.objects.filter(pk__in=ids).order_by("code"))


def organization(code: str) -> Unit:
    """A unit owning at least one public dataset, by its 所属コード (404 otherwise)."""
    unit = Unit.objects.filter(code=code, pk__in=_public().values("owner_id")).first()
    if unit is None:
        raise NotFound("公開しているデータのある所属が見つかりません。")
    return unit


def counts_by(datasets: QuerySet[Dataset], field_name: str) -> dict[int, int]:
    """Dataset counts per ``owner`` or ``category`` id of the given public datasets, in one query."""
    rows = datasets.order_by().values(f"{field_name}_id").annotate(n=Count("pk"))
    return {r[f"{field_name}_id"]: r["n"] for r in rows if r[f"{field_name}_id"] is not None}


def categories() -> list[Category]:
    """Categories holding at least one public dataset."""
    ids = _public().values("category_id")
    return list(Category.objects.filter(pk__in=ids).order_by("order", "code"))


def tags() -> list[str]:
    """The tags (キーワード) of public datasets, sorted."""
    words: set[str] = set()
    for kws in _public().values_list("keywords", flat=True):
        words.update(str(k) for k in kws or [] if str(k).strip())
    for std in public_standards(public_versions()).values():
        words.update(std.tags)
    return sorted(words)


def preview(pt: PublicTable, *, limit: int = 20) -> Any:
    """The first rows of the approved version, read as the anonymous public."""
    from machidata.catalog.table_selectors import build_query, table_rows

    return table_rows(actor=ANONYMOUS, table=pt.table, version=pt.version, query=build_query(limit=limit))


def download(pt: PublicTable) -> Any:
    """The approved version as CSV (UTF-8 with BOM), via ``public_download``."""
    return public_download(table=pt.table, fmt="csv", encoding="utf-8")


def public_standard_of(pt: PublicTable) -> PublicStandard | None:
    """The standard dataset a public table is declared to be, with the approved version's file name."""
    return public_standards({pt.table.pk: pt.version}).get(pt.table.pk)


def download_as(pt: PublicTable, *, fmt: str, encoding: str) -> Any:
    """The approved version in one of the catalog's formats (CSV UTF-8/CP932, XLSX, JSON, Parquet, GeoJSON)."""
    return public_download(table=pt.table, fmt=fmt, encoding=encoding)


def download_choices(pt: PublicTable) -> list[dict[str, Any]]:
    """The downloads offered for a public table: format, encoding and label (GeoJSON only with a geometry column)."""
    from machidata.catalog.table_selectors import geometry_column

    out: list[dict[str, Any]] = [
        {"fmt": "csv", "encoding": "utf-8", "label": _("CSV（UTF-8・BOM付き）")},
        {"fmt": "csv", "encoding": "cp932", "label": _("CSV（Shift_JIS）")},
        {"fmt": "xlsx", "encoding": "", "label": _("Excel（XLSX）")},
        {"fmt": "json", "encoding": "", "label": "JSON"},
        {"fmt": "parquet", "encoding": "", "label": "Parquet"},
    ]
    if geometry_column(pt.table, pt.version) is not None:
        out.append({"fmt": "geojson", "encoding": "", "label": "GeoJSON"})
    return out


def fields(pt: PublicTable) -> Any:
    """The 項目定義 of the approved version (column name, 項目名, type, unit, description)."""
    from machidata.catalog.table_selectors import table_fields

    return table_fields(pt.table, pt.version)


def history(pt: PublicTable) -> list[Any]:
    """The public versions of the table, newest first (更新履歴: number, rows, when published)."""
    return public_history(pt.table)


def modified(dataset: Dataset, tables: list[PublicTable]) -> dt.datetime:
    """When what the public sees of a dataset last changed: its metadata or its newest approved version."""
    return max([dataset.updated_at, *[(pt.version.committed_at or pt.version.created_at) for pt in tables]])


def standard_download(pt: PublicTable) -> Any:
    """The standard-format CSV of the approved version, read as the anonymous public."""
    from machidata.standards.selectors import standard_download as make

    return make(actor=ANONYMOUS, table=pt.table, version=pt.version)
