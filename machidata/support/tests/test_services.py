"""Consultation transitions, training records and tests: rules, Japanese errors, audit in the same transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from machidata.audit.models import AuditEvent
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset, make_user
from machidata.support import services
from machidata.support.models import (
    Attendance,
    Consultation,
    ConsultationStatus,
    Course,
    Headcount,
    Session,
    SupportEntry,
    TestAttempt,
)
from machidata.support.tests.conftest import actor_of, answers

pytestmark = pytest.mark.django_db


def test_open_records_the_requesting_division_and_audits(actors: Actors) -> None:
    dataset = make_dataset(actors.org.health_div)
    c = services.consultation_open(
        actor=actor_of(actors, "owner_viewer"),
        kind="support",
        topic=" 受診率の分析 ",
        description="伴走してほしい",
        urgency="high",
        dataset_ids=[dataset.pk],
    )
    # the 係 member's consultation belongs to the 課, so every member of the 課 sees it
    assert c.unit == actors.org.health_div
    assert c.topic == "受診率の分析"
    assert c.status == ConsultationStatus.OPEN
    assert list(c.datasets.all()) == [dataset]
    event = AuditEvent.objects.get(action="consultation.open")
    assert event.object_id == str(c.pk)
    assert event.changes["datasets"] == [dataset.slug]


def test_open_refuses_datasets_the_requester_cannot_discover(actors: Actors) -> None:
    hidden = make_dataset(actors.org.health_div, classification="confidential")
    with pytest.raises(InvalidInput, match="見る権限のないもの"):
        services.consultation_open(
            actor=actor_of(actors, "staff"),
            kind="question",
            topic="t",
            description="d",
            dataset_ids=[hidden.pk],
        )
    assert not Consultation.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "chat"}, "種別は"),
        ({"topic": "  "}, "件名を入力"),
        ({"topic": "x" * 201}, "200文字以内"),
        ({"description": ""}, "内容を入力"),
        ({"urgency": "asap"}, "緊急度"),
    ],
)
def test_open_validates_in_japanese(actors: Actors, fields: dict[str, str], message: str) -> None:
    data = {"kind": "question", "topic": "件名", "description": "内容"} | fields
    with pytest.raises(InvalidInput, match=message):
        services.consultation_open(actor=actor_of(actors, "staff"), **data)  # type: ignore[arg-type]


def test_staff_cannot_open_for_another_division_but_admin_can(actors: Actors) -> None:
    with pytest.raises(InvalidInput, match="自分の所属から"):
        services.consultation_open(
            actor=actor_of(actors, "staff"),
            kind="question",
            topic="t",
            description="d",
            unit_id=actors.org.health_div.pk,
        )
    c = services.consultation_open(
        actor=actor_of(actors, "admin"),
        kind="question",
        topic="電話で受けた相談",
        description="d",
        unit_id=actors.org.health_sec.pk,
    )
    assert c.unit == actors.org.health_div  # the 係 rolls up to its 課


def test_full_lifecycle(actors: Actors, consultation: Consultation) -> None:
    admin = actor_of(actors, "admin")
    services.consultation_assign(actor=admin, consultation=consultation, assignee_id=actors.users["admin"].pk)
    services.consultation_log(actor=admin, consultation=consultation, minutes=45, note="ヒアリング")
    services.consultation_log(actor=admin, consultation=consultation, minutes=30, note="集計例を送付")
    services.consultation_close(actor=admin, consultation=consultation, outcome="集計できた")
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.CLOSED
    assert consultation.closed_at is not None
    assert sum(SupportEntry.objects.filter(consultation=consultation).values_list("minutes", flat=True)) == 75
    services.consultation_reopen(actor=admin, consultation=consultation)
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.IN_PROGRESS
    assert consultation.closed_at is None
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "consultation.open",
        "consultation.assign",
        "consultation.log",
        "consultation.log",
        "consultation.close",
        "consultation.reopen",
    ]


@pytest.mark.parametrize(
    ("status", "verb", "message"),
    [
        ("open", "close", "担当者が決まっていない"),
        ("open", "log", "担当者を割り当ててから"),
        ("open", "reopen", "再開の必要がありません"),
        ("closed", "assign", "先に再開"),
        ("closed", "withdraw", "完了した相談は取り下げられません"),
        ("closed", "log", "対応中の相談にだけ"),
        ("closed", "close", "すでに完了"),
        ("withdrawn", "assign", "取り下げられた相談には"),
        ("withdrawn", "reopen", "取り下げられた相談は再開できません"),
        ("withdrawn", "withdraw", "すでに取り下げ"),
    ],
)
def test_refused_transitions_say_why_and_change_nothing(
    actors: Actors, consultation: Consultation, status: str, verb: str, message: str
) -> None:
    Consultation.objects.filter(pk=consultation.pk).update(status=status)
    consultation.refresh_from_db()
    admin = actor_of(actors, "admin")
    before = AuditEvent.objects.count()
    calls = {
        "assign": lambda: services.consultation_assign(
            actor=admin, consultation=consultation, assignee_id=actors.users["admin"].pk
        ),
        "close": lambda: services.consultation_close(actor=admin, consultation=consultation, outcome="x"),
        "log": lambda: services.consultation_log(actor=admin, consultation=consultation, minutes=5, note="x"),
        "withdraw": lambda: services.consultation_withdraw(actor=admin, consultation=consultation),
        "reopen": lambda: services.consultation_reopen(actor=admin, consultation=consultation),
    }
    with pytest.raises(InvalidInput, match=message):
        calls[verb]()
    assert Consultation.objects.get(pk=consultation.pk).status == status
    assert AuditEvent.objects.count() == before


def test_only_admin_assigns_logs_closes(actors: Actors, consultation: Consultation) -> None:
    editor = actor_of(actors, "owner_editor")
    with pytest.raises(PermissionDenied, match="データ戦略課"):
        services.consultation_assign(
            actor=editor, consultation=consultation, assignee_id=actors.users["admin"].pk
        )
    with pytest.raises(PermissionDenied):
        services.consultation_close(actor=editor, consultation=consultation, outcome="x")


def test_assignee_must_be_admin(actors: Actors, consultation: Consultation) -> None:
    with pytest.raises(InvalidInput, match="担当者には"):
        services.consultation_assign(
            actor=actor_of(actors, "admin"),
            consultation=consultation,
            assignee_id=actors.users["staff"].pk,
        )


def test_withdraw_by_requesting_division_only(actors: Actors, consultation: Consultation) -> None:
    with pytest.raises(PermissionDenied, match="相談した所属"):
        services.consultation_withdraw(actor=actor_of(actors, "staff"), consultation=consultation)
    services.consultation_withdraw(
        actor=actor_of(actors, "owner_editor"), consultation=consultation, reason="自己解決"
    )
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.WITHDRAWN
    assert consultation.outcome == "取り下げ: 自己解決"


@pytest.mark.parametrize(("minutes", "ok"), [(0, False), (1, True), (1440, True), (1441, False)])
def test_log_minutes_bounds(actors: Actors, consultation: Consultation, minutes: int, ok: bool) -> None:
    admin = actor_of(actors, "admin")
    services.consultation_assign(actor=admin, consultation=consultation, assignee_id=actors.users["admin"].pk)
    if ok:
        services.consultation_log(actor=admin, consultation=consultation, minutes=minutes, note="x")
    else:
        with pytest.raises(InvalidInput, match="対応時間は1～1440分"):
            services.consultation_log(actor=admin, consultation=consultation, minutes=minutes, note="x")


def test_log_refuses_future_and_before_opening(actors: Actors, consultation: Consultation) -> None:
    admin = actor_of(actors, "admin")
    services.consultation_assign(actor=admin, consultation=consultation, assignee_id=actors.users["admin"].pk)
    today = timezone.localdate()
    with pytest.raises(InvalidInput, match="未来"):
        services.consultation_log(
            actor=admin, consultation=consultation, minutes=5, note="x", on_date=today + dt.timedelta(days=1)
        )
    with pytest.raises(InvalidInput, match="受付日より前"):
        services.consultation_log(
            actor=admin, consultation=consultation, minutes=5, note="x", on_date=today - dt.timedelta(days=3)
        )


# ---- training -------------------------------------------------------------------------------------


def test_test_submit_scores_out_of_100(actors: Actors, course: Course) -> None:
    me = actor_of(actors, "owner_viewer")
    attempt = services.test_submit(actor=me, course=course, answers=answers(course, 2))
    assert (attempt.correct, attempt.total, attempt.score) == (2, 3, 67)
    assert attempt.passed is False  # 67 < 70
    assert attempt.unit == actors.org.health_div
    best = services.test_submit(actor=me, course=course, answers=answers(course, 3))
    assert (best.score, best.passed) == (100, True)
    assert AuditEvent.objects.filter(action="training.test").count() == 2


def test_test_submit_refuses_incomplete_or_foreign_answers(actors: Actors, course: Course) -> None:
    from machidata.support.tests.conftest import make_course

    me = actor_of(actors, "staff")
    full = answers(course, 3)
    partial = dict(list(full.items())[:2])
    with pytest.raises(InvalidInput, match="答えていない問題が1問"):
        services.test_submit(actor=me, course=course, answers=partial)
    other = make_course("別の研修")
    with pytest.raises(InvalidInput, match="この研修の問題ではない"):
        services.test_submit(actor=me, course=course, answers=full | answers(other, 3))
    swapped = dict(full)
    first, second = list(full)[:2]
    swapped[first] = full[second]  # a choice of another question
    with pytest.raises(InvalidInput, match="選択肢が問題と合っていません"):
        services.test_submit(actor=me, course=course, answers=swapped)
    assert not TestAttempt.objects.exists()


def test_attendance_record_by_account_and_by_name(actors: Actors, session: Session) -> None:
    admin = actor_of(actors, "admin")
    a = services.attendance_record(actor=admin, session=session, user_id=actors.users["owner_viewer"].pk)
    assert a.unit == actors.org.health_div  # the 係 member counts for the 課
    services.attendance_record(
        actor=admin, session=session, staff_name="熊本 花子", unit_id=actors.org.fire_div.pk, score="85"
    )
    with pytest.raises(InvalidInput, match="すでに記録"):
        services.attendance_record(actor=admin, session=session, user_id=actors.users["owner_viewer"].pk)
    with pytest.raises(InvalidInput, match="点数は0～100"):
        services.attendance_record(
            actor=admin, session=session, staff_name="x", unit_id=actors.org.fire_div.pk, score=120
        )
    with pytest.raises(PermissionDenied):
        services.attendance_record(
            actor=actor_of(actors, "owner_editor"),
            session=session,
            staff_name="x",
            unit_id=actors.org.fire_div.pk,
        )
    assert Attendance.objects.count() == 2
    assert AuditEvent.objects.filter(action="training.attendance").count() == 2


def test_attendance_rank_comes_from_the_membership_on_the_day_or_as_given(
    actors: Actors, session: Session
) -> None:
    from machidata.access.models import Membership, StaffRank

    admin = actor_of(actors, "admin")
    editor = actors.users["owner_editor"]
    # 管理職 until the day after the session, 一般職 since: the session's day decides
    Membership.objects.filter(user=editor).update(rank=StaffRank.MANAGER, valid_to=session.on_date)
    Membership.objects.create(
        user=editor,
        unit=actors.org.health_div,
        rank=StaffRank.GENERAL,
        valid_from=session.on_date + dt.timedelta(days=1),
    )
    a = services.attendance_record(actor=admin, session=session, user_id=editor.pk)
    assert a.rank == StaffRank.MANAGER
    by_name = services.attendance_record(
        actor=admin, session=session, staff_name="熊本 太郎", unit_id=actors.org.fire_div.pk, rank="管理職"
    )
    assert by_name.rank == StaffRank.MANAGER
    unknown = services.attendance_record(
        actor=admin, session=session, staff_name="熊本 花子", unit_id=actors.org.fire_div.pk
    )
    assert unknown.rank == ""
    with pytest.raises(InvalidInput, match="職位「部長」"):
        services.attendance_record(
            actor=admin, session=session, staff_name="x", unit_id=actors.org.fire_div.pk, rank="部長"
        )
    event = AuditEvent.objects.filter(action="training.attendance").order_by("id").first()
    assert event is not None
    assert event.changes["rank"] == StaffRank.MANAGER


def test_attendance_refused_for_future_session(actors: Actors, course: Course) -> None:
    future = Session.objects.create(course=course, on_date=timezone.localdate() + dt.timedelta(days=7))
    with pytest.raises(InvalidInput, match="まだ開催していない"):
        services.attendance_record(
            actor=actor_of(actors, "admin"), session=future, user_id=actors.users["staff"].pk
        )


def test_attendance_import_csv(actors: Actors, session: Session, tmp_path: Path) -> None:
    user = make_user("k-tanaka", unit=actors.org.fire_div)
    sheet = tmp_path / "名簿.csv"
    sheet.write_text(
        "氏名,所属コード,ユーザー名,点数\n"
        "田中 一郎,,k-tanaka,80\n"
        f"山田 花子,{actors.org.health_sec.code},,65点\n"
        f"山田 花子,{actors.org.health_sec.code},,65\n",  # the same person twice: counted once
        encoding="cp932",
    )
    admin = actor_of(actors, "admin")
    result = services.attendance_import(actor=admin, session=session, path=sheet)
    assert (result.created, result.skipped) == (2, 1)
    rows = {a.staff_name: a for a in Attendance.objects.all()}
    assert rows["田中 一郎"].user == user
    assert rows["田中 一郎"].unit == actors.org.fire_div
    assert rows["山田 花子"].unit == actors.org.health_div
    assert rows["山田 花子"].score == 65
    again = services.attendance_import(actor=admin, session=session, path=sheet)
    assert (again.created, again.skipped) == (0, 3)


def test_attendance_import_reads_the_rank_column(actors: Actors, session: Session, tmp_path: Path) -> None:
    from machidata.access.models import Membership, StaffRank

    Membership.objects.filter(user=actors.users["owner_editor"]).update(rank=StaffRank.MANAGER)
    sheet = tmp_path / "名簿.csv"
    code = actors.org.fire_div.code
    sheet.write_text(
        f"氏名,所属コード,ユーザー名,職位\n管理 一郎,{code},,管理職\n一般 次郎,{code},,一般職\n"
        f"不明 三郎,{code},,\n課長,,{actors.users['owner_editor'].username},\n",
        encoding="utf-8",
    )
    services.attendance_import(actor=actor_of(actors, "admin"), session=session, path=sheet)
    ranks = dict(Attendance.objects.values_list("staff_name", "rank"))
    assert ranks == {
        "管理 一郎": StaffRank.MANAGER,
        "一般 次郎": StaffRank.GENERAL,
        "不明 三郎": "",
        "課長": StaffRank.MANAGER,  # an account without 職位 in the sheet: its membership's
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(f"氏名,所属コード,職位\n誰か,{code},係長\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        services.attendance_import(actor=actor_of(actors, "admin"), session=session, path=bad)
    assert info.value.details == ["2行目: 職位「係長」は使えません（管理職・一般職のいずれか、または空欄）。"]


def test_attendance_import_refuses_whole_sheet_with_row_errors(
    actors: Actors, session: Session, tmp_path: Path
) -> None:
    sheet = tmp_path / "名簿.csv"
    sheet.write_text(
        f"氏名,所属コード,点数\n良い 行,{actors.org.fire_div.code},70\n悪い 行,999999,70\n点数 違い,{actors.org.fire_div.code},abc\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="直す必要のある行が2行") as info:
        services.attendance_import(actor=actor_of(actors, "admin"), session=session, path=sheet)
    assert info.value.details == [
        "3行目: 所属コード「999999」の所属が見つかりません。",
        "4行目: 点数は0～100の数で入力してください。",
    ]
    assert not Attendance.objects.exists()


def test_attendance_import_needs_name_and_unit_columns(
    actors: Actors, session: Session, tmp_path: Path
) -> None:
    sheet = tmp_path / "名簿.csv"
    sheet.write_text("名,課\na,b\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="「氏名」と「所属コード」"):
        services.attendance_import(actor=actor_of(actors, "admin"), session=session, path=sheet)


def test_attendance_import_xlsx(actors: Actors, session: Session, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["氏名", "所属コード", "点数"])
    ws.append(["表計算 太郎", actors.org.fire_div.code, 90])
    path = tmp_path / "名簿.xlsx"
    wb.save(path)
    result = services.attendance_import(actor=actor_of(actors, "admin"), session=session, path=path)
    assert result.created == 1
    assert Attendance.objects.get().score == 90


def test_core_staff_and_headcount(actors: Actors) -> None:
    admin = actor_of(actors, "admin")
    entry = services.core_staff_add(
        actor=admin, user_id=actors.users["owner_editor"].pk, field_name="統計分析", since=dt.date(2024, 4, 1)
    )
    assert entry.unit == actors.org.health_div
    with pytest.raises(InvalidInput, match="登録日より後"):
        services.core_staff_end(actor=admin, entry=entry, until=dt.date(2024, 3, 1))
    services.core_staff_end(actor=admin, entry=entry, until=dt.date(2025, 3, 31))
    with pytest.raises(InvalidInput, match="すでに終了"):
        services.core_staff_end(actor=admin, entry=entry)
    services.headcount_set(actor=admin, unit_id=actors.org.health_div.pk, staff=42)
    services.headcount_set(actor=admin, unit_id=actors.org.health_div.pk, staff=40)
    assert Headcount.objects.get().staff == 40
    assert AuditEvent.objects.filter(action="training.headcount").order_by("id").last().changes["staff"] == [
        42,
        40,
    ]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="職員数は0以上"):
        services.headcount_set(actor=admin, unit_id=actors.org.health_div.pk, staff=-1)
    with pytest.raises(PermissionDenied):
        services.headcount_set(actor=actor_of(actors, "staff"), unit_id=actors.org.fire_div.pk, staff=3)
