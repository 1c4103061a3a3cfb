"""The one place where access is decided.

Everything — pages, API endpoints, listings, 絞り込み counts, exports, the Django admin — asks this
module, either per object (:func:`can`, :func:`access_dataset`) or per queryset (:func:`restrict`).
Both are derived from the same table, :data:`RULES`, so they cannot disagree.

An actor stands in one or more *standings* towards a dataset:

* ``anonymous`` — not signed in (the public);
* ``staff`` — any signed-in member of staff;
* ``owner`` — a member (any role) of the owning 課 or one of its 係;
* ``owner_editor`` — an 編集 (データ所有者) member of the owning 課;
* ``granted`` / ``granted_editor`` — holds a read / edit grant on the dataset (user or unit);
* ``admin`` — 管理 (データ戦略課) or a superuser;
* ``partner`` — an 外部協力者 (``access.Partner``) towards a dataset of its approved use, while its
  period runs. A partner holds no other standing (not even ``staff``) and reaches only
  :data:`PARTNER_ROUTES` (``access.partners``).

A dataset is described by its classification and personal-data class (and, for 機密, whether its
owner lets staff discover it). An action is allowed when any of the actor's standings allows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from machidata.access.models import Classification, Membership, PersonalData, Role, StaffRank, Unit, UnitKind
from machidata.core.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from machidata.catalog.models import Dataset


class Action(StrEnum):
    """What an actor wants to do with a dataset."""

    DISCOVER = "discover"  # see that it exists: title, owner, contact, description
    READ = "read"  # preview, query, download the data
    EDIT = "edit"  # change metadata, upload versions, retire
    ADMINISTER = "administer"  # classification overrides, grants, ownership transfer, Django admin


class Standing(StrEnum):
    """How an actor relates to one dataset."""

    ANONYMOUS = "anonymous"
    STAFF = "staff"
    OWNER = "owner"
    OWNER_EDITOR = "owner_editor"
    GRANTED = "granted"
    GRANTED_EDITOR = "granted_editor"
    ADMIN = "admin"
    PARTNER = "partner"


C = Classification
P = PersonalData
A = Action
S = Standing

ALL_CLASSIFICATIONS: Final = tuple(C)
ALL_PERSONAL: Final = tuple(P)
# Personal data that only its owner (and those granted) may read, whatever the classification:
# 個人情報 is used within the purpose it was collected for (個人情報保護法 第69条).
RESTRICTED_PERSONAL: Final = frozenset({P.PERSONAL, P.SENSITIVE, P.PSEUDONYMISED})
# What an 外部協力者 may read of its approved use: de-identified data only (仮名加工・匿名加工情報).
DEIDENTIFIED: Final = frozenset({P.PSEUDONYMISED, P.ANONYMISED})


@dataclass(frozen=True)
class Subject:
    """The properties of a dataset the policy looks at."""

    classification: str
    personal_data: str
    discoverable: bool = False


def decide(standing: Standing, action: Action, subject: Subject) -> bool:  # noqa: PLR0911 - one branch per standing reads as the table it is
    """The policy table: may an actor in ``standing`` perform ``action`` on ``subject``?"""
    c, p = subject.classification, subject.personal_data
    personal = p in RESTRICTED_PERSONAL
    if standing is S.ANONYMOUS:
        return action in {A.DISCOVER, A.READ} and c == C.PUBLIC and not personal
    if standing is S.STAFF:
        if action is A.DISCOVER:
            return c != C.CONFIDENTIAL or subject.discoverable
        if action is A.READ:
            return c in {C.PUBLIC, C.INTERNAL} and not personal
        return False
    if standing is S.OWNER or standing is S.GRANTED:
        return action in {A.DISCOVER, A.READ}
    if standing is S.OWNER_EDITOR or standing is S.GRANTED_EDITOR:
        return action in {A.DISCOVER, A.READ, A.EDIT}
    if standing is S.ADMIN:
        # 管理 administers every entry's metadata, but reads 機密 or personal data only with a grant.
        if action is A.READ:
            return c != C.CONFIDENTIAL and not personal
        return True
    if standing is S.PARTNER:
        return action in {A.DISCOVER, A.READ} and p in DEIDENTIFIED
    raise ValueError(standing)  # pragma: no cover - exhaustive over Standing


def all_subjects() -> list[Subject]:
    """Every distinct kind of dataset the policy distinguishes (for tests and query building)."""
    subjects = []
    for c in ALL_CLASSIFICATIONS:
        for p in ALL_PERSONAL:
            for discoverable in (False, True) if c == C.CONFIDENTIAL else (False,):
                subjects.append(Subject(c.value, p.value, discoverable))
    return subjects


@dataclass(frozen=True)
class Actor:
    """The requesting person (or the anonymous public), resolved once per request."""

    user_id: int | None = None
    username: str = ""
    is_admin: bool = False
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    editor_unit_ids: frozenset[int] = field(default_factory=frozenset)
    manager_unit_ids: frozenset[int] = field(default_factory=frozenset)  # where the person is 管理職
    # An 外部協力者: the approved use it is scoped to, that use's datasets (empty once the period is
    # over or the account ended), whether it may be used today, and its period in words.
    partner_use_id: int | None = None
    partner_dataset_ids: frozenset[int] = field(default_factory=frozenset)
    partner_open: bool = False
    partner_period: str = ""

    @property
    def is_partner(self) -> bool:
        """Whether this is an 外部協力者 (not staff: no page or list of the city's beyond its use)."""
        return self.partner_use_id is not None

    @property
    def is_authenticated(self) -> bool:
        """Whether this is a signed-in member of staff."""
        return self.user_id is not None

    def label(self) -> str:
        """How the actor appears in logs and the audit trail."""
        return self.username or "anonymous"


ANONYMOUS: Final = Actor()


_UnitTree = dict[int, tuple[int | None, str]]  # unit id → (parent id, kind), the units active on a day


def _unit_tree(day: dt.date) -> _UnitTree:
    """The units active on ``day`` as plain tuples (one query; an actor needs it twice)."""
    return {uid: (parent, kind) for uid, parent, kind in
            Unit.objects.active_on(day).values_list("id", "parent_id", "kind")}  # fmt: skip


def _section_scope(unit_ids: Iterable[int], day: dt.date, units: _UnitTree | None = None) -> set[int]:
    """Expand units to their 課 and all its 係: a 係 member belongs to the owning 課 and vice versa."""
    units = _unit_tree(day) if units is None else units
    scope: set[int] = set()
    for uid in unit_ids:
        if uid not in units:
            continue
        # climb from a 係 to its 課
        root = uid
        parent, kind = units[root]
        while kind == UnitKind.SECTION and parent is not None and parent in units:
            root = parent
            parent, kind = units[root]
        scope.add(root)
        frontier = [root]
        while frontier:
            parent = frontier.pop()
            for child, (child_parent, kind) in units.items():
                if child_parent == parent and kind == UnitKind.SECTION and child not in scope:
                    scope.add(child)
                    frontier.append(child)
    return scope


def actor_for(user: Any, *, day: dt.date | None = None) -> Actor:
    """Resolve a Django user (or AnonymousUser/None) into an Actor with today's memberships."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    day = day or timezone.localdate()
    partner = _partner_actor(user, day)
    if partner is not None:
        return partner
    memberships = list(
        Membership.objects.active_on(day).filter(user=user).values_list("unit_id", "role", "rank")
    )
    is_admin = bool(user.is_superuser) or any(role == Role.ADMIN for _, role, _ in memberships)
    units = _unit_tree(day) if memberships else {}
    unit_ids = _section_scope((uid for uid, _, _ in memberships), day, units)
    editor_ids = _section_scope((uid for uid, role, _ in memberships if role == Role.EDITOR), day, units)
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        is_admin=is_admin,
        unit_ids=frozenset(unit_ids),
        editor_unit_ids=frozenset(editor_ids),
        manager_unit_ids=frozenset(uid for uid, _, rank in memberships if rank == StaffRank.MANAGER),
    )


def _partner_actor(user: Any, day: dt.date) -> Actor | None:
    """An 外部協力者's actor: no membership, no 管理 (whatever the user record says), its use's datasets."""
    from machidata.access.models import Partner

    partner = Partner.objects.filter(user_id=user.pk).first()
    if partner is None:
        return None
    is_open = partner.is_open(day)
    ids = frozenset(partner.use.datasets.values_list("pk", flat=True)) if is_open else frozenset()
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        partner_use_id=partner.use_id,
        partner_dataset_ids=ids,
        partner_open=is_open,
        partner_period=f"{partner.starts_on:%Y-%m-%d}〜{partner.ends_on:%Y-%m-%d}",
    )


# Q() is "no condition" but vanishes when OR-ed (Q(x) | Q() == Q(x)), so "every row" is spelled out.
_EVERY_ROW: Final = Q(pk__isnull=False)
_NO_ROW: Final = Q(pk__in=[])


def _standings_q(actor: Actor) -> dict[Standing, Q]:
    """For each standing the actor may hold, the condition on a dataset row that gives it."""
    from machidata.catalog.models import DatasetGrant, GrantLevel

    if not actor.is_authenticated:
        return {S.ANONYMOUS: _EVERY_ROW}
    if actor.is_partner:
        return {S.PARTNER: Q(pk__in=sorted(actor.partner_dataset_ids))}
    today = timezone.localdate()
    grants = DatasetGrant.objects.filter(dataset=OuterRef("pk")).filter(
        Q(user_id=actor.user_id) | Q(unit_id__in=actor.unit_ids),
        Q(expires_on__isnull=True) | Q(expires_on__gte=today),
    )
    standings: dict[Standing, Q] = {
        S.STAFF: _EVERY_ROW,
        S.OWNER: Q(owner_id__in=actor.unit_ids),
        S.OWNER_EDITOR: Q(owner_id__in=actor.editor_unit_ids),
        S.GRANTED: Q(Exists(grants)),
        S.GRANTED_EDITOR: Q(Exists(grants.filter(level=GrantLevel.EDIT))),
    }
    if actor.is_admin:
        standings[S.ADMIN] = _EVERY_ROW
    return standings


def _subject_q(subject: Subject) -> Q:
    q = Q(classification=subject.classification, personal_data=subject.personal_data)
    if subject.classification == C.CONFIDENTIAL:
        q &= Q(discoverable=subject.discoverable)
    return q


def dataset_q(actor: Actor, action: Action) -> Q:
    """A filter on Dataset that keeps exactly the rows ``actor`` may ``action`` (built from :func:`decide`)."""
    allowed = _NO_ROW
    subjects = all_subjects()
    for standing, where in _standings_q(actor).items():
        ok = [s for s in subjects if decide(standing, action, s)]
        if not ok:
            continue
        if len(ok) == len(subjects):
            allowed |= where
            continue
        kinds = _NO_ROW
        for s in ok:
            kinds |= _subject_q(s)
        allowed |= where & kinds
    return allowed


def restrict(queryset: QuerySet[Dataset], actor: Actor, action: Action) -> QuerySet[Dataset]:
    """Restrict a Dataset queryset to what ``actor`` may ``action``."""
    return queryset.filter(dataset_q(actor, action))


def restrict_related(queryset: QuerySet[Any], actor: Actor, action: Action, *, via: str) -> QuerySet[Any]:
    """Restrict any queryset whose rows belong to a dataset reached through the lookup ``via``."""
    from machidata.catalog.models import Dataset

    return queryset.filter(**{f"{via}__in": restrict(Dataset.objects.all(), actor, action).values("pk")})


def restrict_owned(
    queryset: QuerySet[Any], actor: Actor, *, owner_field: str = "created_by"
) -> QuerySet[Any]:
    """Records that belong to a person (jobs, requests, tokens): their owner and 管理 see them, nobody else."""
    if not actor.is_authenticated or actor.is_partner:
        return queryset.none()
    if actor.is_admin:
        return queryset
    return queryset.filter(**{f"{owner_field}_id": actor.user_id})


def restrict_routed(
    queryset: QuerySet[Any], actor: Actor, *, owner_field: str = "created_by", unit_field: str = "unit"
) -> QuerySet[Any]:
    """Records a person files and 管理 routes to a 課 (data requests): the filer, the routed 課 and 管理 see them.

    "The routed 課" is the owner standing: any member of that 課 or one of its 係 (as for datasets).
    """
    if not actor.is_authenticated or actor.is_partner:
        return queryset.none()
    if actor.is_admin:
        return queryset
    return queryset.filter(
        Q(**{f"{owner_field}_id": actor.user_id}) | Q(**{f"{unit_field}_id__in": actor.unit_ids})
    )


def restrict_unit_owned(queryset: QuerySet[Any], actor: Actor, *, unit_field: str = "unit") -> QuerySet[Any]:
    """Records that belong to a 課 (consultations): its members (係 included) and 管理 see them, nobody else."""
    if not actor.is_authenticated or actor.is_partner:
        return queryset.none()
    if actor.is_admin:
        return queryset
    return queryset.filter(**{f"{unit_field}_id__in": actor.unit_ids})


def unit_scope(unit_id: int, *, day: dt.date | None = None) -> set[int]:
    """The units whose members hold the owner standing towards ``unit_id``: its 課 and every 係 of it."""
    return _section_scope([unit_id], day or timezone.localdate())


def unit_member(unit_id: int, *, day: dt.date | None = None) -> Actor:
    """An ordinary member of a 課 (一般職, 閲覧, no grants of their own): what every member of it may do.

    For checks made on a 課's behalf, e.g. whether the charts copied to it (横展開) read tables its
    members can read; it signs nothing in and matches no person's own grants.
    """
    return Actor(user_id=0, username=f"unit:{unit_id}", unit_ids=frozenset(unit_scope(unit_id, day=day)))


def system_actor(name: str) -> Actor:
    """The actor recorded for work nobody signed in did (recovery, schedules, demo loading)."""
    return Actor(username=f"system:{name}")


_GRANT_STANDINGS = (S.GRANTED, S.GRANTED_EDITOR)


def _held_without_grants(actor: Actor, dataset: Dataset) -> set[Standing]:
    """The standings ``actor`` holds towards ``dataset`` that need no query (all but the grants)."""
    if not actor.is_authenticated:
        return {S.ANONYMOUS}
    if actor.is_partner:
        return {S.PARTNER} if dataset.pk in actor.partner_dataset_ids else set()
    held = {S.STAFF}
    if dataset.owner_id in actor.unit_ids:
        held.add(S.OWNER)
    if dataset.owner_id in actor.editor_unit_ids:
        held.add(S.OWNER_EDITOR)
    if actor.is_admin:
        held.add(S.ADMIN)
    return held


def _held_grants(actor: Actor, dataset: Dataset) -> set[Standing]:
    """The grant standings (利用申請 read / edit) ``actor`` holds towards ``dataset``: one query for both."""
    from machidata.catalog.models import Dataset

    if not actor.is_authenticated or actor.is_partner:
        return set()
    base = _standings_q(actor)
    row = (
        Dataset.objects.filter(pk=dataset.pk)
        .values_list(*(ExpressionWrapper(base[s], output_field=BooleanField()) for s in _GRANT_STANDINGS))
        .first()
    )
    return {s for s, held in zip(_GRANT_STANDINGS, row or (), strict=False) if held}


def standings_of(actor: Actor, dataset: Dataset) -> set[Standing]:
    """The standings ``actor`` holds towards one dataset (evaluated in Python, same rules)."""
    return _held_without_grants(actor, dataset) | _held_grants(actor, dataset)


def subject_of(dataset: Dataset) -> Subject:
    """The policy-relevant properties of a dataset."""
    return Subject(dataset.classification, dataset.personal_data, bool(dataset.discoverable))


def can(actor: Actor, action: Action, dataset: Dataset) -> bool:
    """Whether ``actor`` may perform ``action`` on ``dataset``."""
    subject = subject_of(dataset)
    if any(decide(s, action, subject) for s in _held_without_grants(actor, dataset)):
        return True
    # The grants are asked only when one could allow what nothing else did (a query; most checks skip it).
    if not any(decide(s, action, subject) for s in _GRANT_STANDINGS):
        return False
    return any(decide(s, action, subject) for s in _held_grants(actor, dataset))


def allowed_actions(actor: Actor, dataset: Dataset) -> set[Action]:
    """Every action ``actor`` may perform on ``dataset`` (for showing buttons)."""
    subject = subject_of(dataset)
    held = standings_of(actor, dataset)
    return {a for a in Action if any(decide(s, a, subject) for s in held)}


def access_dataset(
    actor: Actor, action: Action, *, slug: str | None = None, pk: int | None = None
) -> Dataset:
    """Fetch one dataset for ``action``: 404 when missing or not discoverable, 403 when seen but not allowed."""
    from machidata.catalog.models import Dataset

    lookup: dict[str, Any] = {"slug": slug} if slug is not None else {"pk": pk}
    # One row by its key, then the same table in Python (``can`` agrees with ``restrict`` row for row:
    # the matrix tests hold them to it); building ``restrict``'s filter cost more than the query.
    try:
        dataset = Dataset.objects.select_related("owner").get(**lookup)
    except (Dataset.DoesNotExist, ValueError):
        raise NotFound("データセットが見つかりません。") from None
    if not can(actor, A.DISCOVER, dataset):
        raise NotFound("データセットが見つかりません。")
    if action is not A.DISCOVER and not can(actor, action, dataset):
        raise PermissionDenied()
    return dataset


def expired_grant_refusal(actor: Actor, dataset: Dataset) -> str:
    """When ``actor`` may not read ``dataset`` but held a read grant on it that has ended (a 利用申請's
    end date passed): say so in Japanese and audit the attempt (``access.grant_expired``); else "".

    Callers that refuse a READ ask this first, so the person learns why and how to renew.
    """
    from django.db import transaction

    from machidata.audit.services import audit_record
    from machidata.catalog.models import DatasetGrant

    if not actor.is_authenticated or actor.is_partner:
        return ""
    grant = (
        DatasetGrant.objects.filter(dataset_id=dataset.pk, expires_on__lt=timezone.localdate())
        .filter(Q(user_id=actor.user_id) | Q(unit_id__in=actor.unit_ids))
        .order_by("-expires_on")
        .first()
    )
    if grant is None or grant.expires_on is None:
        return ""
    with transaction.atomic():
        audit_record(actor=actor, action="access.grant_expired", obj=dataset,
                     changes={"grant": grant.pk, "expired_on": grant.expires_on.isoformat()})  # fmt: skip
    return (f"このデータの利用の許可は {grant.expires_on:%Y-%m-%d} で終わりました。続けて使うときは、"
            "利用申請の画面から更新を申請してください。")  # fmt: skip


def require_admin(actor: Actor) -> None:
    """Refuse anyone but 管理 (データ戦略課): answers 404 so admin pages do not reveal themselves."""
    if not actor.is_admin:
        raise NotFound()


def may_create_dataset(actor: Actor, owner_id: int) -> bool:
    """An 編集 member may register entries for their own 課; 管理 for any 課."""
    return actor.is_admin or owner_id in actor.editor_unit_ids


def require_manager_of(actor: Actor, unit_ids: Iterable[int]) -> None:
    """Refuse anyone but 管理 and 管理職 of one of ``unit_ids`` (e.g. a 局's units): answers 404."""
    if actor.is_admin:
        return
    if not actor.is_authenticated or not actor.manager_unit_ids & set(unit_ids):
        raise NotFound()


def restrict_shared(
    queryset: QuerySet[Any],
    actor: Actor,
    *,
    owner_field: str = "owner",
    unit_field: str = "unit",
    sharing_field: str = "sharing",
) -> QuerySet[Any]:
    """Things a person makes and shares (charts): the owner, their 課 when shared with it, all staff when shared so, and 管理.

    Callers still check the data underneath (e.g. READ on a chart's table) with :func:`restrict_related`.
    """
    if not actor.is_authenticated or actor.is_partner:
        return queryset.none()
    if actor.is_admin:
        return queryset
    return queryset.filter(
        Q(**{f"{owner_field}_id": actor.user_id})
        | Q(**{sharing_field: "department", f"{unit_field}_id__in": actor.unit_ids})
        | Q(**{sharing_field: "staff"})
    )


def may_edit_unit_record(actor: Actor, unit_id: int) -> bool:
    """Records a 課 keeps for itself (surveys): its 編集 members edit, and so does a 管理 member of that 課."""
    if not actor.is_authenticated:
        return False
    return unit_id in actor.editor_unit_ids or (actor.is_admin and unit_id in actor.unit_ids)


def is_unit_member(actor: Actor, unit_id: int) -> bool:
    """Whether ``actor`` belongs to the 課 ``unit_id`` (or one of its 係): what leaves the 課 is anything else."""
    return actor.is_authenticated and unit_id in actor.unit_ids


def restrict_staff(queryset: QuerySet[Any], actor: Actor) -> QuerySet[Any]:
    """Records shared across the city (EBPM projects and logic models): every signed-in member of staff."""
    if not actor.is_authenticated or actor.is_partner:
        return queryset.none()
    return queryset


def may_edit_unit_owned(actor: Actor, unit_id: int | None) -> bool:
    """Records a 課 owns and keeps up to date (EBPM projects): its 編集 members (係 included) and 管理."""
    return actor.is_admin or (unit_id is not None and unit_id in actor.editor_unit_ids)


# ---- 仮名加工情報 (pseudonymised data) never leaves the platform -----------------------------------------
# 個人情報保護法第73条: 仮名加工情報 is not provided to anyone outside, not used to re-identify, and
# not combined with other information for that purpose. Its owner and approved uses read it here
# (RESTRICTED_PERSONAL above); nobody downloads or exports it and the publication gates never pass it.
PSEUDONYMISED_DOWNLOAD_REFUSED: Final = (
    "仮名加工情報の表はダウンロード・書き出しができません（個人情報保護法第73条: 庁外に出さない）。"
    "まちデータの中で集計・分析してください。"
)


def is_pseudonymised(dataset: Dataset) -> bool:
    """Whether the dataset holds 仮名加工情報."""
    return bool(dataset.personal_data == P.PSEUDONYMISED)


def may_download(dataset: Dataset) -> bool:
    """Whether the data of ``dataset`` may leave the platform as a file (READ is checked separately)."""
    return not is_pseudonymised(dataset)


def contract_publish_refusal(contract: Any) -> str:
    """Why terms (whatever the date) forbid publication, in Japanese; "" if they allow it.

    Publication hands the data to anyone, so terms that name the units or staff who may use the data
    cannot be published (the one rule: a published dataset's anonymous downloads are never refused
    by a list of users; ``privacy.contracts.contract_set`` refuses to name users while it is public).
    """
    from machidata.access.models import ContractKind, Rights

    if contract.kind == ContractKind.PAID and not contract.publication_allowed:
        return f"このデータ（{contract.get_kind_display()}）は契約が公開を認めていないため、公開できません。"
    if contract.kind == ContractKind.COMMISSIONED and contract.rights != Rights.CITY:
        rights = contract.get_rights_display() or "未記入"
        return f"この委託成果物は権利が市に帰属していない（{rights}）ため、公開できません。"
    if contract.pk and (contract.permitted_units.exists() or contract.permitted_users.exists()):
        return (f"このデータ（{contract.get_kind_display()}）は契約で利用できる課・職員が決まっているため、"
                "公開できません（公開するとだれでも使えます）。公開するなら、契約の「利用できる課・職員」を外してください。")  # fmt: skip
    return ""


def _contract_user_refusal(contract: Any, actor: Actor | None) -> str:
    units = set(contract.permitted_units.values_list("pk", flat=True))
    users = set(contract.permitted_users.values_list("pk", flat=True))
    if (not units and not users) or (
        actor is not None and (actor.user_id in users or units & set(actor.unit_ids))
    ):
        return ""
    return (f"このデータ（{contract.get_kind_display()}）は契約で利用できる課・職員が決まっているため、あなたは"
            "ダウンロード・書き出しできません。所管課に問い合わせてください。")  # fmt: skip


def contract_refusal(actor: Actor | None, dataset: Dataset, *, use: str = "download",
                     day: dt.date | None = None) -> str:  # fmt: skip
    """Why the dataset's contract (paid data, 委託成果物) forbids ``use`` now, in Japanese; "" if it allows.

    ``use``: "download" (downloads and every export: table, query, chart, analysis) — refused outside
    the contract's term and, when the contract names units or staff, to anyone else (管理 included: a
    licence binds the city's users, not roles); "publish" — refused for paid data whose contract does
    not allow publication, for a 委託成果物 whose rights are not the city's, and outside the term.
    """
    from machidata.access.models import DatasetContract

    contract = DatasetContract.objects.filter(dataset_id=dataset.pk).first()
    if contract is None:
        return ""
    today = day or timezone.localdate()
    if (contract.term_start and today < contract.term_start) or (
        contract.term_end and today > contract.term_end
    ):
        period = f"{contract.term_start or ''}〜{contract.term_end or ''}"
        verb = "公開できません" if use == "publish" else "ダウンロード・書き出しできません"
        return (f"このデータ（{contract.get_kind_display()}）は契約期間（{period}）の外のため、{verb}。"
                "所管課に契約を確かめてください。")  # fmt: skip
    if use == "publish":
        return contract_publish_refusal(contract)
    return _contract_user_refusal(contract, actor)


def is_privacy_officer(actor: Actor) -> bool:
    """The privacy officer (個人情報保護担当): an 編集 member, or a 管理 member, of the unit whose code is
    ``MACHIDATA_PRIVACY_UNIT_CODE`` (the unit the publication route consults on personal data).

    Only they see the 加工方法等情報 and the keys of 仮名加工 (``machidata.deid``).
    """
    from django.conf import settings

    code = str(getattr(settings, "MACHIDATA_PRIVACY_UNIT_CODE", "") or "")
    if not actor.is_authenticated or not code:
        return False
    unit_id = Unit.objects.active_on().filter(code=code).values_list("pk", flat=True).first()
    if unit_id is None:
        return False
    return unit_id in actor.editor_unit_ids or (actor.is_admin and unit_id in actor.unit_ids)


# ---- 外部協力者 (partners): the only pages and API operations they reach -------------------------------
# Everything else answers 404 to a partner (and is audited, ``access.partner_refused``), whatever the
# page would show a signed-in member of staff: the catalog list, search, dashboards, charts, portal
# staff pages, every API list. On the pages below the policy above decides per dataset.
PARTNER_ROUTES: Final = frozenset(
    {
        "login",
        "logout",
        "partners:home",
        "catalog:detail",
        "catalog:table_detail",
        "catalog:table_download",
    }
)
PARTNER_API: Final = frozenset(
    {
        ("GET", "api/v1/datasets/<slug>"),
        ("GET", "api/v1/datasets/<slug>/tables"),
        ("GET", "api/v1/datasets/<slug>/tables/<name>"),
        ("GET", "api/v1/datasets/<slug>/tables/<name>/versions"),
        ("GET", "api/v1/datasets/<slug>/tables/<name>/rows"),
        ("GET", "api/v1/datasets/<slug>/tables/<name>/download"),
    }
)
PARTNER_EXPIRED: Final = (
    "外部協力者としての利用期間（{period}）が終わったか、アカウントが終了されたため、まちデータは使えません。"
    "引き続き利用するときは、市の担当課（データ戦略課または個人情報保護担当）に延長を依頼してください。"
)
PARTNER_OUTSIDE: Final = "外部協力者は、承認された利用の対象の仮名加工・匿名加工のデータだけを見られます。ほかのページ・データは使えません。"


def partner_may_reach(method: str, view_name: str, route: str) -> bool:
    """Whether an 外部協力者 may reach a page (by URL name) or API operation (by method and route)."""
    if route.startswith("api/"):
        return (method.upper(), route) in PARTNER_API
    return view_name in PARTNER_ROUTES
