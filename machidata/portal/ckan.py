"""The CKAN Action API facade (``/api/3/action/<name>``): anonymous, read-only, public data only.

Each action takes the request's parameters (a dict) and the site's base URL and returns CKAN's
``result``; errors are raised as :class:`ActionError` with CKAN's status and ``__type``. Every action
reads through :mod:`machidata.portal.selectors`, which asks ``publish.selectors`` what is public.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from django.core.serializers.json import DjangoJSONEncoder

from machidata.core.errors import NotFound
from machidata.portal import selectors as s

CKAN_VERSION: Final = "2.11.0"
MAX_ROWS: Final = 1000
DEFAULT_ROWS: Final = 10


class ActionError(Exception):
    """A CKAN error: HTTP status, ``__type`` and the rest of the ``error`` object."""

    def __init__(self, status: int, kind: str, **error: Any) -> None:
        super().__init__(kind)
        self.status = status
        self.error = {**error, "__type": kind}


def not_found() -> ActionError:
    """CKAN's 404."""
    return ActionError(404, "Not Found Error", message="Not found")


def validation(**fields: str) -> ActionError:
    """CKAN's 409 validation error: ``{field: [message]}``."""
    return ActionError(409, "Validation Error", **{k: [v] for k, v in fields.items()})


def _int(params: dict[str, Any], key: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = params.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        raise validation(**{key: "Invalid integer"}) from None
    if value < low:
        raise validation(**{key: "Must be a natural number"})
    return min(value, high) if high is not None else value


def _bool(params: dict[str, Any], key: str) -> bool:
    raw = params.get(key, False)
    return raw is True or str(raw).lower() in ("true", "1", "yes", "on")


def _id(params: dict[str, Any], *keys: str) -> str:
    for k in keys:
        if params.get(k):
            return str(params[k])
    raise validation(**{keys[-1]: "Missing value"})


# ---- search -----------------------------------------------------------------------------------------

_TERM_RE: Final = re.compile(r'([+-]?)([a-z_.]+):("[^"]*"|\[[^\]]*\]|\S+)')
_FACETS: Final = ("organization", "groups", "tags", "res_format", "license_id")


def _field_values(pkg: dict[str, Any], field: str) -> list[str]:
    values: list[str]
    if field in ("organization", "owner_org"):
        org = pkg["organization"]
        values = [org["name"], org["id"]] if field == "owner_org" else [org["name"]]
    elif field == "groups":
        values = [g["name"] for g in pkg["groups"]]
    elif field == "tags":
        values = [t["name"] for t in pkg["tags"]]
    elif field == "res_format":
        values = sorted({r["format"] for r in pkg["resources"]})
    else:
        value = pkg.get(field)
        values = [] if value is None else [str(value)]
    return values


def _matches_term(pkg: dict[str, Any], field: str, value: str) -> bool:
    value = value.strip('"')
    if value.startswith("[") and value.endswith("]"):
        low, _, high = value[1:-1].partition(" TO ")
        current = str(pkg.get(field) or "")
        low, high = low.strip().rstrip("Z"), high.strip().rstrip("Z")
        return (low == "*" or current >= low) and (high == "*" or current <= high)
    if value == "*":
        return bool(_field_values(pkg, field))
    return value in _field_values(pkg, field)


# Fields whose ``field:value`` terms are answered from an index kept with the package list (the facets
# and the keys harvesters filter on); any other field is matched package by package.
_INDEXED: Final = frozenset(
    {"organization", "owner_org", "groups", "tags", "res_format", "license_id", "name", "id", "type", "state"}
)
LOOKUP_WORD_IDS: Final = 200_000  # ids kept in the free-word memo of one package list (then it starts over)
LOOKUP_ANSWERS: Final = 512  # searches (matches in order and facets) kept with one package list
LOOKUP_ANSWER_PKGS: Final = 400_000  # packages listed in those kept answers, in all
# A search's answer before paging: the matching packages in order, ``facets`` and ``search_facets``.
_Answer = tuple[list[dict[str, Any]], dict[str, dict[str, int]], dict[str, Any]]


class _Lookup:
    """What a search asks of one cached package list, kept with it (the list never changes: a change of
    what is public makes a new list and so a new lookup): per field, value → ids of the packages with it;
    per free word, the ids of the packages whose search text holds it (the words asked lately)."""

    def __init__(self, pkgs: list[dict[str, Any]], texts: dict[str, str]) -> None:
        self.pkgs = pkgs
        self.texts = texts
        self._fields: dict[str, dict[str, frozenset[str]]] = {}
        self._words: dict[str, frozenset[str]] = {}
        self._word_ids = 0
        self._by_id: dict[str, dict[str, Any]] | None = None
        self._answers: dict[tuple[Any, ...], _Answer] = {}
        self._answer_pkgs = 0
        self._json: dict[str, str] = dict(s.package_json_texts(pkgs))  # made with the list, when it was
        self._lock = threading.Lock()

    def answer(self, key: tuple[Any, ...], make: Callable[[], _Answer]) -> _Answer:
        """The matching packages in order and the facets of one search (``key``: everything that decides
        them), made by ``make`` once and kept with the list (at most :data:`LOOKUP_ANSWERS` searches and
        :data:`LOOKUP_ANSWER_PKGS` packages listed in all, then it starts over). Never change them."""
        with self._lock:
            hit = self._answers.get(key)
        if hit is not None:
            return hit
        made = make()
        with self._lock:
            if len(self._answers) >= LOOKUP_ANSWERS or self._answer_pkgs + len(made[0]) > LOOKUP_ANSWER_PKGS:
                self._answers.clear()
                self._answer_pkgs = 0
            self._answers[key] = made
            self._answer_pkgs += len(made[0])
        return made

    def json_of(self, pkg: dict[str, Any]) -> str:
        """The JSON text of one package of the list, as the API's encoder writes it (made once)."""
        key = pkg["id"]
        hit = self._json.get(key)
        if hit is None:
            hit = json.dumps(pkg, ensure_ascii=False, cls=DjangoJSONEncoder)
            self._json[key] = hit  # one writer or two: the same text
        return hit

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Package by id."""
        with self._lock:
            if self._by_id is None:
                self._by_id = {p["id"]: p for p in self.pkgs}
            return self._by_id

    def ids(self, text: str) -> tuple[bool, frozenset[str] | None]:
        """``(True, ids)`` of the packages matching every term and word of ``text`` when every term is
        ``field:value`` on an indexed field (``ids`` None: the text restricts nothing); ``(False, None)``
        when a term needs the package-by-package match (ranges, ``*``, other fields)."""
        terms = [(m.group(1), m.group(2), m.group(3).strip('"')) for m in _TERM_RE.finditer(text)]
        words = [w.lower() for w in _TERM_RE.sub(" ", text).split() if w not in ("*:*", "AND", "+")]
        if any(f not in _INDEXED or v == "*" or v.startswith("[") for _, f, v in terms):
            return False, None
        out: frozenset[str] | None = None
        for sign, field, value in terms:
            ids = self.field(field).get(value, frozenset())
            if sign == "-":
                out = (frozenset(self.texts) if out is None else out) - ids
            else:
                out = ids if out is None else out & ids
        for word in words:
            ids = self.word(word)
            out = ids if out is None else out & ids
        return True, out

    def field(self, field: str) -> dict[str, frozenset[str]]:
        """Value → ids of the packages having it in ``field`` (as :func:`_field_values` gives them)."""
        with self._lock:
            hit = self._fields.get(field)
        if hit is not None:
            return hit
        found: dict[str, set[str]] = {}
        for p in self.pkgs:
            for v in _field_values(p, field):
                found.setdefault(v, set()).add(p["id"])
        made = {v: frozenset(ids) for v, ids in found.items()}
        with self._lock:
            self._fields[field] = made
        return made

    def word(self, word: str) -> frozenset[str]:
        """Ids of the packages whose search text contains ``word`` (lower case)."""
        with self._lock:
            hit = self._words.get(word)
        if hit is not None:
            return hit
        ids = frozenset(i for i, text in self.texts.items() if word in text)
        with self._lock:
            if self._word_ids + len(ids) > LOOKUP_WORD_IDS:
                self._words.clear()
                self._word_ids = 0
            self._words[word] = ids
            self._word_ids += len(ids)
        return ids


_lookup: list[_Lookup] = []
_lookup_lock = threading.Lock()


def _lookup_for(pkgs: list[dict[str, Any]], texts: dict[str, str]) -> _Lookup:
    """The lookup of the cached package list ``pkgs`` (checked by identity; one list per process at a time)."""
    with _lookup_lock:
        if _lookup and _lookup[0].pkgs is pkgs and _lookup[0].texts is texts:
            return _lookup[0]
        made = _Lookup(pkgs, texts)
        _lookup[:] = [made]
        return made


def _filter(
    pkgs: list[dict[str, Any]], text: str, texts: dict[str, str] | None = None, lookup: _Lookup | None = None
) -> list[dict[str, Any]]:
    """Keep packages matching every ``field:value`` term and every free word of ``text`` (``texts``:
    each package's search text by id, when already made; ``lookup``: the indexes of the cached list
    ``pkgs`` was taken from — the answer is the same with or without it)."""
    terms = [(m.group(1), m.group(2), m.group(3)) for m in _TERM_RE.finditer(text)]
    words = [w for w in _TERM_RE.sub(" ", text).split() if w not in ("*:*", "AND", "+")]
    for sign, field, raw in terms:
        value = raw.strip('"')
        if lookup is not None and field in _INDEXED and value != "*" and not value.startswith("["):
            ids = lookup.field(field).get(value, frozenset())
            keep = sign != "-"
            pkgs = [p for p in pkgs if (p["id"] in ids) is keep]
        else:
            pkgs = [p for p in pkgs if (sign == "-") != _matches_term(p, field, raw)]
    for word in (w.lower() for w in words):  # one pass per word (or its ids, kept with the list)
        if lookup is not None:
            ids = lookup.word(word)
            pkgs = [p for p in pkgs if p["id"] in ids]
        else:
            known = texts or {}
            pkgs = [p for p in pkgs if word in (known.get(p["id"]) or s.package_text(p))]
    return pkgs


_SORTABLE: Final = ("metadata_modified", "metadata_created", "name", "title", "id")


def _sort_key(field: str) -> Callable[[dict[str, Any]], str]:
    return lambda p: str(p.get(field) or "")


_SORTED_KEEP: Final = 16  # sort orders of the cached package list kept per process
_sorted: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]] = {}
_sorted_lock = threading.Lock()


def _in_order(
    ordered: list[dict[str, Any]], sort: str, ids: frozenset[str], lookup: _Lookup
) -> list[dict[str, Any]]:
    """The packages of ``ids`` in the order of ``ordered`` (``_sorted_all(lookup.pkgs, sort)``): a few
    are placed by their kept positions, many are kept in one pass over the sorted list."""
    if len(ids) * 8 >= len(ordered):
        return [p for p in ordered if p["id"] in ids]
    with _sorted_lock:
        hit = _sorted.get(sort)
    if hit is None or hit[1] is not ordered:
        return [p for p in ordered if p["id"] in ids]
    position, by_id = hit[2], lookup.by_id()
    return [by_id[i] for i in sorted(ids, key=position.__getitem__)]


def _sorted_all(pkgs: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """``pkgs`` (the cached list of every public package) in ``sort`` order, sorted once per list and order.

    Sorting 20,000 packages costs ~0.1 s a request; the cached list only changes when what is public
    changes (a new list object), so its orders are kept with it, keyed by the sort text and checked by
    identity. Filtering a sorted list keeps its order, and the sorts are stable, so filtering after
    sorting gives exactly what sorting the filtered list gave."""
    with _sorted_lock:
        hit = _sorted.get(sort)
    if hit is not None and hit[0] is pkgs:
        return hit[1]
    ordered = _sort(pkgs, sort)
    position = {p["id"]: i for i, p in enumerate(ordered)}
    with _sorted_lock:
        if len(_sorted) >= _SORTED_KEEP:
            _sorted.clear()
        _sorted[sort] = (pkgs, ordered, position)
    return ordered


def _sort(pkgs: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    keys = []
    for part in sort.split(","):
        bits = part.split()
        if not bits or bits[0] == "score":
            continue
        field, direction = bits[0], (bits[1].lower() if len(bits) > 1 else "asc")
        if field.startswith("title_string"):
            field = "title"
        if field not in _SORTABLE or direction not in ("asc", "desc"):
            raise validation(sort=f"Invalid sort: {part.strip()}")
        keys.append((field, direction == "desc"))
    for field, reverse in reversed(keys):  # stable sorts, last key first
        pkgs = sorted(pkgs, key=_sort_key(field), reverse=reverse)
    return pkgs


def _facet_fields(params: dict[str, Any]) -> list[str]:
    raw = params.get("facet.field")
    if raw in (None, ""):
        return []
    if isinstance(raw, list):
        return [str(x) for x in raw]
    try:
        value = json.loads(str(raw))
    except ValueError:
        raise validation(**{"facet.field": "Invalid JSON list"}) from None
    if not isinstance(value, list):
        raise validation(**{"facet.field": "Invalid JSON list"})
    return [str(x) for x in value]


def _display(pkgs: list[dict[str, Any]], field: str, name: str) -> str:
    for p in pkgs:
        if field == "organization" and p["organization"]["name"] == name:
            return str(p["organization"]["title"])
        if field == "groups":
            for g in p["groups"]:
                if g["name"] == name:
                    return str(g["title"])
    return name


class PackageResults(list[dict[str, Any]]):
    """A page of packages of the cached list that also knows their JSON text: the API writes it as is
    (``json_text``) instead of encoding 10–1000 package dicts again on every request. As a list it is
    the plain list of package dicts."""

    def __init__(self, pkgs: list[dict[str, Any]], lookup: _Lookup) -> None:
        super().__init__(pkgs)
        self._lookup = lookup

    def json_text(self) -> str:
        """``[pkg, …]`` as JSON, byte for byte what ``json.dumps`` of the list gives with the API's settings."""
        return "[" + ", ".join(self._lookup.json_of(p) for p in self) + "]"


def package_search(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``package_search``: q, fq, rows (≤1000), start, sort, facet.field, facet.limit."""
    rows = _int(params, "rows", DEFAULT_ROWS, high=MAX_ROWS)
    start = _int(params, "start", 0)
    facet_limit = _int(params, "facet.limit", 50, low=-1)
    every, texts = s.cached_packages(base_url=base_url)
    lookup = _lookup_for(every, texts)
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    q, fq = str(params.get("q") or ""), str(params.get("fq") or "")
    ordered = _sorted_all(every, sort)
    fields = tuple(_facet_fields(params))

    def search() -> _Answer:
        pkgs = ordered
        (q_ok, q_ids), (fq_ok, fq_ids) = lookup.ids(q), lookup.ids(fq)
        if q_ok and fq_ok:  # answered from the indexes kept with the list
            ids = q_ids if fq_ids is None else fq_ids if q_ids is None else q_ids & fq_ids
            pkgs = pkgs if ids is None else _in_order(pkgs, sort, ids, lookup)
        else:  # ranges, ``*`` and other fields: package by package
            pkgs = _filter(_filter(pkgs, q, texts, lookup), fq, texts, lookup)
        facets: dict[str, dict[str, int]] = {}
        search_facets: dict[str, Any] = {}
        for field in fields:
            counts = Counter(v for p in pkgs for v in _field_values(p, field))
            top = counts.most_common(None if facet_limit < 0 else facet_limit)
            facets[field] = dict(top)
            search_facets[field] = {
                "title": field,
                "items": [{"name": n, "display_name": _display(pkgs, field, n), "count": c} for n, c in top],
            }
        return pkgs, facets, search_facets

    pkgs, facets, search_facets = lookup.answer((sort, q, fq, fields, facet_limit), search)
    return {
        "count": len(pkgs),
        "results": PackageResults(pkgs[start : start + rows], lookup),
        "sort": str(params.get("sort") or "score desc, metadata_modified desc"),
        "facets": facets,
        "search_facets": search_facets,
    }


# ---- the other actions ------------------------------------------------------------------------------


def status_show(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``status_show``: the site and the CKAN version whose API shape we follow."""
    from django.conf import settings

    city = str(getattr(settings, "MACHIDATA_CITY_NAME", ""))
    return {
        "site_title": f"まちデータ {city} オープンデータ".replace("  ", " "), "site_description": "",
        "site_url": base_url, "ckan_version": CKAN_VERSION, "error_emails_to": None,
        "locale_default": "ja", "extensions": [],
    }  # fmt: skip


def site_read(params: dict[str, Any], base_url: str) -> bool:
    """``site_read``: always true (the site is public)."""
    return True


def package_list(params: dict[str, Any], base_url: str) -> list[str]:
    """``package_list``: names of public datasets (limit, offset)."""
    names = [p["name"] for p in s.package_dicts(base_url=base_url)]
    offset = _int(params, "offset", 0)
    if params.get("limit") not in (None, ""):
        return names[offset : offset + _int(params, "limit", 0)]
    return names[offset:]


def package_show(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``package_show``: one public dataset by name or id."""
    return s.package_dict(s.public_dataset(_id(params, "id", "name_or_id")), base_url=base_url)


def resource_show(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``resource_show``: one resource by id — a public table version or its standard-format CSV — exactly as
    ``package_show`` lists it (same position)."""
    id_ = _id(params, "id")
    try:
        pt = s.public_table(id_)
    except NotFound:
        pt = s.public_standard_table(id_)
    for resource in s.package_dict(pt.table.dataset, base_url=base_url)["resources"]:
        if resource["id"] == id_:
            return dict(resource)
    raise not_found()


def _counted(params: dict[str, Any], items: list[Any], as_dict: Callable[[Any], dict[str, Any]], field: str, base_url: str) -> list[Any]:  # fmt: skip
    dicts = [as_dict(i) for i in items]
    if not _bool(params, "all_fields"):
        return [d["name"] for d in dicts]
    counts = Counter(v for p in s.package_dicts(base_url=base_url) for v in _field_values(p, field))
    return [{**d, "package_count": counts[d["name"]]} for d in dicts]


def organization_list(params: dict[str, Any], base_url: str) -> list[Any]:
    """``organization_list``: units owning public datasets (names, or dicts with all_fields)."""
    return _counted(params, s.organizations(), s.organization_dict, "organization", base_url)


def group_list(params: dict[str, Any], base_url: str) -> list[Any]:
    """``group_list``: categories holding public datasets."""
    return _counted(params, s.categories(), s.group_dict, "groups", base_url)


def organization_show(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``organization_show``: one unit by name or id; ``include_datasets`` lists its public packages."""
    key = _id(params, "id")
    for unit in s.organizations():
        org = s.organization_dict(unit)
        if key in (org["name"], org["id"]):
            pkgs = [p for p in s.package_dicts(base_url=base_url) if p["organization"]["id"] == org["id"]]
            org["package_count"] = len(pkgs)
            org["packages"] = pkgs if _bool(params, "include_datasets") else []
            return org
    raise not_found()


def tag_list(params: dict[str, Any], base_url: str) -> list[Any]:
    """``tag_list``: tags of public datasets, optionally those containing ``query``."""
    query = str(params.get("query") or params.get("q") or "")
    words = [w for w in s.tags() if query.lower() in w.lower()]
    return [s.tag_dict(w) for w in words] if _bool(params, "all_fields") else words


def datastore_search(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``datastore_search``: rows of the approved version of a public table (see ``portal.datastore``)."""
    from machidata.portal import datastore

    return datastore.datastore_search(params, base_url)


def datastore_search_sql(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``datastore_search_sql``: one read-only SELECT over public tables, in the engine's sandbox."""
    from machidata.portal import datastore

    return datastore.datastore_search_sql(params, base_url)


def public_read(params: dict[str, Any]) -> None:
    """The auth function of every action here: anyone may read, and the action reads only what
    ``publish.selectors`` says is public (so there is nothing to refuse; hidden answers 404)."""


# Every action is paired with its auth function, as CKAN pairs ``logic/action`` with ``logic/auth``;
# a write action added later must bring its own (a test checks the pairing).
_READ_ACTIONS: Final = (
    "status_show", "site_read", "package_list", "package_show", "package_search",
    "resource_show", "organization_list", "organization_show", "group_list", "tag_list",
    "datastore_search", "datastore_search_sql",
)  # fmt: skip
AUTH: Final[dict[str, Callable[[dict[str, Any]], None]]] = dict.fromkeys(_READ_ACTIONS, public_read)

ACTIONS: Final[dict[str, Callable[[dict[str, Any], str], Any]]] = {
    "status_show": status_show,
    "site_read": site_read,
    "package_list": package_list,
    "package_show": package_show,
    "package_search": package_search,
    "resource_show": resource_show,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "group_list": group_list,
    "tag_list": tag_list,
    "datastore_search": datastore_search,
    "datastore_search_sql": datastore_search_sql,
}
