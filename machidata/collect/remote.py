"""Fetching files for URL, CKAN and statistics imports: allowed hosts only, a timeout, a size cap, conditional GET.

Only hosts listed in ``MACHIDATA_IMPORT_URL_HOSTS`` are ever contacted (so nobody can make the server
fetch an arbitrary address, SSRF): the address is checked when the import is set up, again before every
fetch, and at every redirect (a redirect to a host not allowed stops the fetch). No proxy from the
environment is used. The body is counted while it streams and the fetch stops past
``MACHIDATA_MAX_UPLOAD_BYTES``. Only the standard library is used (``urllib``).
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

from machidata.core.errors import InvalidInput

CHUNK = 64 * 1024
TOTAL_TIMEOUTS = 20  # a whole fetch may take at most this many MACHIDATA_IMPORT_URL_TIMEOUT


class FetchError(Exception):
    """A fetch that did not give a file: the Japanese reason for the owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def allowed_hosts() -> list[str]:
    """The configured allow-list (lower case; empty = URL imports off)."""
    return [h.strip().lower() for h in getattr(settings, "MACHIDATA_IMPORT_URL_HOSTS", []) if h.strip()]


def host_allowed(url: str) -> bool:
    """Whether ``url`` is http(s) on an allowed host (``host`` any port, ``host:port`` that port, ``.domain``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        return False
    port = port or (443 if parts.scheme == "https" else 80)
    for entry in allowed_hosts():
        if entry.startswith("."):
            if host.endswith(entry) or host == entry[1:]:
                return True
        elif ":" in entry:
            name, _, p = entry.rpartition(":")
            if host == name and str(port) == p:
                return True
        elif host == entry:
            return True
    return False


def check_url(url: str, *, field: str = "url") -> str:
    """The trimmed address, or InvalidInput in Japanese when imports by URL are off or the host is not allowed."""
    url = (url or "").strip()
    if not allowed_hosts():
        raise InvalidInput(
            "URLからの取り込みは、この machidata では使えません（取り込みを許すサーバーが設定されていません）。データ戦略課にご相談ください。",
            details={field: ["URLからの取り込みは使えません。"]},
        )
    if not url.lower().startswith(("http://", "https://")) or len(url) > 1000:
        raise InvalidInput(
            "URLは「https://」または「http://」で始まる形で書いてください。",
            details={field: ["http(s) のURLを書いてください。"]},
        )
    if not host_allowed(url):
        host = urlsplit(url).hostname or url
        raise InvalidInput(
            f"「{host}」からは取り込めません。取り込めるのは庁内の許可されたサーバー（{'、'.join(allowed_hosts())}）だけです。",
            details={field: ["許可されていないサーバーです。"]},
        )
    return url


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowed host."""

    def redirect_request(  # noqa: PLR0917 -- urllib's signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not host_allowed(newurl):
            host = urlsplit(newurl).hostname or newurl
            raise FetchError(
                f"転送先「{host}」は取り込みを許されたサーバーではないため、取り込みを止めました。"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # ProxyHandler({}): never a proxy from the environment (the allow-list is about the real host).
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _AllowedRedirects())


def _open(url: str, headers: dict[str, str]) -> Any:
    if not host_allowed(url):
        raise FetchError("このURLは取り込みを許されたサーバーではありません。設定を確かめてください。")
    # http(s) only, on an allowed host: checked just above
    request = urllib.request.Request(  # noqa: S310
        url, headers={"User-Agent": "machidata-import/1", **headers}
    )
    timeout = float(getattr(settings, "MACHIDATA_IMPORT_URL_TIMEOUT", 30))
    try:
        return _opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return exc
        exc.close()
        if exc.code == 404:
            raise FetchError(
                "ファイルが見つかりません（404）。URLが変わっていないか確かめてください。"
            ) from None
        if exc.code in {401, 403}:
            raise FetchError(
                f"サーバーに断られました（{exc.code}）。公開の設定を確かめてください。"
            ) from None
        raise FetchError(f"サーバーがエラーを返しました（{exc.code}）。") from None
    except TimeoutError:
        raise FetchError(f"サーバーが {timeout:g} 秒のうちに応えませんでした（タイムアウト）。") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError(f"サーバーが {timeout:g} 秒のうちに応えませんでした（タイムアウト）。") from None
        raise FetchError(f"サーバーにつながりません（{exc.reason}）。") from None
    except OSError as exc:
        raise FetchError(f"サーバーにつながりません（{exc}）。") from None


@dataclass
class Fetched:
    """The outcome of one fetch: ``unchanged`` (304), or a file saved at ``path`` with its SHA-256."""

    unchanged: bool
    path: Path | None = None
    name: str = ""
    sha256: str = ""
    etag: str = ""
    last_modified: str = ""


_SUFFIXES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/json": ".json",
    "application/geo+json": ".geojson",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
}


def _name_of(url: str, headers: HTTPMessage) -> str:
    """A safe file name: Content-Disposition's, else the URL's last part; a suffix from Content-Type if none."""
    name = ""
    disposition = headers.get("Content-Disposition") or ""
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value.strip('"'):
            name = value.strip('"')
    name = name or unquote(urlsplit(url).path)
    name = Path(name.replace("\\", "/")).name.strip().replace("\x00", "")[:200]
    if name in {"", ".", ".."}:
        name = "download"
    if not Path(name).suffix:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        name += _SUFFIXES.get(content_type, "")
    return name


def fetch(url: str, *, folder: Path, etag: str = "", last_modified: str = "") -> Fetched:
    """GET ``url`` into ``folder`` (conditional on ``etag`` / ``last_modified``), capped and hashed as it streams."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    limit = int(settings.MACHIDATA_MAX_UPLOAD_BYTES)
    response = _open(url, headers)
    with response:
        if getattr(response, "status", None) == 304 or getattr(response, "code", None) == 304:
            return Fetched(unchanged=True, etag=etag, last_modified=last_modified)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise FetchError(f"ファイルが大きすぎます（上限 {limit:,} バイト）。")
        name = _name_of(response.geturl(), response.headers)
        path = folder / name
        digest = hashlib.sha256()
        size = 0
        # The timeout is per read; a server dripping bytes is stopped after TOTAL_TIMEOUTS of them in all.
        deadline = time.monotonic() + TOTAL_TIMEOUTS * float(
            getattr(settings, "MACHIDATA_IMPORT_URL_TIMEOUT", 30)
        )
        try:
            with path.open("wb") as out:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(f"ファイルが大きすぎます（上限 {limit:,} バイト）。")
                    if time.monotonic() > deadline:
                        raise FetchError(
                            "受け取りに時間がかかりすぎるため、途中で止めました（タイムアウト）。"
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except TimeoutError:
            raise FetchError("受け取りの途中でサーバーが応えなくなりました（タイムアウト）。") from None
        return Fetched(
            unchanged=False,
            path=path,
            name=name,
            sha256=digest.hexdigest(),
            etag=response.headers.get("ETag") or "",
            last_modified=response.headers.get("Last-Modified") or "",
        )


@dataclass
class CkanResource:
    """The resource a CKAN import found: its address and what the portal says about its version."""

    url: str
    name: str
    format: str
    last_modified: str
    hash: str


JSON_LIMIT = 10 * 1024 * 1024


def fetch_json(url: str, *, limit: int = JSON_LIMIT) -> Any:
    """GET a JSON answer (a CKAN action) from an allowed host, at most ``limit`` bytes."""
    with _open(url, {"Accept": "application/json"}) as response:
        if getattr(response, "code", None) == 304:
            raise FetchError("CKANポータルが想定外の応答（304）を返しました。")
        body = response.read(limit + 1)
    if len(body) > limit:
        raise FetchError("CKANポータルの応答が大きすぎます。")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(
            "CKANポータルの応答を読めませんでした（JSONではありません）。URLを確かめてください。"
        ) from None


CKAN_PAGE_ROWS = 100
CKAN_MAX_PACKAGES = 2000


def ckan_packages(base: str, *, organization: str = "", page_rows: int | None = None) -> list[dict[str, Any]]:
    """Every package of ``base`` (of one organisation when given) through ``package_search``, page by page.

    Pages of ``page_rows`` sorted by ``id asc`` (a stable order while the portal changes) until the count
    is reached or a page comes back empty; at most ``CKAN_MAX_PACKAGES``.
    """
    page_rows = page_rows or CKAN_PAGE_ROWS
    api = f"{base.rstrip('/')}/api/3/action/package_search"
    fq = f"organization:{organization}" if organization else ""
    packages: list[dict[str, Any]] = []
    seen: set[str] = set()
    start = 0
    while True:
        query = f"rows={page_rows}&start={start}&sort={quote('id asc')}"
        if fq:
            query += f"&fq={quote(fq)}"
        answer = fetch_json(f"{api}?{query}")
        result = answer.get("result") if isinstance(answer, dict) and answer.get("success") else None
        if not isinstance(result, dict) or not isinstance(result.get("results"), list):
            raise FetchError(
                "CKANポータルの検索（package_search）が想定外の応答を返しました。URLを確かめてください。"
            )
        page = [p for p in result["results"] if isinstance(p, dict) and p.get("id")]
        for package in page:
            if str(package["id"]) not in seen:
                seen.add(str(package["id"]))
                packages.append(package)
        count = result.get("count")
        start += page_rows
        if not page or (isinstance(count, int) and start >= count):
            return packages
        if len(packages) >= CKAN_MAX_PACKAGES:
            raise FetchError(
                f"CKANポータルのデータセットが多すぎます（{CKAN_MAX_PACKAGES}件まで）。組織を指定して絞ってください。"
            )


def ckan_resource(base: str, dataset: str, resource: str) -> CkanResource:
    """Ask ``base``'s Action API (``package_show``) for ``dataset`` and pick ``resource`` by name, id or format."""
    api = f"{base.rstrip('/')}/api/3/action/package_show?id={quote(dataset, safe='')}"
    answer = fetch_json(api)
    if (
        not isinstance(answer, dict)
        or not answer.get("success")
        or not isinstance(answer.get("result"), dict)
    ):
        raise FetchError(f"CKANポータルにデータセット「{dataset}」が見つかりません。")
    resources = [r for r in answer["result"].get("resources") or [] if isinstance(r, dict)]
    wanted = resource.strip().lower()
    chosen = next((r for r in resources if str(r.get("name") or "").lower() == wanted), None)
    chosen = chosen or next((r for r in resources if str(r.get("id") or "").lower() == wanted), None)
    chosen = chosen or next((r for r in resources if str(r.get("format") or "").lower() == wanted), None)
    if chosen is None:
        names = "、".join(str(r.get("name") or r.get("id")) for r in resources[:10]) or "なし"
        raise FetchError(
            f"データセット「{dataset}」にリソース「{resource}」が見つかりません（あるもの: {names}）。"
        )
    url = str(chosen.get("url") or "")
    if not host_allowed(url):
        host = urlsplit(url).hostname or url or "（URLなし）"
        raise FetchError(f"リソースの置き場所「{host}」は取り込みを許されたサーバーではありません。")
    return CkanResource(
        url=url,
        name=str(chosen.get("name") or ""),
        format=str(chosen.get("format") or ""),
        last_modified=str(chosen.get("last_modified") or chosen.get("metadata_modified") or ""),
        hash=str(chosen.get("hash") or ""),
    )
