"""Approval routes (決裁ルート): an ordered list of steps, each resolved to who may act.

Used by every room that needs a 決裁 (publication, 利用申請 in ``privacy``, the EBPM public pages): a
route is read from a setting (``MACHIDATA_PUBLICATION_ROUTES``: route name → list of steps; a room
passes its own setting and defaults to :func:`routes`), resolved once when a request
is filed (so a later change of the setting does not move requests already on their way), and each
step is checked with :func:`may_act`. A step is a dict:

* ``key`` — a stable name (``head``, ``strategy``, ``privacy`` …), ``label`` — Japanese, shown on pages;
* ``who`` — ``unit_head`` (the 課長 of the owning 課, or their 代決者), ``admin`` (データ戦略課,
  the 管理 role), ``privacy_unit`` (members of the unit whose code is ``MACHIDATA_PRIVACY_UNIT_CODE``),
  or ``unit:<code>`` (members of that unit);
* for 利用申請 (``machidata.privacy``): ``requester_head`` (the 課長 of the requester's 課, or their
  代決者; stored resolved as ``unit_head`` of that 課) and ``owner_editor`` (the owning 課's 課長/代決者
  or any of its 編集 members; stored as ``unit_editor``);
* ``when`` (optional) — ``personal_data``: the step is kept only when the request touches personal data
  (the dataset's personal-data class is not なし, or the ingestion screen flagged a column).

Rules every route obeys: the requester never acts on their own request; one person acts on at most
one step of a request (so a route of n steps involves n + 1 different people, at least two); a
deputy's decision is recorded with the 課長 it stands for (``on_behalf_of``). What the rooms' requests
share beyond these rules (taking a request back, the notices after a decision) is in
:mod:`machidata.access.route_requests`.

The organisation model has no 課長: :class:`~machidata.access.models.ApproverDesignation` names the
課長 and 代決者 of a unit (effective-dated, edited in the admin), leaving memberships untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.contrib.auth import get_user_model

from machidata.access.models import ApproverDesignation, DesignationKind, Membership, Role, Unit
from machidata.access.policy import Actor, unit_scope
from machidata.core.errors import InvalidInput, PermissionDenied

WHO_KINDS: Final = ("unit_head", "admin", "privacy_unit", "requester_head", "owner_editor")
CONDITIONS: Final = ("personal_data",)

DEFAULT_ROUTES: Final[dict[str, list[dict[str, str]]]] = {
    # The full route: the owning 課長 decides, データ戦略課 checks, 個人情報 is consulted when needed.
    "full": [
        {"key": "head", "label": "所管課長の決裁", "who": "unit_head"},
        {"key": "strategy", "label": "データ戦略課の確認", "who": "admin"},
        {"key": "privacy", "label": "個人情報担当への協議", "who": "privacy_unit", "when": "personal_data"},
    ],
    # A routine update of a table already public with the same columns: データ戦略課 confirms the gates.
    "routine": [{"key": "strategy", "label": "データ戦略課の確認（定例更新）", "who": "admin"}],
    # Withdrawal (非公開化): the owning 課長 decides.
    "withdraw": [{"key": "head", "label": "所管課長の決裁（非公開化）", "who": "unit_head"}],
}


@dataclass(frozen=True)
class Step:
    """One resolved step: who may act is named by ``who`` and, for unit-bound steps, ``unit_id``."""

    key: str
    label: str
    who: str
    unit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored on the request."""
        return {"key": self.key, "label": self.label, "who": self.who, "unit_id": self.unit_id}


def routes(
    setting: str = "MACHIDATA_PUBLICATION_ROUTES", defaults: dict[str, list[dict[str, str]]] | None = None
) -> dict[str, list[dict[str, str]]]:
    """The configured routes (the setting overrides the defaults route by route)."""
    configured = getattr(settings, setting, None) or {}
    merged = dict(DEFAULT_ROUTES if defaults is None else defaults)
    merged.update(configured)
    return merged


def validate_route(name: str, steps: list[dict[str, str]]) -> None:
    """Refuse a malformed route with a Japanese message (checked when a request is filed and in a test)."""
    if not steps:
        raise InvalidInput(f"決裁ルート「{name}」に段階がありません。")
    keys = [s.get("key", "") for s in steps]
    if len(set(keys)) != len(keys) or not all(keys):
        raise InvalidInput(f"決裁ルート「{name}」の段階の名前（key）が空か重複しています。")
    for s in steps:
        who = s.get("who", "")
        if who not in WHO_KINDS and not who.startswith("unit:"):
            raise InvalidInput(
                f"決裁ルート「{name}」の段階「{s.get('key')}」の担当者の指定「{who}」が不明です。"
            )
        if s.get("when") and s["when"] not in CONDITIONS:
            raise InvalidInput(
                f"決裁ルート「{name}」の段階「{s.get('key')}」の条件「{s['when']}」が不明です。"
            )


def _unit_by_code(code: str) -> Unit:
    unit = Unit.objects.active_on().filter(code=code).first()
    if unit is None:
        raise InvalidInput(
            f"決裁ルートの担当課（所属コード {code}）が組織にありません。設定を確認してください。"
        )
    return unit


def resolve(
    name: str,
    *,
    owner_unit_id: int,
    personal_data: bool,
    table: dict[str, list[dict[str, str]]] | None = None,
    requester_unit_id: int | None = None,
) -> list[Step]:
    """The steps of route ``name`` (from ``table``, default the publication routes) for data owned by ``owner_unit_id``."""
    table = routes() if table is None else table
    if name not in table:
        raise InvalidInput(f"決裁ルート「{name}」は設定されていません。")
    validate_route(name, table[name])
    steps: list[Step] = []
    for s in table[name]:
        if s.get("when") == "personal_data" and not personal_data:
            continue
        who = s["who"]
        unit_id: int | None = None
        if who == "unit_head":
            unit_id = owner_unit_id
        elif who == "requester_head":
            if requester_unit_id is None:
                raise InvalidInput("申請者の所属（課）が登録されていないため、課長の決裁を回せません。")
            who, unit_id = "unit_head", requester_unit_id
        elif who == "owner_editor":
            who, unit_id = "unit_editor", owner_unit_id
        elif who == "privacy_unit":
            code = str(settings.MACHIDATA_PRIVACY_UNIT_CODE or "")
            if not code:
                raise InvalidInput(
                    "個人情報を含む申請ですが、協議先の個人情報担当の課が設定されていません"
                    "（MACHIDATA_PRIVACY_UNIT_CODE）。データ戦略課にご連絡ください。"
                )
            unit_id = _unit_by_code(code).pk
        elif who.startswith("unit:"):
            unit_id = _unit_by_code(who.removeprefix("unit:")).pk
        steps.append(Step(key=s["key"], label=s.get("label") or s["key"], who=who, unit_id=unit_id))
    return steps


def head_of(unit_id: int) -> Any:
    """The designated 課長 of ``unit_id`` today (a User), or None."""
    d = (
        ApproverDesignation.objects.active_on()
        .filter(unit_id=unit_id, kind=DesignationKind.HEAD)
        .select_related("user")
        .first()
    )
    return d.user if d is not None else None


def may_act(actor: Actor, step: dict[str, Any]) -> tuple[bool, int | None]:  # noqa: PLR0911 - one answer per kind of step
    """Whether ``actor`` may decide ``step``; the second value is the 課長's user id when acting as 代決者."""
    if not actor.is_authenticated:
        return False, None
    who, unit_id = step["who"], step.get("unit_id")
    if who == "admin":
        return actor.is_admin, None
    if who == "unit_head":
        if unit_id is None or actor.user_id is None:
            return False, None
        mine = ApproverDesignation.objects.active_on().filter(unit_id=int(unit_id), user_id=actor.user_id)
        if mine.filter(kind=DesignationKind.HEAD).exists():
            return True, None
        if mine.filter(kind=DesignationKind.DEPUTY).exists():
            head = head_of(int(unit_id)) if unit_id is not None else None
            return True, (head.pk if head is not None else None)
        return False, None
    if who == "unit_editor":
        if unit_id is None or actor.user_id is None:
            return False, None
        if int(unit_id) in actor.editor_unit_ids:
            return True, None
        return may_act(actor, {"who": "unit_head", "unit_id": unit_id})
    # a unit-bound step: any member of that 課 or its 係
    return bool(unit_id is not None and actor.unit_ids & unit_scope(int(unit_id))), None


def check_decider(
    actor: Actor,
    step: dict[str, Any],
    *,
    requested_by_id: int | None,
    approving: bool,
    approved_before: bool,
    noun: str = "申請",
) -> int | None:
    """The rules every route obeys when someone decides a request's current ``step`` (refused in Japanese):
    the requester never decides their own request, only who may act on the step does, and one person
    approves at most one step. Returns the 課長's user id when ``actor`` acts as their 代決者."""
    if actor.user_id == requested_by_id:
        raise PermissionDenied(f"自分の{noun}は決裁できません（申請者とは別の人が決裁します）。")
    allowed, on_behalf = may_act(actor, step)
    if not allowed:
        names = "、".join(candidates(step)) or "指定された担当者"
        raise PermissionDenied(f"「{step['label']}」を決裁できるのは {names} です。")
    if approving and approved_before:
        raise PermissionDenied("同じ人が2つの段階を承認することはできません（2人以上で決裁します）。")
    return on_behalf


def candidate_ids(step: dict[str, Any]) -> list[int]:
    """User ids of the people who may act on ``step`` today (active accounts)."""
    who, unit_id = step["who"], step.get("unit_id")
    ids: list[int]
    if who == "admin":
        ids = list(Membership.objects.active_on().filter(role=Role.ADMIN).values_list("user_id", flat=True))
    elif who == "unit_head":
        heads = ApproverDesignation.objects.active_on().filter(unit_id=int(unit_id or 0))
        ids = list(heads.values_list("user_id", flat=True))
    elif who == "unit_editor":
        heads = ApproverDesignation.objects.active_on().filter(unit_id=int(unit_id or 0))
        editors = Membership.objects.active_on().filter(
            unit_id__in=unit_scope(int(unit_id or 0)), role=Role.EDITOR
        )
        ids = list(heads.values_list("user_id", flat=True)) + list(editors.values_list("user_id", flat=True))
    else:
        scope = unit_scope(int(unit_id)) if unit_id is not None else set()
        ids = list(Membership.objects.active_on().filter(unit_id__in=scope).values_list("user_id", flat=True))
    return list(
        get_user_model()
        .objects.filter(pk__in=ids, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def candidates(step: dict[str, Any]) -> list[str]:
    """Names of the people who may act on ``step`` today (shown as 「誰の番か」)."""
    users = get_user_model().objects.filter(pk__in=candidate_ids(step)).order_by("pk")
    return [u.get_full_name() or u.get_username() for u in users]
