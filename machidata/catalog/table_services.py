"""Writes of tables (表): create, edit the 項目定義 wording, and restore an earlier version (版) in a job.

Every write checks the access policy (EDIT on the table's dataset), runs in one transaction and is
audited. Restoring writes to the lake, which must never happen inside a transaction, so the request
is audited here and the write itself runs in the job ``catalog.restore_version`` (see jobs.py).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Final

from django.db import IntegrityError, transaction

from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table, TableVersion, ValidationPolicy, VersionStatus
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# Names the table URLs use for their own pages.
RESERVED_NAMES: Final = frozenset({"new"})
EDITABLE_FIELD_KEYS: Final = ("title", "description", "unit")
FIELD_KEY_LABELS: Final = {"title": "項目名", "description": "説明", "unit": "単位"}
MAX_TITLE: Final = 200
MAX_DESCRIPTION: Final = 2000
MAX_UNIT: Final = 40


def _require_edit(actor: Actor, dataset: Dataset) -> None:
    if not can(actor, Action.DISCOVER, dataset):
        raise NotFound("表が見つかりません。")
    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("この表を編集できるのは、データ所有者（所管課）の編集担当者だけです。")


def table_create(*, actor: Actor, dataset: Dataset, name: str, title: str, description: str = "") -> Table:
    """Add an empty table to a dataset (its data arrives later as versions); audited as table.create."""
    _require_edit(actor, dataset)
    name = (name or "").strip()
    title = (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not NAME_RE.match(name):
        errors["name"] = [
            "表の名前は半角の英小文字・数字・「-」「_」で、100文字以内にしてください（例: population）。"
        ]
    elif name in RESERVED_NAMES:
        errors["name"] = [f"「{name}」はシステムが使う名前のため、ほかの名前にしてください。"]
    if not title:
        errors["title"] = ["表のタイトルを入力してください。"]
    elif len(title) > MAX_TITLE:
        errors["title"] = [f"表のタイトルは{MAX_TITLE}文字以内にしてください。"]
    if errors:
        raise InvalidInput("入力内容を確認してください。", details=errors)
    try:
        with transaction.atomic():
            if Table.objects.filter(dataset=dataset, name=name).exists():
                raise InvalidInput(
                    f"このデータセットにはすでに「{name}」という表があります。",
                    details={"name": [f"「{name}」はすでに使われています。"]},
                )
            table = Table.objects.create(
                dataset=dataset,
                name=name,
                title=title,
                description=(description or "").strip(),
                storage_key=uuid.uuid4().hex,
            )
            audit_record(
                actor=actor,
                action="table.create",
                obj=table,
                changes={"dataset": dataset.slug, "name": name, "title": title},
            )
    except IntegrityError:
        raise InvalidInput(
            f"このデータセットにはすでに「{name}」という表があります。",
            details={"name": [f"「{name}」はすでに使われています。"]},
        ) from None
    return table


def _clean_field(name: str, given: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    limits = {"title": MAX_TITLE, "description": MAX_DESCRIPTION, "unit": MAX_UNIT}
    for key in EDITABLE_FIELD_KEYS:
        if key not in given:
            continue
        value = str(given.get(key) or "").strip()
        if len(value) > limits[key]:
            raise InvalidInput(
                f"列「{name}」の{FIELD_KEY_LABELS[key]}は{limits[key]}文字以内にしてください。",
                details={name: [f"{key} が長すぎます。"]},
            )
        out[key] = value
    return out


def _apply_field_edits(
    declared: list[dict[str, Any]], by_name: dict[str, dict[str, Any]], fields: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Apply per-column wording edits to the declared fields (in place); returns what changed."""
    changes: dict[str, Any] = {}
    for name, given in fields.items():
        clean = _clean_field(name, given)
        target = by_name.get(name)
        if target is None:
            target = {"name": name}
            declared.append(target)
            by_name[name] = target
        for key, value in clean.items():
            before = str(target.get(key) or "")
            if before == value:
                continue
            changes[f"{name}.{key}"] = {"before": before, "after": value}
            if value:
                target[key] = value
            else:
                target.pop(key, None)
    return changes


def _apply_table_edits(
    current: Table, title: str | None, description: str | None, validation_policy: str | None
) -> dict[str, Any]:
    """Apply the table-level edits (title, description, validation policy) in place; returns what changed."""
    changes: dict[str, Any] = {}
    if title is not None:
        title = title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(
                f"表のタイトルは1〜{MAX_TITLE}文字で入力してください。",
                details={"title": ["表のタイトルを入力してください。"]},
            )
        if title != current.title:
            changes["title"] = {"before": current.title, "after": title}
            current.title = title
    if description is not None and description.strip() != current.description:
        changes["description"] = {"before": current.description, "after": description.strip()}
        current.description = description.strip()
    if validation_policy is not None and validation_policy != current.validation_policy:
        if validation_policy not in ValidationPolicy.values:
            raise InvalidInput(
                "項目定義に合わない版の扱いは「受け付けない」か「警告つきで受け付ける」から選んでください。",
                details={"validation_policy": ["選べない値です。"]},
            )
        changes["validation_policy"] = {"before": current.validation_policy, "after": validation_policy}
        current.validation_policy = validation_policy
    return changes


def table_update_schema(
    *,
    actor: Actor,
    table: Table,
    title: str | None = None,
    description: str | None = None,
    fields: dict[str, dict[str, Any]] | None = None,
    validation_policy: str | None = None,
    updated_at: dt.datetime | None = None,
) -> Table:
    """Edit the table's title, description, 項目定義 wording (field titles, descriptions, units) and validation policy.

    Types are set by ingestion and are not editable here. ``updated_at`` is the value the editor read:
    when someone saved meanwhile the edit is refused (optimistic locking), nothing is changed.
    """
    _require_edit(actor, table.dataset)
    fields = fields or {}
    with transaction.atomic():
        current = Table.objects.select_for_update().get(pk=table.pk)
        if updated_at is not None and current.updated_at != updated_at:
            raise Conflict(
                "ほかの人がこの表を先に更新しました。ページを読み込み直してから、もう一度編集してください。"
            )
        schema = dict(current.schema or {})
        declared = [dict(f) for f in schema.get("fields") or [] if isinstance(f, dict)]
        by_name = {str(f.get("name")): f for f in declared}
        known = set(by_name)
        version = current.current_version
        if version is not None:
            known |= {
                str(f["name"]) for f in (version.schema or {}).get("fields") or [] if f.get("name") != "_id"
            }
        unknown = [n for n in fields if n not in known]
        if unknown:
            raise InvalidInput(
                "この表にない列が指定されました: " + "、".join(unknown),
                details={n: ["この表にない列です。"] for n in unknown},
            )
        changes = _apply_field_edits(declared, by_name, fields)
        changes.update(_apply_table_edits(current, title, description, validation_policy))
        if not changes:
            return current
        schema["fields"] = declared
        current.schema = schema
        current.save(update_fields=["schema", "title", "description", "validation_policy", "updated_at"])
        audit_record(actor=actor, action="table.schema_update", obj=current, changes=changes)
    return current


def version_restore(*, actor: Actor, table: Table, version: TableVersion, note: str = "") -> Any:
    """Start a job that makes a NEW version equal to ``version`` (「この版に戻す」); returns the Job.

    The request is audited here; the job writes the lake (outside any transaction) and audits the result.
    """
    from machidata.jobs.services import job_submit

    _require_edit(actor, table.dataset)
    if version.table_id != table.pk or version.status != VersionStatus.COMMITTED:
        raise NotFound("戻す先の版が見つかりません。")
    note = (note or "").strip()[:500]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="table.version_restore_requested",
            obj=table,
            changes={
                "dataset": table.dataset.slug,
                "table": table.name,
                "version": version.number,
                "note": note,
            },
        )
    # Outside the transaction: in tests the job runs inline, and the lake refuses to write inside one.
    return job_submit(
        kind="catalog.restore_version",
        title=f"「{table.title}」を第{version.number}版に戻す",
        params={"table_id": table.pk, "version_id": version.pk, "note": note},
        actor=actor,
        unit=table.dataset.owner,
    )
