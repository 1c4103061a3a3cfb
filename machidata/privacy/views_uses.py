"""承認された利用 pages: the register (the keepers see all, others their own), one entry with its
decision record and attached document, the form (the keepers), and the CSV/XLSX export."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from machidata.access.policy import Actor
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.privacy import uses
from machidata.privacy.forms import ApprovedUseForm
from machidata.privacy.use_records import ApprovedUse


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def use_list_view(request: HttpRequest) -> HttpResponse:
    """The register: newest first, by state and words, paginated."""
    actor = _actor(request)
    state = request.GET.get("state", "")
    state = state if state in uses.STATES else ""
    q = request.GET.get("q", "")[:100]
    rows = uses.use_list(actor=actor, state=state, q=q)
    page = Paginator(rows, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "privacy/use_list.html", {
        "page_obj": page, "rows": [(u, uses.state_of(u)) for u in page.object_list], "states": uses.STATES.items(),
        "state": state, "q": q, "keeper": uses.is_keeper(actor), "query_without_page": f"state={state}&q={q}&",
    })  # fmt: skip


def _initial(use: ApprovedUse) -> dict[str, Any]:
    data = {f: getattr(use, f) for f in ("title", "purpose", "legal_basis", "legal_ground", "starts_on",
                                         "ends_on", "decision_body", "decision_date", "decision_number",
                                         "decision_note")}  # fmt: skip
    data["datasets"] = "\n".join(d.slug for d in use.datasets.all())
    return data


def _save(request: HttpRequest, form: ApprovedUseForm, use: ApprovedUse | None) -> ApprovedUse | None:
    actor = _actor(request)
    if not form.is_valid():
        return None
    data = dict(form.cleaned_data)
    slugs = [s.strip() for s in str(data.pop("datasets") or "").replace(",", "\n").splitlines() if s.strip()]
    document = data.pop("document", None)
    try:
        if use is None:
            use = uses.use_create(actor=actor, data=data, datasets=slugs)
        else:
            use = uses.use_update(actor=actor, use=use, data=data, datasets=slugs)
        if document is not None:
            uses.use_attach_document(actor=actor, use=use, name=document.name, content=document.read())
    except InvalidInput as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        field = next((f for f in details if f in form.fields), None)
        form.add_error(field, exc.message)
        return None
    return use


@login_required
@require_http_methods(["GET", "POST"])
def use_create_view(request: HttpRequest) -> HttpResponse:
    """Add an entry by hand (the keepers)."""
    if not uses.is_keeper(_actor(request)):
        raise PermissionDenied(uses.KEEPERS_ONLY)
    form = ApprovedUseForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        use = _save(request, form, None)
        if use is not None:
            messages.success(request, "承認された利用を登録しました。")
            return redirect("privacy_uses:detail", pk=use.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/use_form.html", {"form": form, "use": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def use_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One entry; the keepers also get the form to correct it or add the decision record."""
    actor = _actor(request)
    use = uses.use_get(actor=actor, pk=pk)
    keeper = uses.is_keeper(actor)
    if request.method == "POST" and not keeper:
        raise PermissionDenied(uses.KEEPERS_ONLY)
    form = (
        ApprovedUseForm(request.POST or None, request.FILES or None, initial=_initial(use))
        if keeper
        else None
    )
    if request.method == "POST" and form is not None:
        saved = _save(request, form, use)
        if saved is not None:
            messages.success(request, "承認された利用を保存しました。")
            return redirect("privacy_uses:detail", pk=pk)
    return render(request, "privacy/use_detail.html", {
        "use": use, "state": uses.state_of(use), "form": form,
        "requests": use.access_requests.select_related("dataset", "requested_by"),
        "datasets": use.datasets.select_related("owner"),
    }, status=400 if request.method == "POST" else 200)  # fmt: skip


@require_GET
@login_required
def use_document_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The attached decision document (whoever sees the entry)."""
    actor = _actor(request)
    name, body = uses.use_document(actor=actor, use=uses.use_get(actor=actor, pk=pk))
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="decision-{pk}{name[name.rfind(".") :] if "." in name else ""}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def use_export_view(request: HttpRequest) -> HttpResponse:
    """The register as the actor sees it, CSV (UTF-8 BOM) or XLSX."""
    actor = _actor(request)
    stamp = timezone.localtime().strftime("%Y%m%d")
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(uses.uses_xlsx(actor=actor),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")  # fmt: skip
        filename = f"shonin_riyo_{stamp}.xlsx"
    else:
        response = HttpResponse(uses.uses_csv(actor=actor), content_type="text/csv; charset=utf-8")
        filename = f"shonin_riyo_{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
