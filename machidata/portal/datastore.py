"""CKAN's DataStore actions over the approved version of a public table.

``datastore_search`` turns CKAN's parameters (``resource_id``, ``q``, ``filters``, ``fields``,
``sort``, ``limit``, ``offset``, ``include_total``, ``records_format``) into one
:class:`machidata.engine.TableQuery` and reads it with the anonymous public's access through
``catalog.table_selectors.table_rows`` on the version ``publish.selectors`` says is public — never a
later one. Rows carry the lake's ``_id``; pages are ordered by ``sort`` and then ``_id`` so they are
stable, and ``_links`` give the start and the next page as CKAN does.

``datastore_search_sql`` runs one read-only SELECT through the SQL console's sandbox
(:func:`machidata.engine.sql.check_sql` then :func:`machidata.engine.sql.run_sql`: sqlglot's check,
DuckDB's one-SELECT check, a pooled worker process with only the named public versions' files allowed,
external access off, configuration locked, memory/thread limits and a wall-clock kill). Tables are
named by resource id (``SELECT * FROM "<resource id>"``), as in CKAN; a name that is not a public
resource answers CKAN's 403, the same for missing and hidden.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from django.conf import settings

from machidata.access.policy import ANONYMOUS
from machidata.catalog.table_selectors import table_fields, table_rows
from machidata.core.errors import InvalidInput, NotFound
from machidata.engine import EngineError, EngineQueryError, EngineTimeout, Filter, Sort, TableQuery
from machidata.engine.result_cache import ResultCache, digest
from machidata.engine.sql import CheckedSql, SqlRefused, SqlResult, SqlView, check_sql, run_sql, view_columns
from machidata.lake.readers import version_read
from machidata.portal import selectors as s
from machidata.portal.ckan import ActionError, _bool, _int, validation

DEFAULT_LIMIT: Final = 100  # CKAN's default
ROWS_MAX: Final = 32_000  # CKAN's ckan.datastore.search.rows_max default (also capped by the engine)
SQL_ROWS_MAX: Final = 32_000
SQL_SCHEMA: Final = "main"  # where DuckDB looks up the unqualified "<resource id>" names
ID: Final = "_id"
# CKAN (PostgreSQL) type names of the engine's kinds.
CKAN_TYPES: Final = {
    "integer": "int", "number": "numeric", "string": "text", "boolean": "bool", "date": "date",
    "datetime": "timestamp", "time": "time", "geometry": "text", "other": "text",
}  # fmt: skip
# DuckDB result types of datastore_search_sql, as CKAN (PostgreSQL) names them.
SQL_TYPES: Final = {
    "VARCHAR": "text", "BIGINT": "int8", "INTEGER": "int4", "SMALLINT": "int2", "TINYINT": "int2",
    "HUGEINT": "numeric", "UBIGINT": "numeric", "UINTEGER": "int8", "DOUBLE": "float8", "FLOAT": "float4",
    "BOOLEAN": "bool", "DATE": "date", "TIMESTAMP": "timestamp", "TIME": "time",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "INTERVAL": "interval",
}  # fmt: skip
_SQL_SLOTS = threading.BoundedSemaphore(
    2
)  # worker processes at once from the public API (per server process)


def _missing(field: str) -> str:
    return f'field "{field}" not in table'


def _json_param(params: dict[str, Any], key: str) -> Any:
    """A parameter that CKAN accepts as JSON text (GET) or as the JSON value itself (POST)."""
    raw = params.get(key)
    if isinstance(raw, str) and raw.strip()[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            raise validation(**{key: "Cannot parse JSON"}) from None
    return raw


def _names(params: dict[str, Any], key: str) -> list[str] | None:
    """``fields``: a list, JSON text of a list, or comma-separated names."""
    raw = _json_param(params, key)
    if raw in (None, "", []):
        return None
    if isinstance(raw, str):
        return [p.strip().strip('"') for p in raw.split(",") if p.strip()]
    if isinstance(raw, list):
        return [str(x) for x in raw]
    raise validation(**{key: "Not a list of field names"})


def _sorts(params: dict[str, Any], known: set[str]) -> list[Sort]:
    """``sort``: ``"a, b desc"`` or a list of such parts."""
    raw = _json_param(params, "sort")
    if raw in (None, "", []):
        return []
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for raw_part in (str(p).strip() for p in parts):
        if not raw_part:
            continue
        bits = raw_part.rsplit(" ", 1)
        part, direction = raw_part, "asc"
        if len(bits) == 2 and bits[1].lower() in ("asc", "desc"):
            part, direction = bits[0].strip(), bits[1].lower()
        name = part.strip('"')
        if name not in known:
            raise validation(sort=_missing(name))
        out.append(Sort(column=name, direction=direction))  # type: ignore[arg-type]
    return out


def _filters(params: dict[str, Any], known: set[str]) -> list[Filter]:
    """``filters``: ``{field: value}`` or ``{field: [values]}`` (equality, as CKAN)."""
    raw = _json_param(params, "filters")
    if raw in (None, "", {}):
        return []
    if not isinstance(raw, dict):
        raise validation(filters="Not a JSON object")
    out = []
    for name, value in raw.items():
        if name not in known:
            raise validation(filters=_missing(str(name)))
        if isinstance(value, list):
            if not value:
                raise validation(filters=f'field "{name}": empty list')
            out.append(Filter(column=name, op="in", values=tuple(str(v) for v in value)))
        elif value is None:
            out.append(Filter(column=name, op="is_null"))
        else:
            out.append(Filter(column=name, op="eq", value=str(value)))
    return out


def _q(params: dict[str, Any], known: set[str]) -> tuple[str | None, list[Filter]]:
    """``q``: full-text words over every text column, or ``{field: words}`` (each word in that field)."""
    raw = _json_param(params, "q")
    if raw in (None, ""):
        return None, []
    if isinstance(raw, dict):
        out = []
        for name, words in raw.items():
            if name not in known:
                raise validation(q=_missing(str(name)))
            out += [Filter(column=name, op="contains", value=w) for w in str(words).split()]
        return None, out
    return str(raw), []


def _link(base: str, params: dict[str, Any], offset: int | None) -> str:
    """A ``_links`` URL: the same request with another offset (relative, as CKAN gives it)."""
    kept = {k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in params.items()}
    kept.pop("offset", None)
    if offset:
        kept["offset"] = str(offset)
    return f"{base}?{urlencode(sorted(kept.items()))}"


def _field_dicts(pt: s.PublicTable) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"id": ID, "type": "int"}]
    for f in table_fields(pt.table, pt.version):
        field: dict[str, Any] = {"id": f.name, "type": CKAN_TYPES.get(f.kind, "text")}
        if f.title or f.description:
            field["info"] = {"label": f.title, "notes": f.description}
        out.append(field)
    return out


PAGE_CACHE_MAX_PAGE: Final = 1_000  # a longer page is read every time (never cached)
_caches: dict[tuple[str, str], ResultCache] = {}
_caches_lock = threading.Lock()


def _cache(name: str) -> ResultCache:
    """The result cache ``name`` of this home: this process's entries and files shared with the other
    server processes under ``MACHIDATA_HOME/cache/<name>`` (see :mod:`machidata.engine.result_cache`)."""
    folder = Path(settings.MACHIDATA_HOME) / "cache" / name
    key = (str(folder), name)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = ResultCache(folder)
    return cache


def _version_identity(pt: s.PublicTable) -> list[Any]:
    """What names a committed version for good: the table's storage key (random, never reused, so a
    database reset that reuses ids never meets an old entry), the version row, its number and Delta version."""
    return [pt.table.storage_key, pt.version.pk, pt.version.number, pt.version.delta_version]


def _page(pt: s.PublicTable, query: TableQuery, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The rows of one page (``limit`` at most) and the filtered total, from the page cache when it has them.

    What is cached: the JSON rows and total of a page, keyed by the public version (its storage key,
    row, number and Delta version) and the whole query; kept in this process and shared with the other
    server processes (``MACHIDATA_HOME/cache/pages``). Why it is safe: a committed version's rows never
    change, so the same key always has the same answer; the key names the version the public may see
    *now* — :func:`machidata.portal.selectors.public_table` asks the database on every request before
    this is called, so a withdrawn or replaced version is refused (404) or reads a new key at once,
    and its old entries are never reached again (they age out). Only pages of at most
    :data:`PAGE_CACHE_MAX_PAGE` rows.
    """
    cache = _cache("pages")
    key = digest("datastore_search", _version_identity(pt), query.model_dump_json(), limit)
    hit = cache.get(key)
    if hit is not None:
        return hit[0], int(hit[1])
    try:
        page = table_rows(actor=ANONYMOUS, table=pt.table, version=pt.version, query=query)
    except InvalidInput as exc:  # a value that does not fit its column, a search that is too long, …
        raise ActionError(409, "Validation Error", message=exc.message) from None
    answer = (page.rows[:limit], int(page.total))
    if len(answer[0]) <= PAGE_CACHE_MAX_PAGE:
        cache.put(key, [answer[0], answer[1]])
    return answer


def forget_pages() -> None:
    """Empty the page and SQL caches of this home, here and in the shared folder (tests)."""
    _cache("pages").clear()
    _cache("sql").clear()


def datastore_search(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``datastore_search`` on the approved version of one public table."""
    resource_id = str(params.get("resource_id") or params.get("id") or "")
    if not resource_id:
        raise validation(resource_id="Missing value")
    pt = s.public_table(resource_id)
    records_format = str(params.get("records_format") or "objects")
    if records_format not in ("objects", "lists"):
        raise validation(records_format="Unsupported format: use objects or lists")
    cap = min(ROWS_MAX, int(settings.MACHIDATA_ENGINE_MAX_ROWS))
    limit = _int(params, "limit", DEFAULT_LIMIT, high=cap)
    offset = _int(params, "offset", 0)
    include_total = "include_total" not in params or _bool(params, "include_total")
    all_fields = _field_dicts(pt)
    known = {f["id"] for f in all_fields}
    wanted = _names(params, "fields")
    for name in wanted or []:
        if name not in known:
            raise validation(fields=_missing(name))
    fields = [f for f in all_fields if f["id"] in wanted] if wanted else all_fields
    fields = sorted(fields, key=lambda f: wanted.index(f["id"])) if wanted else fields
    search, q_filters = _q(params, known)
    try:
        query = TableQuery(
            fields=tuple(f["id"] for f in fields), filters=(*_filters(params, known), *q_filters),
            sort=tuple(_sorts(params, known)), limit=max(limit, 1), offset=offset, search=search,
        )  # fmt: skip
    except ValueError:  # pydantic refused a value's shape
        raise validation(filters="Invalid filter value") from None
    rows, total = _page(pt, query, limit)
    names = [f["id"] for f in fields]
    records: list[Any] = (
        [{n: r.get(n) for n in names} for r in rows]
        if records_format == "objects"
        else [[r.get(n) for n in names] for r in rows]
    )
    path = "/api/3/action/datastore_search"
    echo = {
        k: params[k] for k in ("q", "filters", "sort", "fields", "offset") if params.get(k) not in (None, "")
    }
    result: dict[str, Any] = {
        "include_total": include_total, "limit": limit, "records_format": records_format,
        "resource_id": resource_id, "total_estimation_threshold": None, **echo,
        "records": records, "fields": fields,
        "_links": {"start": _link(path, params, None), "next": _link(path, params, offset + limit)},
    }  # fmt: skip
    if include_total:
        result |= {"total": total, "total_was_estimated": False}
    return result


def _sql_error(message: str) -> ActionError:
    return ActionError(409, "Validation Error", query=[message])


def _denied() -> ActionError:
    return ActionError(403, "Authorization Error", message="Not authorized to read resource.")


def datastore_search_sql(params: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``datastore_search_sql``: one read-only SELECT over public resources, in the engine's sandbox."""
    sql = params.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise validation(sql="Missing value")
    try:
        checked = check_sql(sql, bare_schema=SQL_SCHEMA)
    except SqlRefused as exc:
        raise _sql_error(exc.message) from None
    views: list[SqlView] = []
    identity: list[Any] = []
    for ref in checked.tables:
        if ref.schema != SQL_SCHEMA:
            raise _denied()
        try:
            pt = s.public_table(ref.name)  # asks the database every time: what is public *now*
        except NotFound:
            raise _denied() from None
        read = version_read(pt.version)  # resolved once per committed version
        files = read.files
        columns = () if files else view_columns(read.schema)
        views.append(SqlView(SQL_SCHEMA, ref.name, files, columns))
        identity.append([ref.name, *_version_identity(pt), list(files)])
    # The answer of a statement whose result depends only on the data is kept by the statement as it
    # runs and the exact public versions it reads (see _page for why that is safe); random(), now(),
    # samples and the like are run every time.
    cache = _cache("sql")
    key = None if checked.volatile else digest("datastore_search_sql", checked.sql, identity, SQL_ROWS_MAX)
    kept = cache.get(key) if key is not None else None
    columns_: list[dict[str, str]]
    rows: list[list[Any]]
    if kept is not None:
        columns_, rows, truncated = kept["columns"], kept["rows"], bool(kept["truncated"])
    else:
        result = _run_public_sql(checked, views)
        columns_, rows, truncated = result.columns, result.rows, result.truncated
        if key is not None:
            cache.put(key, {"columns": columns_, "rows": rows, "truncated": truncated})
    names = [c["name"] for c in columns_]
    fields = [
        {"id": c["name"], "type": SQL_TYPES.get(c["type"].upper(), c["type"].lower())} for c in columns_
    ]
    records = [dict(zip(names, row, strict=True)) for row in rows]
    out: dict[str, Any] = {"sql": sql, "records": records, "fields": fields}
    if truncated:
        out["records_truncated"] = True
    return out


def _run_public_sql(checked: CheckedSql, views: list[SqlView]) -> SqlResult:
    """Run a checked statement in the sandbox (at most two at once per server process); CKAN's 409 on failure."""
    if not _SQL_SLOTS.acquire(timeout=float(settings.MACHIDATA_SQL_TIMEOUT_S)):
        raise _sql_error("Too many queries at once; try again later")
    try:
        return run_sql(
            checked, views, max_rows=SQL_ROWS_MAX, timeout_s=float(settings.MACHIDATA_SQL_TIMEOUT_S),
            memory_mb=int(settings.MACHIDATA_SQL_MEMORY_MB), threads=1,
        )  # fmt: skip
    except SqlRefused as exc:
        raise _sql_error(exc.message) from None
    except EngineTimeout:
        raise _sql_error("Query took too long") from None
    except (EngineQueryError, EngineError) as exc:
        raise _sql_error(exc.message) from None
    finally:
        _SQL_SLOTS.release()
