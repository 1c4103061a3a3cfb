"""Public pages of 事業 (no sign-in) under /open/projects/: the list and each 事業's page.

Every visitor sees the same thing, signed in or not: only pages an approved request published and no
later request withdrew (``selectors_pages.public_pages``), each exactly as frozen when approved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from machidata.core.errors import NotFound
from machidata.ebpm import selectors_pages as sel


def page_context(snap: dict[str, Any]) -> dict[str, Any]:
    """What the page template needs from a snapshot: the diagram, its text form, each indicator's chart."""
    indicators = []
    for i, ind in enumerate(snap.get("indicators", [])):
        indicators.append({"data": ind, "spec": sel.public_trend_spec(ind), "spec_id": f"indicator-spec-{i}"})
    return {
        "snap": snap,
        "svg": mark_safe(sel.public_svg(snap)),  # noqa: S308 - built by ElementTree, every text escaped
        "outline": sel.model_outline(snap),
        "indicators": indicators,
        "has_chart": any(i["spec"] for i in indicators),
    }


@require_GET
def page_list(request: HttpRequest) -> HttpResponse:
    """事業の説明: every published 事業 page, newest first, paginated."""
    page = Paginator(sel.public_pages(), settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ebpm/public/list.html", {"page": page})


@require_GET
def page_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One published 事業: logic model, indicators with targets and actuals, evaluations, last update."""
    try:
        page = sel.public_page(pk)
    except NotFound:
        raise Http404("公開されている事業のページが見つかりません。") from None
    return render(request, "ebpm/public/detail.html", {"page": page, **page_context(page.snapshot)})
