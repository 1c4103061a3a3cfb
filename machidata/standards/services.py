"""Writes of standard declarations: the data owner declares a table to be one standard, or withdraws it.

Only someone who may EDIT the dataset (its 課's 編集 members, edit-grant holders, 管理) declares; the
mapping saved is exactly what they confirmed, checked against the standard's items and the table's
columns. Every change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Table
from machidata.catalog.table_selectors import table_fields
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.standards import definitions as d
from machidata.standards.models import StandardDeclaration


def _require_edit(actor: Actor, table: Table) -> None:
    if not can(actor, Action.DISCOVER, table.dataset):
        raise NotFound("表が見つかりません。")
    if not can(actor, Action.EDIT, table.dataset):
        raise PermissionDenied(
            "標準データセットの宣言は、この表のデータ所有者（編集権限のある人）だけができます。"
        )


def _clean_mapping(standard: d.Standard, mapping: Mapping[str, str], columns: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for item_name, raw in mapping.items():
        col = str(raw or "").strip()
        if not col:
            continue
        if standard.item(str(item_name)) is None:
            errors[str(item_name)] = f"「{item_name}」は「{standard.name}」の項目ではありません。"
        elif col not in columns:
            errors[str(item_name)] = f"列「{col}」はこの表にありません。"
        elif col in used:
            errors[str(item_name)] = f"列「{col}」はすでに「{used[col]}」に対応づけています。"
        else:
            used[col] = str(item_name)
            out[str(item_name)] = col
    if errors:
        raise InvalidInput("項目と列の対応に誤りがあります: " + " ".join(errors.values()), details=errors)
    return {i.name: out[i.name] for i in standard.items if i.name in out}  # in the standard's order


def declaration_set(
    *, actor: Actor, table: Table, standard_code: str, mapping: Mapping[str, str]
) -> StandardDeclaration:
    """Declare ``table`` to be the standard ``standard_code`` with the confirmed ``mapping`` (item → column).

    Replaces an earlier declaration of the table; audited as ``standards.declare``.
    """
    _require_edit(actor, table)
    standard = d.by_code(standard_code)
    if standard is None or not standard.declarable:
        raise InvalidInput(
            "この標準データセットは選べません。一覧から選んでください。", details={"standard": standard_code}
        )
    columns = [f.name for f in table_fields(table)]
    clean = _clean_mapping(standard, mapping, columns)
    with transaction.atomic():
        before = StandardDeclaration.objects.select_for_update().filter(table=table).first()
        old = {"standard": before.standard, "mapping": before.mapping} if before else None
        decl, _ = StandardDeclaration.objects.update_or_create(
            table=table,
            defaults={"standard": standard.code, "mapping": clean, "declared_by_id": actor.user_id},
        )
        audit_record(actor=actor, action="standards.declare", obj=decl, changes={
            "dataset": table.dataset.slug, "table": table.name, "standard": standard.code,
            "mapping": clean, "before": old,
        })  # fmt: skip
    return decl


def declaration_remove(*, actor: Actor, table: Table) -> None:
    """Withdraw the table's declaration (the table stays as it is); audited as ``standards.undeclare``."""
    _require_edit(actor, table)
    with transaction.atomic():
        decl = StandardDeclaration.objects.select_for_update().filter(table=table).first()
        if decl is None:
            raise NotFound("この表は標準データセットとして宣言されていません。")
        audit_record(actor=actor, action="standards.undeclare", obj=decl, changes={
            "dataset": table.dataset.slug, "table": table.name, "standard": decl.standard, "mapping": decl.mapping,
        })  # fmt: skip
        decl.delete()
