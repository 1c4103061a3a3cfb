"""Catalog search for an actor: the page and /api/v1/search both call :func:`catalog_search`.

The index answers ranking, totals, 絞り込み counts, snippets and もしかして, restricted to what the
actor may *discover* (``documents.access_filter_for``) before anything is counted. The database
then supplies each hit's current row, drops any hit the actor can no longer discover (the index may
lag a catalog change by a few seconds) and says which hits the actor may also *read*.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from machidata.access.models import Classification, Membership, Unit
from machidata.access.policy import Action, Actor, restrict
from machidata.audit.services import audit_record
from machidata.catalog.models import Category, DataFormat, Dataset, Licence
from machidata.search.documents import access_filter_for
from machidata.search.models import SynonymGroup
from machidata.search.normalise import MAX_QUERY_CHARS, bigrams, fold
from machidata.search.query import Segments, matching_identifiers, search, segments_html
from machidata.search.services import ensure_current, get_index
from machidata.search.synonyms import DEFAULT_SYNONYMS, Synonyms, parse_synonyms

Sort = Literal["relevance", "updated", "title"]
SORTS: dict[str, str] = {"relevance": "関連度順", "updated": "更新日の新しい順", "title": "タイトル順"}
FACET_GROUPS = ("department", "category", "classification", "format", "licence")
FACET_LABELS = {
    "department": "データ所有者（所管課）",
    "category": "分野",
    "classification": "公開区分",
    "format": "形式",
    "licence": "ライセンス",
}
# Characters a database or a JSON document refuses (NUL, unpaired surrogates): never stored or searched.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
MAX_Q_STORED = 1000


def safe_text(value: Any, limit: int = MAX_Q_STORED) -> str:
    """User input as text that every database and JSON encoder accepts, cut to ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    return _UNSAFE.sub("", value)[:limit]


@dataclass
class SearchParams:
    """What the page and the API accept (the same names in both)."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet group → selected values
    include_retired: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_query(cls, query: Any) -> SearchParams:
        """From request.GET (anything with get/getlist); bad values fall back to the defaults."""
        try:
            page = int(query.get("page") or 1)
        except (TypeError, ValueError):
            page = 1
        return cls(
            q=safe_text(query.get("q") or ""),
            filters={g: [safe_text(v, 100) for v in query.getlist(g) if v][:50] for g in FACET_GROUPS},
            include_retired=query.get("retired") == "1",
            sort=query.get("sort") or "relevance",
            page=page,
            per_page=settings.MACHIDATA_PAGE_SIZE,
        )

    def active_filters(self) -> dict[str, list[str]]:
        """Only the groups with something selected."""
        return {k: v for k, v in self.filters.items() if v}


@dataclass
class FacetValue:
    """One 絞り込み choice with how many discoverable entries it would show."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchHit:
    """One result row: the current catalog entry, highlights, and what the actor may do with it."""

    dataset: Dataset
    title: Segments
    snippet: Segments
    score: float
    can_read: bool
    certified: bool = False  # holds a 認定データ table (ranked first)

    @property
    def title_html(self) -> str:
        """The title with matches marked, HTML-escaped."""
        return segments_html(self.title)

    @property
    def snippet_html(self) -> str:
        """The description snippet with matches marked, HTML-escaped."""
        return segments_html(self.snippet)


@dataclass
class CatalogSearch:
    """A page of search results for one actor."""

    params: SearchParams
    total: int
    page: int
    pages: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetValue]]
    retired_count: int
    suggestions: list[str]
    related_categories: list[FacetValue]
    notice: str | None
    matched_all_words: bool


_synonym_cache: dict[str, Any] = {}


def current_synonyms() -> Synonyms:
    """The default groups plus the admin-edited ones (rebuilt only when the list changed)."""
    enabled = SynonymGroup.objects.filter(enabled=True)
    stamp = enabled.aggregate(n=Max("pk"), t=Max("updated_at"))
    key = (SynonymGroup.objects.count(), enabled.count(), stamp["n"], stamp["t"])
    if _synonym_cache.get("key") != key:
        groups: list[tuple[str, ...]] = list(DEFAULT_SYNONYMS)
        for words in enabled.values_list("words", flat=True):
            groups.extend(parse_synonyms(words.replace("\n", "、")))
        _synonym_cache.update(key=key, synonyms=Synonyms(groups))
    synonyms: Synonyms = _synonym_cache["synonyms"]
    return synonyms


def _labels(group: str, values: list[str]) -> dict[str, str]:
    if group == "department":
        return {u.code: u.full_name for u in Unit.objects.filter(code__in=values).select_related("parent")}
    if group == "category":
        return dict(Category.objects.filter(code__in=values).values_list("code", "name"))
    if group == "format":
        return dict(DataFormat.objects.filter(code__in=values).values_list("code", "name"))
    if group == "licence":
        return dict(Licence.objects.filter(code__in=values).values_list("code", "name"))
    return {k: v for k, v in Classification.choices if k in values}


def _facet_values(group: str, counts: list[tuple[str, int]], selected: list[str]) -> list[FacetValue]:
    labels = _labels(group, [v for v, _ in counts] + selected)
    seen = {v for v, _ in counts}
    # A selected value that matches nothing still shows (with 0), so it can be removed.
    rows = counts + [(v, 0) for v in selected if v not in seen and v in labels]
    out = [FacetValue(v, labels.get(v, v), n, v in selected) for v, n in rows if v in labels]
    if group == "classification":
        order = [k for k, _ in Classification.choices]
        out.sort(key=lambda f: order.index(f.value) if f.value in order else 99)
    else:
        out.sort(key=lambda f: (-f.count, f.label))
    return out


def _related_categories(q: str, counts: list[tuple[str, int]]) -> list[FacetValue]:
    if counts:  # the words are found under other 絞り込み: where
        return _facet_values("category", counts, [])[:5]
    grams = {g for g in bigrams(fold(q)) if len(g) == 2}
    out = []
    for c in Category.objects.all():
        if grams & set(bigrams(fold(c.name))):
            out.append(FacetValue(c.code, c.name, 0, False))
    return out[:5]


def _department_of(actor: Actor) -> str:
    if actor.user_id is None:
        return ""
    names = (
        Membership.objects.active_on()
        .filter(user_id=actor.user_id)
        .select_related("unit")
        .order_by("unit__code")
        .values_list("unit__name", flat=True)
    )
    return "、".join(dict.fromkeys(names))


def _audit(actor: Actor, params: SearchParams, total: int) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="catalog.search",
            object_type="catalog.search",
            object_repr=params.q[:300],
            changes={
                "q": params.q,
                "results": total,
                "filters": params.active_filters() or None,
                "sort": params.sort,
                "department": _department_of(actor),
            },
        )


def certified_identifiers() -> set[str]:
    """Index identifiers of the datasets holding a certified derived table (認定データ), ranked first."""
    from machidata.prep.models import Recipe

    ids = Recipe.objects.filter(certified_at__isnull=False, output_table__isnull=False).values_list(
        "output_table__dataset_id", flat=True
    )
    return {str(pk) for pk in ids}


def catalog_search(*, actor: Actor, params: SearchParams, audit: bool = True) -> CatalogSearch:
    """Search the catalog as ``actor``: ranked hits, 絞り込み counts, suggestions (never a hidden entry)."""
    ensure_current()
    index = get_index()
    allow = access_filter_for(actor)
    synonyms = current_synonyms()
    sort = params.sort if params.sort in SORTS else "relevance"
    state = ["live", "retired"] if params.include_retired else ["live"]
    active = params.active_filters()
    certified = certified_identifiers()
    kwargs: dict[str, Any] = {
        "allowed_ids": allow.ids,
        "allowed_terms": allow.terms,
        "synonyms": synonyms,
        "sort": sort,
        "promoted": certified,
    }
    filters = {**active, "state": state}
    # One call gives the page, the total and every 絞り込み count: a group with a selection is
    # counted without its own selection (so its other choices show how many entries they would
    # add), and so is the state, which gives the number of retired entries.
    res = search(
        index,
        params.q[: MAX_QUERY_CHARS * 5],
        filters=filters,
        page=params.page,
        per_page=params.per_page,
        facets=(*FACET_GROUPS, "state"),
        exclusive_counts=True,
        **kwargs,
    )
    pages = res.pages
    if not res.hits and res.total and res.page > pages:
        # Past the last page: show the last page rather than an empty one.
        res = search(
            index,
            params.q[: MAX_QUERY_CHARS * 5],
            filters=filters,
            page=pages,
            per_page=params.per_page,
            facets=(*FACET_GROUPS, "state"),
            exclusive_counts=True,
            **kwargs,
        )
    counts = dict(res.facets)
    facets = {g: _facet_values(g, counts.get(g, []), active.get(g, [])) for g in FACET_GROUPS}
    retired = 0 if params.include_retired else dict(counts.get("state", [])).get("retired", 0)
    hits = _hits(actor, res.hits, certified=certified)
    related: list[FacetValue] = []
    if res.total == 0 and params.q.strip() and not res.notice:
        loose = (
            search(
                index,
                params.q[: MAX_QUERY_CHARS * 5],
                filters={"state": state},
                per_page=1,
                facets=("category",),
                suggest=False,
                **kwargs,
            )
            if active
            else None
        )
        related = _related_categories(params.q, loose.facets.get("category", []) if loose else [])
    if audit and params.page == 1 and (params.q.strip() or active):
        _audit(actor, params, res.total)
    return CatalogSearch(
        params=params,
        total=res.total,
        page=res.page,
        pages=res.pages,
        hits=hits,
        facets=facets,
        retired_count=retired,
        suggestions=res.suggestions,
        related_categories=related,
        notice=res.notice,
        matched_all_words=res.matched_all_words,
    )


# The データ一覧表 export lists at most this many entries (a whole city catalog fits).
EXPORT_MAX = 50_000


def catalog_search_datasets(*, actor: Actor, params: SearchParams) -> list[Dataset]:
    """Every entry the search page lists for ``params`` (all pages, in its order), for the export.

    The same index query, access filter and 絞り込み as :func:`catalog_search`, so the export holds
    exactly what the search shows; rows come from the database, dropping any the actor can no
    longer discover.
    """
    ensure_current()
    allow = access_filter_for(actor)
    state = ["live", "retired"] if params.include_retired else ["live"]
    sort = params.sort if params.sort in SORTS else "relevance"
    ids = matching_identifiers(
        get_index(),
        params.q[: MAX_QUERY_CHARS * 5],
        allowed_ids=allow.ids,
        allowed_terms=allow.terms,
        filters={**params.active_filters(), "state": state},
        sort=sort,  # type: ignore[arg-type]
        synonyms=current_synonyms(),
        limit=EXPORT_MAX,
        promoted=certified_identifiers(),
    )
    pks = [int(i) for i in ids if i.isdigit()]
    rows: dict[int, Dataset] = {}
    # In batches: a database accepts only so many parameters in one IN (…).
    for start in range(0, len(pks), 2000):
        batch = pks[start : start + 2000]
        rows.update(
            (d.pk, d)
            for d in restrict(Dataset.objects.filter(pk__in=batch), actor, Action.DISCOVER)
            .select_related("owner", "owner__parent", "category", "licence")
            .prefetch_related("formats")
        )
    return [rows[pk] for pk in pks if pk in rows]


def _hits(actor: Actor, raw: list[Any], *, certified: Collection[str] = ()) -> list[SearchHit]:
    pks = [int(h.identifier) for h in raw if h.identifier.isdigit()]
    rows = {
        d.pk: d
        for d in restrict(Dataset.objects.filter(pk__in=pks), actor, Action.DISCOVER)
        .select_related("owner", "owner__parent", "category", "licence")
        .prefetch_related("formats")
    }
    readable = set(
        restrict(Dataset.objects.filter(pk__in=list(rows)), actor, Action.READ).values_list("pk", flat=True)
    )
    out = []
    for h in raw:
        d = rows.get(int(h.identifier)) if h.identifier.isdigit() else None
        if d is None:  # deleted or no longer discoverable since the index was written
            continue
        out.append(SearchHit(d, h.title, h.snippet, h.score, d.pk in readable, h.identifier in certified))
    return out
