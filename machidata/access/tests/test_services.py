"""Services: units, memberships, tokens, and applying a reorganisation (one transaction, audited, idempotent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from machidata.access.models import ApiToken, Membership, Role, StaffRank, Unit, UnitKind, hash_token
from machidata.access.policy import actor_for
from machidata.access.services import (
    actor_from_username,
    membership_set,
    organisation_import_apply,
    token_create,
    token_revoke,
    unit_close,
    unit_create,
    unit_update,
)
from machidata.access.tests.conftest import Kumamoto
from machidata.access.tests.orgdata import (
    D2024,
    D2025,
    ORG_HEADER,
    STAFF_2025,
    STAFF_HEADER,
    active_codes,
    rows_2024,
    rows_2025,
    write_csv,
    write_xlsx,
)
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_verify_chain
from machidata.catalog.models import Dataset
from machidata.core.errors import Conflict, InvalidInput, NotFound
from machidata.core.testing import make_dataset, make_user

EVE = D2025 - dt.timedelta(days=1)


def snapshot() -> dict[str, Any]:
    """Everything an import may touch, to prove a refused import changed nothing."""
    return {
        "units": sorted(
            Unit.objects.values_list(
                "code", "name", "kind", "parent_id", "valid_from", "valid_to", "successor_id", "mailbox"
            )
        ),
        "memberships": sorted(
            Membership.objects.values_list("user_id", "unit_id", "role", "valid_from", "valid_to")
        ),
        "owners": sorted(Dataset.objects.values_list("pk", "owner_id")),
        "users": sorted(
            Membership._meta.get_field("user").related_model.objects.values_list(
                "username", "first_name", "email"
            )
        ),
        "audit": AuditEvent.objects.count(),
    }


def test_baseline_import_creates_the_kumamoto_organisation(kumamoto: Kumamoto) -> None:
    assert Unit.objects.count() == 38
    ds = Unit.objects.get(code="110201")
    assert ds.full_name == "政策局 デジタル戦略部 データ戦略課"
    assert ds.valid_from == D2024
    assert ds.mailbox == "datasenryaku@city.kumamoto.example.jp"
    assert Unit.objects.get(code="220000").kind == UnitKind.ENTERPRISE
    assert Unit.objects.get(code="290000").kind == UnitKind.COMMISSION
    assert AuditEvent.objects.filter(action="unit.create").count() == 38
    event = AuditEvent.objects.get(action="organisation.reorganise")
    assert event.object_id == "2024-04-01"
    assert event.changes["summary"]["added"] == 38
    assert event.actor_label.startswith("cli:test:")


def test_reorganisation_applies_in_one_go(kumamoto: Kumamoto) -> None:
    actor = actor_for(kumamoto.users["k0001"])
    preview = organisation_import_apply(actor=actor, org_file=kumamoto.workbook_2025, effective_date=D2025)
    assert preview.summary()["closed"] == 2

    # Units: the day before is the old organisation, the effective date the new one.
    assert active_codes(EVE) == {row[0] for row in rows_2024()}
    assert active_codes(D2025) == {row[0] for row in rows_2025()}
    old_care = Unit.objects.get(code="150102")
    assert old_care.valid_to == EVE
    assert old_care.successor == Unit.objects.get(code="150103")
    assert Unit.objects.get(code="110202").successor == Unit.objects.get(code="110201")
    assert Unit.objects.get(code="150103").valid_from == D2025
    assert Unit.objects.get(code="180101").name == "観光交流政策課"
    assert Unit.objects.get(code="200101").parent == Unit.objects.get(code="200100", valid_from=D2025)
    assert Unit.objects.get(code="160101").mailbox == "kodomoseisaku@city.kumamoto.example.jp"

    # Datasets of closed units go to the successor, each transfer audited with old and new owner.
    for key, code in (("care1", "150103"), ("care2", "150103"), ("it", "110201"), ("data", "110201")):
        assert Dataset.objects.get(pk=kumamoto.datasets[key].pk).owner.code == code
    transfers = AuditEvent.objects.filter(action="dataset.transfer")
    assert transfers.count() == 3
    it = transfers.get(object_id=str(kumamoto.datasets["it"].pk))
    assert it.changes["owner"] == [
        "110202 政策局 デジタル戦略部 情報政策課",
        "110201 政策局 デジタル戦略部 データ戦略課",
    ]
    assert it.actor_label == "k0001"

    # Memberships: the staff list wins; the others follow their unit; the old ones end the day before.
    def place(username: str, day: dt.date) -> list[tuple[str, str]]:
        return sorted(
            Membership.objects.active_on(day)
            .filter(user__username=username)
            .values_list("unit__code", "role")
        )

    assert place("k0002", EVE) == [("150102", Role.EDITOR)]
    assert place("k0002", D2025) == [("150103", Role.EDITOR)]
    assert place("k0004", D2025) == [("150103", Role.VIEWER)]
    assert place("k0005", D2025) == [("110201", Role.EDITOR)]
    assert place("k0003", D2025) == [("110203", Role.VIEWER)]
    assert place("k0001", D2025) == [("110201", Role.ADMIN)]
    new_user = Membership.objects.get(user__username="k0003").user
    assert new_user.get_full_name() == "新人 一郎"
    assert not new_user.has_usable_password()
    assert (
        kumamoto.users["k0001"].__class__.objects.get(username="k0001").email
        == "taro@city.kumamoto.example.jp"
    )

    event = AuditEvent.objects.filter(action="organisation.reorganise").order_by("-id").first()
    assert event is not None
    assert event.actor_label == "k0001"
    assert event.changes["closed"] == {"110202": "110201", "150102": "150103"}
    assert audit_verify_chain() == (True, None)


def test_reimporting_the_same_file_for_the_same_date_changes_nothing(kumamoto: Kumamoto) -> None:
    actor = actor_for(kumamoto.users["k0001"])
    organisation_import_apply(actor=actor, org_file=kumamoto.workbook_2025, effective_date=D2025)
    before = snapshot()
    preview = organisation_import_apply(actor=actor, org_file=kumamoto.workbook_2025, effective_date=D2025)
    assert not preview.has_changes
    assert snapshot() == before


def test_the_same_list_as_csv_and_xlsx_is_equally_idempotent(kumamoto: Kumamoto, tmp_path: Path) -> None:
    actor = actor_for(kumamoto.users["k0001"])
    organisation_import_apply(actor=actor, org_file=kumamoto.workbook_2025, effective_date=D2025)
    before = snapshot()
    org_csv = write_csv(tmp_path / "org.csv", ORG_HEADER, rows_2025(), encoding="cp932")
    staff_csv = write_csv(tmp_path / "staff.csv", STAFF_HEADER, STAFF_2025)
    preview = organisation_import_apply(
        actor=actor, org_file=org_csv, staff_file=staff_csv, effective_date=D2025
    )
    assert not preview.has_changes
    assert snapshot() == before


def _with(rows: list[list[str]], code: str, column: int, value: str) -> list[list[str]]:
    return [[*r[:column], value, *r[column + 1 :]] if r[0] == code else r for r in rows]


ERROR_CASES = {
    "unknown parent": (
        _with(rows_2025(), "150104", 3, "159999"),
        None,
        "上位所属コード「159999」が組織表にありません",
        "組織 ",
    ),
    "unknown old code": (
        _with(rows_2025(), "150104", 6, "150102、158888"),
        None,
        "旧所属コード「158888」の所属が見つかりません",
        "組織 ",
    ),
    "duplicate code": (
        [*rows_2025(), ["150104", "介護保険課（重複）", "課", "150000", "", "", ""]],
        None,
        "所属コード「150104」が重複しています",
        "組織 ",
    ),
    "unknown kind": (
        _with(rows_2025(), "150104", 2, "センター"),
        None,
        "種別「センター」は使えません",
        "組織 ",
    ),
    "unknown role": (
        rows_2025(),
        [["k0001", "熊本 太郎", "110201", "課長", ""]],
        "役割「課長」は使えません",
        "職員 ",
    ),
    "staff in unknown unit": (
        rows_2025(),
        [["k0001", "熊本 太郎", "999999", "閲覧", ""]],
        "所属コード「999999」が組織表にありません",
        "職員 ",
    ),
    "datasets left without an owner": (
        _with(_with(rows_2025(), "150103", 6, ""), "150104", 6, ""),  # nobody takes over 150102
        None,
        "データセット2件の移管先がありません",
        "組織",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES, ids=list(ERROR_CASES))
def test_every_error_refuses_the_whole_import(kumamoto: Kumamoto, tmp_path: Path, case: str) -> None:
    org_rows, staff_rows, message, where = ERROR_CASES[case]
    path = write_xlsx(tmp_path / "bad.xlsx", org_rows, staff_rows)
    before = snapshot()
    with pytest.raises(InvalidInput) as exc:
        organisation_import_apply(
            actor=actor_for(kumamoto.users["k0001"]), org_file=path, effective_date=D2025
        )
    assert any(message in detail for detail in exc.value.details), exc.value.details
    assert any(detail.startswith(where) for detail in exc.value.details if message in detail)
    assert snapshot() == before


def test_error_messages_carry_the_row_number(kumamoto: Kumamoto, tmp_path: Path) -> None:
    rows = _with(rows_2025(), "150104", 2, "センター")
    path = write_xlsx(tmp_path / "bad.xlsx", rows, None)  # a title row and a blank row come first
    with pytest.raises(InvalidInput) as exc:
        organisation_import_apply(
            actor=actor_for(kumamoto.users["k0001"]), org_file=path, effective_date=D2025
        )
    row = 3 + [r[0] for r in rows].index("150104") + 1
    assert exc.value.details == [
        f"組織 {row}行目: 種別「センター」は使えません（局・区役所・行政委員会・公営企業・部・課・係のいずれか）。"
    ]


def test_membership_set_closes_the_previous_one_the_day_before(db: None) -> None:
    a = Unit.objects.create(code="A", name="人事課", kind=UnitKind.DIVISION)
    b = Unit.objects.create(code="B", name="財政課", kind=UnitKind.DIVISION)
    user = make_user(unit=a, role=Role.EDITOR)
    actor = actor_for(user)
    m = membership_set(actor=actor, user=user, unit=b, role=Role.VIEWER, valid_from=D2025)
    old = Membership.objects.get(user=user, unit=a)
    assert old.valid_to == EVE
    assert (m.unit, m.role, m.valid_from, m.valid_to) == (b, Role.VIEWER, D2025, None)
    # The same call again is a no-op; a same-day correction changes the row instead of adding one.
    count = AuditEvent.objects.count()
    membership_set(actor=actor, user=user, unit=b, role=Role.VIEWER, valid_from=D2025)
    assert AuditEvent.objects.count() == count
    membership_set(actor=actor, user=user, unit=a, role=Role.ADMIN, valid_from=D2025)
    assert list(
        Membership.objects.filter(user=user)
        .order_by("valid_from")
        .values_list("unit__code", "role", "valid_to")
    ) == [
        ("A", Role.EDITOR, EVE),
        ("A", Role.ADMIN, None),
    ]
    assert AuditEvent.objects.filter(action="membership.change").count() == 2


def test_membership_set_keeps_or_changes_the_rank(db: None) -> None:
    a = Unit.objects.create(code="A", name="人事課", kind=UnitKind.DIVISION)
    b = Unit.objects.create(code="B", name="財政課", kind=UnitKind.DIVISION)
    user = make_user(unit=a, role=Role.EDITOR)
    assert Membership.objects.get(user=user).rank == StaffRank.GENERAL  # the default
    actor = actor_for(user)
    Membership.objects.filter(user=user).update(rank=StaffRank.MANAGER)
    # a move that does not name the rank (a reorganisation, an import without 職位) keeps 管理職
    moved = membership_set(actor=actor, user=user, unit=b, role=Role.EDITOR, valid_from=D2025)
    assert moved.rank == StaffRank.MANAGER
    assert actor_for(user, day=D2025).manager_unit_ids == {b.pk}
    # naming it changes it, and the audit trail says so
    membership_set(actor=actor, user=user, unit=b, role=Role.EDITOR, valid_from=D2025, rank=StaffRank.GENERAL)
    assert Membership.objects.get(user=user, valid_to=None).rank == StaffRank.GENERAL
    event = AuditEvent.objects.filter(action="membership.change").order_by("-id").first()
    assert event is not None
    assert event.changes["before"][0]["rank"] == StaffRank.MANAGER
    assert event.changes["after"]["rank"] == StaffRank.GENERAL
    assert actor_for(user, day=D2025).manager_unit_ids == frozenset()
    with pytest.raises(InvalidInput, match="職位"):
        membership_set(actor=actor, user=user, unit=b, role=Role.EDITOR, valid_from=D2025, rank="boss")


def test_unit_services_are_audited(db: None) -> None:
    actor = actor_for(make_user())
    bureau = unit_create(actor=actor, code="1", name="政策局", kind=UnitKind.BUREAU, valid_from=D2024)
    div = unit_create(
        actor=actor, code="2", name="政策企画課", kind=UnitKind.DIVISION, parent=bureau, valid_from=D2024
    )
    with pytest.raises(Conflict):
        unit_create(actor=actor, code="2", name="重複", kind=UnitKind.DIVISION, valid_from=D2025)
    unit_update(actor=actor, unit=div, name="政策企画課（改）")
    with pytest.raises(InvalidInput):
        unit_update(actor=actor, unit=bureau, parent=div)  # a cycle
    data = make_dataset(div)
    with pytest.raises(InvalidInput, match="移管先を指定しないと廃止できません"):
        unit_close(actor=actor, unit=div, valid_to=EVE)
    new = unit_create(
        actor=actor, code="3", name="政策課", kind=UnitKind.DIVISION, parent=bureau, valid_from=D2025
    )
    unit_close(actor=actor, unit=div, valid_to=EVE, successor=new)
    assert Dataset.objects.get(pk=data.pk).owner == new
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "unit.create",
        "unit.create",
        "unit.update",
        "unit.create",
        "dataset.transfer",
        "unit.close",
    ]
    assert AuditEvent.objects.get(action="unit.update").changes == {
        "name": ["政策企画課", "政策企画課（改）"]
    }


def test_tokens_are_hashed_audited_and_revoked_by_their_owner_only(db: None) -> None:
    owner, other = make_user(), make_user()
    token, raw = token_create(actor=actor_for(owner), name="BIツール")
    assert raw.startswith("mdt_")
    assert ApiToken.objects.get(pk=token.pk).token_hash == hash_token(raw)
    assert raw not in str(list(ApiToken.objects.values()))
    with pytest.raises(NotFound):
        token_revoke(actor=actor_for(other), token_id=token.pk)
    token_revoke(actor=actor_for(owner), token_id=token.pk)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "token.create",
        "token.revoke",
    ]
    with pytest.raises(InvalidInput):
        token_create(actor=actor_for(owner), name="  ")


def test_actor_from_username(db: None) -> None:
    user = make_user("k0100")
    assert actor_from_username("k0100").user_id == user.pk
    with pytest.raises(InvalidInput, match="登録されていない"):
        actor_from_username("nobody")


def test_rename_and_move_are_dated_in_the_tree(org):
    """A reorganisation's rename shows from its effective date; the tree of an earlier day keeps the old name."""
    import datetime as dt

    from machidata.access.policy import actor_for
    from machidata.access.selectors import unit_tree
    from machidata.access.services import unit_update
    from machidata.core.testing import make_user

    admin = actor_for(make_user(unit=org.data_strategy, role="admin"))
    unit_update(
        actor=admin, unit=org.health_div, name="健康推進課", parent=org.policy_bureau,
        effective_date=dt.date(2025, 4, 1),
    )  # fmt: skip

    def names(day: dt.date) -> dict[str, list[str]]:
        return {n.unit.name: [c.unit.name for c in n.children] for n in unit_tree(actor=admin, day=day)}

    before = names(dt.date(2025, 3, 31))
    assert "健康づくり推進課" in before["健康福祉局"]
    assert "健康推進課" not in before["政策局"]
    after = names(dt.date(2025, 4, 1))
    assert "健康推進課" in after["政策局"]
    assert "健康づくり推進課" not in after["健康福祉局"]
    # a second change keeps the chain of periods
    unit_update(actor=admin, unit=org.health_div, name="健康増進課", effective_date=dt.date(2026, 4, 1))
    assert "健康推進課" in names(dt.date(2025, 10, 1))["政策局"]
    assert "健康増進課" in names(dt.date(2026, 4, 1))["政策局"]


def test_the_staff_list_sets_the_rank_where_it_has_a_rank_column(kumamoto: Kumamoto, tmp_path: Path) -> None:
    actor = actor_for(kumamoto.users["k0001"])
    Membership.objects.filter(user=kumamoto.users["k0002"]).update(rank=StaffRank.MANAGER)
    header = [*STAFF_HEADER, "職位"]
    ranks = {"k0001": "管理職", "k0002": "", "k0003": "一般職"}  # k0002's cell is empty: her rank stays
    rows = [[*row, ranks[row[0]]] for row in STAFF_2025]
    org_csv = write_csv(tmp_path / "org.csv", ORG_HEADER, rows_2025(), encoding="cp932")
    staff_csv = write_csv(tmp_path / "staff.csv", header, rows, encoding="cp932")
    organisation_import_apply(actor=actor, org_file=org_csv, staff_file=staff_csv, effective_date=D2025)

    def rank(username: str) -> str:
        return Membership.objects.get(user__username=username, valid_to=None).rank

    assert rank("k0001") == StaffRank.MANAGER  # was 一般職 (the default) before the list said 管理職
    assert rank("k0002") == StaffRank.MANAGER
    assert rank("k0003") == StaffRank.GENERAL
    assert actor_for(kumamoto.users["k0001"], day=D2025).manager_unit_ids

    # A 職位 the city does not use is refused by row, and nothing is written.
    bad = write_csv(tmp_path / "bad.csv", header, [[*rows[0][:-1], "部長"]], encoding="cp932")
    before = Membership.objects.count()
    with pytest.raises(InvalidInput):
        organisation_import_apply(actor=actor, org_file=org_csv, staff_file=bad, effective_date=D2025)
    assert Membership.objects.count() == before
