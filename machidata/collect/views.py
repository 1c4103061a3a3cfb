"""Campaign (照会) pages: the list, start one, one campaign's progress, one recipient's page (template, returns), freshness."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Action, Actor, restrict
from machidata.catalog.models import Dataset, Table
from machidata.collect import returns, selectors, services
from machidata.collect.followups import campaign_from_request, import_source_start
from machidata.collect.forms import CampaignForm, ImportSourceForm, ReturnUploadForm
from machidata.collect.freshness import overdue_list
from machidata.collect.imports import (
    import_root,
    import_source_scan_now,
)
from machidata.collect.models import Campaign, ImportKind, Recipient, Repeat, SubmissionStatus
from machidata.collect.watches import watch_set, watched
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

FORM_ROWS = 5


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _editable_tables(actor: Actor, *, with_data: bool = True) -> Any:
    editable = restrict(Dataset.objects.live(), actor, Action.EDIT).values("pk")
    tables = Table.objects.filter(dataset__in=editable)
    if with_data:
        tables = tables.filter(current_version__isnull=False)
    return tables.select_related("dataset").order_by("dataset__title", "title")


def _place_errors(form: Any, exc: InvalidInput) -> None:
    """A service's field errors on the form's fields (the rest at the top)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, msgs in details.items():
        if name in form.fields:
            form.add_error(name, msgs)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@require_GET
@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Campaigns the actor asks or answers, newest first, in pages."""
    actor = _actor(request)
    page = Paginator(selectors.campaign_list(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collect/campaign_list.html",
        {
            "page_obj": page,
            "campaigns": page.object_list,
            "can_start": _editable_tables(actor).exists(),
            "query_without_page": "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    """Start a campaign from a table's 項目定義 (``?table=<id>`` preselects it; ``?data_request=<id>``: it answers that request)."""
    actor = _actor(request)
    tables = _editable_tables(actor)
    initial = {"table": request.GET.get("table")} if request.GET.get("table", "").isdigit() else {}
    if request.GET.get("data_request", "").isdigit():
        initial["data_request"] = request.GET["data_request"]
    form = CampaignForm(request.POST or None, tables=tables, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values: dict[str, Any] = {
            "table": data["table"], "title": data["title"], "deadline": data["deadline"],
            "instructions": data["instructions"], "unit_ids": [u.pk for u in data["units"]],
            "facilities": form.facility_names(), "repeat": data["repeat"] or Repeat.NONE,
        }  # fmt: skip
        try:
            if data.get("data_request"):  # answers that data request when the first return arrives
                campaign = campaign_from_request(actor=actor, request_id=data["data_request"], **values)
            else:
                campaign = services.campaign_create(actor=actor, **values)
        except InvalidInput as exc:
            _place_errors(form, exc)
        except (Conflict, NotFound, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                "照会を始めました。回答先ごとの様式をダウンロードして送るか、回答先にこのページを案内してください。",
            )
            return redirect("collect:detail", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "has_tables": tables.exists(),
        "data_request": form["data_request"].value() or "",
    }
    return render(request, "collect/campaign_form.html", context, status=status)


@require_GET
@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress: who has answered, who has not, who must fix errors (the asking side sees every recipient)."""
    actor = _actor(request)
    campaign = selectors.campaign_get(actor=actor, pk=pk)
    status = request.GET.get("status", "")
    rows = selectors.recipients_for(actor=actor, campaign=campaign)
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "collect/campaign_detail.html",
        {
            "campaign": campaign,
            "progress": selectors.campaign_progress(campaign=campaign),
            "asking": selectors.is_asking_side(actor, campaign),
            "manage": selectors.may_manage(actor, campaign),
            "page_obj": page,
            "recipients": [(r, selectors.may_answer(actor, r)) for r in page.object_list],
            "status": status,
            "statuses": Recipient._meta.get_field("status").choices,
            "query_without_page": f"status={quote(status)}&" if status else "",
        },
    )


@require_POST
@login_required
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop taking returns."""
    actor = _actor(request)
    campaign = selectors.campaign_get(actor=actor, pk=pk)
    services.campaign_close(actor=actor, campaign=campaign)
    messages.success(request, "照会を締め切りました。これからの提出は受け付けません。")
    return redirect("collect:detail", pk=pk)


def _recipient(request: HttpRequest, pk: int, rid: int) -> tuple[Actor, Campaign, Recipient]:
    actor = _actor(request)
    campaign = selectors.campaign_get(actor=actor, pk=pk)
    return actor, campaign, selectors.recipient_get(actor=actor, campaign=campaign, pk=rid)


def _recipient_page(
    request: HttpRequest,
    campaign: Campaign,
    recipient: Recipient,
    actor: Actor,
    *,
    form: ReturnUploadForm | None = None,
    status: int = 200,
) -> HttpResponse:
    submissions = selectors.submissions_for(actor=actor, recipient=recipient)
    page = Paginator(submissions, 10).get_page(request.GET.get("page"))
    return render(
        request,
        "collect/recipient_detail.html",
        {
            "campaign": campaign,
            "recipient": recipient,
            "answer": selectors.may_answer(actor, recipient),
            "form": form or ReturnUploadForm(),
            "page_obj": page,
            "submissions": page.object_list,
            "latest": submissions.first(),
            "columns": campaign.columns,
            "form_rows": range(1, FORM_ROWS + 1),
            "query_without_page": "",
            "rejected": SubmissionStatus.REJECTED,
        },
        status=status,
    )


@require_GET
@login_required
def recipient_detail(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """One recipient: its template, the upload form, a small web form and its returns with their reports."""
    actor, campaign, recipient = _recipient(request, pk, rid)
    return _recipient_page(request, campaign, recipient, actor)


@require_GET
@login_required
def recipient_template(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """The recipient's Excel template."""
    actor, _, recipient = _recipient(request, pk, rid)
    name, data = services.recipient_template(actor=actor, recipient=recipient)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


def _after_submit(request: HttpRequest, submission: Any, pk: int, rid: int) -> HttpResponse:
    if submission.status == SubmissionStatus.ACCEPTED:
        messages.success(request, submission.message)
    else:
        messages.error(
            request, "受け付けられませんでした。下の「直すところ」を確認して、提出し直してください。"
        )
    return redirect("collect:recipient", pk=pk, rid=rid)


@require_POST
@login_required
def recipient_upload(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """Upload a filled-in template."""
    actor, campaign, recipient = _recipient(request, pk, rid)
    form = ReturnUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _recipient_page(request, campaign, recipient, actor, form=form, status=400)
    upload = form.cleaned_data["file"]
    submission = returns.return_submit_file(
        actor=actor, recipient=recipient, upload=upload, source_name=upload.name
    )
    return _after_submit(request, submission, pk, rid)


@require_POST
@login_required
def recipient_rows(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """Submit a few rows typed on the page (fields ``r<row>_c<column>``)."""
    actor, campaign, recipient = _recipient(request, pk, rid)
    rows = []
    for r in range(1, FORM_ROWS + 1):
        rows.append({c["header"]: request.POST.get(f"r{r}_c{i}", "") for i, c in enumerate(campaign.columns)})
    submission = returns.return_submit_rows(actor=actor, recipient=recipient, rows=rows)
    return _after_submit(request, submission, pk, rid)


@require_GET
@login_required
def freshness_list(request: HttpRequest) -> HttpResponse:
    """Overdue datasets: the actor's 課's; every 課's for 管理 (データ戦略課)."""
    actor = _actor(request)
    page = Paginator(overdue_list(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collect/freshness.html",
        {"page_obj": page, "rows": page.object_list, "all_units": actor.is_admin, "query_without_page": ""},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Scheduled imports (folder, URL, CKAN, statistics) of the tables the actor may edit, and the form to add one."""
    actor = _actor(request)
    tables = _editable_tables(actor, with_data=False)
    initial = (
        {"data_request": request.GET["data_request"]} if request.GET.get("data_request", "").isdigit() else {}
    )
    form = ImportSourceForm(request.POST or None, tables=tables, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = import_source_start(
                actor=actor,
                table=data["table"],
                kind=data["kind"] or ImportKind.FOLDER,
                folder=data["folder"],
                pattern=data["pattern"],
                url=data["url"],
                ckan_dataset=data["ckan_dataset"],
                ckan_resource=data["ckan_resource"],
                mode=data["mode"],
                data_request=data.get("data_request"),
            )
        except InvalidInput as exc:
            _place_errors(form, exc)
        except (Conflict, NotFound, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "定期取り込みを設定しました。15分ごとに確認します。")
            return redirect("collect:import_detail", pk=source.pk)
    page = Paginator(selectors.import_sources(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collect/imports.html",
        {
            "form": form,
            "has_tables": tables.exists(),
            "page_obj": page,
            "sources": page.object_list,
            "root": import_root(),
            "url_hosts": settings.MACHIDATA_IMPORT_URL_HOSTS,
            "data_request": form["data_request"].value() or "",
            "query_without_page": "",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One scheduled import: its last check and the files it has seen."""
    actor = _actor(request)
    source = selectors.import_source_get(actor=actor, pk=pk)
    page = Paginator(selectors.imported_files(source=source), settings.MACHIDATA_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "collect/import_detail.html",
        {"source": source, "page_obj": page, "files": page.object_list, "query_without_page": ""},
    )


@require_POST
@login_required
def import_scan(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the folder or fetch the address now (instead of waiting for the next round)."""
    actor = _actor(request)
    source = selectors.import_source_get(actor=actor, pk=pk)
    result = import_source_scan_now(actor=actor, source=source)
    if result.error:
        messages.error(request, result.error)
    else:
        messages.success(
            request, f"確認しました。取り込み {len(result.ingested)} 件、失敗 {len(result.failed)} 件です。"
        )
    return redirect("collect:import_detail", pk=pk)


@require_GET
@login_required
def watch_list(request: HttpRequest) -> HttpResponse:
    """The datasets the actor watches."""
    actor = _actor(request)
    page = Paginator(watched(actor=actor), settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "collect/watching.html",
        {"page_obj": page, "watches": page.object_list, "query_without_page": ""},
    )


@require_POST
@login_required
def watch_toggle(request: HttpRequest, slug: str) -> HttpResponse:
    """Start (``on=1``) or stop watching a dataset, then go back to ``next`` (a path on this site)."""
    on = watch_set(actor=_actor(request), slug=slug, on=request.POST.get("on") == "1")
    messages.success(
        request, "見守りを始めました。新しい版ができるとお知らせします。" if on else "見守りをやめました。"
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("collect:watching")
    return redirect(target)
