"""Data request services: transitions, refusals with Japanese messages, audit and notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from machidata.access.models import Classification
from machidata.access.policy import ANONYMOUS, actor_for
from machidata.audit.models import AuditEvent
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset, make_user
from machidata.datarequests.models import DataRequest, DataRequestEvent, EventKind, RequestStatus
from machidata.datarequests.services import (
    data_request_answer,
    data_request_comment,
    data_request_create,
    data_request_route,
    data_request_withdraw,
)
from machidata.datarequests.tests.conftest import as_actor, file_request
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db


def _notified(actors: Actors, name: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=actors.users[name])
        .order_by("id")
        .values_list("message", flat=True)
    )


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# ---- create --------------------------------------------------------------------------------------


def test_create_records_requester_unit_event_audit_and_notifies_admin(cast: Actors) -> None:
    req = file_request(cast, suggested_unit_id=cast.org.health_div.pk)
    req.refresh_from_db()
    assert req.status == RequestStatus.RECEIVED
    assert req.requested_by == cast.users["requester"]
    assert req.requester_unit == cast.org.fire_div
    assert req.suggested_unit == cast.org.health_div
    assert req.search_query == "空き家"
    events = list(req.events.values_list("kind", "status_from", "status_to", "actor_label"))
    assert events == [("created", "", "received", "要望 太郎")]
    [audit] = _audits("datarequest.create")
    assert audit.object_id == str(req.pk)
    assert audit.actor_id == cast.users["requester"].pk
    assert audit.changes["title"] == "町丁別の空き家の件数"
    link = f"/data-requests/{req.pk}/"
    assert Notification.objects.get(recipient=cast.users["admin"]).link == link
    assert _notified(cast, "admin") == [
        "データの要望「町丁別の空き家の件数」が届きました。担当課への回付をお願いします。"
    ]
    assert _notified(cast, "requester") == []
    assert _notified(cast, "owner_editor") == []


def test_a_section_member_is_counted_under_the_division(cast: Actors) -> None:
    user = make_user("sec", unit=cast.org.health_sec)
    req = data_request_create(actor=actor_for(user), title="t", description="d", purpose="p")
    assert req.requester_unit == cast.org.health_div


def test_create_refuses_missing_and_too_long_fields_saving_nothing(cast: Actors) -> None:
    with pytest.raises(InvalidInput) as info:
        file_request(
            cast, title="  ", description="", purpose="", period="x" * 201, suggested_unit_id=999_999
        )
    assert info.value.details == {
        "title": "欲しいデータを入力してください。",
        "description": "内容の詳細を入力してください。",
        "purpose": "利用目的を入力してください。",
        "period": "必要な期間は200文字以内で入力してください（いま201文字）。",
        "suggested_unit": "所属が見つかりません（廃止された所属か、課・係ではありません）。",
    }
    with pytest.raises(InvalidInput) as bureau:
        file_request(cast, suggested_unit_id=cast.org.health_bureau.pk)  # a 局 is not a 課
    assert "suggested_unit" in bureau.value.details
    assert DataRequest.objects.count() == 0
    assert _audits("datarequest.create") == []
    assert Notification.objects.count() == 0


def test_create_needs_a_signed_in_actor(cast: Actors) -> None:
    with pytest.raises(PermissionDenied):
        data_request_create(actor=ANONYMOUS, title="t", description="d", purpose="p")


# ---- route ---------------------------------------------------------------------------------------


def test_route_by_admin_notifies_the_departments_stewards_and_the_requester(
    cast: Actors, received: DataRequest
) -> None:
    Notification.objects.all().delete()
    req = data_request_route(actor=as_actor(cast, "admin"), request=received, unit_id=cast.org.health_div.pk)
    req.refresh_from_db()
    assert (req.status, req.routed_unit, req.routed_at is not None) == ("routed", cast.org.health_div, True)
    event = req.events.get(kind=EventKind.ROUTED)
    assert (event.status_from, event.status_to, event.unit) == ("received", "routed", cast.org.health_div)
    [audit] = _audits("datarequest.route")
    assert audit.changes["status"] == ["received", "routed"]
    assert audit.changes["routed_unit"] == cast.org.health_div.pk
    # The 課 has a データ所有者 (編集): they hear of it; its 閲覧 members do not get a notice.
    assert _notified(cast, "owner_editor") == [
        "データの要望「町丁別の空き家の件数」が健康づくり推進課に回付されました。回答をお願いします。"
    ]
    assert _notified(cast, "owner_viewer") == []
    assert _notified(cast, "requester") == [
        "あなたのデータの要望「町丁別の空き家の件数」を健康づくり推進課に回付しました。"
    ]
    assert _notified(cast, "admin") == []  # the one who routed it


def test_a_department_without_stewards_notifies_every_member(cast: Actors, received: DataRequest) -> None:
    # データ戦略課 has only a 管理 member and this 閲覧 one: no データ所有者, so every member hears of it.
    member = make_user("ds-viewer", unit=cast.org.data_strategy)
    Notification.objects.all().delete()
    data_request_route(actor=as_actor(cast, "admin"), request=received, unit_id=cast.org.data_strategy.pk)
    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {member.username, "requester"}  # admin routed it: no notice to self


def test_only_admin_routes_and_only_to_a_new_division(cast: Actors, routed: DataRequest) -> None:
    for name in ("requester", "owner_editor", "staff"):
        with pytest.raises(PermissionDenied, match="データ戦略課"):
            data_request_route(actor=as_actor(cast, name), request=routed, unit_id=cast.org.fire_div.pk)
    with pytest.raises(InvalidInput) as same:
        data_request_route(actor=as_actor(cast, "admin"), request=routed, unit_id=cast.org.health_div.pk)
    assert same.value.details == {"unit": "すでに健康づくり推進課へ回付しています。"}
    rerouted = data_request_route(actor=as_actor(cast, "admin"), request=routed, unit_id=cast.org.fire_div.pk)
    assert rerouted.routed_unit == cast.org.fire_div
    assert rerouted.events.filter(kind=EventKind.ROUTED).count() == 2


# ---- answer --------------------------------------------------------------------------------------


def test_answer_exists_links_a_dataset_the_requester_can_discover(cast: Actors, routed: DataRequest) -> None:
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL)
    Notification.objects.all().delete()
    req = data_request_answer(
        actor=as_actor(cast, "owner_viewer"), request=routed, kind="exists", dataset=dataset.slug
    )
    req.refresh_from_db()
    assert (req.status, req.answer_kind, req.answer_dataset) == ("answered", "exists", dataset)
    assert req.answered_by == cast.users["owner_viewer"]
    [audit] = _audits("datarequest.answer")
    assert audit.changes["dataset"] == dataset.slug
    assert audit.changes["status"] == ["routed", "answered"]
    assert _notified(cast, "requester") == [
        "あなたのデータの要望「町丁別の空き家の件数」に回答がありました（データがあります）。"
    ]


def test_answer_refuses_a_dataset_hidden_from_the_requester(cast: Actors, routed: DataRequest) -> None:
    secret = make_dataset(cast.org.health_div, classification=Classification.CONFIDENTIAL, discoverable=False)
    with pytest.raises(InvalidInput) as info:
        data_request_answer(
            actor=as_actor(cast, "owner_editor"), request=routed, kind="exists", dataset=secret.slug
        )
    assert "依頼者はこのデータセットをカタログで見られない（機密）" in info.value.details["dataset"]
    # Saying that it exists and whom to ask is the way to answer then.
    req = data_request_answer(
        actor=as_actor(cast, "owner_editor"),
        request=routed,
        kind="exists",
        text="健康づくり推進課（内線1234）へ",
    )
    assert req.answer_dataset is None
    assert req.answer_text == "健康づくり推進課（内線1234）へ"


def test_answer_checks_what_each_kind_needs_and_saves_nothing_on_error(
    cast: Actors, routed: DataRequest
) -> None:
    editor = as_actor(cast, "owner_editor")
    cases = [
        ({"kind": "maybe"}, {"kind": "回答の種類を選んでください。"}),
        (
            {"kind": "exists"},
            {
                "text": "該当するデータセットを指定するか、データのある場所と問い合わせ先を回答に書いてください。"
            },
        ),
        (
            {"kind": "exists", "dataset": "no-such"},
            {"dataset": "データセットが見つかりません（URL名か番号を確かめてください）。"},
        ),
        ({"kind": "will_create"}, {"expected_on": "作成の見込み日を入力してください。"}),
        (
            {"kind": "will_create", "expected_on": timezone.localdate() - dt.timedelta(days=1)},
            {"expected_on": "作成の見込み日には今日以降の日付を入力してください。"},
        ),
        ({"kind": "cannot_provide", "text": "   "}, {"text": "提供できない理由を書いてください。"}),
    ]
    for kwargs, details in cases:
        with pytest.raises(InvalidInput) as info:
            data_request_answer(actor=editor, request=routed, **kwargs)  # type: ignore[arg-type]
        assert info.value.details == details, kwargs
    routed.refresh_from_db()
    assert (routed.status, routed.answer_kind) == ("routed", "")
    assert _audits("datarequest.answer") == []
    due = timezone.localdate() + dt.timedelta(days=30)
    req = data_request_answer(
        actor=editor, request=routed, kind="will_create", expected_on=due, dataset="ignored-for-this-kind"
    )
    assert (req.answer_kind, req.answer_expected_on, req.answer_dataset) == ("will_create", due, None)


def test_only_the_routed_department_or_admin_answers(cast: Actors, routed: DataRequest) -> None:
    for name in ("requester", "staff", "other_editor"):
        with pytest.raises(PermissionDenied, match="回付先の課の職員"):
            data_request_answer(actor=as_actor(cast, name), request=routed, kind="cannot_provide", text="x")
    req = data_request_answer(
        actor=as_actor(cast, "admin"), request=routed, kind="cannot_provide", text="理由"
    )
    assert req.status == RequestStatus.ANSWERED


# ---- transitions ---------------------------------------------------------------------------------


def test_steps_refused_from_the_wrong_status_with_japanese_messages(
    cast: Actors, received: DataRequest
) -> None:
    admin, requester = as_actor(cast, "admin"), as_actor(cast, "requester")
    with pytest.raises(
        Conflict, match=r"「受付」の要望には回答できません（回答できるのは担当課へ回付した要望だけです）。"
    ):
        data_request_answer(actor=admin, request=received, kind="cannot_provide", text="x")
    data_request_route(actor=admin, request=received, unit_id=cast.org.health_div.pk)
    data_request_answer(actor=admin, request=received, kind="cannot_provide", text="x")
    with pytest.raises(Conflict, match="「回答済み」の要望は担当課へ回付できません"):
        data_request_route(actor=admin, request=received, unit_id=cast.org.fire_div.pk)
    with pytest.raises(Conflict, match="「回答済み」の要望は取り下げられません"):
        data_request_withdraw(actor=requester, request=received)
    with pytest.raises(Conflict, match="「回答済み」の要望には回答できません"):
        data_request_answer(actor=admin, request=received, kind="cannot_provide", text="again")
    # Comments go on after an answer (follow-up questions).
    data_request_comment(actor=requester, request=received, body="ありがとうございました")


def test_withdraw_by_the_requester_only_then_nothing_else(cast: Actors, routed: DataRequest) -> None:
    for name in ("admin", "owner_editor", "staff"):
        with pytest.raises(PermissionDenied, match="要望した本人だけ"):
            data_request_withdraw(actor=as_actor(cast, name), request=routed)
    Notification.objects.all().delete()
    req = data_request_withdraw(
        actor=as_actor(cast, "requester"), request=routed, reason="別の方法で入手しました"
    )
    assert (req.status, req.withdrawn_at is not None) == ("withdrawn", True)
    event = req.events.get(kind=EventKind.WITHDRAWN)
    assert (event.status_from, event.status_to, event.body) == (
        "routed",
        "withdrawn",
        "別の方法で入手しました",
    )
    assert _notified(cast, "admin") == ["データの要望「町丁別の空き家の件数」は依頼者が取り下げました。"]
    assert len(_notified(cast, "owner_editor")) == 1
    with pytest.raises(Conflict, match="取り下げた要望にはコメントできません。"):
        data_request_comment(actor=as_actor(cast, "requester"), request=routed, body="やはり")
    with pytest.raises(Conflict, match="「取り下げ」の要望は担当課へ回付できません"):
        data_request_route(actor=as_actor(cast, "admin"), request=routed, unit_id=cast.org.fire_div.pk)


# ---- comments ------------------------------------------------------------------------------------


def test_comments_notify_the_other_side(cast: Actors, received: DataRequest) -> None:
    Notification.objects.all().delete()
    data_request_comment(actor=as_actor(cast, "requester"), request=received, body="急ぎです")
    assert len(_notified(cast, "admin")) == 1  # not yet routed: 管理 hears of it
    data_request_route(actor=as_actor(cast, "admin"), request=received, unit_id=cast.org.health_div.pk)
    Notification.objects.all().delete()
    event = data_request_comment(
        actor=as_actor(cast, "owner_editor"), request=received, body="項目を教えてください"
    )
    assert (event.kind, event.body, event.status_to) == ("comment", "項目を教えてください", "")
    assert _notified(cast, "requester") == [
        f"データの要望「町丁別の空き家の件数」に{event.actor_label}さんがコメントしました。"
    ]
    assert _notified(cast, "admin") == []  # routed: the 課 and the requester talk
    audit = _audits("datarequest.comment")[-1]
    assert audit.changes == {"event": event.pk, "body": "項目を教えてください"}
    with pytest.raises(InvalidInput) as empty:
        data_request_comment(actor=as_actor(cast, "requester"), request=received, body=" ")
    assert empty.value.details == {"body": "コメントを入力してください。"}
    assert DataRequestEvent.objects.filter(kind="comment").count() == 2


def test_every_step_writes_its_audit_inside_the_transaction(cast: Actors, answered: DataRequest) -> None:
    actions = list(
        AuditEvent.objects.filter(object_type="datarequests.datarequest", object_id=str(answered.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["datarequest.create", "datarequest.route", "datarequest.answer"]
