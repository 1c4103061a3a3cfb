"""The contract terms page of one dataset (有償データ・委託成果物): the owning 課's editors and 管理 set or
remove them; downloads, exports and publication obey them (``policy.contract_refusal``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from machidata.access.models import DatasetContract
from machidata.access.policy import Action, Actor, access_dataset
from machidata.core.errors import InvalidInput
from machidata.privacy import contracts
from machidata.privacy.forms import ContractForm


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _lines(text: Any) -> list[str]:
    return [s.strip() for s in str(text or "").replace(",", "\n").splitlines() if s.strip()]


def _initial(contract: DatasetContract | None) -> dict[str, Any]:
    view = contracts.contract_view(contract)
    if view is None:
        return {}
    return {**view, "permitted_units": "\n".join(view["permitted_units"]),
            "permitted_users": "\n".join(view["permitted_users"])}  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def contract_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Show and set the terms; ``remove`` deletes them."""
    actor = _actor(request)
    dataset = access_dataset(actor, Action.DISCOVER, slug=slug[:200])
    current = contracts.contract_get(actor=actor, dataset=dataset)  # 403 unless the owner's editors or 管理
    form = ContractForm(request.POST or None, initial=_initial(current))
    if request.method == "POST" and request.POST.get("remove"):
        contracts.contract_set(actor=actor, dataset=dataset, data=None)
        messages.success(request, "契約条件を外しました。")
        return redirect("privacy_contracts:edit", slug=dataset.slug)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["permitted_units"] = _lines(data["permitted_units"])
        data["permitted_users"] = _lines(data["permitted_users"])
        try:
            contracts.contract_set(actor=actor, dataset=dataset, data=data)
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, "契約条件を保存しました。ダウンロード・書き出し・公開は、この条件に従います。"
            )
            return redirect("privacy_contracts:edit", slug=dataset.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/contract_form.html",
                  {"dataset": dataset, "form": form, "contract": current}, status=status)  # fmt: skip
