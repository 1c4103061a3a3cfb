"""Loading the demo content: idempotent upserts in one transaction, audited as the system actor."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import models, transaction

from machidata.access.models import Membership, Role, Unit
from machidata.access.policy import system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Category, DataFormat, Dataset, Licence
from machidata.demo import content

# Jobs, imports and the demo loader act as "system": no user behind them, but still in the audit trail.
SYSTEM: Final = system_actor("demo")
VALID_FROM: Final = dt.date(2000, 4, 1)  # the organisation's "since ever" (as Unit's default)

_ROLE_LABELS: Final = {"admin": "管理", "editor": "編集", "viewer": "閲覧"}
_DATASET_FIELDS: Final = (
    "slug", "title", "description", "classification", "discoverable", "personal_data", "location",
    "location_detail", "frequency", "source", "source_detail", "keywords", "spatial", "lg_code",
    "is_synthetic", "temporal_start", "temporal_end",
)  # fmt: skip


@dataclass
class DemoSummary:
    """What a load did: counts of created and updated rows per kind (both empty when nothing changed)."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        """Whether the load wrote anything."""
        return bool(+self.created or +self.updated)


def _upsert(
    model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], summary: DemoSummary
) -> Any:
    """Create the row, or update only the fields that differ (so a second load writes nothing)."""
    kind = model._meta.model_name or model.__name__
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model._default_manager.create(**lookup, **values)
        summary.created[kind] += 1
        return obj
    dirty = [name for name, value in values.items() if getattr(obj, name) != value]
    if dirty:
        for name in dirty:
            setattr(obj, name, values[name])
        if isinstance(obj, Dataset):
            obj.lock_version += 1  # an editor holding the old version must reload (optimistic locking)
            dirty.append("lock_version")
        obj.save(update_fields=[*dirty, *(["updated_at"] if isinstance(obj, Dataset) else [])])
        summary.updated[kind] += 1
    return obj


def _load_units(summary: DemoSummary) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for code, name, kind, parent_code in content.UNITS:  # parents come before their children
        parent = units[parent_code] if parent_code else None
        units[code] = _upsert(
            Unit,
            {"code": code, "valid_from": VALID_FROM},
            {"name": name, "kind": kind, "parent_id": parent.pk if parent else None, "valid_to": None},
            summary,
        )
    return units


def _load_accounts(units: dict[str, Unit], summary: DemoSummary) -> dict[str, Any]:
    user_model = get_user_model()
    users: dict[str, Any] = {}
    for username, display, unit_code, role, is_staff, password in content.ACCOUNTS:
        existed = user_model.objects.filter(username=username).exists()
        user = _upsert(
            user_model,
            {"username": username},
            {"first_name": display, "is_staff": is_staff, "is_superuser": False, "is_active": True},
            summary,
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            if existed:
                summary.updated["password"] += 1
        membership = Membership.objects.active_on().filter(user=user, unit=units[unit_code], role=role)
        if not membership.exists():
            Membership.objects.create(
                user=user, unit=units[unit_code], role=Role(role), valid_from=VALID_FROM
            )
            summary.created["membership"] += 1
        users[username] = user
    return users


def _dataset_values(entry: dict[str, Any], refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values = {name: entry[name] for name in _DATASET_FIELDS if name in entry}
    for name in ("temporal_start", "temporal_end"):
        raw = entry.get(name)
        values[name] = dt.date.fromisoformat(raw) if raw else None
    values["owner_id"] = refs["unit"][entry["owner"]].pk
    values["category_id"] = refs["category"][entry["category"]].pk
    values["licence_id"] = refs["licence"][entry["licence"]].pk if entry.get("licence") else None
    return values


def _load_datasets(refs: dict[str, dict[str, Any]], created_by: Any, summary: DemoSummary) -> None:
    for entry in content.DATASETS:
        values = _dataset_values(entry, refs)
        existed = Dataset.objects.filter(identifier=entry["identifier"]).exists()
        dataset = _upsert(Dataset, {"identifier": entry["identifier"]}, values, summary)
        if not existed:
            Dataset.objects.filter(pk=dataset.pk).update(created_by=created_by)
        wanted = {refs["format"][code].pk for code in entry["formats"]}
        if set(dataset.formats.values_list("pk", flat=True)) != wanted:
            dataset.formats.set(wanted)
            if existed:
                summary.updated["dataset.formats"] += 1


def load_demo(*, home: Path) -> DemoSummary:
    """Load (or bring back to its published state) the demo organisation, vocabularies, accounts and catalog.

    ``home`` is MACHIDATA_HOME; it is created if missing (later loaders put the demo files' tables there).
    Running it twice changes nothing: rows are matched by code, username or identifier and only
    differing fields are written; the load is one transaction and is audited only when it wrote something.
    """
    Path(home).mkdir(parents=True, exist_ok=True)
    summary = DemoSummary()
    with transaction.atomic():
        refs: dict[str, dict[str, Any]] = {"unit": _load_units(summary)}
        refs["category"] = {
            code: _upsert(Category, {"code": code}, {"name": name, "order": i}, summary)
            for i, (code, name) in enumerate(content.CATEGORIES, start=1)
        }
        refs["licence"] = {
            code: _upsert(Licence, {"code": code}, {"name": name, "url": url, "is_open": is_open}, summary)
            for code, name, url, is_open in content.LICENCES
        }
        refs["format"] = {
            code: _upsert(DataFormat, {"code": code}, {"name": name}, summary)
            for code, name in content.FORMATS
        }
        users = _load_accounts(refs["unit"], summary)
        _load_datasets(refs, users["admin"], summary)
        if summary.changed:
            audit_record(
                actor=SYSTEM,
                action="demo.load",
                object_type="demo",
                object_repr="デモ用の内容（熊本市）",
                changes={"created": dict(summary.created), "updated": dict(summary.updated)},
            )
    return summary


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table() -> str:
    """The demo accounts as a Japanese text table (user name, password, 所属, 役割). Demo only."""
    parents = {code: (name, parent) for code, name, _, parent in content.UNITS}

    def full_name(code: str | None) -> str:
        names: list[str] = []
        while code:
            name, code = parents[code]
            names.append(name)
        return " ".join(reversed(names))

    header = ("ユーザー名", "パスワード", "所属", "役割")
    rows = [
        (username, password, full_name(unit_code), _ROLE_LABELS[role])
        for username, _display, unit_code, role, _staff, password in content.ACCOUNTS
    ]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(_pad(h, w) for h, w in zip(header, widths, strict=True)) + " |", line]
    out += ["| " + " | ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    out.append(line)
    return "\n".join(out)
