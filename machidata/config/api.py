"""The one NinjaAPI (/api/v1/): authentication, error mapping, and the routers of each room."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestValidationError

from machidata.access.auth import BearerTokenAuth, SessionActorAuth
from machidata.core.errors import MachidataError

logger = logging.getLogger(__name__)
api = NinjaAPI(
    title="machidata API",
    version="1",
    description="まちデータ（machidata）の JSON API。セッションまたは個人用APIトークン（Authorization: Bearer …）で認証します。",
    auth=[BearerTokenAuth(), SessionActorAuth()],
    urls_namespace="api",
)


@api.exception_handler(MachidataError)
def _domain_error(request: HttpRequest, exc: MachidataError) -> HttpResponse:
    body: dict[str, Any] = {"detail": exc.message}
    if exc.details is not None:
        body["errors"] = exc.details
    return api.create_response(request, body, status=exc.status)


_VALIDATION_JA = {
    "missing": "必須の項目です。",
    "string_type": "文字列で指定してください。",
    "int_parsing": "整数で指定してください。",
    "int_type": "整数で指定してください。",
    "int_from_float": "整数で指定してください。",
    "float_parsing": "数値で指定してください。",
    "bool_parsing": "true か false で指定してください。",
    "bool_type": "true か false で指定してください。",
    "date_parsing": "日付を YYYY-MM-DD の形で指定してください。",
    "date_from_datetime_parsing": "日付を YYYY-MM-DD の形で指定してください。",
    "date_type": "日付を YYYY-MM-DD の形で指定してください。",
    "datetime_parsing": "日時を ISO 8601 の形で指定してください。",
    "list_type": "配列で指定してください。",
    "dict_type": "オブジェクトで指定してください。",
    "model_attributes_type": "オブジェクトで指定してください。",
    "json_invalid": "JSON の形式が正しくありません。",
    "too_long": "多すぎます（長すぎます）。",
    "too_short": "少なすぎます（短すぎます）。",
    "literal_error": "指定できない値です。",
    "enum": "指定できない値です。",
}
_HTTP_ERROR_JA = {
    "Unauthorized": "ログインするか、APIトークン（Authorization: Bearer …）を指定してください。",
    "CSRF check Failed": "CSRFトークンを確認できません。ページを読み込み直してから、もう一度お試しください。",
    "Cannot parse request body": "リクエストの本文を読み取れません。JSON の形式を確認してください。",
    "Too many requests.": "リクエストが多すぎます。しばらく待ってから、もう一度お試しください。",
    "Forbidden": "この操作を行う権限がありません。",
}


def _japanese(error: dict[str, Any]) -> dict[str, Any]:
    msg = str(error.get("msg", ""))
    if msg.isascii():  # pydantic's own English messages; our schema validators already speak Japanese
        msg = _VALIDATION_JA.get(str(error.get("type")), "入力値が正しくありません。")
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query", "params")]
    return {"loc": loc, "msg": msg, "type": error.get("type")}


@api.exception_handler(RequestValidationError)
def _validation_error(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
    errors = [_japanese(e) for e in exc.errors]
    first = errors[0] if errors else {"loc": [], "msg": ""}
    where = ".".join(first["loc"])
    detail = f"入力内容を確認してください: {where + ': ' if where else ''}{first['msg']}"
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number or text the database cannot hold (a huge id, an over-long value) is the caller's error."""
    logger.warning("value out of the database's range: %s", exc)
    return api.create_response(
        request, {"detail": "入力値が大きすぎるか長すぎます（扱える範囲を超えています）。"}, status=400
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    return api.create_response(
        request, {"detail": _HTTP_ERROR_JA.get(message, message)}, status=exc.status_code
    )


def _mount() -> None:
    from machidata.access.api import router as access_router
    from machidata.catalog.api import router as catalog_router
    from machidata.catalog.query_api import router as query_router
    from machidata.catalog.table_api import router as table_router
    from machidata.charts.api import router as charts_router
    from machidata.charts.api_dashboards import router as dashboards_router
    from machidata.datarequests.api import router as datarequests_router
    from machidata.ebpm.api import router as ebpm_router
    from machidata.jobs.api import router as jobs_router
    from machidata.prep.api import router as prep_router
    from machidata.privacy.api import router as privacy_router
    from machidata.publish.api import router as publish_router
    from machidata.search.api import router as search_router
    from machidata.support.api import router as support_router
    from machidata.surveys.api import router as surveys_router

    api.add_router("/datasets", catalog_router)
    api.add_router("/datasets", table_router)
    api.add_router("/", access_router)
    api.add_router("/jobs", jobs_router)
    api.add_router("/support", support_router)
    api.add_router("/data-requests", datarequests_router)
    api.add_router("/charts", charts_router)
    api.add_router("/dashboards", dashboards_router)
    api.add_router("/search", search_router)
    api.add_router("/query", query_router)
    api.add_router("/publication", publish_router)
    api.add_router("/recipes", prep_router)
    api.add_router("/access-requests", privacy_router)
    from machidata.privacy.api_uses import router as privacy_uses_router

    api.add_router("/privacy", privacy_uses_router)
    api.add_router("/surveys", surveys_router)
    from machidata.collect.api import router as collect_router
    from machidata.collect.api_alerts import router as alerts_router
    from machidata.collect.api_opendata import router as opendata_router
    from machidata.collect.api_schedules import router as schedules_router

    api.add_router("/campaigns", collect_router)
    api.add_router("/schedules", schedules_router)
    api.add_router("/alerts", alerts_router)
    api.add_router("/opendata", opendata_router)
    api.add_router("/ebpm", ebpm_router)
    from machidata.analysis.api import router as analysis_router

    api.add_router("/analyses", analysis_router)
    from machidata.console.api import router as sql_router

    api.add_router("/sql", sql_router)
    from machidata.deid.api import router as deid_router

    api.add_router("/deid", deid_router)
    from machidata.standards.api import router as standards_router

    api.add_router("/standards", standards_router)


_mount()
