"""Publication pages: requests awaiting me / mine / all, the request form from a dataset page, one
request with its route, gates and act buttons, the withdrawal form and the 公開候補一覧."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machidata.access.policy import Action, Actor, access_dataset
from machidata.catalog.models import Licence, TableVersion, VersionStatus
from machidata.charts.public import share_request_list
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.publish import selectors, services
from machidata.publish.models import Decision

SCOPES = {"awaiting": "わたしの決裁待ち", "mine": "わたしの申請", "all": "すべて"}


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


@require_GET
@login_required
def request_list_view(request: HttpRequest) -> HttpResponse:
    """Requests awaiting my decision (default), mine, or all I may see."""
    actor = _actor(request)
    scope = request.GET.get("scope", "awaiting")
    if scope not in SCOPES:
        scope = "awaiting"
    rows = selectors.request_list(actor=actor, scope=scope)[:200]
    # 公開申請 of charts and dashboards walk the same route; they are decided on the charts room's page.
    shares = share_request_list(actor=actor, scope=scope)[:200]
    return render(
        request,
        "publish/request_list.html",
        {"requests": rows, "share_requests": shares, "scope": scope, "scopes": SCOPES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The 公開申請 form of one dataset: which version of each table, licence, attribution, note."""
    actor = _actor(request)
    dataset = access_dataset(actor, Action.EDIT, slug=slug)
    tables = []
    for t in dataset.tables.order_by("name"):
        versions = list(
            TableVersion.objects.filter(table=t, status=VersionStatus.COMMITTED).order_by("-number")[:20]
        )
        if versions:
            tables.append({"table": t, "versions": versions, "public": selectors.public_version_for(t)})
    error = ""
    if request.method == "POST":
        given = [str(request.POST.get(k, "")) for k in request.POST if k.startswith("version_")]
        ids = [int(v) for v in given if v.isdigit()]
        try:
            req = services.publication_request_create(
                actor=actor, dataset=dataset, version_ids=ids, licence_code=request.POST.get("licence", ""),
                attribution=request.POST.get("attribution", ""), note=request.POST.get("note", ""),
            )  # fmt: skip
        except (InvalidInput, Conflict) as exc:
            error = exc.message
        else:
            messages.success(request, "公開申請を受け付けました。決裁の状況はこのページで確認できます。")
            return redirect("publish:detail", pk=req.pk)
    context = {
        "dataset": dataset, "tables": tables, "licences": Licence.objects.filter(is_open=True),
        "error": error, "post": request.POST, "state": selectors.publication_state(dataset),
    }  # fmt: skip
    return render(request, "publish/request_form.html", context, status=400 if error else 200)


@require_GET
@login_required
def request_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One request: where it stands, who must act, the gates, the history, and my buttons."""
    actor = _actor(request)
    req = selectors.request_get(actor=actor, pk=pk)
    context = {
        "req": req,
        "versions": services.request_versions(req),
        "steps": selectors.request_steps(req),
        "actions": req.actions.select_related("actor", "on_behalf_of"),
        "my_turn": selectors.is_my_turn(actor, req),
        "is_requester": actor.user_id == req.requested_by_id,
        "is_admin": actor.is_admin,
        "blocking": services.blocking(req.gate_results),
        "decisions": Decision.choices,
    }
    return render(request, "publish/request_detail.html", context)


def _flash(request: HttpRequest, pk: int, run: object, done: str) -> HttpResponse:
    """Run a step (a callable); its Japanese refusal becomes an error message on the request page."""
    try:
        run()  # type: ignore[operator]
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        messages.error(request, exc.message or "この操作はできません。")
    else:
        messages.success(request, done)
    return redirect("publish:detail", pk=pk)


@require_POST
@login_required
def request_act_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, return or reject the current step."""
    actor = _actor(request)
    req = selectors.request_get(actor=actor, pk=pk)
    decision = request.POST.get("decision", "")
    return _flash(
        request, pk,
        lambda: services.publication_act(actor=actor, request=req, decision=decision,
                                         comment=request.POST.get("comment", ""), fingerprint=request.POST.get("fingerprint", "")),
        "決裁を記録しました。",
    )  # fmt: skip


@require_POST
@login_required
def request_recheck_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the gates again."""
    actor = _actor(request)
    req = selectors.request_get(actor=actor, pk=pk)
    return _flash(
        request, pk, lambda: services.publication_recheck(actor=actor, request=req), "もう一度確認しました。"
    )


@require_POST
@login_required
def gate_override_view(request: HttpRequest, pk: int) -> HttpResponse:
    """データ戦略課 lets one failing gate through with a reason."""
    actor = _actor(request)
    req = selectors.request_get(actor=actor, pk=pk)
    return _flash(
        request, pk,
        lambda: services.gate_override(actor=actor, request=req, gate=request.POST.get("gate", ""),
                                       table_name=request.POST.get("table", ""), reason=request.POST.get("reason", "")),
        "例外承認を記録しました。",
    )  # fmt: skip


@require_POST
@login_required
def request_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester takes the request back."""
    actor = _actor(request)
    req = selectors.request_get(actor=actor, pk=pk)
    return _flash(
        request, pk, lambda: services.publication_cancel(actor=actor, request=req), "申請を取り下げました。"
    )


@require_POST
@login_required
def withdraw_create_view(request: HttpRequest, slug: str) -> HttpResponse:
    """File a 非公開化 of a published dataset (from the dataset page)."""
    actor = _actor(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug)
    try:
        req = services.publication_withdraw_request(
            actor=actor, dataset=dataset, note=request.POST.get("note", "")
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
        return redirect("catalog:detail", slug=slug)
    messages.success(request, "非公開化を申請しました。")
    return redirect("publish:detail", pk=req.pk)


@require_GET
@login_required
def candidates_view(request: HttpRequest) -> HttpResponse:
    """公開候補一覧: 庁内 datasets whose gates already pass (データ戦略課)."""
    return render(request, "publish/candidates.html", {"rows": selectors.candidates(actor=_actor(request))})


def _subtotals_field(text: str) -> dict[str, list[str]]:
    """小計 from the form: one line each, 「小計: 内訳1、内訳2」 (、 or , between the 内訳)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        label, sep, rest = line.replace("：", ":").partition(":")
        members = [m.strip() for m in rest.replace("、", ",").split(",") if m.strip()]
        if not sep or not label.strip() or not members:
            raise InvalidInput(f"小計の書き方が違います: 「{line}」（例: 中央区計: 中央1丁目、中央2丁目）")
        out[label.strip()] = members
    return out


def _subtotals_text(value: dict[str, list[str]]) -> str:
    return "\n".join(f"{k}: {'、'.join(v)}" for k, v in (value or {}).items())


@login_required
@require_http_methods(["GET", "POST"])
def table_aggregate_view(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """統計表の設定と秘匿処理 of one table: the declaration form, the suppress button, the last audit."""
    from machidata.catalog.table_selectors import table_get
    from machidata.publish.models import AggregateSpec, SuppressionRun

    actor = _actor(request)
    table = table_get(actor=actor, slug=slug, name=name, action=Action.EDIT)
    if request.method == "POST":
        try:
            action = request.POST.get("action")
            if action == "suppress":
                run = services.suppression_run(actor=actor, table=table)
                messages.success(
                    request,
                    f"秘匿処理をして第{run.result_version.number if run.result_version else '?'}版を作りました"
                    f"（確認したセル {run.report['cells_checked']}、分かってしまうセル {run.report['cells_exposed']}）。",
                )
            elif action == "threshold":
                services.small_count_threshold_set(
                    actor=actor, dataset=table.dataset, threshold=request.POST.get("dataset_threshold", "")
                )
                messages.success(request, "データセットの小さい数の基準を保存しました。")
            else:
                services.aggregate_spec_set(
                    actor=actor, table=table, dimension=request.POST.get("dimension", ""),
                    count_columns=[c for c in request.POST.getlist("count_columns") if c],
                    total_column=request.POST.get("total_column", ""),
                    total_row_label=request.POST.get("total_row_label", ""),
                    threshold=request.POST.get("threshold", ""),
                    column_dimension=request.POST.get("column_dimension", ""),
                    value_column=request.POST.get("value_column", ""),
                    row_subtotals=_subtotals_field(request.POST.get("row_subtotals", "")),
                    column_subtotals=_subtotals_field(request.POST.get("column_subtotals", "")),
                )  # fmt: skip
                messages.success(request, "統計表の設定を保存しました。")
        except (InvalidInput, Conflict) as exc:
            messages.error(request, exc.message)
        return redirect("publish:table_aggregate", slug=slug, name=name)
    columns = [str(f.get("name")) for f in (table.schema or {}).get("fields", [])]
    spec = AggregateSpec.objects.filter(table=table).first()
    context = {
        "table": table, "columns": columns, "spec": spec,
        "dataset_threshold": selectors.dataset_publication(table.dataset)["small_count_threshold"],
        "row_subtotals": _subtotals_text(spec.row_subtotals if spec else {}),
        "column_subtotals": _subtotals_text(spec.column_subtotals if spec else {}),
        "run": SuppressionRun.objects.filter(table=table).select_related("source_version", "result_version").first(),
    }  # fmt: skip
    return render(request, "publish/table_aggregate.html", context)
