"""Planning a reorganisation: compare the lists with the organisation in force and say what would change.

Nothing here writes. :func:`plan_import` returns an :class:`OrgImportPreview`; the service
``organisation_import_apply`` recomputes it inside its transaction and carries it out.

Renames, moves and contact changes keep the unit's row (memberships, datasets and grants stay
attached; the old values are in the audit trail). New codes start on the effective date; codes
missing from the new list end the day before, handing their datasets and staff to the unit whose
旧所属コード names them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from machidata.access.models import Membership, Role, StaffRank, Unit, UnitKind
from machidata.access.orgimport.reading import Sheet

KIND_WORDS: dict[str, str] = {
    "局": UnitKind.BUREAU,
    "区役所": UnitKind.WARD_OFFICE,
    "区": UnitKind.WARD_OFFICE,
    "行政委員会": UnitKind.COMMISSION,
    "委員会": UnitKind.COMMISSION,
    "公営企業": UnitKind.ENTERPRISE,
    "部": UnitKind.DEPARTMENT,
    "課": UnitKind.DIVISION,
    "室": UnitKind.DIVISION,  # 室 sits where a 課 does
    "係": UnitKind.SECTION,
    "班": UnitKind.SECTION,  # 班 sits where a 係 does
}
ROLE_WORDS: dict[str, str] = {
    "閲覧": Role.VIEWER,
    "編集": Role.EDITOR,
    "データ所有者": Role.EDITOR,
    "管理": Role.ADMIN,
}
for _role in Role:
    ROLE_WORDS.setdefault(_role.label, _role.value)
# 職位 (the optional column of the staff list): what a city's list calls them
RANK_WORDS: dict[str, str] = {
    "管理職": StaffRank.MANAGER,
    "課長級以上": StaffRank.MANAGER,
    "一般職": StaffRank.GENERAL,
    "一般": StaffRank.GENERAL,
    **{r.value: r.value for r in StaffRank},
}
TOP_LEVEL = {UnitKind.BUREAU, UnitKind.WARD_OFFICE, UnitKind.COMMISSION, UnitKind.ENTERPRISE}
_OLD_CODE_SEPARATORS = re.compile(r"[、,，;；/\s]+")
FIELD_LABELS = {
    "name": "所属名",
    "kind": "種別",
    "parent": "上位所属",
    "mailbox": "代表メール",
    "phone": "代表電話",
}


def kind_label(kind: str) -> str:
    """The Japanese word of a unit kind."""
    return UnitKind(kind).label


def role_label(role: str) -> str:
    """The short Japanese word of a role (閲覧・編集・管理)."""
    return {Role.VIEWER: "閲覧", Role.EDITOR: "編集", Role.ADMIN: "管理"}[Role(role)]


@dataclass
class Problem:
    """One reason the import cannot be applied (with the file and row it comes from, when known)."""

    message: str
    sheet: str = ""
    row: int | None = None

    def __str__(self) -> str:
        where = (
            f"{self.sheet} {self.row}行目: "
            if self.row is not None
            else (f"{self.sheet}: " if self.sheet else "")
        )
        return where + self.message


@dataclass
class UnitRow:
    """One row of the organisation list, validated."""

    row: int
    code: str
    name: str
    kind: str
    parent_code: str
    mailbox: str | None
    phone: str | None
    old_codes: list[str]


@dataclass
class StaffRow:
    """One row of the staff list, validated."""

    row: int
    username: str
    name: str | None
    unit_code: str
    role: str
    email: str | None
    rank: str | None = None  # None: the list has no 職位 (or the cell is empty): the person's rank stays


@dataclass
class UnitAdd:
    """A unit that starts on the effective date."""

    code: str
    name: str
    kind: str
    parent_code: str
    mailbox: str
    phone: str

    @property
    def kind_label(self) -> str:
        """種別 in Japanese."""
        return kind_label(self.kind)


@dataclass
class UnitChange:
    """A unit that stays but changes name, kind, place or contact; ``changes`` maps field → (old, new)."""

    unit_id: int
    code: str
    name: str
    changes: dict[str, tuple[str, str]]

    @property
    def renamed(self) -> bool:
        """Whether the name changes."""
        return "name" in self.changes

    @property
    def moved(self) -> bool:
        """Whether the unit moves under another parent."""
        return "parent" in self.changes

    def describe(self) -> list[str]:
        """Each change as 「項目: 旧 → 新」."""
        return [
            f"{FIELD_LABELS[k]}: {old or '（なし）'} → {new or '（なし）'}"
            for k, (old, new) in self.changes.items()
        ]


@dataclass
class UnitClosure:
    """A unit that ends the day before the effective date, and where its work goes."""

    unit_id: int
    code: str
    name: str
    successor_code: str
    successor_name: str
    datasets: int
    members: int


@dataclass
class DatasetTransfer:
    """A dataset whose データ所有者（所管課）moves from a closed unit to its successor."""

    dataset_id: int
    identifier: str
    title: str
    from_code: str
    from_name: str
    to_code: str
    to_name: str


@dataclass
class MembershipMove:
    """A person's membership from the effective date (``to_code`` empty: the membership just ends)."""

    username: str
    full_name: str
    from_label: str
    to_code: str
    to_name: str
    role: str
    reason: str  # "名簿" (the staff list) or "組織改正" (their unit closes)
    new_user: bool = False
    user_changes: dict[str, str] = field(default_factory=dict)
    rank: str | None = None  # 職位 from the list; None keeps the person's rank

    @property
    def role_label(self) -> str:
        """役割 in Japanese, with the 職位 when the list sets one."""
        label = role_label(self.role)
        return f"{label}・{StaffRank(self.rank).label}" if self.rank else label


@dataclass
class OrgImportPreview:
    """Everything an import would change on ``effective_date``, and the problems that stop it."""

    effective_date: dt.date
    units: list[UnitRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)
    added: list[UnitAdd] = field(default_factory=list)
    changed: list[UnitChange] = field(default_factory=list)
    closed: list[UnitClosure] = field(default_factory=list)
    transfers: list[DatasetTransfer] = field(default_factory=list)
    memberships: list[MembershipMove] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the import may be applied."""
        return not self.errors

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything (a re-run of an applied file changes nothing)."""
        return bool(self.added or self.changed or self.closed or self.transfers or self.memberships)

    @property
    def renamed(self) -> list[UnitChange]:
        """Units whose name changes."""
        return [c for c in self.changed if c.renamed]

    @property
    def moved(self) -> list[UnitChange]:
        """Units that move under another parent."""
        return [c for c in self.changed if c.moved]

    @property
    def mappings(self) -> list[tuple[str, str, str, str]]:
        """Old → new units: (old code, old name, new code, new name) for every closed unit with a successor."""
        return [(c.code, c.name, c.successor_code, c.successor_name) for c in self.closed if c.successor_code]

    def summary(self) -> dict[str, int]:
        """Counts for the audit trail and the confirmation message."""
        return {
            "added": len(self.added),
            "renamed": len(self.renamed),
            "moved": len(self.moved),
            "changed": len(self.changed),
            "closed": len(self.closed),
            "datasets_transferred": len(self.transfers),
            "memberships_changed": len(self.memberships),
        }

    def lines(self) -> list[str]:
        """The preview as Japanese text (for the command line)."""
        out = [f"施行日: {self.effective_date:%Y年%m月%d日}"]
        out.append(
            f"組織表: {len(self.units)}件" + (f"、職員名簿: {len(self.staff)}件" if self.staff else "")
        )
        for title, items in (
            (f"新設（{len(self.added)}件）", [f"{a.code} {a.name}（{a.kind_label}）" for a in self.added]),
            (
                f"変更（{len(self.changed)}件: 名称変更 {len(self.renamed)}件・移動 {len(self.moved)}件を含む）",
                [f"{c.code} {c.name}: " + "、".join(c.describe()) for c in self.changed],
            ),
            (
                f"廃止（{len(self.closed)}件）",
                [
                    f"{c.code} {c.name} → "
                    + (f"{c.successor_code} {c.successor_name}" if c.successor_code else "移管先なし")
                    + f"（データセット {c.datasets}件・職員 {c.members}名）"
                    for c in self.closed
                ],
            ),
            (
                f"データ所有者の移管（{len(self.transfers)}件）",
                [f"{t.identifier} {t.title}: {t.from_name} → {t.to_name}" for t in self.transfers],
            ),
            (
                f"所属・役割の変更（{len(self.memberships)}件）",
                [
                    f"{m.username} {m.full_name}: {m.from_label or '（なし）'} → "
                    + (f"{m.to_name}（{m.role_label}）" if m.to_code else "所属終了")
                    + ("［新規職員］" if m.new_user else "")
                    for m in self.memberships
                ],
            ),
        ):
            out.append(title)
            out.extend(f"  - {line}" for line in items)
        if self.warnings:
            out.append(f"注意（{len(self.warnings)}件）")
            out.extend(f"  - {w}" for w in self.warnings)
        if self.errors:
            out.append(f"エラー（{len(self.errors)}件）: 取り込みは行われません")
            out.extend(f"  - {e}" for e in self.errors)
        elif not self.has_changes:
            out.append("変更はありません（この施行日の内容は適用済みです）。")
        return out


def _unit_label(unit: Unit) -> str:
    return f"{unit.code} {unit.name}"


def _parse_units(sheet: Sheet, preview: OrgImportPreview) -> list[UnitRow]:  # noqa: PLR0912 - one check per column, in the order of the columns
    errors = preview.errors
    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    for number, values in sheet.rows:
        code, name, kind_word = values.get("code", ""), values.get("name", ""), values.get("kind", "")
        problem_count = len(errors)
        if not code:
            errors.append(Problem("所属コードが空です。", sheet.label, number))
        if not name:
            errors.append(Problem("所属名が空です。", sheet.label, number))
        kind = KIND_WORDS.get("".join(kind_word.split()))
        if kind is None:
            errors.append(
                Problem(
                    f"種別「{kind_word}」は使えません（局・区役所・行政委員会・公営企業・部・課・係のいずれか）。",
                    sheet.label,
                    number,
                )
            )
        if code and code in seen:
            errors.append(
                Problem(
                    f"所属コード「{code}」が重複しています（{seen[code]}行目と同じ）。", sheet.label, number
                )
            )
        mailbox = values.get("mailbox") if "mailbox" in sheet.columns else None
        if mailbox:
            try:
                validate_email(mailbox)
            except ValidationError:
                errors.append(
                    Problem(f"代表メール「{mailbox}」の形式が正しくありません。", sheet.label, number)
                )
        if len(errors) > problem_count or kind is None:
            continue
        seen[code] = number
        old_codes = [c for c in _OLD_CODE_SEPARATORS.split(values.get("old_codes", "")) if c and c != code]
        rows.append(
            UnitRow(
                row=number,
                code=code,
                name=name,
                kind=kind,
                parent_code=values.get("parent", ""),
                mailbox=mailbox,
                phone=values.get("phone") if "phone" in sheet.columns else None,
                old_codes=old_codes,
            )
        )
    by_code = {r.code: r for r in rows}
    for r in rows:
        if r.parent_code and r.parent_code not in by_code:
            errors.append(
                Problem(f"上位所属コード「{r.parent_code}」が組織表にありません。", sheet.label, r.row)
            )
        elif not r.parent_code and r.kind not in TOP_LEVEL:
            errors.append(
                Problem(f"「{kind_label(r.kind)}」には上位所属コードが必要です。", sheet.label, r.row)
            )
        elif r.parent_code == r.code:
            errors.append(Problem("上位所属コードが自分自身になっています。", sheet.label, r.row))
        else:
            node, steps = r, 0
            while node.parent_code and node.parent_code in by_code and steps <= len(rows):
                node, steps = by_code[node.parent_code], steps + 1
            if steps > len(rows):
                errors.append(Problem("上位所属コードが循環しています。", sheet.label, r.row))
    return rows


def _parse_staff(sheet: Sheet, unit_codes: set[str], preview: OrgImportPreview) -> list[StaffRow]:
    errors = preview.errors
    rows: list[StaffRow] = []
    seen: dict[str, int] = {}
    for number, values in sheet.rows:
        username, unit_code = values.get("username", ""), values.get("unit", "")
        role_word = "".join(values.get("role", "").split())
        rank_word = "".join(values.get("rank", "").split())
        problem_count = len(errors)
        if not username:
            errors.append(Problem("職員ID（ユーザー名）が空です。", sheet.label, number))
        elif username in seen:
            errors.append(
                Problem(
                    f"職員ID「{username}」が重複しています（{seen[username]}行目と同じ）。",
                    sheet.label,
                    number,
                )
            )
        if unit_code not in unit_codes:
            errors.append(Problem(f"所属コード「{unit_code}」が組織表にありません。", sheet.label, number))
        role = ROLE_WORDS.get(role_word) if role_word else Role.VIEWER
        if role is None:
            errors.append(
                Problem(
                    f"役割「{role_word}」は使えません（閲覧・編集・管理のいずれか）。", sheet.label, number
                )
            )
        rank = RANK_WORDS.get(rank_word) if rank_word else None
        if rank_word and rank is None:
            errors.append(
                Problem(f"職位「{rank_word}」は使えません（管理職・一般職のいずれか）。", sheet.label, number)
            )
        email = values.get("email") if "email" in sheet.columns else None
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(Problem(f"メール「{email}」の形式が正しくありません。", sheet.label, number))
        if len(errors) > problem_count or role is None:
            continue
        seen[username] = number
        rows.append(
            StaffRow(
                row=number,
                username=username,
                name=values.get("name") if "name" in sheet.columns else None,
                unit_code=unit_code,
                role=role,
                email=email,
                rank=rank,
            )
        )
    return rows


def plan_import(org: Sheet, staff: Sheet | None, *, effective_date: dt.date) -> OrgImportPreview:  # noqa: PLR0912, PLR0915 - the four steps of a reorganisation, read top to bottom
    """Compare the lists with the organisation in force on ``effective_date`` and plan the changes."""
    from machidata.catalog.models import Dataset

    day, eve = effective_date, effective_date - dt.timedelta(days=1)
    preview = OrgImportPreview(effective_date=day)
    rows = _parse_units(org, preview)
    staff_rows = _parse_staff(staff, {r.code for r in rows}, preview) if staff is not None else []
    preview.units, preview.staff = rows, staff_rows
    if preview.errors:
        return preview

    current = {u.code: u for u in Unit.objects.active_on(day).select_related("parent")}
    before = {u.code: u for u in Unit.objects.active_on(eve)}
    new_codes = {r.code for r in rows}
    by_code = {r.code: r for r in rows}

    # Units that start on the effective date, and units that stay but change.
    for r in rows:
        unit = current.get(r.code)
        if unit is None:
            if Unit.objects.filter(code=r.code, valid_from=day).exists():
                preview.errors.append(
                    Problem(
                        f"所属コード「{r.code}」は同じ施行日の所属として登録済みで、既に廃止されています。管理画面で確認してください。",
                        org.label,
                        r.row,
                    )
                )
                continue
            preview.added.append(
                UnitAdd(r.code, r.name, r.kind, r.parent_code, r.mailbox or "", r.phone or "")
            )
            continue
        changes: dict[str, tuple[str, str]] = {}
        if unit.name != r.name:
            changes["name"] = (unit.name, r.name)
        if unit.kind != r.kind:
            changes["kind"] = (kind_label(unit.kind), kind_label(r.kind))
        old_parent = unit.parent.code if unit.parent else ""
        if old_parent != r.parent_code:
            old_label = f"{old_parent} {unit.parent.name}" if unit.parent else ""
            new_label = f"{r.parent_code} {by_code[r.parent_code].name}" if r.parent_code else ""
            changes["parent"] = (old_label, new_label)
        if r.mailbox is not None and unit.mailbox != r.mailbox:
            changes["mailbox"] = (unit.mailbox, r.mailbox)
        if r.phone is not None and unit.phone != r.phone:
            changes["phone"] = (unit.phone, r.phone)
        if changes:
            preview.changed.append(UnitChange(unit.pk, r.code, unit.name, changes))

    # 旧所属コード: where the work of each old unit goes.
    successor_of: dict[str, UnitRow] = {}
    for r in rows:
        for old in r.old_codes:
            if old not in before:
                preview.errors.append(
                    Problem(
                        f"旧所属コード「{old}」の所属が見つかりません（施行日の前日に有効な所属ではありません）。",
                        org.label,
                        r.row,
                    )
                )
            elif old in new_codes:
                preview.warnings.append(
                    Problem(
                        f"旧所属コード「{old}」は新しい組織表にも残っているため、廃止しません。",
                        org.label,
                        r.row,
                    )
                )
            elif old in successor_of:
                first = successor_of[old]
                preview.warnings.append(
                    Problem(
                        f"旧所属コード「{old}」は複数の所属に分かれています。データの移管先は{first.row}行目の「{first.name}」とします。",
                        org.label,
                        r.row,
                    )
                )
            else:
                successor_of[old] = r

    # Staff named in the list: their membership from the effective date.
    user_model = get_user_model()
    listed = {s.username for s in staff_rows}
    users = {u.get_username(): u for u in user_model.objects.filter(username__in=listed)}
    active = defaultdict(list)
    for m in Membership.objects.active_on(day).select_related("unit", "user"):
        active[m.user_id].append(m)
    for s in staff_rows:
        user = users.get(s.username)
        target = by_code[s.unit_code]
        user_changes: dict[str, str] = {}
        if s.name is not None and (user is None or user.get_full_name() != s.name):
            user_changes["氏名"] = s.name
        if s.email is not None and (user is None or user.email != s.email):
            user_changes["メール"] = s.email
        mine = active.get(user.pk, []) if user is not None else []
        same = (
            len(mine) == 1
            and mine[0].unit.code == s.unit_code
            and mine[0].role == s.role
            and (s.rank is None or mine[0].rank == s.rank)
        )
        if user is not None and same and not user_changes:
            continue
        preview.memberships.append(
            MembershipMove(
                username=s.username,
                full_name=s.name if s.name is not None else (user.get_full_name() if user else ""),
                from_label="、".join(f"{_unit_label(m.unit)}（{role_label(m.role)}）" for m in mine),
                to_code=s.unit_code,
                to_name=target.name,
                role=s.role,
                reason="名簿",
                new_user=user is None,
                user_changes=user_changes,
                rank=s.rank,
            )
        )

    # Units missing from the new list end the day before; their datasets and staff go to the successor.
    for code, unit in sorted(current.items()):
        if code in new_codes:
            continue
        successor = successor_of.get(code)
        datasets = list(Dataset.objects.filter(owner=unit).order_by("identifier"))
        members = [m for ms in active.values() for m in ms if m.unit_id == unit.pk]
        preview.closed.append(
            UnitClosure(
                unit_id=unit.pk,
                code=code,
                name=unit.full_name,
                successor_code=successor.code if successor else "",
                successor_name=successor.name if successor else "",
                datasets=len(datasets),
                members=len(members),
            )
        )
        if successor is None:
            if datasets:
                preview.errors.append(
                    Problem(
                        f"所属「{unit.full_name}」（{code}）は廃止されますが、データセット{len(datasets)}件の移管先がありません。"
                        "引き継ぐ所属の「旧所属コード」にこの所属コードを書いてください。",
                        org.label,
                    )
                )
            elif members:
                preview.warnings.append(
                    Problem(
                        f"所属「{unit.full_name}」（{code}）の職員{len(members)}名は、移管先がないため所属が終了します。",
                        org.label,
                    )
                )
        for d in datasets:
            preview.transfers.append(
                DatasetTransfer(
                    dataset_id=d.pk,
                    identifier=d.identifier,
                    title=d.title,
                    from_code=code,
                    from_name=unit.full_name,
                    to_code=successor.code if successor else "",
                    to_name=successor.name if successor else "",
                )
            )
        for m in members:
            if m.user.get_username() in listed:
                continue  # the staff list already says where they go
            preview.memberships.append(
                MembershipMove(
                    username=m.user.get_username(),
                    full_name=m.user.get_full_name(),
                    from_label=f"{_unit_label(unit)}（{role_label(m.role)}）",
                    to_code=successor.code if successor else "",
                    to_name=successor.name if successor else "",
                    role=m.role,
                    reason="組織改正",
                )
            )
    return preview
