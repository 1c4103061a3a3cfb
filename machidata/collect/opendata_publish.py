"""公開申請 in one action for the datasets an open-data import brought in (issue 6, point 5).

A city's 39 datasets arrive as catalog entries with tables; each must still pass the Publication route
(申請 → gates → 課長/データ戦略課) before the portal shows it. :func:`opendata_request_publication`
files one 公開申請 per imported dataset through :func:`machidata.publish.services.publication_request_create`
— the same service, checks, gates and audit as a request made by hand — with the newest committed
version of every table of the dataset, the dataset's own licence (the one the list named) and the
attribution given once for all. Each dataset is requested on its own: one refused (no table yet, a
request already open, a licence missing, not allowed) never stops the others; the outcome per dataset
is kept on the run and shown on its page.
"""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, VersionStatus
from machidata.collect.models import OpenDataEntry, OpenDataRun
from machidata.collect.opendata import _origin
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied
from machidata.publish.services import publication_request_create

REQUESTED: Final = "requested"
NOT_REQUESTED: Final = "not_requested"
OUTCOME_LABELS: Final = {REQUESTED: "申請しました", NOT_REQUESTED: "申請していません"}
ATTRIBUTION_MAX: Final = 500


def opendata_entries(run: OpenDataRun) -> list[OpenDataEntry]:
    """The catalog entries this finished import wrote or found (created, updated or unchanged), in list order."""
    plans = [
        p
        for p in (run.result or {}).get("plans") or []
        if p.get("status") in ("create", "update", "unchanged")
    ]
    order = {p["key"]: i for i, p in enumerate(plans)}
    entries = OpenDataEntry.objects.filter(origin=_origin(run), key__in=list(order)).select_related(
        "dataset", "dataset__licence"
    )
    return sorted(entries, key=lambda e: order[e.key])


def _versions(entry: OpenDataEntry) -> list[int]:
    """The newest committed version of every table of the entry's dataset."""
    out = []
    for table in (
        Table.objects.filter(dataset=entry.dataset).select_related("current_version").order_by("name")
    ):
        v = table.current_version
        if v is not None and v.status == VersionStatus.COMMITTED:
            out.append(v.pk)
    return out


def _request_one(actor: Actor, run: OpenDataRun, entry: OpenDataEntry, attribution: str) -> dict[str, Any]:
    """One dataset's 公開申請 through the publication service, or why it was not filed."""
    ds = entry.dataset
    outcome: dict[str, Any] = {"key": entry.key, "title": ds.title, "slug": ds.slug, "status": NOT_REQUESTED}
    versions = _versions(entry)
    if not versions:
        outcome["reason"] = "表に取り込んだファイルがないため、公開申請できません（リンクだけのデータです）。"
    elif ds.licence is None:
        outcome["reason"] = (
            "ライセンスが決まっていないため、公開申請できません。データセットの編集で選んでください。"
        )
    else:
        try:
            req = publication_request_create(
                actor=actor, dataset=ds, version_ids=versions, licence_code=ds.licence.code,
                attribution=attribution, note=f"オープンデータの取り込み（{run.source[:200]}）からの一括申請",
            )  # fmt: skip
        except MachidataError as exc:  # a request already open, a retired dataset, not allowed, …
            outcome["reason"] = exc.message
        else:
            outcome |= {"status": REQUESTED, "request": req.pk, "request_status": req.status}
    outcome["label"] = OUTCOME_LABELS[outcome["status"]]
    return outcome


def opendata_request_publication(
    *, actor: Actor, run: OpenDataRun, keys: list[str] | None = None, attribution: str
) -> list[dict[str, Any]]:
    """File a 公開申請 for each imported dataset of ``run`` (those of ``keys``, or all); returns the outcome of each.

    Only 管理 (データ戦略課), who ran the import. A dataset is left out, with the reason, when it has no
    table with a committed version (a linked-only file), no licence, or the publication service refuses
    it (a request already open, a retired dataset, …); gates that stop a request are the route's
    business and show on the request itself.
    """
    if not actor.is_admin:
        raise PermissionDenied("取り込んだデータの公開申請は、データ戦略課（管理）だけが行えます。")
    if not run.finished_at:
        raise Conflict("取り込みが終わってから公開申請してください。")
    attribution = " ".join(str(attribution or "").split())
    if not attribution:
        raise InvalidInput("出典の表記を入力してください。", details={"attribution": ["必須です。"]})
    if len(attribution) > ATTRIBUTION_MAX:
        raise InvalidInput(
            f"出典の表記は{ATTRIBUTION_MAX}文字以内にしてください。",
            details={"attribution": ["長すぎます。"]},
        )
    entries = opendata_entries(run)
    if keys is not None:
        wanted = set(keys)
        unknown = wanted - {e.key for e in entries}
        if unknown:
            raise NotFound("この取り込みにないデータセットが選ばれています。")
        entries = [e for e in entries if e.key in wanted]
    if not entries:
        raise InvalidInput(
            "公開申請するデータセットを1つ以上選んでください。", details={"keys": ["必須です。"]}
        )
    outcomes = [_request_one(actor, run, entry, attribution) for entry in entries]
    with transaction.atomic():
        locked = OpenDataRun.objects.select_for_update().get(pk=run.pk)
        locked.result = {**(locked.result or {}), "publication": outcomes}
        locked.save(update_fields=["result"])
        audit_record(
            actor=actor, action="collect.opendata_publication_request", obj=locked,
            changes={"requested": sum(o["status"] == REQUESTED for o in outcomes), "asked": len(outcomes)},
        )  # fmt: skip
    run.result = locked.result
    return outcomes
