"""仮名加工・匿名加工 pages: the list of plans, a new plan, one plan with its runs and upload, one run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Actor, is_privacy_officer
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.deid import selectors, services
from machidata.deid.forms import PlanForm, RunForm
from machidata.deid.pipeline import METHODS


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def index_view(request: HttpRequest) -> HttpResponse:
    """Plans the user may see, and a way to make one when they own a 仮名加工 / 匿名加工 dataset."""
    actor = _actor(request)
    plans = selectors.plans_for(actor=actor).order_by("-updated_at", "-id")
    page = Paginator(plans, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deid/index.html", {
        "page_obj": page, "plans": page.object_list,
        "may_create": selectors.target_datasets(actor=actor).exists(),
        "officer": is_privacy_officer(actor),
    })  # fmt: skip


def _plan_form(actor: Actor, data: Any = None) -> PlanForm:
    form = PlanForm(data)
    form.fields["dataset"].choices = [  # type: ignore[attr-defined]
        (d.slug, f"{d.title}（{d.get_personal_data_display()}）")
        for d in selectors.target_datasets(actor=actor)
    ]
    form.fields["source_dataset"].choices = [("", "（指定しない）")] + [  # type: ignore[attr-defined]
        (d.slug, d.title) for d in selectors.source_datasets(actor=actor)
    ]
    return form


@require_http_methods(["GET", "POST"])
@login_required
def plan_new_view(request: HttpRequest) -> HttpResponse:
    """A new 加工の設定 (編集 of a 仮名加工情報 / 匿名加工情報 dataset)."""
    actor = _actor(request)
    if not selectors.target_datasets(actor=actor).exists():
        raise Http404
    form = _plan_form(actor, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            fields = form.cleaned_plan()
            dataset = selectors.target_datasets(actor=actor).get(slug=form.cleaned_data["dataset"])
            source_slug = form.cleaned_data.get("source_dataset") or ""
            source = (
                selectors.source_datasets(actor=actor).filter(slug=source_slug).first()
                if source_slug
                else None
            )
            plan = services.plan_create(actor=actor, dataset=dataset, source_dataset=source, **fields)
        except ValueError as exc:
            form.add_error(None, str(exc))
        except Dataset.DoesNotExist:
            form.add_error("dataset", "保存先のデータセットを選んでください。")
        except (InvalidInput, PermissionDenied) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"加工の設定「{plan.title}」を作りました。抽出ファイルを取り込めます。")
            return redirect("deid:plan", plan.pk)
    return render(request, "deid/plan_form.html", {"form": form, "methods": METHODS})


def _plan(actor: Actor, pk: int) -> Any:
    try:
        return selectors.plan_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None


@require_GET
@login_required
def plan_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One plan: its columns and methods, the upload form (編集), and its runs."""
    actor = _actor(request)
    plan = _plan(actor, pk)
    runs = selectors.runs_of(actor=actor, plan=plan)
    page = Paginator(runs, settings.MACHIDATA_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deid/plan_detail.html", {
        "plan": plan, "page_obj": page, "runs": page.object_list, "methods": METHODS,
        "may_run": selectors.may_run(actor, plan), "form": RunForm(),
    })  # fmt: skip


def _save_upload(upload: Any) -> Path:
    """The uploaded extract in a private temporary file (deleted by the service whatever happens)."""
    limit = settings.MACHIDATA_MAX_UPLOAD_BYTES
    if int(getattr(upload, "size", 0) or 0) > limit:
        raise InvalidInput(f"ファイルが大きすぎます。上限は {limit / 1024**2:,.0f} MB です。")
    work = Path(settings.MACHIDATA_HOME) / "tmp" / "deid"
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = Path(str(upload.name)).suffix.lower()[:10]
    with tempfile.NamedTemporaryFile(dir=work, suffix=suffix, delete=False) as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return Path(fh.name)


@require_POST
@login_required
def run_upload_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Put one extract through the plan (編集); a refusal is shown and nothing is stored."""
    actor = _actor(request)
    plan = _plan(actor, pk)
    if not selectors.may_run(actor, plan):
        raise Http404
    form = RunForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "抽出ファイルと基準日を指定してください。")
        return redirect("deid:plan", plan.pk)
    try:
        path = _save_upload(form.cleaned_data["file"])
        run = services.extract_run(actor=actor, plan=plan, path=path, source_name=form.cleaned_data["file"].name,
                                   as_of=form.cleaned_data["as_of"])  # fmt: skip
    except services.ExtractRefused as exc:
        messages.error(request, exc.message)
        return redirect("deid:run", exc.details["run"])
    except (InvalidInput, PermissionDenied) as exc:
        messages.error(request, exc.message)
        return redirect("deid:plan", plan.pk)
    messages.success(
        request, f"{run.rows_out:,} 行を{plan.get_kind_display()}して保存しました（k = {run.k_found}）。"
    )
    return redirect("deid:run", run.pk)


@require_GET
@login_required
def run_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: its checks; the 加工方法等情報 for the privacy officer only."""
    actor = _actor(request)
    try:
        run = selectors.run_get(actor=actor, pk=pk)
    except NotFound:
        raise Http404 from None
    return render(request, "deid/run_detail.html", {
        "run": run, "plan": run.plan, "record": selectors.processing_record(actor=actor, run=run),
    })  # fmt: skip
