"""Data request pages across actors: list, form (prefilled from ?q=), detail, and each step."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.access.models import Classification
from machidata.audit.models import AuditEvent
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.datarequests.models import DataRequest, RequestStatus
from machidata.datarequests.tests.conftest import file_request

pytestmark = pytest.mark.django_db

RECEIVED_DETAIL = {
    "anonymous": 302,
    "requester": 200,
    "staff": 404,
    "owner_viewer": 404,
    "owner_editor": 404,
    "other_editor": 404,
    "admin": 200,
}
ROUTED_DETAIL = RECEIVED_DETAIL | {"owner_viewer": 200, "owner_editor": 200}


def test_list_and_form_for_every_signed_in_member(cast: Actors, routed: DataRequest) -> None:
    for name in ("datarequests:list", "datarequests:new"):
        url = reverse(name)
        expected = dict.fromkeys(RECEIVED_DETAIL, 200) | {"anonymous": 302}
        check_statuses(cast, lambda c, url=url: c.get(url), expected, label=name)
    url = reverse("datarequests:list")
    assert "町丁別の空き家の件数" in cast.client("requester").get(url).content.decode()
    assert "町丁別の空き家の件数" in cast.client("admin").get(url).content.decode()
    dept = cast.client("owner_editor").get(url + "?scope=department").content.decode()
    assert "町丁別の空き家の件数" in dept
    other = cast.client("staff").get(url).content.decode()
    assert "町丁別の空き家の件数" not in other
    assert "表示できる要望はありません" in other
    filtered = cast.client("admin").get(url + "?status=answered").content.decode()
    assert "町丁別の空き家の件数" not in filtered


def test_list_pages(cast: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHIDATA_PAGE_SIZE = 2
    for i in range(5):
        file_request(cast, title=f"要望その{i}")
    body = cast.client("requester").get(reverse("datarequests:list") + "?page=3").content.decode()
    assert "3 / 3 ページ" in body
    assert "要望その0" in body
    assert "要望その4" not in body


def test_form_is_prefilled_from_the_search_that_found_nothing(cast: Actors) -> None:
    body = cast.client("staff").get(reverse("datarequests:new") + "?q=空き家 町丁").content.decode()
    assert 'name="search_query" value="空き家 町丁"' in body
    assert '<label for="id_title">欲しいデータ' in body


def test_post_form_creates_and_redirects_errors_rerender(cast: Actors) -> None:
    client = cast.client("requester")
    bad = client.post(reverse("datarequests:new"), {"title": "", "description": "d", "purpose": "p"})
    assert bad.status_code == 400
    assert "このフィールドは必須です。" in bad.content.decode() or "入力してください" in bad.content.decode()
    assert DataRequest.objects.count() == 0
    ok = client.post(
        reverse("datarequests:new"),
        {
            "title": "公園の利用者数",
            "description": "公園別・月別",
            "purpose": "公園再整備",
            "period": "直近3年",
            "suggested_unit": cast.org.health_div.pk,
            "search_query": "公園 利用者",
        },
    )
    req = DataRequest.objects.get()
    assert ok.status_code == 302
    assert ok["Location"] == reverse("datarequests:detail", args=[req.pk])
    assert (req.title, req.suggested_unit, req.search_query) == (
        "公園の利用者数",
        cast.org.health_div,
        "公園 利用者",
    )


def test_detail_statuses_follow_routing(cast: Actors, received: DataRequest) -> None:
    url = reverse("datarequests:detail", args=[received.pk])
    check_statuses(cast, lambda c: c.get(url), RECEIVED_DETAIL, label="received")
    body = cast.client("admin").get(url).content.decode()
    assert "担当課へ回付する（管理）" in body
    assert "回答する</h2>" not in body
    mine = cast.client("requester").get(url).content.decode()
    assert "要望を取り下げる" in mine
    assert "担当課へ回付する" not in mine


def test_routed_detail_and_timeline(cast: Actors, routed: DataRequest) -> None:
    url = reverse("datarequests:detail", args=[routed.pk])
    check_statuses(cast, lambda c: c.get(url), ROUTED_DETAIL, label="routed")
    body = cast.client("owner_viewer").get(url).content.decode()
    assert "回答する</h2>" in body
    assert "ご確認ください" in body  # the routing note in the timeline
    assert "回付先: 健康福祉局 健康づくり推進課" in body


def _post_as(cast: Actors, name: str, url: str, data: dict[str, object]) -> int:
    return cast.client(name).post(url, data).status_code


def test_route_answer_withdraw_comment_statuses(cast: Actors) -> None:
    received = file_request(cast)
    route = reverse("datarequests:route", args=[received.pk])
    data = {"unit": cast.org.health_div.pk}
    check_statuses(
        cast,
        lambda c: c.post(route, data),
        {"anonymous": 302, "requester": 403, "staff": 404, "owner_editor": 404, "other_editor": 404},
    )
    received.refresh_from_db()
    assert received.status == RequestStatus.RECEIVED
    check_statuses(cast, lambda c: c.post(route, data), {"admin": 302})
    received.refresh_from_db()
    assert received.status == RequestStatus.ROUTED

    answer = reverse("datarequests:answer", args=[received.pk])
    dataset = make_dataset(cast.org.health_div, classification=Classification.INTERNAL)
    good = {"kind": "exists", "dataset": dataset.slug}
    check_statuses(
        cast,
        lambda c: c.post(answer, good),
        {"anonymous": 302, "requester": 403, "staff": 404, "other_editor": 404},
    )
    check_statuses(cast, lambda c: c.post(answer, good), {"owner_viewer": 302})
    received.refresh_from_db()
    assert (received.status, received.answer_dataset) == ("answered", dataset)
    page = cast.client("requester").get(reverse("datarequests:detail", args=[received.pk])).content.decode()
    assert f'href="{reverse("catalog:detail", args=[dataset.slug])}"' in page
    again = cast.client("owner_editor").post(answer, good)
    assert again.status_code == 409
    assert "「回答済み」の要望には回答できません" in again.content.decode()

    comment = reverse("datarequests:comment", args=[received.pk])
    check_statuses(
        cast,
        lambda c: c.post(comment, {"body": "ありがとう"}),
        {
            "anonymous": 302,
            "staff": 404,
            "other_editor": 404,
            "requester": 302,
            "owner_editor": 302,
            "admin": 302,
        },
    )

    withdraw = reverse("datarequests:withdraw", args=[received.pk])
    check_statuses(cast, lambda c: c.post(withdraw, {}), {"admin": 403, "owner_editor": 403, "staff": 404})
    assert cast.client("requester").post(withdraw, {}).status_code == 409  # answered: too late


def test_step_errors_rerender_with_the_message(cast: Actors, routed: DataRequest) -> None:
    answer = reverse("datarequests:answer", args=[routed.pk])
    response = cast.client("owner_editor").post(answer, {"kind": "cannot_provide", "text": ""})
    assert response.status_code == 400
    assert "提供できない理由を書いてください。" in response.content.decode()
    routed.refresh_from_db()
    assert routed.status == RequestStatus.ROUTED
    assert not AuditEvent.objects.filter(action="datarequest.answer").exists()


def test_withdraw_from_the_page(cast: Actors, received: DataRequest) -> None:
    withdraw = reverse("datarequests:withdraw", args=[received.pk])
    response = cast.client("requester").post(withdraw, {"reason": "不要になりました"})
    assert response.status_code == 302
    received.refresh_from_db()
    assert received.status == RequestStatus.WITHDRAWN
    body = cast.client("requester").get(reverse("datarequests:detail", args=[received.pk])).content.decode()
    assert "不要になりました" in body
    assert "要望を取り下げる" not in body
    assert "コメントする" not in body
