"""Organisation pages: the tree (管理), the reorganisation import (管理) and personal API tokens (everyone signed in)."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from machidata.access import selectors, services
from machidata.access.forms import AsOfForm, OrgImportForm, TokenCreateForm
from machidata.access.orgimport import organisation_import_preview
from machidata.access.policy import Actor, require_admin
from machidata.core.errors import InvalidInput, NotFound

SESSION_KEY = "access_org_import"
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def admin_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """管理 only; everyone else gets the same 404 as a missing page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            require_admin(_actor(request))
        except NotFound:
            raise Http404 from None
        return view(request, *args, **kwargs)

    return wrapper


@admin_only
def unit_list(request: HttpRequest) -> HttpResponse:
    """The organisation tree as of a date (today by default)."""
    form = AsOfForm(request.GET or None)
    day = (form.cleaned_data.get("date") if form.is_valid() else None) or timezone.localdate()
    roots = selectors.unit_tree(actor=_actor(request), day=day)
    return render(request, "access/unit_list.html", {"form": form, "day": day, "roots": roots})


# ---- reorganisation import ----------------------------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.MACHIDATA_HOME) / "uploads" / "org"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store(upload_id: str, role: str, upload: UploadedFile) -> str:
    suffix = Path(upload.name or "").suffix.lower()
    name = f"{upload_id}-{role}{suffix}"
    with (_upload_dir() / name).open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return name


def _load_upload(request: HttpRequest) -> dict[str, Any] | None:
    """The stored upload named by the session, if it belongs to this user."""
    upload_id = request.session.get(SESSION_KEY, "")
    if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
        return None
    meta_path = _upload_dir() / f"{upload_id}.json"
    if not meta_path.exists():
        return None
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("user_id") != _actor(request).user_id:
        return None
    meta["id"] = upload_id
    return meta


def _discard_upload(request: HttpRequest, meta: dict[str, Any]) -> None:
    for name in (meta.get("org"), meta.get("staff"), f"{meta['id']}.json"):
        if name:
            (_upload_dir() / name).unlink(missing_ok=True)
    request.session.pop(SESSION_KEY, None)


@admin_only
@require_http_methods(["GET", "POST"])
def org_import(request: HttpRequest) -> HttpResponse:
    """Upload the organisation (and staff) list with its 施行日; the preview comes next."""
    form = OrgImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        previous = _load_upload(request)
        if previous is not None:
            _discard_upload(request, previous)
        upload_id = secrets.token_hex(16)
        meta = {
            "user_id": _actor(request).user_id,
            "effective_date": form.cleaned_data["effective_date"].isoformat(),
            "org": _store(upload_id, "org", form.cleaned_data["org_file"]),
            "org_name": form.cleaned_data["org_file"].name,
            "staff": "",
            "staff_name": "",
        }
        if form.cleaned_data.get("staff_file"):
            meta["staff"] = _store(upload_id, "staff", form.cleaned_data["staff_file"])
            meta["staff_name"] = form.cleaned_data["staff_file"].name
        (_upload_dir() / f"{upload_id}.json").write_text(
            json.dumps(meta, ensure_ascii=False), encoding="utf-8"
        )
        request.session[SESSION_KEY] = upload_id
        return redirect("access:import_preview")
    return render(request, "access/import.html", {"form": form}, status=400 if form.errors else 200)


@admin_only
@require_http_methods(["GET", "POST"])
def org_import_preview(request: HttpRequest) -> HttpResponse:
    """Show what the uploaded lists would change (GET) and apply them on confirmation (POST)."""
    meta = _load_upload(request)
    if meta is None:
        messages.error(request, "取り込むファイルがありません。もう一度アップロードしてください。")
        return redirect("access:import")
    base = _upload_dir()
    effective_date = dt.date.fromisoformat(meta["effective_date"])
    files = {
        "org_file": base / meta["org"],
        "staff_file": base / meta["staff"] if meta.get("staff") else None,
        "effective_date": effective_date,
        "org_name": meta.get("org_name") or None,
        "staff_name": meta.get("staff_name") or None,
    }
    if request.method == "POST":
        try:
            preview = services.organisation_import_apply(actor=_actor(request), **files)
        except InvalidInput:
            preview = organisation_import_preview(**files)
            messages.error(request, "組織表に誤りがあるため取り込みませんでした。")
            return render(
                request, "access/import_preview.html", {"preview": preview, "meta": meta}, status=400
            )
        _discard_upload(request, meta)
        return render(request, "access/import_done.html", {"preview": preview, "meta": meta})
    preview = organisation_import_preview(**files)
    return render(request, "access/import_preview.html", {"preview": preview, "meta": meta})


# ---- personal API tokens ------------------------------------------------------------------------


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own API tokens, with the form to create one."""
    tokens = selectors.tokens_of(actor=_actor(request))
    return render(request, "access/token_list.html", {"tokens": tokens, "form": TokenCreateForm()})


@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """Create a token and show its value this once (the page is not cached)."""
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.token_create(actor=_actor(request), name=form.cleaned_data["name"])
        except InvalidInput as exc:
            form.add_error("name", exc.message)
        else:
            response = render(request, "access/token_created.html", {"token": token, "raw": raw})
            response["Cache-Control"] = "no-store"
            return response
    status = 400 if form.errors else 200
    return render(request, "access/token_create.html", {"form": form}, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's own tokens; someone else's answers 404."""
    try:
        token = services.token_revoke(actor=_actor(request), token_id=token_id)
    except NotFound:
        raise Http404 from None
    messages.success(request, f"APIトークン「{token.name}」を失効させました。")
    return redirect("access:tokens")
