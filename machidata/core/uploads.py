"""The upload size limit, enforced while the request body streams in rather than after it is on disk.

Two layers, both at ``MACHIDATA_MAX_UPLOAD_BYTES``:

- :class:`UploadLimitMiddleware` answers 413 from the declared ``Content-Length`` before a byte of
  the body is read (browsers always declare it for a form post), with the Japanese message as a page
  or, under ``/api/``, as JSON.
- :class:`LimitedUploadHandler`, first in ``FILE_UPLOAD_HANDLERS``, counts the bytes of every file as
  they arrive and stops the upload (Django's ``StopUpload``) the moment the total passes the limit,
  for a body without a length or one that lies; the middleware then answers 413 the same way. So at
  most the limit (plus one chunk) ever reaches the temporary file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

# Form fields besides the file(s) (names, notes, the CSRF token) fit well inside this.
FORM_MARGIN_BYTES = 1024 * 1024
REFUSED = "machidata.upload_refused"


def too_large_message(limit: int) -> str:
    """The Japanese refusal, with the limit in MB."""
    return f"ファイルが大きすぎます。一度に送れるのは {limit / 1024**2:,.0f} MB までです。ファイルを分けるか、データ戦略課に相談してください。"


class LimitedUploadHandler(FileUploadHandler):
    """Counts the uploaded bytes of one request and stops the upload once they pass the limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.MACHIDATA_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.META[REFUSED] = True
            raise StopUpload(connection_reset=True)
        return raw_data  # the next handler (a temporary file) stores it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file


def _refuse(request: HttpRequest) -> HttpResponse:
    message = too_large_message(settings.MACHIDATA_MAX_UPLOAD_BYTES)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    html = render_to_string("core/too_large.html", {"message": message}, request=request)
    return HttpResponse(html, status=413)


def _is_upload(request: HttpRequest) -> bool:
    return request.method in {"POST", "PUT", "PATCH"} and request.content_type == "multipart/form-data"


class UploadLimitMiddleware:
    """413 for an upload over the limit: from Content-Length up front, or once the handler stops it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_upload(request):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > settings.MACHIDATA_MAX_UPLOAD_BYTES + FORM_MARGIN_BYTES:
                return _refuse(request)
        response = self.get_response(request)
        if request.META.get(REFUSED):  # a view that read the body itself (the API): the file never reached it
            return _refuse(request)
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        """Parse a form upload's body before the view (the handler runs first) and refuse it if stopped.

        Views exempt from CSRF (the API, the CKAN actions) may read the raw body themselves, which is
        impossible once it is parsed: for them the check runs after the view, on the same flag.
        """
        if _is_upload(request) and not getattr(view, "csrf_exempt", False):
            request.FILES  # noqa: B018 - reading the body now runs the handlers before the view
            if request.META.get(REFUSED):
                return _refuse(request)
        return None
