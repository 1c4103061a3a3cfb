"""Contract terms of a dataset (有償データ・委託成果物): reading and setting them.

The terms live in ``access.DatasetContract`` because the policy decides with them
(``policy.contract_refusal``: downloads, every export, the publication gate); this module is the
service that writes them, audited. The data owner (whoever may EDIT the dataset) and 管理 set them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from machidata.access.models import ContractKind, DatasetContract, Rights, Unit
from machidata.access.policy import Action, Actor, can, contract_publish_refusal
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.publish.selectors import public_datasets

MAX_PEOPLE = 200


def may_set_contract(actor: Actor, dataset: Dataset) -> bool:
    """The data owner (EDIT) and 管理."""
    return actor.is_authenticated and (actor.is_admin or can(actor, Action.EDIT, dataset))


def contract_view(contract: DatasetContract | None) -> dict[str, Any] | None:
    """The terms as plain values (for the API and the audit log)."""
    if contract is None:
        return None
    return {
        "kind": contract.kind, "cost_yen": contract.cost_yen,
        "term_start": contract.term_start.isoformat() if contract.term_start else None,
        "term_end": contract.term_end.isoformat() if contract.term_end else None,
        "permitted_units": sorted(u.code for u in contract.permitted_units.all()),
        "permitted_users": sorted(u.get_username() for u in contract.permitted_users.all()),
        "publication_allowed": contract.publication_allowed, "contractor": contract.contractor,
        "rights": contract.rights, "delivered_on": contract.delivered_on.isoformat() if contract.delivered_on else None,
        "note": contract.note,
    }  # fmt: skip


def contract_get(*, actor: Actor, dataset: Dataset) -> DatasetContract | None:
    """The dataset's terms, for whoever may set them."""
    if not may_set_contract(actor, dataset):
        raise PermissionDenied("契約条件を見られるのは、所管課の編集者とデータ戦略課です。")
    return DatasetContract.objects.filter(dataset=dataset).first()


def _date(value: Any, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{label}の日付の形が違います（例: 2026-04-01）。") from None


@transaction.atomic
def contract_set(*, actor: Actor, dataset: Dataset, data: dict[str, Any] | None) -> DatasetContract | None:
    """Set the dataset's contract terms, or remove them (``data`` None); audited ``dataset.contract``."""
    from django.contrib.auth import get_user_model

    if not may_set_contract(actor, dataset):
        raise PermissionDenied("契約条件を設定できるのは、所管課の編集者とデータ戦略課です。")
    current = DatasetContract.objects.select_for_update().filter(dataset=dataset).first()
    before = contract_view(current)
    if data is None:
        if current is not None:
            current.delete()
            audit_record(
                actor=actor, action="dataset.contract", obj=dataset, changes={"before": before, "after": None}
            )
        return None
    kind = str(data.get("kind") or "")
    if kind not in ContractKind.values:
        raise InvalidInput("種別を「有償データ」か「委託成果物」から選んでください。")
    rights = str(data.get("rights") or "")
    if rights and rights not in Rights.values:
        raise InvalidInput("権利の帰属を「市」「受託者」「共有」から選んでください。")
    if kind == ContractKind.COMMISSIONED and not rights:
        raise InvalidInput("委託成果物は権利の帰属を選んでください。")
    start, end = (
        _date(data.get("term_start"), "契約期間の開始"),
        _date(data.get("term_end"), "契約期間の終了"),
    )
    if start and end and end < start:
        raise InvalidInput("契約期間の終了は開始より後の日付にしてください。")
    cost = data.get("cost_yen")
    if cost is not None and (not isinstance(cost, int) or cost < 0 or cost > 10**13):
        raise InvalidInput("費用は0以上の整数（円）で入力してください。")
    unit_codes = sorted({str(c).strip() for c in data.get("permitted_units") or [] if str(c).strip()})
    names = sorted({str(n).strip() for n in data.get("permitted_users") or [] if str(n).strip()})
    if len(unit_codes) + len(names) > MAX_PEOPLE:
        raise InvalidInput(f"利用できる課・職員は合わせて{MAX_PEOPLE}件までです。")
    units = list(Unit.objects.filter(code__in=unit_codes))
    users = list(get_user_model().objects.filter(username__in=names))
    missing = sorted(set(unit_codes) - {u.code for u in units}) + sorted(
        set(names) - {u.get_username() for u in users}
    )
    if missing:
        raise InvalidInput(f"見つからない課・職員があります: {'、'.join(missing)}")
    fields = {
        "kind": kind, "cost_yen": cost, "term_start": start, "term_end": end,
        "publication_allowed": bool(data.get("publication_allowed")),
        "contractor": str(data.get("contractor") or "").strip()[:200], "rights": rights,
        "delivered_on": _date(data.get("delivered_on"), "納品日"), "note": str(data.get("note") or "").strip()[:2000],
    }  # fmt: skip
    contract, _ = DatasetContract.objects.update_or_create(dataset=dataset, defaults=fields)
    contract.permitted_units.set(units)
    contract.permitted_users.set(users)
    refusal = contract_publish_refusal(contract)
    if refusal and public_datasets().filter(pk=dataset.pk).exists():  # the transaction rolls back
        raise InvalidInput(f"このデータセットは公開中のため、この契約条件にはできません。{refusal}"
                           "契約がそうなったときは、先に「非公開化の申請」をしてください。")  # fmt: skip
    audit_record(actor=actor, action="dataset.contract", obj=dataset,
                 changes={"before": before, "after": contract_view(contract)})  # fmt: skip
    return contract
