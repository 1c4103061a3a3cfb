"""Rate limits per client on the public surfaces: the portal pages, the CKAN Action API and DCAT.

Counting is done by the ``limits`` library (a moving window: exactly N requests in any span of the window). The store is a URI:
``memory://`` by default, which needs no server and counts in each server process on its own, so with
W workers a client may make up to W times the limit; a city that wants one exact count across
processes points ``MACHIDATA_RATE_LIMIT_STORAGE`` at a Redis or Memcached it runs
(``redis://host:6379``), which ``limits`` supports unchanged (Memcached has no moving window). The metadata
database is deliberately not used: a write per public request would contend with the site's own writes
(SQLite takes one writer at a time).

Two limits, both per client address (``core.middleware.client_ip``, as the sign-in lockout uses):
``MACHIDATA_PUBLIC_RATE_LIMIT`` for every public request and ``MACHIDATA_PUBLIC_SQL_RATE_LIMIT`` for
``datastore_search_sql``, which can make the engine work hard. A limit is written as ``N/second``,
``N/minute``, ``N/hour`` (``limits`` notation, e.g. ``300/minute``); ``off`` or empty turns it off.
Staff pages and ``/api/v1`` are never limited here (signed-in users are accountable and have their own
per-user limits on heavy work). Over the limit the answer is 429 with ``Retry-After``: CKAN's error
envelope on the API, a plain Japanese page elsewhere.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from limits import RateLimitItem, parse, storage, strategies

from machidata.core.middleware import client_ip

_API: Final = re.compile(r"^/api/(?:3/)?action/(?P<name>[^/]+)$")
_PUBLIC: Final = re.compile(r"^/(?:en/)?open/|^/catalog\.(?:ttl|rdf|jsonld)$")
_SQL_ACTIONS: Final = frozenset({"datastore_search_sql"})


@lru_cache(maxsize=4)
def _limiter(uri: str) -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


@lru_cache(maxsize=16)
def _item(text: str) -> RateLimitItem | None:
    text = text.strip()
    return None if text.lower() in {"", "off", "0", "none"} else parse(text)


def limiter() -> strategies.MovingWindowRateLimiter:
    """The limiter over the configured store (one per store URI and process)."""
    return _limiter(settings.MACHIDATA_RATE_LIMIT_STORAGE)


def rules_for(path: str) -> list[tuple[str, RateLimitItem]]:
    """The (group, limit) pairs a request to ``path`` counts against; empty for paths never limited."""
    api = _API.match(path)
    if not api and not _PUBLIC.match(path):
        return []
    out = []
    public = _item(settings.MACHIDATA_PUBLIC_RATE_LIMIT)
    if public is not None:
        out.append(("public", public))
    if api and api.group("name") in _SQL_ACTIONS:
        sql = _item(settings.MACHIDATA_PUBLIC_SQL_RATE_LIMIT)
        if sql is not None:
            out.append(("sql", sql))
    return out


def _refusal(request: HttpRequest, retry_after: int) -> HttpResponse:
    message = "アクセスが集中しているため、しばらく受け付けを止めています。{}秒ほどしてから、もう一度お試しください。"
    text = message.format(retry_after)
    response: HttpResponse
    if _API.match(request.path_info):
        response = JsonResponse(
            {"help": "", "success": False, "error": {"__type": "Rate Limit Error", "message": text}},
            status=429,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        page = (
            '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>しばらくお待ちください</title>'
            f"</head><body><main><h1>しばらくお待ちください</h1><p>{text}</p></main></body></html>"
        )
        response = HttpResponse(page, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    return response


class PublicRateLimitMiddleware:
    """Count each public request against its client's limits; answer 429 once one is used up."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rules = rules_for(request.path_info)
        if rules:
            who = client_ip(request) or "unknown"
            lim = limiter()
            for group, item in rules:
                if not lim.hit(item, group, who):
                    reset = lim.get_window_stats(item, group, who).reset_time
                    return _refusal(request, max(1, math.ceil(reset - time.time())))
        return self.get_response(request)
