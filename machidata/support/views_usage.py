"""Usage pages: the city's figures by month, a page per 局 for its 管理職, and the rollout view for 管理."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from machidata.access.policy import Actor, require_admin
from machidata.support import usage
from machidata.support.forms import FiscalYearForm
from machidata.support.selectors import current_fiscal_year


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _fy(request: HttpRequest) -> tuple[FiscalYearForm, int]:
    form = FiscalYearForm(request.GET or None)
    fy = form.cleaned_data.get("fy") if form.is_valid() else None
    return form, fy or current_fiscal_year()


def _month_label(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


def _share_label(part: int, whole: int) -> str:
    value = usage.share(part, whole)
    return "—" if value is None else f"{value}%"


def _year_rows(u: usage.Usage, bureau_id: int | None) -> list[dict[str, Any]]:
    """One row per figure for the 年度: the 局's count, the city's and the share (未実装 spelled out)."""
    rows = []
    for m in usage.METRICS:
        if not m.built:
            rows.append({"label": m.label, "built": False})
            continue
        city = u.city_year[m.key]
        row: dict[str, Any] = {"label": m.label, "built": True, "city": city}
        if bureau_id is not None:
            part = u.year_of(bureau_id)[m.key]
            row |= {"bureau": part, "share": _share_label(part, city)}
        rows.append(row)
    return rows


@require_GET
@login_required
def usage_home(request: HttpRequest) -> HttpResponse:
    """The city's figures by month; 管理 also sees every 局's year, staff links to their own 局."""
    actor = _actor(request)
    form, fy = _fy(request)
    u = usage.usage_for(request, fy)
    months = [
        {"label": _month_label(mo), "cells": [u.city_month(mo)[m.key] for m in usage.BUILT]}
        for mo in u.months
    ]
    bureau_rows = []
    if actor.is_admin:
        bureau_rows = [
            {"unit": b, "cells": [u.year_of(b.pk)[m.key] for m in usage.BUILT]} for b in usage.bureaus(fy)
        ]
    return render(
        request,
        "support/usage_home.html",
        {
            "form": form,
            "fy": fy,
            "synthetic": u.synthetic,
            "metrics": usage.BUILT,
            "year_rows": _year_rows(u, None),
            "months": months,
            "bureau_rows": bureau_rows,
            "my_bureaus": usage.bureaus_of(actor),
            "not_built": usage.NOT_BUILT,
        },
    )


@require_GET
@login_required
def usage_bureau(request: HttpRequest, pk: int) -> HttpResponse:
    """One 局 against the city, month by month: its members and 管理 only (others: 404)."""
    bureau = usage.bureau_for(_actor(request), pk)
    form, fy = _fy(request)
    u = usage.usage_for(request, fy)
    months = []
    for mo in u.months:
        mine, city = u.bureau_month(bureau.pk, mo), u.city_month(mo)
        months.append(
            {
                "label": _month_label(mo),
                "cells": [
                    {
                        "bureau": mine[m.key],
                        "city": city[m.key],
                        "share": _share_label(mine[m.key], city[m.key]),
                    }
                    for m in usage.BUILT
                ],
            }
        )
    return render(
        request,
        "support/usage_bureau.html",
        {
            "form": form,
            "fy": fy,
            "synthetic": u.synthetic,
            "bureau": bureau,
            "metrics": usage.BUILT,
            "year_rows": _year_rows(u, bureau.pk),
            "months": months,
            "not_built": usage.NOT_BUILT,
        },
    )


@require_GET
@login_required
def usage_rollout(request: HttpRequest) -> HttpResponse:
    """段階的に全庁へ拡充: which 局 used which feature in the 年度 (管理 only)."""
    require_admin(_actor(request))
    form, fy = _fy(request)
    u = usage.usage_for(request, fy)
    rows = usage.rollout(u, usage.bureaus(fy))
    table = [
        {"unit": r.bureau, "cells": [r.used[m.key] for m in usage.FEATURES], "count": r.count} for r in rows
    ]
    adopters = {m.key: sum(r.used[m.key] for r in rows) for m in usage.FEATURES}
    return render(
        request,
        "support/usage_rollout.html",
        {
            "form": form,
            "fy": fy,
            "synthetic": u.synthetic,
            "features": usage.FEATURES,
            "rows": table,
            "adopters": [adopters[m.key] for m in usage.FEATURES],
            "total": len(rows),
        },
    )
