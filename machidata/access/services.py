"""Writes of the organisation: units, memberships, staff accounts, API tokens and reorganisations.

Every function is keyword-only, runs in one transaction and records what it did in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from machidata.access.directory import (
    NOT_ALLOWED,
    DirectoryPerson,
    is_allowed,
    rank_for,
    role_for,
    unit_code_for,
)
from machidata.access.models import (
    ApiToken,
    ApproverDesignation,
    DesignationKind,
    Membership,
    Role,
    StaffRank,
    Unit,
    UnitKind,
    hash_token,
)
from machidata.access.orgimport import OrgImportPreview, organisation_import_preview
from machidata.access.orgimport.plan import role_label
from machidata.access.policy import Actor, actor_for
from machidata.audit.services import audit_record
from machidata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ONE_DAY = dt.timedelta(days=1)
logger = logging.getLogger(__name__)


# ---- who is acting ------------------------------------------------------------------------------


def actor_from_username(username: str) -> Actor:
    """The actor for a command's ``--as USERNAME``; refuses unknown or inactive users."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(f"ユーザー「{username}」は登録されていないか、無効です。")
    return actor_for(user)


CLI_OPERATOR = "machidata-cli"


def cli_operator_actor() -> Actor:
    """The actor of a command run on the server without ``--as``: the operator, with 管理 rights.

    Whoever runs commands on the server can already reach the database; a real (superuser) account
    makes that explicit in the audit trail instead of acting as nobody. It cannot sign in (no password).
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=CLI_OPERATOR,
        defaults={"is_superuser": True, "is_staff": False, "is_active": True, "first_name": "コマンド実行者"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return actor_for(user)


def system_actor(command: str) -> Actor:
    """The actor recorded when a command runs without ``--as``: the command and the OS account."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        who = "unknown"
    return Actor(username=f"cli:{command}:{who}")


def _unit_ref(unit: Unit | None) -> str:
    return f"{unit.code} {unit.full_name}" if unit is not None else ""


# ---- units --------------------------------------------------------------------------------------


def unit_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    mailbox: str = "",
    phone: str = "",
    valid_from: dt.date,
) -> Unit:
    """Create a unit in force from ``valid_from``."""
    if kind not in UnitKind.values:
        raise InvalidInput(f"種別「{kind}」は使えません。")
    with transaction.atomic():
        if Unit.objects.active_on(valid_from).filter(code=code).exists():
            raise Conflict(f"所属コード「{code}」は既に使われています。")
        unit = Unit.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            mailbox=mailbox,
            phone=phone,
            valid_from=valid_from,
        )
        audit_record(
            actor=actor,
            action="unit.create",
            obj=unit,
            changes={
                "code": code,
                "name": name,
                "kind": kind,
                "parent": _unit_ref(parent),
                "valid_from": valid_from.isoformat(),
            },
        )
    return unit


_UNSET: Any = object()


def unit_update(
    *,
    actor: Actor,
    unit: Unit,
    name: str | None = None,
    kind: str | None = None,
    parent: Unit | None = _UNSET,
    mailbox: str | None = None,
    phone: str | None = None,
    effective_date: dt.date | None = None,
) -> Unit:
    """Change a unit's name, kind, parent or contact in place (its history stays in the audit trail)."""
    changes: dict[str, list[str]] = {}
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        for attr, value in (("name", name), ("kind", kind), ("mailbox", mailbox), ("phone", phone)):
            if value is not None and getattr(unit, attr) != value:
                changes[attr] = [getattr(unit, attr), value]
                setattr(unit, attr, value)
        if kind is not None and kind not in UnitKind.values:
            raise InvalidInput(f"種別「{kind}」は使えません。")
        if parent is not _UNSET and unit.parent_id != (parent.pk if parent else None):
            node = parent
            while node is not None:
                if node.pk == unit.pk:
                    raise InvalidInput("上位所属に自分自身や下位の所属は指定できません。")
                node = node.parent
            changes["parent"] = [_unit_ref(unit.parent), _unit_ref(parent)]
            unit.parent = parent
        if not changes:
            return unit
        if effective_date is not None and {"name", "kind", "parent"} & changes.keys():
            _remember_until(unit_id=unit.pk, before=changes, current=unit, effective_date=effective_date)
        unit.save()
        record: dict[str, Any] = dict(changes)
        if effective_date is not None:
            record["effective_date"] = effective_date.isoformat()
        audit_record(actor=actor, action="unit.update", obj=unit, changes=record)
    return unit


def _remember_until(
    *, unit_id: int, before: dict[str, list[Any]], current: Unit, effective_date: dt.date
) -> None:
    """Keep how the unit looked until the day before ``effective_date`` (the tree as of a past date uses it)."""
    from machidata.access.models import UnitHistory

    last = UnitHistory.objects.filter(unit_id=unit_id).order_by("-valid_to").first()
    start = last.valid_to + dt.timedelta(days=1) if last else Unit.objects.get(pk=unit_id).valid_from
    end = effective_date - dt.timedelta(days=1)
    if end < start:
        return  # a correction on the unit's first day: nothing to remember
    old_parent_id = Unit.objects.get(pk=unit_id).parent_id
    UnitHistory.objects.create(
        unit_id=unit_id,
        name=before["name"][0] if "name" in before else current.name,
        kind=before["kind"][0] if "kind" in before else current.kind,
        parent_id=old_parent_id,
        valid_from=start,
        valid_to=end,
    )


def dataset_owner_transfer(*, actor: Actor, dataset: Any, owner: Unit, reason: str = "") -> None:
    """Hand a dataset to another データ所有者（所管課）, recording the old and new owner."""
    from machidata.catalog.models import Dataset

    with transaction.atomic():
        old = Unit.objects.get(pk=dataset.owner_id)
        if old.pk == owner.pk:
            return
        Dataset.objects.filter(pk=dataset.pk).update(
            owner=owner, lock_version=F("lock_version") + 1, updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="dataset.transfer",
            obj=dataset,
            changes={
                "owner": [_unit_ref(old), _unit_ref(owner)],
                "owner_id": [old.pk, owner.pk],
                "reason": reason,
            },
        )


def unit_close(*, actor: Actor, unit: Unit, valid_to: dt.date, successor: Unit | None = None) -> Unit:
    """End a unit on ``valid_to``: its datasets, grants and staff go to ``successor`` (required if it owns data)."""
    from machidata.catalog.models import Dataset, DatasetGrant

    start = valid_to + ONE_DAY
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        datasets = list(Dataset.objects.filter(owner=unit))
        if datasets and successor is None:
            raise InvalidInput(
                f"所属「{unit.full_name}」にはデータセットが{len(datasets)}件あるため、移管先を指定しないと廃止できません。"
            )
        if successor is not None and (successor.pk == unit.pk or not successor.is_active(start)):
            raise InvalidInput("移管先には、廃止の翌日に有効な別の所属を指定してください。")
        remaining = Unit.objects.active_on(start).filter(parent=unit)
        if remaining.exists():
            names = "、".join(u.name for u in remaining[:5])
            raise InvalidInput(
                f"所属「{unit.full_name}」の下に有効な所属（{names}）が残っているため廃止できません。"
            )
        reason = f"組織改正（{start.isoformat()}）: {_unit_ref(unit)} の廃止"
        for dataset in datasets:
            assert successor is not None  # checked above
            dataset_owner_transfer(actor=actor, dataset=dataset, owner=successor, reason=reason)
        moved_grants = 0
        if successor is not None:
            moved_grants = DatasetGrant.objects.filter(unit=unit).update(unit=successor)
        for membership in Membership.objects.active_on(start).filter(unit=unit).select_related("user"):
            if successor is not None:
                membership_set(
                    actor=actor, user=membership.user, unit=successor, role=membership.role, valid_from=start
                )
            else:
                membership_end(actor=actor, membership=membership, valid_to=valid_to)
        previous = unit.valid_to
        unit.valid_to = valid_to
        unit.successor = successor
        unit.save(update_fields=["valid_to", "successor"])
        audit_record(
            actor=actor,
            action="unit.close",
            obj=unit,
            changes={
                "valid_to": [previous.isoformat() if previous else None, valid_to.isoformat()],
                "successor": _unit_ref(successor),
                "datasets_transferred": len(datasets),
                "grants_transferred": moved_grants,
            },
        )
    return unit


# ---- memberships and staff ----------------------------------------------------------------------


def _membership_ref(m: Membership) -> dict[str, Any]:
    return {
        "unit": _unit_ref(m.unit),
        "role": m.role,
        "rank": m.rank,
        "valid_from": m.valid_from.isoformat(),
        "valid_to": m.valid_to.isoformat() if m.valid_to else None,
    }


def membership_set(
    *, actor: Actor, user: Any, unit: Unit, role: str, valid_from: dt.date, rank: str | None = None
) -> Membership:
    """From ``valid_from`` on, ``user`` belongs to ``unit`` with ``role`` only; earlier memberships end the day before.

    ``rank`` (職位: 管理職・一般職) left as None keeps the person's current rank (一般職 for a newcomer),
    so a reorganisation or an import without a 職位 column does not demote a 課長.
    """
    if role not in Role.values:
        raise InvalidInput(f"役割「{role}」は使えません（閲覧・編集・管理のいずれか）。")
    if rank is not None and rank not in StaffRank.values:
        raise InvalidInput(f"職位「{rank}」は使えません（管理職・一般職のいずれか）。")
    with transaction.atomic():
        current = list(
            Membership.objects.select_for_update()
            .active_on(valid_from)
            .filter(user=user)
            .select_related("unit")
        )
        if rank is None:
            rank = current[0].rank if current else StaffRank.GENERAL
        if len(current) == 1 and (current[0].unit_id, current[0].role, current[0].rank) == (
            unit.pk,
            role,
            rank,
        ):
            return current[0]  # already so: re-running an import changes nothing
        before = [_membership_ref(m) for m in current]
        kept: Membership | None = None
        for m in current:
            if m.valid_from < valid_from:
                m.valid_to = valid_from - ONE_DAY
                m.save(update_fields=["valid_to"])
            elif kept is None:
                kept = m  # starts the same day: correct it rather than leave an empty range behind
            else:
                m.delete()
        if kept is None:
            kept = Membership.objects.create(
                user=user, unit=unit, role=role, rank=rank, valid_from=valid_from
            )
        else:
            kept.unit, kept.role, kept.rank, kept.valid_to = unit, role, rank, None
            kept.save(update_fields=["unit", "role", "rank", "valid_to"])
        audit_record(
            actor=actor,
            action="membership.change",
            obj=kept,
            changes={
                "user": user.get_username(),
                "before": before,
                "after": {
                    "unit": _unit_ref(unit),
                    "role": role,
                    "rank": rank,
                    "valid_from": valid_from.isoformat(),
                },
            },
        )
    return kept


def membership_end(*, actor: Actor, membership: Membership, valid_to: dt.date) -> Membership:
    """End one membership on ``valid_to``."""
    with transaction.atomic():
        before = _membership_ref(membership)
        membership.valid_to = valid_to
        membership.save(update_fields=["valid_to"])
        audit_record(
            actor=actor,
            action="membership.change",
            obj=membership,
            changes={"user": membership.user.get_username(), "before": [before], "after": None},
        )
    return membership


@transaction.atomic
def approver_designate(*, actor: Actor, unit: Unit, user_id: int, kind: str) -> ApproverDesignation:
    """Name the 課長 (or a 代決者) of a unit; データ戦略課 only (the admin page does the same)."""
    if not actor.is_admin:
        raise PermissionDenied("決裁権者の登録はデータ戦略課が行います。")
    if kind not in DesignationKind.values:
        raise InvalidInput("種別は「課長」か「代決者」です。")
    d = ApproverDesignation.objects.create(unit=unit, user_id=user_id, kind=kind)
    audit_record(
        actor=actor,
        action="publication.designate",
        obj=d,
        changes={"unit": unit.code, "user": user_id, "kind": kind},
    )
    return d


def user_create(
    *,
    actor: Actor,
    username: str,
    unit: Unit | None = None,
    role: str = Role.VIEWER,
    full_name: str = "",
    email: str = "",
    password: str | None = None,
    valid_from: dt.date | None = None,
) -> Any:
    """Create a staff account (password None: cannot sign in with a password) and its membership."""
    user_model = get_user_model()
    if not username.strip():
        raise InvalidInput("ユーザー名を入力してください。")
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise Conflict(f"ユーザー「{username}」は既に登録されています。")
        # The whole 氏名 goes in first_name so get_full_name() shows it in Japanese order.
        user = user_model(username=username, first_name=full_name, email=email)
        if password is None:
            user.set_unusable_password()
        else:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput("パスワードが条件を満たしません: " + " ".join(exc.messages)) from exc
            user.set_password(password)
        user.save()
        audit_record(
            actor=actor,
            action="user.create",
            obj=user,
            changes={"username": username, "name": full_name, "email": email},
        )
        if unit is not None:
            membership_set(
                actor=actor, user=user, unit=unit, role=role, valid_from=valid_from or timezone.localdate()
            )
    return user


def _user_update(*, actor: Actor, user: Any, full_name: str | None, email: str | None) -> None:
    changes: dict[str, list[str]] = {}
    if full_name is not None and user.get_full_name() != full_name:
        changes["name"] = [user.get_full_name(), full_name]
        user.first_name, user.last_name = full_name, ""
    if email is not None and user.email != email:
        changes["email"] = [user.email, email]
        user.email = email
    if changes:
        user.save(update_fields=["first_name", "last_name", "email"])
        audit_record(actor=actor, action="user.update", obj=user, changes=changes)


# ---- sign-in with the city's directory -----------------------------------------------------------


def directory_actor(source: str) -> Actor:
    """Who records what a directory sign-in changed: the directory itself (``directory:ldap``)."""
    return Actor(username=f"directory:{source}")


def _end_memberships(*, actor: Actor, user: Any, day: dt.date) -> None:
    for m in Membership.objects.active_on(day).filter(user=user).select_related("unit", "user"):
        membership_end(actor=actor, membership=m, valid_to=day - ONE_DAY)


def directory_sign_in(*, person: DirectoryPerson) -> Any:
    """The account of a person the directory has just vouched for, brought in line with the directory.

    Creates the account on first sign-in (no local password), updates name and e-mail, and sets the
    membership the directory says on every sign-in: the 課 from the unit attribute or claim, the role from
    the groups. A person moved to another 課 gets a new membership from today and the old one ends
    yesterday (as an April reorganisation does); one whose 所属 is unknown here keeps no membership.
    Refused (PermissionDenied) when the person is in none of the allowed groups (their memberships end),
    or when the name belongs to a superuser (the break-glass account is never a directory account).
    """
    user_model = get_user_model()
    actor = directory_actor(person.source)
    today = timezone.localdate()
    if not is_allowed(person.groups):
        # Committed before refusing: whoever left the allowed groups keeps no membership here.
        with transaction.atomic():
            user = user_model.objects.select_for_update().filter(username=person.username).first()
            if user is not None and not user.is_superuser:
                _end_memberships(actor=actor, user=user, day=today)
                audit_record(
                    actor=actor,
                    action="auth.directory_refused",
                    obj=user,
                    changes={"username": person.username, "reason": "not in an allowed group"},
                )
        raise PermissionDenied(NOT_ALLOWED)
    with transaction.atomic():
        user = user_model.objects.select_for_update().filter(username=person.username).first()
        if user is not None and user.is_superuser:
            raise PermissionDenied("管理者アカウントはディレクトリからはログインできません。")
        if user is None:
            user = user_create(
                actor=actor, username=person.username, full_name=person.full_name, email=person.email
            )
        elif not user.is_active:
            raise PermissionDenied("このアカウントは無効にされています。データ戦略課に連絡してください。")
        else:
            _user_update(
                actor=actor, user=user, full_name=person.full_name or None, email=person.email or None
            )
        code = unit_code_for(person.unit_value)
        unit = Unit.objects.active_on(today).filter(code=code).first() if code else None
        if unit is not None:
            membership_set(
                actor=actor,
                user=user,
                unit=unit,
                role=role_for(person.groups),
                valid_from=today,
                rank=rank_for(person.groups),
            )
        else:
            logger.warning("directory 所属 %r of %s matches no unit", person.unit_value, person.username)
            _end_memberships(actor=actor, user=user, day=today)
    return user


# ---- API tokens ---------------------------------------------------------------------------------


def token_create(*, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token for the actor; returns it and the raw value (shown once, never stored)."""
    if actor.user_id is None:
        raise NotFound()
    name = name.strip()
    if not name:
        raise InvalidInput("トークンの名前を入力してください。", details={"name": "入力してください。"})
    if len(name) > 100:
        raise InvalidInput(
            "トークンの名前は100文字以内にしてください。", details={"name": "100文字以内にしてください。"}
        )
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user_id=actor.user_id, name=name, token_hash=hash_token(raw), prefix=raw[:8]
        )
        audit_record(
            actor=actor, action="token.create", obj=token, changes={"name": name, "prefix": token.prefix}
        )
    return token, raw


def token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens (others' tokens answer 404)."""
    if actor.user_id is None:
        raise NotFound("APIトークンが見つかりません。")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user_id=actor.user_id).first()
        if token is None:
            raise NotFound("APIトークンが見つかりません。")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="token.revoke", obj=token, changes={"name": token.name})
    return token


# ---- reorganisation -----------------------------------------------------------------------------


def organisation_import_apply(
    *,
    actor: Actor,
    org_file: Path,
    staff_file: Path | None = None,
    effective_date: dt.date,
    org_name: str | None = None,
    staff_name: str | None = None,
) -> OrgImportPreview:
    """Apply an organisation (and staff) list on ``effective_date`` in one transaction; refuse it whole on any error."""
    user_model = get_user_model()
    day, eve = effective_date, effective_date - ONE_DAY
    with transaction.atomic():
        # Planned again inside the transaction so the plan matches the database it changes.
        preview = organisation_import_preview(
            org_file=org_file,
            staff_file=staff_file,
            effective_date=day,
            org_name=org_name,
            staff_name=staff_name,
        )
        if preview.errors:
            raise InvalidInput(
                "組織表に誤りがあるため取り込みませんでした。", details=[str(e) for e in preview.errors]
            )
        if not preview.has_changes:
            return preview
        rows = {r.code: r for r in preview.units}
        units: dict[str, Unit] = {u.code: u for u in Unit.objects.active_on(day)}
        added = {a.code for a in preview.added}

        # 1. New units, parents first.
        pending = [r for r in preview.units if r.code in added]
        while pending:
            ready = [r for r in pending if not r.parent_code or r.parent_code in units]
            for r in ready:
                units[r.code] = unit_create(
                    actor=actor,
                    code=r.code,
                    name=r.name,
                    kind=r.kind,
                    parent=units.get(r.parent_code) if r.parent_code else None,
                    mailbox=r.mailbox or "",
                    phone=r.phone or "",
                    valid_from=day,
                )
            pending = [r for r in pending if r not in ready]
            assert ready or not pending, "parents were validated by the plan"

        # 2. Units that stay but change.
        for change in preview.changed:
            r = rows[change.code]
            unit_update(
                actor=actor,
                unit=units[r.code],
                name=r.name,
                kind=r.kind,
                parent=units[r.parent_code] if r.parent_code else None,
                mailbox=r.mailbox,
                phone=r.phone,
                effective_date=day,
            )

        # 3. Staff named in the list (before closures, so a closure moves only the others).
        for move in (m for m in preview.memberships if m.reason == "名簿"):
            staff = next(s for s in preview.staff if s.username == move.username)
            user = user_model.objects.filter(username=move.username).first()
            if user is None:
                user = user_create(
                    actor=actor, username=move.username, full_name=staff.name or "", email=staff.email or ""
                )
            else:
                _user_update(actor=actor, user=user, full_name=staff.name, email=staff.email)
            membership_set(
                actor=actor,
                user=user,
                unit=units[staff.unit_code],
                role=staff.role,
                valid_from=day,
                rank=staff.rank,
            )

        # 4. Closures, deepest first: datasets, grants and remaining staff go to the successor.
        depth = {c.code: Unit.objects.get(pk=c.unit_id).full_name.count(" ") for c in preview.closed}
        for closure in sorted(preview.closed, key=lambda c: -depth[c.code]):
            unit_close(
                actor=actor,
                unit=Unit.objects.get(pk=closure.unit_id),
                valid_to=eve,
                successor=units[closure.successor_code] if closure.successor_code else None,
            )

        audit_record(
            actor=actor,
            action="organisation.reorganise",
            object_type="access.organisation",
            object_id=day.isoformat(),
            object_repr=f"組織改正 {day.isoformat()}",
            changes={
                "effective_date": day.isoformat(),
                "files": [org_name or Path(org_file).name]
                + ([staff_name or Path(staff_file).name] if staff_file else []),
                "summary": preview.summary(),
                "added": [a.code for a in preview.added],
                "changed": {c.code: c.describe() for c in preview.changed},
                "closed": {c.code: c.successor_code for c in preview.closed},
                "memberships": [
                    f"{m.username}: {m.to_code or '-'} {role_label(m.role)}" for m in preview.memberships
                ],
            },
        )
    return preview
