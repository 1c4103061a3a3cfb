"""Searching the index: query building, access filter, 絞り込み counts, snippets, paging, もしかして.

:func:`search` never raises on user input: empty, very long, punctuation-only, FTS syntax
(``" * NEAR :``), emoji and unpaired surrogates all give a result (possibly empty, with a notice).
Words are ANDed; when that finds nothing and the query has several words, any word may match
(``matched_all_words`` is then False so the page can say so).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import tantivy

from machidata.search.index import FACETS, FIELD_BOOSTS, READING_FIELDS, SearchIndex
from machidata.search.normalise import (
    QueryWord,
    analyse_both,
    analyse_word,
    bigrams,
    clean,
    fold,
    query_words,
    runs,
)
from machidata.search.synonyms import Synonyms, default_synonyms

log = logging.getLogger(__name__)

Sort = Literal["relevance", "updated", "title"]
# How much each stream counts; a whole-word match beats a bigram run, a reading match is weaker.
STREAM_WEIGHTS = {"w": 1.0, "g": 0.7, "u": 0.4, "r": 0.6}
SYNONYM_WEIGHT = 0.7
MAX_PAGE = 1000
MAX_PER_PAGE = 100
NOTHING_SEARCHABLE = "検索できる文字（文字・数字）が含まれていません。言葉を変えて検索してください。"
SEARCH_FAILED = "検索できませんでした。言葉を変えてもう一度お試しください。"
SOME_WORDS = "すべての言葉を含むデータが見つからないため、いずれかの言葉を含むデータを表示しています。"

Occur = tantivy.Occur
Q = tantivy.Query

Segments = list[tuple[str, bool]]


@dataclass(slots=True)
class Hit:
    """One result: identifier, score, highlighted title and snippet, stored fields."""

    identifier: str
    score: float
    title: Segments
    snippet: Segments
    doc: dict[str, Any]

    @property
    def title_html(self) -> str:
        """The title with matches in ``<mark>``, HTML-escaped."""
        return segments_html(self.title)

    @property
    def snippet_html(self) -> str:
        """The description snippet with matches in ``<mark>``, HTML-escaped."""
        return segments_html(self.snippet)


@dataclass(slots=True)
class SearchResults:
    """A page of results with its totals, 絞り込み counts and notices."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)
    notice: str | None = None
    matched_all_words: bool = True

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def segments_html(segments: Segments) -> str:
    """Render highlight segments as escaped HTML with ``<mark>`` around matches."""
    return "".join(f"<mark>{html.escape(t)}</mark>" if m else html.escape(t) for t, m in segments)


# ---- query building --------------------------------------------------------------------------------


def _seq(schema: tantivy.Schema, field_name: str, terms: tuple[str, ...]) -> tantivy.Query:
    # tantivy refuses a phrase of one term (it panics), so one term is a term query.
    if len(terms) == 1:
        return Q.term_query(schema, field_name, terms[0])
    return Q.phrase_query(schema, field_name, list(terms))


def _should(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Should, q) for q in queries])


def _must(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(Occur.Must, q) for q in queries])


# Promoted entries (認定データ) rank above every other match: a constant far above any text score
# (title boosts × BM25 stay well below 1,000) is added when they match; their own order stays by score.
PROMOTE_SCORE = 10_000.0


def _promote(schema: tantivy.Schema, q: tantivy.Query, promoted: Collection[str]) -> tantivy.Query:
    """``q`` with the ``promoted`` identifiers ranked first among its matches (what matches is unchanged)."""
    if not promoted:
        return q
    boost = Q.const_score_query(Q.term_set_query(schema, "id", sorted(promoted)), PROMOTE_SCORE)
    return Q.boolean_query([(Occur.Must, q), (Occur.Should, boost)])


def word_query(schema: tantivy.Schema, qw: QueryWord, weight: float = 1.0) -> tantivy.Query:
    """One query word: its words (all of them) or its bigram run or, for kana, its reading, in any field."""
    clauses: list[tantivy.Query] = []
    if qw.words:
        per_term = [
            _should(
                [
                    Q.boost_query(Q.term_query(schema, f"{f}_w", t), b * STREAM_WEIGHTS["w"] * weight)
                    for f, b in FIELD_BOOSTS.items()
                ]
            )
            for t in qw.words
        ]
        clauses.append(_must(per_term))
    chars = "".join(runs(qw.folded))
    if len(chars) == 1:
        clauses.extend(
            Q.boost_query(Q.term_query(schema, f"{f}_u", chars), b * STREAM_WEIGHTS["u"] * weight)
            for f, b in FIELD_BOOSTS.items()
        )
    elif qw.bigrams:
        clauses.extend(
            Q.boost_query(_seq(schema, f"{f}_g", qw.bigrams), b * STREAM_WEIGHTS["g"] * weight)
            for f, b in FIELD_BOOSTS.items()
        )
    if qw.reading_bigrams:
        clauses.extend(
            Q.boost_query(
                _seq(schema, f"{f}_r", qw.reading_bigrams), FIELD_BOOSTS[f] * STREAM_WEIGHTS["r"] * weight
            )
            for f in READING_FIELDS
        )
    return _should(clauses)


def _expanded(schema: tantivy.Schema, qw: QueryWord, synonyms: Synonyms) -> tantivy.Query:
    clauses = [word_query(schema, qw)]
    for variant in synonyms.expand(qw.text):
        sw = analyse_word(variant)
        if sw is not None:
            clauses.append(word_query(schema, sw, SYNONYM_WEIGHT))
    return _should(clauses)


# Up to this many values, a restriction is a union of term queries, which tantivy intersects with
# the query lazily (skipping through posting lists); a term-set query instead marks every document
# of every value in a bit set first, which for a value most entries have (class:public, state:live)
# costs a pass over the whole index on every search.
_TERM_UNION_MAX = 64


def _any_term(schema: tantivy.Schema, field_name: str, values: Collection[str]) -> tantivy.Query:
    vals = sorted(set(values))
    if len(vals) > _TERM_UNION_MAX:
        return Q.term_set_query(schema, field_name, vals)
    return _should([Q.term_query(schema, field_name, v) for v in vals])


def access_filter(
    schema: tantivy.Schema, allowed_ids: Collection[str] | None, allowed_terms: Collection[str] | None
) -> tantivy.Query | None:
    """The access restriction as a query (``None`` = unrestricted: both arguments ``None``)."""
    if allowed_ids is None and allowed_terms is None:
        return None
    parts = []
    if allowed_ids:
        # Identifiers match one document each: a term set is cheap here, however many there are.
        parts.append(Q.term_set_query(schema, "id", sorted(allowed_ids)))
    if allowed_terms:
        parts.append(_any_term(schema, "acl", allowed_terms))
    if not parts:
        return Q.empty_query()
    return _should(parts)


def _filters(schema: tantivy.Schema, filters: Mapping[str, Collection[str]] | None) -> list[tantivy.Query]:
    return [_any_term(schema, f"facet_{name}", vals) for name, vals in _chosen(filters).items()]


def _restricted(scored: tantivy.Query, restrictions: list[tantivy.Query]) -> tantivy.Query:
    if not restrictions:
        return scored
    # Restrictions score nothing: they only decide which documents may be counted and ranked.
    return Q.boolean_query(
        [(Occur.Must, scored)] + [(Occur.Must, Q.const_score_query(r, 0.0)) for r in restrictions]
    )


# ---- highlighting ----------------------------------------------------------------------------------


def _needles(words: list[QueryWord], synonyms: Synonyms) -> tuple[set[str], set[str], list[str]]:
    """Folded strings to mark, folded word terms to mark, and kana readings to mark."""
    strings: set[str] = set()
    terms: set[str] = set()
    readings: list[str] = []
    for qw in words:
        variants = [qw, *(v for v in (analyse_word(s) for s in synonyms.expand(qw.text)) if v)]
        for v in variants:
            strings.update(r for r in runs(v.folded))
            terms.update(v.words)
            if v.reading_bigrams:
                readings.append("".join(runs(v.folded)))
    return strings, terms, readings


@lru_cache(maxsize=20_000)
def _fold_char(c: str) -> str:
    return fold(c) if c.strip() else " "


def _mark_strings(t: str, marks: list[bool], strings: set[str]) -> None:
    # Fold character by character so a match in the folded text maps back to the shown text.
    folded_chars: list[str] = []
    index_map: list[int] = []
    for i, c in enumerate(t):
        for fc in _fold_char(c):
            folded_chars.append(fc)
            index_map.append(i)
    folded = "".join(folded_chars)
    for s in strings:
        start = folded.find(s) if s else -1
        while start != -1:
            for k in range(start, start + len(s)):
                marks[index_map[k]] = True
            start = folded.find(s, start + 1)


def _mark_morphemes(t: str, marks: list[bool], terms: set[str], readings: list[str]) -> None:
    # Same-word variants (子ども for 子供) and readings (人口 for じんこう) need the analysis. Only for
    # documents indexed before highlight tokens were stored: otherwise :func:`_mark_tokens` does it.
    c, a = analyse_both(t)
    for m in (*c, *a):
        hit = not m.skip and m.norm in terms
        if hit or (len(m.reading) >= 2 and any(m.reading in r for r in readings)):
            marks[m.begin : m.end] = [True] * (m.end - m.begin)


def _mark_tokens(marks: list[bool], tokens: list[list[Any]], terms: set[str], readings: list[str]) -> None:
    # The stored units of the text (see normalise.highlight_tokens): a variant's normalized form
    # or a reading inside a kana query word marks the unit.
    n = len(marks)
    for begin, end, norm, rd in tokens:
        if end > n:
            continue
        if (norm and norm in terms) or (rd and readings and any(rd in r for r in readings)):
            marks[begin:end] = [True] * (end - begin)


def highlight(
    text: str,
    strings: set[str],
    terms: set[str],
    readings: list[str],
    tokens: list[list[Any]] | None = None,
) -> Segments:
    """Split cleaned ``text`` into segments, marking folded substrings, same-word variants and readings.

    ``tokens``: the text's stored highlight tokens (``normalise.highlight_tokens``); without them
    the text is analysed here, which costs far more.
    """
    t = clean(text)
    if not t:
        return []
    marks = [False] * len(t)
    if tokens is None:
        _mark_strings(t, marks, strings)
        if terms or readings:
            _mark_morphemes(t, marks, terms, readings)
    else:
        # A word term written as in the text is found by the string pass; the tokens add variants.
        _mark_strings(t, marks, strings | terms)
        if terms or readings:
            _mark_tokens(marks, tokens, terms, readings)
    segments: Segments = []
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or marks[i] != marks[start]:
            segments.append((t[start:i], marks[start]))
            start = i
    return segments


def snippet(segments: Segments, chars: int) -> Segments:
    """A window of about ``chars`` characters around the first match (the start if none)."""
    text = "".join(s for s, _ in segments)
    if len(text) <= chars:
        return segments
    first = 0
    offset = 0
    for s, m in segments:
        if m:
            first = offset
            break
        offset += len(s)
    start = max(0, min(first - chars // 4, len(text) - chars))
    end = start + chars
    out: Segments = [("…", False)] if start > 0 else []
    offset = 0
    for s, m in segments:
        a, b = offset, offset + len(s)
        offset = b
        lo, hi = max(a, start), min(b, end)
        if lo < hi:
            out.append((s[lo - a : hi - a], m))
    if end < len(text):
        out.append(("…", False))
    return out


# ---- suggestions -----------------------------------------------------------------------------------


def _bigram_set(s: str) -> set[str]:
    return {b for b in bigrams(s) if len(b) == 2}


def suggestion_candidates(index: SearchIndex, query: str, limit: int = 10) -> list[str]:
    """Title words closest to ``query`` by character-bigram (Dice) similarity, best first."""
    key = "".join(runs(fold(query)))
    qb = _bigram_set(key)
    if not qb:
        return []
    sets = getattr(index, "_vocab_sets", None)
    if sets is None or sets[0] is not index.vocabulary:
        # Bigram sets of the vocabulary, computed once per loaded vocabulary.
        sets = (index.vocabulary, [(t, s, _bigram_set(t)) for t, s in index.vocabulary.items()])
        index._vocab_sets = sets  # type: ignore[attr-defined]
    scored = []
    for term, surface, tb in sets[1]:
        if term == key:
            continue
        common = len(qb & tb)
        if common:
            dice = 2 * common / (len(qb) + len(tb))
            if dice >= 0.34:
                scored.append((-dice, len(term), surface))
    scored.sort()
    return [s for _, _, s in scored[:limit]]


# ---- search ----------------------------------------------------------------------------------------


def _page_args(page: Any, per_page: Any) -> tuple[int, int]:
    try:
        p = int(page)
    except (TypeError, ValueError):
        p = 1
    try:
        pp = int(per_page)
    except (TypeError, ValueError):
        pp = 20
    return min(max(p, 1), MAX_PAGE), min(max(pp, 1), MAX_PER_PAGE)


def search(
    index: SearchIndex,
    query: str,
    *,
    allowed_ids: Collection[str] | None = None,
    allowed_terms: Collection[str] | None = None,
    filters: Mapping[str, Collection[str]] | None = None,
    sort: Sort = "relevance",
    page: int = 1,
    per_page: int = 20,
    synonyms: Synonyms | None = None,
    facets: Collection[str] = FACETS,
    snippet_chars: int = 120,
    suggest: bool = True,
    exclusive_counts: bool = False,
    promoted: Collection[str] = (),
) -> SearchResults:
    """Search the index for ``query`` among the entries the caller allows (see module docstring).

    ``allowed_ids`` / ``allowed_terms``: the access policy's answer for the actor (both ``None`` means
    unrestricted — only for system use). ``filters``: selected 絞り込み values per facet.
    ``exclusive_counts``: count a facet group that has a selection without its own selection (so
    its other choices show how many entries they would add), as the catalog page does.
    ``promoted``: identifiers ranked above every other match when sorting by relevance (認定データ).
    """
    if not isinstance(query, str):
        query = ""
    page, per_page = _page_args(page, per_page)
    synonyms = synonyms if synonyms is not None else default_synonyms()
    schema = index.schema
    results = SearchResults(query=clean(query), total=0, page=page, per_page=per_page)
    allow = access_filter(schema, allowed_ids, allowed_terms)
    chosen = _chosen(filters)
    words = query_words(query)
    if results.query and not words:
        results.notice = NOTHING_SEARCHABLE
        return results
    if not words:
        scored = Q.all_query()
        if sort == "relevance":
            sort = "updated"
    else:
        scored = _must([_expanded(schema, qw, synonyms) for qw in words])
    try:
        _execute(
            index,
            results,
            scored,
            allow=allow,
            chosen=chosen,
            words=words,
            synonyms=synonyms,
            sort=sort,
            facets=[f for f in facets if f in FACETS],
            exclusive_counts=exclusive_counts,
            snippet_chars=snippet_chars,
            suggest=suggest,
            promoted=promoted,
        )
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # a tantivy panic arrives as pyo3's PanicException, a BaseException
        log.exception("search failed for %r", query[:100])
        results.hits, results.facets, results.total = [], {}, 0
        results.notice = SEARCH_FAILED
    return results


def matching_identifiers(
    index: SearchIndex,
    query: str,
    *,
    allowed_ids: Collection[str] | None = None,
    allowed_terms: Collection[str] | None = None,
    filters: Mapping[str, Collection[str]] | None = None,
    sort: Sort = "relevance",
    synonyms: Synonyms | None = None,
    limit: int = 50_000,
    promoted: Collection[str] = (),
) -> list[str]:
    """Identifiers of every entry :func:`search` would list for the same arguments (all its pages, in
    its order, at most ``limit``): what an export of the result list contains."""
    if not isinstance(query, str):
        query = ""
    synonyms = synonyms if synonyms is not None else default_synonyms()
    schema = index.schema
    words = query_words(query)
    if clean(query) and not words:
        return []
    if not words:
        scored = Q.all_query()
        sort = "updated" if sort == "relevance" else sort
    else:
        scored = _must([_expanded(schema, qw, synonyms) for qw in words])
    allow = access_filter(schema, allowed_ids, allowed_terms)
    restrictions = ([allow] if allow is not None else []) + _filters(schema, filters)
    searcher = index.searcher()
    try:

        def ranked(q: tantivy.Query) -> tantivy.Query:
            return _restricted(_promote(schema, q, promoted) if sort == "relevance" else q, restrictions)

        res = _run(searcher, ranked(scored), sort, 1, max(1, limit))
        if res.count == 0 and len(words) > 1:
            any_word = _should([_expanded(schema, qw, synonyms) for qw in words])
            res = _run(searcher, ranked(any_word), sort, 1, max(1, limit))
        return [str(searcher.doc(addr).get_first("id")) for _, addr in res.hits]
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # a tantivy panic arrives as pyo3's PanicException, a BaseException
        log.exception("listing the matches failed for %r", query[:100])
        return []


def _chosen(filters: Mapping[str, Collection[str]] | None) -> dict[str, list[str]]:
    """The selected 絞り込み values that can restrict anything: known groups, non-empty strings."""
    out: dict[str, list[str]] = {}
    for name, values in (filters or {}).items():
        if name in FACETS:
            given = [values] if isinstance(values, str) else values
            vals = list(dict.fromkeys(v for v in given if isinstance(v, str) and v))
            if vals:
                out[name] = vals
    return out


def _filter_string(chosen: Mapping[str, list[str]]) -> str:
    """Selected values as a tantivy query string (for a filter aggregation); ``*`` when none."""
    if not chosen:
        return "*"
    parts = []
    for name, values in chosen.items():
        quoted = " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        parts.append(f"facet_{name}:IN [{quoted}]")
    return " AND ".join(parts)


def _terms_agg(groups: Collection[str]) -> dict[str, Any]:
    return {name: {"terms": {"field": f"facet_{name}", "size": 500}} for name in groups}


def _buckets(raw: Mapping[str, Any], name: str) -> list[tuple[str, int]]:
    return [(b["key"], int(b["doc_count"])) for b in raw.get(name, {}).get("buckets", [])]


# A facet every document has exactly one value of (index.FACETS): it can split the counting pass
# into buckets instead of filtering it.
_SINGLE_VALUED = "state"


@dataclass(slots=True)
class _CountPlan:
    """How one aggregation gives the total and every 絞り込み count (see :func:`_count`)."""

    fixed: dict[str, list[str]]  # selections that restrict the whole pass
    exclusive: dict[str, list[str]]  # selections each counted group drops from its own counts
    pivot: list[str] | None  # the selected states, when the state is counted exclusively
    groups: list[str]  # groups counted over every selection (besides the pivot)


def _plan(chosen: dict[str, list[str]], facets: list[str], exclusive: bool) -> _CountPlan:
    excl = {k: v for k, v in chosen.items() if exclusive and k in facets}
    fixed = {k: v for k, v in chosen.items() if k not in excl}
    # Only a selected state splits the pass: an entry without a state then matches no selection.
    pivot = excl.pop(_SINGLE_VALUED, None)
    groups = [g for g in facets if g not in excl and not (pivot is not None and g == _SINGLE_VALUED)]
    return _CountPlan(fixed, excl, pivot, groups)


def _inner_aggs(plan: _CountPlan) -> dict[str, Any]:
    # "all": every exclusive selection, the groups counted normally; "without_<g>": every
    # exclusive selection but g's, counting g. A filter aggregation marks the documents of its
    # selection in a bit set, so only the (usually narrow) chosen 絞り込み values are filtered.
    aggs: dict[str, Any] = {
        "all": {"filter": _filter_string(plan.exclusive), "aggs": _terms_agg(plan.groups)}
    }
    for name in plan.exclusive:
        others = {k: v for k, v in plan.exclusive.items() if k != name}
        aggs[f"without_{name}"] = {"filter": _filter_string(others), "aggs": _terms_agg([name])}
    return aggs


def _count(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    scored: tantivy.Query,
    allow: tantivy.Query | None,
    plan: _CountPlan,
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """The total and the 絞り込み counts, in one aggregation over the entries the query finds.

    The query, the access filter and the non-exclusive selections restrict the pass. With the
    state counted exclusively, the pass is split by state (every entry has one) and the selected
    states' buckets are added up, so filtering by state costs nothing.
    """
    restrictions = ([allow] if allow is not None else []) + _filters(schema, plan.fixed)
    base = _restricted(scored, restrictions)
    inner = _inner_aggs(plan)
    if plan.pivot is None:
        raw = searcher.aggregate(base, inner)
        parts = [raw]
        state_counts: list[tuple[str, int]] = []
    else:
        raw = searcher.aggregate(
            base, {"s": {"terms": {"field": f"facet_{_SINGLE_VALUED}", "size": 50}, "aggs": inner}}
        )
        buckets = raw.get("s", {}).get("buckets", [])
        state_counts = [(b["key"], int(b.get("all", {}).get("doc_count", 0))) for b in buckets]
        state_counts = [(k, n) for k, n in state_counts if n]
        parts = [b for b in buckets if b["key"] in plan.pivot]
    total = sum(int(p.get("all", {}).get("doc_count", 0)) for p in parts)
    summed: dict[str, dict[str, int]] = {}
    for p in parts:
        for key, value in p.items():
            if not (key == "all" or key.startswith("without_")) or not isinstance(value, dict):
                continue
            for name in value:
                if name == "doc_count":
                    continue
                target = summed.setdefault(name, {})
                for k, n in _buckets(value, name):
                    target[k] = target.get(k, 0) + n
    counts = {name: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for name, c in summed.items()}
    if plan.pivot is not None:
        counts[_SINGLE_VALUED] = sorted(state_counts, key=lambda kv: (-kv[1], kv[0]))
    return total, counts


def _execute(
    index: SearchIndex,
    results: SearchResults,
    scored: tantivy.Query,
    *,
    allow: tantivy.Query | None,
    chosen: dict[str, list[str]],
    words: list[QueryWord],
    synonyms: Synonyms,
    sort: Sort,
    facets: list[str],
    exclusive_counts: bool,
    snippet_chars: int,
    suggest: bool,
    promoted: Collection[str] = (),
) -> None:
    searcher = index.searcher()
    restrictions = ([allow] if allow is not None else []) + _filters(index.schema, chosen)
    plan = _plan(chosen, facets, exclusive_counts)
    # Counting first: one aggregation gives the total and every 絞り込み count, so the ranking pass
    # below needs no count and only runs when the page has hits.
    total, counts = _count(searcher, index.schema, scored, allow, plan)
    if total == 0 and len(words) > 1:
        any_word = _should([_expanded(index.schema, qw, synonyms) for qw in words])
        total, counts = _count(searcher, index.schema, any_word, allow, plan)
        if total:
            scored = any_word
            results.matched_all_words = False
            results.notice = SOME_WORDS
    results.total = total
    offset = (results.page - 1) * results.per_page
    if total > offset:
        ranked = _promote(index.schema, scored, promoted) if sort == "relevance" else scored
        res = _run(
            searcher, _restricted(ranked, restrictions), sort, results.page, results.per_page, count=False
        )
        results.hits = _hits(searcher, res.hits, words, synonyms, sort=sort, snippet_chars=snippet_chars)
    # Exclusive counts are shown even without a hit: the selection itself may be what found nothing.
    if facets and (total or exclusive_counts):
        results.facets = {name: counts.get(name, []) for name in facets}
    # もしかして is for words that find nothing. When a group counted without its own selection
    # shows entries, the words are fine and the 絞り込み ruled them out: the counts say so already.
    found_elsewhere = any(
        counts.get(name) for name in (*plan.exclusive, *([_SINGLE_VALUED] if plan.pivot else []))
    )
    if suggest and total == 0 and words and not found_elsewhere:
        results.suggestions = _suggestions(index, results.query, restrictions=restrictions, synonyms=synonyms)


def _hits(
    searcher: tantivy.Searcher,
    raw_hits: list[tuple[Any, Any]],
    words: list[QueryWord],
    synonyms: Synonyms,
    *,
    sort: Sort,
    snippet_chars: int,
) -> list[Hit]:
    strings, terms, readings = _needles(words, synonyms)
    hits = []
    for order_key, addr in raw_hits:
        stored = searcher.doc(addr).to_dict()
        doc = json.loads(bytes(stored["payload"][0]).decode())
        hl = doc.pop("hl", None) or {}
        if words:
            title = highlight(doc["title"], strings, terms, readings, hl.get("title"))
            desc = highlight(doc["description"], strings, terms, readings, hl.get("description"))
        else:
            title = [(clean(doc["title"]), False)]
            d = clean(doc["description"])
            desc = [(d, False)] if d else []
        hits.append(
            Hit(
                identifier=doc["identifier"],
                score=float(order_key) if sort == "relevance" else 0.0,
                title=title,
                snippet=snippet(desc, snippet_chars),
                doc=doc,
            )
        )
    return hits


def _run(
    searcher: tantivy.Searcher, q: tantivy.Query, sort: Sort, page: int, per_page: int, *, count: bool = True
) -> Any:
    offset = (page - 1) * per_page
    if sort == "updated":
        return searcher.search(
            q, per_page, count=count, offset=offset, order_by_field="updated", order=tantivy.Order.Desc
        )
    if sort == "title":
        return searcher.search(
            q, per_page, count=count, offset=offset, order_by_field="title_sort", order=tantivy.Order.Asc
        )
    # Without a count, tantivy can skip blocks that cannot reach the top of the page.
    return searcher.search(q, per_page, count=count, offset=offset)


def facet_counts(
    searcher: tantivy.Searcher, q: tantivy.Query, facets: Collection[str]
) -> dict[str, list[tuple[str, int]]]:
    """絞り込み counts over the (already access-restricted) query's hits, largest first."""
    names = [f for f in facets if f in FACETS]
    agg = {name: {"terms": {"field": f"facet_{name}", "size": 500}} for name in names}
    raw = searcher.aggregate(q, agg)
    return {
        name: [(b["key"], int(b["doc_count"])) for b in raw.get(name, {}).get("buckets", [])]
        for name in names
    }


def _exists(searcher: tantivy.Searcher, q: tantivy.Query) -> bool:
    # The best hit without a count: tantivy can skip blocks instead of visiting every match.
    return bool(searcher.search(q, 1, count=False).hits)


def _suggestions(
    index: SearchIndex,
    query: str,
    *,
    restrictions: list[tantivy.Query],
    synonyms: Synonyms,
    limit: int = 3,
) -> list[str]:
    schema = index.schema
    # Only suggest words that find something the actor may discover: a suggestion taken from a
    # hidden entry's title would reveal that it exists.
    out: list[str] = []
    searcher = index.searcher()
    candidates = []
    for cand in suggestion_candidates(index, query):
        qw = analyse_word(cand)
        if qw is not None:
            candidates.append((cand, _expanded(schema, qw, synonyms)))
    if not candidates:
        return out
    # One pass first: when no candidate finds anything (often: the 絞り込み chosen rule them all
    # out), that is the answer, without a pass per candidate.
    if not _exists(searcher, _restricted(_should([q for _, q in candidates]), restrictions)):
        return out
    for cand, expanded in candidates:
        if _exists(searcher, _restricted(expanded, restrictions)):
            out.append(cand)
            if len(out) >= limit:
                break
    return out
