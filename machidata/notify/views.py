"""The notifications page: newest first; what is shown is marked read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from machidata.notify.selectors import notification_list
from machidata.notify.services import notifications_mark_read


@never_cache
@require_GET
@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    """The actor's notifications; those on the page are shown as new once, then marked read."""
    actor = request.actor  # type: ignore[attr-defined]
    page = Paginator(notification_list(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = list(page.object_list)  # evaluated before marking, so this page still shows them as new
    notifications_mark_read(actor=actor, ids=[n.pk for n in items if n.is_unread])
    return render(
        request,
        "notify/notification_list.html",
        {"page_obj": page, "notifications": items, "query_without_page": ""},
    )


@require_POST
@login_required
def notification_mark_all_view(request: HttpRequest) -> HttpResponse:
    """Mark every notification of the actor read."""
    count = notifications_mark_read(actor=request.actor)  # type: ignore[attr-defined]
    messages.success(request, f"{count}件のお知らせを既読にしました。")
    return redirect("notify:list")
