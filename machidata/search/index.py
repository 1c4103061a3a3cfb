"""The embedded search index: a tantivy index on disk, fed with terms made in Python.

Why tantivy: it is a maintained Rust search library with BM25, phrase queries, fast fields,
aggregations (for 絞り込み counts) and sorting, embedded (no server), with a Python binding that
installs from PyPI as a wheel. Japanese analysis stays in Python (:mod:`machidata.search.normalise`):
each field is indexed as whitespace-joined terms in four streams (``<field>_w`` words, ``_g``
bigrams, ``_u`` unigrams, ``_r`` reading bigrams), so the index itself needs no Japanese tokenizer.
The index is independent of the metadata database, so results are the same on SQLite and PostgreSQL.

Access: every document carries its ``acl`` terms (chosen by the caller from the access policy, e.g.
``class:public``, ``owner:30201000``, ``grant:user:12``); a query is restricted to an allowed set of
identifiers and/or acl terms *before* ranking and counting, so a hidden entry never appears in hits,
totals, 絞り込み counts or suggestions.

One writer at a time (tantivy takes a lock); the job runner is that writer. :func:`build_index`
writes a fresh index beside the old one and swaps directories, so readers never see a half-built one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tantivy

from machidata.search.normalise import analyse, clean, field_terms, fold, highlight_tokens, runs

# Searched fields and their boosts: a title match outranks a keyword match, which outranks the
# category/department, the description, then column names and the rest.
FIELD_BOOSTS: dict[str, float] = {
    "title": 5.0,
    "keywords": 3.0,
    "category": 2.0,
    "department": 2.0,
    "description": 1.0,
    "columns": 0.8,
    "other": 0.5,
}
# Kana queries look for readings in the short fields only: in long descriptions a reading phrase
# of a few kana matches by chance too often.
READING_FIELDS = ("title", "keywords", "category", "department")
STREAMS = ("w", "g", "u", "r")
# ``state`` (live/retired) is a facet too, so retired entries are filtered like any other choice.
FACETS = ("department", "category", "classification", "format", "licence", "state")
SUGGEST_FILE = "suggest.json"
_HEAP = 64_000_000
# A full build holds more in memory before flushing a segment: fewer, larger segments and merges.
_BUILD_HEAP = 512_000_000


@dataclass(slots=True)
class SearchDocument:
    """What the index knows about one catalog entry (built by the caller from a Dataset)."""

    identifier: str
    title: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    category: str = ""  # display name (分野名)
    department: list[str] = field(default_factory=list)  # owner's name and its parents' names
    columns: list[str] = field(default_factory=list)  # column names and Japanese column titles
    other: list[str] = field(default_factory=list)  # licence, where the data lives, spatial, codes…
    facets: dict[str, list[str]] = field(default_factory=dict)  # FACETS → values (codes)
    acl: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # stored and returned with hits, not searched


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("acl", tokenizer_name="raw", index_option="basic")
    for name in FIELD_BOOSTS:
        for stream in STREAMS:
            if stream == "r" and name not in READING_FIELDS:
                continue
            # Phrases (bigram runs, reading runs) need positions; single terms need frequencies.
            option = "position" if stream in ("g", "r") else "freq"
            sb.add_text_field(f"{name}_{stream}", tokenizer_name="whitespace", index_option=option)
    for name in FACETS:
        sb.add_text_field(f"facet_{name}", tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_integer_field("updated", fast=True, indexed=True)
    sb.add_text_field("title_sort", tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


def _field_values(doc: SearchDocument, name: str) -> str | list[str]:
    value = getattr(doc, name)
    return value if isinstance(value, str) else list(value)


def analyse_document(doc: SearchDocument) -> dict[str, Any]:
    """All the Japanese analysis of one document, as plain data (picklable, so worker processes can do it)."""
    streams: dict[str, str] = {}
    for name in FIELD_BOOSTS:
        values = _field_values(doc, name)
        ft = field_terms(values, with_reading=name in READING_FIELDS)
        for stream in STREAMS:
            if stream == "r" and name not in READING_FIELDS:
                continue
            terms = getattr(ft, stream)
            if terms:
                streams[f"{name}_{stream}"] = " ".join(terms)
    payload = {
        "identifier": doc.identifier,
        "title": doc.title,
        "description": doc.description,
        "keywords": doc.keywords,
        "category": doc.category,
        "department": doc.department,
        "facets": doc.facets,
        "updated_at": doc.updated_at.isoformat() if doc.updated_at else None,
        "extra": doc.extra,
        # Offsets, variants and readings of the shown texts, so a query highlights without analysing.
        "hl": {"title": highlight_tokens(doc.title), "description": highlight_tokens(doc.description)},
    }
    return {
        "id": doc.identifier,
        "acl": list(doc.acl),
        "streams": streams,
        "facets": {name: list(doc.facets.get(name, [])) for name in FACETS},
        "updated": int(doc.updated_at.timestamp()) if doc.updated_at else 0,
        "title_sort": fold(doc.title) or "\uffff",
        "payload": json.dumps(payload, ensure_ascii=False).encode(),
        "vocabulary": list(_title_vocabulary([doc]).items()),
    }


def _from_analysed(a: dict[str, Any]) -> tantivy.Document:
    td = tantivy.Document()
    td.add_text("id", a["id"])
    for term in a["acl"]:
        td.add_text("acl", term)
    for field_name, text in a["streams"].items():
        td.add_text(field_name, text)
    for name, values in a["facets"].items():
        for v in values:
            td.add_text(f"facet_{name}", v)
    td.add_integer("updated", a["updated"])
    td.add_text("title_sort", a["title_sort"])
    td.add_bytes("payload", a["payload"])
    return td


def to_tantivy(doc: SearchDocument) -> tantivy.Document:
    """Turn a :class:`SearchDocument` into a tantivy document (all analysis happens here)."""
    return _from_analysed(analyse_document(doc))


def _title_vocabulary(docs: Iterable[SearchDocument]) -> dict[str, str]:
    """Folded keys → how they are written, for the もしかして suggestions.

    Keys are the title's words, its runs between punctuation (救急出動件数), the keywords, and the
    readings of title words of three kana or more (so a kana typo such as ぎゅうきゅう finds 救急).
    """
    vocab: dict[str, str] = {}

    def add(key: str, surface: str) -> None:
        if 2 <= len(key) <= 30:
            vocab.setdefault(key, surface)

    for d in docs:
        for m in analyse(d.title):
            key = "".join(runs(fold(m.surface)))
            if not m.skip:
                add(key, m.surface)
                if len(m.reading) >= 3 and m.reading != key:
                    add(m.reading, m.surface)
        for run in runs(clean(d.title)):
            add("".join(runs(fold(run))), run)
        for k in d.keywords:
            add("".join(runs(fold(k))), k)
    return vocab


class SearchIndex:
    """An opened index directory: a reader (reloaded after writes) and, on demand, one writer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        self._lock = threading.Lock()
        self.vocabulary: dict[str, str] = self._read_vocabulary()

    def _read_vocabulary(self) -> dict[str, str]:
        p = self.path / SUGGEST_FILE
        if not p.exists():
            return {}
        data: dict[str, str] = json.loads(p.read_text(encoding="utf-8"))
        return data

    def _write_vocabulary(self) -> None:
        tmp = self.path / (SUGGEST_FILE + ".tmp")
        tmp.write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path / SUGGEST_FILE)

    def searcher(self) -> tantivy.Searcher:
        """A searcher over the last committed state."""
        return self.index.searcher()

    def reload(self) -> None:
        """See commits made by another process or writer."""
        self.index.reload()
        self.vocabulary = self._read_vocabulary()

    def upsert(self, docs: Iterable[SearchDocument]) -> int:
        """Add or replace documents (by identifier) in one commit; returns how many were written."""
        docs = list(docs)
        with self._lock:
            writer = self.index.writer(heap_size=_HEAP, num_threads=1)
            for d in docs:
                writer.delete_documents_by_term("id", d.identifier)
                writer.add_document(to_tantivy(d))
            writer.commit()
            writer.wait_merging_threads()
            self.vocabulary.update(
                {k: v for k, v in _title_vocabulary(docs).items() if k not in self.vocabulary}
            )
            self._write_vocabulary()
        self.index.reload()
        return len(docs)

    def delete(self, identifiers: Iterable[str]) -> None:
        """Remove documents by identifier (retired or deleted entries)."""
        with self._lock:
            writer = self.index.writer(heap_size=_HEAP, num_threads=1)
            for ident in identifiers:
                writer.delete_documents_by_term("id", ident)
            writer.commit()
            writer.wait_merging_threads()
        self.index.reload()

    def __len__(self) -> int:
        return int(self.searcher().num_docs)


def _analysed(docs: list[SearchDocument], workers: int) -> Iterable[dict[str, Any]]:
    if workers <= 1 or len(docs) < 2000:
        yield from (analyse_document(d) for d in docs)
        return
    # The analysis (SudachiPy and folding) is pure Python and dominates a build: spread it over
    # processes; tantivy's writer threads index what they send back.
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(workers)
    try:
        yield from pool.imap(analyse_document, docs, chunksize=500)
    finally:
        pool.close()
        pool.join()


def build_index(
    path: str | Path, docs: Iterable[SearchDocument], *, workers: int | None = None
) -> SearchIndex:
    """(Re)build the whole index at ``path`` from ``docs``: written beside it, then swapped in.

    One writer with a large heap and a single commit; ``workers`` processes do the Japanese analysis
    (default: one per CPU core, at most 4).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".building")
    old = path.with_name(path.name + ".old")
    for p in (tmp, old):
        if p.exists():
            shutil.rmtree(p)
    tmp.mkdir(parents=True)
    docs = list(docs)
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    index = tantivy.Index(_schema(), path=str(tmp))
    writer = index.writer(heap_size=_BUILD_HEAP)
    vocabulary: dict[str, str] = {}
    for analysed in _analysed(docs, workers):
        writer.add_document(_from_analysed(analysed))
        for key, surface in analysed["vocabulary"]:
            vocabulary.setdefault(key, surface)
    writer.commit()
    writer.wait_merging_threads()
    (tmp / SUGGEST_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    if old.exists():
        shutil.rmtree(old)
    return SearchIndex(path)


def open_index(path: str | Path) -> SearchIndex:
    """Open (or create empty) the index at ``path``."""
    Path(path).mkdir(parents=True, exist_ok=True)
    return SearchIndex(path)
