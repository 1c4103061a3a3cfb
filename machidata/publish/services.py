"""Writing publication: file a request, re-check, override a gate, decide a step, withdraw, declare a
統計表, run suppression. Each is one transaction, audited (lake writes excepted). 課長/代決者 are
designated in ``access``; taking a request back, the state after a decision and the notices are
:mod:`machidata.access.route_requests` with this room's :data:`FLOW`.

States of a dataset (see ``selectors.publication_state``): 未申請 → 申請中 → 公開中 → 非公開化.
A request walks its route step by step; the last approval publishes exactly its versions.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any, Final

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access import route_requests, routes
from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Licence, Table, TableVersion, VersionStatus
from machidata.catalog.services import dataset_set_publication
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from machidata.core.text import typed_text
from machidata.notify.services import notify
from machidata.publish import gates as g
from machidata.publish import suppression
from machidata.publish.models import (
    AggregateSpec,
    ApprovalAction,
    Decision,
    GateOverride,
    PublicationRequest,
    PublishedVersion,
    RequestKind,
    RequestStatus,
    RequestVersion,
    SmallCountSetting,
    SuppressionRun,
)

CHANGED: Final = "確認した後で版または設定が変わりました。「もう一度確認する」を押してから決裁してください。"


def _uid(actor: Actor) -> int:
    """The signed-in actor's user id (services below are for staff only)."""
    if actor.user_id is None:
        raise PermissionDenied()
    return actor.user_id


def request_versions(request: PublicationRequest) -> list[TableVersion]:
    """The exact versions a request pins, in table order."""
    return [
        rv.version
        for rv in RequestVersion.objects.filter(request=request)
        .select_related("version__table")
        .order_by("version__table__name")
    ]


def _active_published(dataset: Dataset) -> Any:
    return PublishedVersion.objects.filter(table__dataset=dataset, withdrawn_at__isnull=True)


def _is_routine(dataset: Dataset, versions: list[TableVersion]) -> bool:
    """A routine update: the dataset is public and every table already has a public version with the same columns."""
    if dataset.classification != "public":
        return False
    for v in versions:
        current = _active_published(dataset).filter(table_id=v.table_id).select_related("version").first()
        if current is None:
            return False
        names = [f.get("name") for f in (v.schema or {}).get("fields", [])]
        if names != [f.get("name") for f in (current.version.schema or {}).get("fields", [])]:
            return False
    return True


def _touches_personal_data(dataset: Dataset, versions: list[TableVersion]) -> bool:
    if dataset.personal_data != "none":
        return True
    return any(((v.reports or {}).get("screen") or {}).get("flags") for v in versions)


def _check(request: PublicationRequest, versions: list[TableVersion]) -> tuple[list[dict[str, Any]], str]:
    """Run the gates on the exact versions; results carry any override already recorded."""
    dataset = Dataset.objects.get(pk=request.dataset_id)
    licence = request.licence
    results = g.run_gates(dataset, versions, licence=licence, attribution=request.attribution)
    overrides = {
        (o.gate, o.table.name if o.table else ""): o
        for o in request.overrides.select_related("table", "approved_by")
    }
    out = []
    for r in results:
        d = r.as_dict()
        o = overrides.get((r.gate, r.table))
        if o is not None and not r.passed and r.overridable:
            d["override"] = {
                "reason": o.reason,
                "by": o.approved_by.get_username(),
                "at": o.created_at.isoformat(),
            }
        out.append(d)
    return out, g.fingerprint(dataset, versions, licence=licence, attribution=request.attribution)


def blocking(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gates that failed and are not overridden."""
    return [r for r in results if not r["passed"] and not r.get("override")]


# ---- filing ----------------------------------------------------------------------------------------


def _open_request(dataset: Dataset) -> PublicationRequest | None:
    return PublicationRequest.objects.filter(dataset=dataset, status=RequestStatus.PENDING).first()


@transaction.atomic
def publication_request_create(
    *,
    actor: Actor,
    dataset: Dataset,
    version_ids: list[int],
    licence_code: str,
    attribution: str,
    note: str = "",
) -> PublicationRequest:
    """File a 公開申請 for exactly ``version_ids`` (one per table); the route is chosen and the gates run."""
    dataset = Dataset.objects.get(pk=dataset.pk)  # the caller's copy may predate the last decision
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("公開申請ができるのはデータ所有者（所管課の編集担当）です。")
    if dataset.is_retired:
        raise InvalidInput("廃止されたデータセットは公開できません。")
    if _open_request(dataset) is not None:
        raise Conflict("このデータセットには決裁中の申請があります。決裁が終わってから申請してください。")
    if not version_ids:
        raise InvalidInput("公開する版を1つ以上選んでください。", details={"version_ids": ["必須です。"]})
    versions = list(
        TableVersion.objects.filter(pk__in=set(version_ids), table__dataset=dataset).select_related("table")
    )
    if len(versions) != len(set(version_ids)):
        raise InvalidInput("このデータセットにない版が選ばれています。")
    if any(v.status != VersionStatus.COMMITTED for v in versions):
        raise InvalidInput("確定していない版は公開申請できません。")
    if len({v.table_id for v in versions}) != len(versions):
        raise InvalidInput("1つの表につき公開できる版は1つです。")
    licence = Licence.objects.filter(code=str(licence_code or "")).first()
    if licence is None:
        raise InvalidInput("ライセンスを一覧から選んでください。", details={"licence": ["必須です。"]})
    route_name = "routine" if _is_routine(dataset, versions) else "full"
    steps = routes.resolve(
        route_name, owner_unit_id=dataset.owner_id, personal_data=_touches_personal_data(dataset, versions)
    )
    req = PublicationRequest.objects.create(
        dataset=dataset, kind=RequestKind.PUBLISH, route_name=route_name, steps=[s.as_dict() for s in steps],
        licence=licence, attribution=typed_text(attribution, "出典の表記", limit=500), note=typed_text(note, "備考"),
        requested_by_id=_uid(actor),
    )  # fmt: skip
    RequestVersion.objects.bulk_create([RequestVersion(request=req, version=v) for v in versions])
    req.gate_results, req.fingerprint = _check(req, versions)
    req.checked_at = timezone.now()
    req.save(update_fields=["gate_results", "fingerprint", "checked_at"])
    audit_record(
        actor=actor, action="publication.request", obj=req,
        changes={"dataset": dataset.slug, "route": route_name, "versions": [f"{v.table.name}@{v.number}" for v in versions],
                 "licence": licence.code, "blocking": [r["gate"] for r in blocking(req.gate_results)]},
    )  # fmt: skip
    route_requests.notify_turn(FLOW, actor=actor, request=req)
    return req


@transaction.atomic
def publication_withdraw_request(*, actor: Actor, dataset: Dataset, note: str) -> PublicationRequest:
    """File a 非公開化 (withdrawal) of a published dataset; the withdraw route decides."""
    dataset = Dataset.objects.get(pk=dataset.pk)
    if not (can(actor, Action.EDIT, dataset) or actor.is_admin):
        raise PermissionDenied("非公開化を申請できるのはデータ所有者とデータ戦略課です。")
    if not _active_published(dataset).exists():
        raise InvalidInput("このデータセットは公開されていません。")
    if _open_request(dataset) is not None:
        raise Conflict("このデータセットには決裁中の申請があります。")
    steps = routes.resolve("withdraw", owner_unit_id=dataset.owner_id, personal_data=False)
    req = PublicationRequest.objects.create(
        dataset=dataset, kind=RequestKind.WITHDRAW, route_name="withdraw", steps=[s.as_dict() for s in steps],
        note=typed_text(note, "非公開化の理由", required=True), requested_by_id=_uid(actor), checked_at=timezone.now(),
    )  # fmt: skip
    audit_record(
        actor=actor,
        action="publication.withdraw_request",
        obj=req,
        changes={"dataset": dataset.slug, "note": req.note},
    )
    route_requests.notify_turn(FLOW, actor=actor, request=req)
    return req


def _locked(request: PublicationRequest) -> PublicationRequest:
    current = PublicationRequest.objects.select_for_update().filter(pk=request.pk).first()
    if current is None:
        raise NotFound("申請が見つかりません。")
    return current


def _turn_message(req: PublicationRequest, step: dict[str, Any]) -> str:
    """To whoever decides next: what arrived, what to do, where (the notice links to the request page)."""
    return (
        f"「{req.dataset.title}」の{req.get_kind_display()}が届きました。「{step['label']}」をお願いします。"
        "申請のページで版と公開前の確認の結果を見て、承認・差戻し・却下のどれかを選んでください。"
    )


def _ended_message(req: PublicationRequest) -> str:
    """To the requester when the request ended: what happened and what to do next."""
    what = f"「{req.dataset.title}」の{req.get_kind_display()}"
    if req.status == RequestStatus.APPROVED and req.kind == RequestKind.WITHDRAW:
        return f"{what}は決裁済みになりました。公開サイトとAPIから外れ、データセットは「庁内」に戻りました。"
    if req.status == RequestStatus.APPROVED:
        return (
            f"{what}は決裁済みになりました。申請した版が公開サイトとAPIに出ています"
            "（公開サイトが別の環境のときは、次の公開バンドルの取り込みで届きます）。"
        )
    if req.status == RequestStatus.RETURNED:
        return f"{what}が差し戻されました。申請のページでコメントを読み、直してからもう一度申請してください。"
    if req.status == RequestStatus.REJECTED:
        return f"{what}は却下されました。申請のページで理由を確認してください。公開したいときは所管課長にご相談ください。"
    return f"{what}は{req.get_status_display()}になりました。申請のページで内容を確認できます。"


# How publication's requests walk their route (the shared steps are in access.route_requests).
FLOW: Final = route_requests.Flow[PublicationRequest](
    audit_prefix="publication",
    lock=_locked,
    link=lambda req: reverse("publish:detail", args=[req.pk]),
    turn_message=_turn_message,
    ended_message=_ended_message,
    notify=notify,
    cancel_refused="取り下げられるのは申請者だけです。",
    cancel_not_pending="決裁中の申請だけ取り下げられます。",
)


@transaction.atomic
def publication_recheck(*, actor: Actor, request: PublicationRequest) -> PublicationRequest:
    """Run the gates again on the pinned versions (after a fix) and record what they were run on."""
    req = _locked(request)
    if req.status != RequestStatus.PENDING or req.kind != RequestKind.PUBLISH:
        raise InvalidInput("決裁中の公開申請だけ確認し直せます。")
    if not (actor.user_id == req.requested_by_id or actor.is_admin):
        raise PermissionDenied("確認し直せるのは申請者とデータ戦略課です。")
    before = req.fingerprint
    req.gate_results, req.fingerprint = _check(req, request_versions(req))
    req.checked_at = timezone.now()
    req.save(update_fields=["gate_results", "fingerprint", "checked_at"])
    audit_record(actor=actor, action="publication.recheck", obj=req,
                 changes={"changed": before != req.fingerprint, "blocking": [r["gate"] for r in blocking(req.gate_results)]})  # fmt: skip
    return req


@transaction.atomic
def gate_override(
    *, actor: Actor, request: PublicationRequest, gate: str, table_name: str = "", reason: str
) -> PublicationRequest:
    """Let one failing gate through with a recorded reason (データ戦略課 only)."""
    req = _locked(request)
    if not actor.is_admin:
        raise PermissionDenied("確認項目の例外承認はデータ戦略課が行います。")
    if req.status != RequestStatus.PENDING or req.kind != RequestKind.PUBLISH:
        raise InvalidInput("決裁中の公開申請だけ例外承認できます。")
    if actor.user_id == req.requested_by_id:
        raise PermissionDenied("自分の申請の確認項目は例外承認できません。")
    reason = typed_text(reason, "例外承認の理由", required=True)
    if gate in g.NOT_OVERRIDABLE:
        raise InvalidInput(f"「{g.GATE_LABELS.get(gate, gate)}」は例外承認できません。内容を直してください。")
    failing = [
        r for r in req.gate_results if r["gate"] == gate and r["table"] == table_name and not r["passed"]
    ]
    if not failing:
        raise InvalidInput("その確認項目は問題になっていません。")
    table = Table.objects.filter(dataset_id=req.dataset_id, name=table_name).first() if table_name else None
    GateOverride.objects.create(
        request=req, gate=gate, table=table, reason=reason, approved_by_id=_uid(actor)
    )
    req.gate_results, req.fingerprint = _check(req, request_versions(req))
    req.save(update_fields=["gate_results", "fingerprint"])
    audit_record(
        actor=actor,
        action="publication.gate_override",
        obj=req,
        changes={"gate": gate, "table": table_name, "reason": reason},
    )
    return req


# ---- deciding ----------------------------------------------------------------------------------------


def _acted_before(req: PublicationRequest, actor: Actor) -> bool:
    return ApprovalAction.objects.filter(
        request=req, actor_id=_uid(actor), decision=Decision.APPROVE
    ).exists()


@transaction.atomic
def publication_act(
    *, actor: Actor, request: PublicationRequest, decision: str, comment: str = "", fingerprint: str = ""
) -> PublicationRequest:
    """Decide the current step: approve, return (差戻し) or reject (却下); the last approval publishes."""
    req = _locked(request)
    if decision not in Decision.values:
        raise InvalidInput("判断は「承認」「差戻し」「却下」から選んでください。")
    if req.status != RequestStatus.PENDING:
        raise InvalidInput(f"この申請は「{req.get_status_display()}」のため決裁できません。")
    step = req.steps[req.current_step]
    approving = decision == Decision.APPROVE
    on_behalf = routes.check_decider(
        actor, step, requested_by_id=req.requested_by_id, approving=approving,
        approved_before=approving and _acted_before(req, actor),
    )  # fmt: skip
    comment = typed_text(comment, "コメント", required=decision != Decision.APPROVE)
    versions = request_versions(req)
    if req.kind == RequestKind.PUBLISH and decision == Decision.APPROVE:
        results, now_fp = _check(req, versions)
        if now_fp != req.fingerprint or (fingerprint and fingerprint != req.fingerprint):
            raise Conflict(CHANGED, details={"checked": req.fingerprint, "now": now_fp})
        stuck = blocking(results)
        if stuck:
            names = "、".join(f"{r['label']}{'（' + r['table'] + '）' if r['table'] else ''}" for r in stuck)
            raise InvalidInput(
                f"確認項目が通っていないため承認できません: {names}。直すか、データ戦略課の例外承認が必要です。"
            )
        req.gate_results = results
    ApprovalAction.objects.create(
        request=req, step_index=req.current_step, step_key=step["key"], decision=decision, actor_id=_uid(actor),
        on_behalf_of_id=on_behalf, comment=comment, fingerprint=req.fingerprint,
    )  # fmt: skip
    audit_record(
        actor=actor, action=f"publication.{decision}", obj=req,
        changes={"step": step["key"], "on_behalf_of": on_behalf, "comment": comment, "fingerprint": req.fingerprint},
    )  # fmt: skip
    if route_requests.step_decided(req, decision):
        _finish(actor, req, versions)
    req.save()
    route_requests.announce(FLOW, actor=actor, request=req)
    return req


def _finish(actor: Actor, req: PublicationRequest, versions: list[TableVersion]) -> None:
    """The last approval (the request is approved now): publish exactly the pinned versions, or withdraw
    everything public."""
    dataset = Dataset.objects.get(pk=req.dataset_id)
    if req.kind == RequestKind.PUBLISH:
        now = timezone.now()
        for v in versions:
            pv, created = PublishedVersion.objects.get_or_create(
                table_id=v.table_id, version=v, defaults={"request": req}
            )
            if not created and pv.withdrawn_at is not None:
                # The same version published again after a 非公開化: the one row per table and version
                # becomes public again under this request (the audit log keeps the withdrawal).
                PublishedVersion.objects.filter(pk=pv.pk).update(
                    request=req, published_at=now, withdrawn_at=None, withdrawn_by=None
                )
        dataset_set_publication(
            actor=actor, dataset=dataset, public=True, licence=req.licence, reference=f"publication#{req.pk}"
        )
        audit_record(actor=actor, action="publication.publish", obj=req,
                     changes={"versions": [f"{v.table.name}@{v.number}" for v in versions]})  # fmt: skip
    else:
        n = _active_published(dataset).update(withdrawn_at=timezone.now(), withdrawn_by=req)
        dataset_set_publication(actor=actor, dataset=dataset, public=False, reference=f"publication#{req.pk}")
        audit_record(actor=actor, action="publication.withdraw", obj=req, changes={"versions_withdrawn": n})


@transaction.atomic
def publication_cancel(*, actor: Actor, request: PublicationRequest) -> PublicationRequest:
    """The requester takes back a request still under decision (取り下げ)."""
    return route_requests.request_cancel(FLOW, actor=actor, request=request)


# ---- 統計表 ---------------------------------------------------------------------------------------


def _field_names(table: Table) -> list[str]:
    """The table's columns as stored now (a caller's copy may predate the latest version's schema)."""
    schema = Table.objects.filter(pk=table.pk).values_list("schema", flat=True).first() or {}
    return [str(f.get("name")) for f in schema.get("fields", [])]


def _threshold(value: Any, *, required: bool) -> int | None:
    """A small-count threshold from a form or the API: an integer ≥ 1 (None when optional and blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput("秘匿の基準（小さい数の基準）を入力してください。")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("秘匿の基準は整数で入力してください。") from None
    if number < 1:
        raise InvalidInput("秘匿の基準（小さい数の基準）は1以上にしてください。")
    return number


@transaction.atomic
def small_count_threshold_set(*, actor: Actor, dataset: Dataset, threshold: Any) -> SmallCountSetting:
    """Set a dataset's small-count threshold (default 10, ≥ 1): every 統計表 of it is checked against it."""
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("小さい数の基準を変えられるのはデータ所有者です。")
    value = _threshold(threshold, required=True)
    before = g.dataset_threshold(dataset.pk)
    obj, _ = SmallCountSetting.objects.update_or_create(
        dataset=dataset, defaults={"threshold": value, "updated_by_id": _uid(actor)}
    )
    audit_record(actor=actor, action="publication.small_count_threshold", obj=dataset,
                 changes={"before": before, "after": value})  # fmt: skip
    return obj


@transaction.atomic
def aggregate_spec_set(
    *, actor: Actor, table: Table, dimension: str, count_columns: list[str] | None = None,
    total_column: str = "", total_row_label: str = "", threshold: Any = None, protection: int = 0,
    column_dimension: str = "", value_column: str = "", row_subtotals: Any = None,
    column_subtotals: Any = None,
) -> AggregateSpec:  # fmt: skip
    """Declare a table as a 統計表: wide (区分 + count columns) or long (row 区分, column 区分, one count
    column), its totals, its 小計, and optionally a stricter threshold than the dataset's (≥ 1)."""
    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied("統計表の設定ができるのはデータ所有者です。")
    own = _threshold(threshold, required=False)
    floor = g.dataset_threshold(table.dataset_id)
    if own is not None and own < floor:
        raise InvalidInput(
            f"表ごとの基準はデータセットの基準（{floor}）より小さくできません。"
            f"データセットの基準を変えるか、{floor} 以上にしてください。"
        )
    try:
        protection = int(protection or 0)
    except (TypeError, ValueError):
        raise InvalidInput("保護幅は整数で入力してください。") from None
    if protection < 0:
        raise InvalidInput("保護幅は0以上にしてください。")
    columns = [str(c) for c in count_columns or []]
    rows_sub, cols_sub = suppression.subtotals(row_subtotals), suppression.subtotals(column_subtotals)
    spec = suppression.Spec(
        dimension, tuple(columns), total_column, total_row_label, own or floor, protection,
        column_dimension, value_column, rows_sub, cols_sub,
    )  # fmt: skip
    suppression.check_spec(spec, _field_names(table))
    values = {
        "dimension": dimension, "count_columns": columns, "total_column": total_column,
        "total_row_label": total_row_label, "threshold": own, "protection": protection,
        "column_dimension": column_dimension, "value_column": value_column,
        "row_subtotals": {k: list(v) for k, v in rows_sub}, "column_subtotals": {k: list(v) for k, v in cols_sub},
    }  # fmt: skip
    obj, _ = AggregateSpec.objects.update_or_create(table=table, defaults=values)
    audit_record(actor=actor, action="publication.aggregate_spec", obj=table, changes={"spec": values})
    return obj


def suppression_run(*, actor: Actor, table: Table, version: TableVersion | None = None) -> SuppressionRun:
    """Suppress small cells of a 統計表 and write the result as a NEW version (through ingest), with its LP audit."""
    from machidata.ingest.services import ingest_file

    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied("秘匿処理ができるのはデータ所有者です。")
    source = version or table.current_version
    if source is None:
        raise InvalidInput("この表にはまだデータがありません。")
    spec = g.spec_of(source)
    if spec is None:
        raise InvalidInput("先に統計表の設定（区分・件数・合計の列）をしてください。")
    data = g.read_version(source)
    grid = suppression.grid_from_table(data, spec)
    hidden, report = suppression.suppress(grid, threshold=spec.threshold, protection=spec.protection)
    if report.exposed:  # pragma: no cover - suppress() raises instead; kept as the last line of defence
        raise InvalidInput("秘匿しても値が分かるセルが残るため、新しい版を作りませんでした。")
    rows = suppression.to_csv_rows(data, spec, grid, hidden)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{table.name}_suppressed.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
        # Ingest reads ``x`` as missing with the reason 秘匿 (suppressed) and keeps it in the schema.
        new = ingest_file(
            actor=actor, table=table, path=path, source_name=f"{table.name}（秘匿処理済み）.csv", mode="replace",
            note=f"秘匿処理（第{source.number}版から、基準 {spec.threshold} 未満、秘匿 {report.checked} セル）",
        )  # fmt: skip
    with transaction.atomic():
        run = SuppressionRun.objects.create(
            table=table,
            source_version=source,
            result_version=new,
            report=report.to_dict(),
            created_by_id=_uid(actor),
        )
        audit_record(actor=actor, action="publication.suppress", obj=table,
                     changes={"from": source.number, "to": new.number, "cells_checked": report.checked,
                              "cells_exposed": len(report.exposed)})  # fmt: skip
    return run
