"""利用申請 pages and API: the link on the dataset page and search hits, the form, the route through the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from machidata.catalog.models import Dataset, DatasetGrant
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.privacy.models import AccessRequest, AccessStatus
from machidata.privacy.tests.conftest import period

pytestmark = pytest.mark.django_db
LINK = "利用を申請する"
J = "application/json"


def _form(**over: str) -> dict[str, str]:
    start, end = period()
    data = {"purpose": "救急需要と健診受診の関係を調べる", "starts_on": start.isoformat(), "ends_on": end.isoformat(),
            "legal_basis": "internal", "legal_ground": ""}  # fmt: skip
    data.update(over)
    return data


def test_link_on_dataset_page_only_for_discover_not_read(cast: Actors, restricted: Dataset) -> None:
    url = reverse("catalog:detail", args=[restricted.slug])
    assert LINK in cast.client("staff").get(url).content.decode()
    assert LINK not in cast.client("owner_viewer").get(url).content.decode()  # already reads it
    internal = make_dataset(cast.org.health_div, classification="internal")
    assert (
        LINK not in cast.client("staff").get(reverse("catalog:detail", args=[internal.slug])).content.decode()
    )


def test_link_on_search_hits(cast: Actors, restricted: Dataset) -> None:
    page = cast.client("staff").get(reverse("catalog:list"), {"q": "特定健診"}).content.decode()
    assert reverse("privacy:new", args=[restricted.slug]) in page
    page = cast.client("owner_viewer").get(reverse("catalog:list"), {"q": "特定健診"}).content.decode()
    assert reverse("privacy:new", args=[restricted.slug]) not in page


def test_form_errors_are_japanese_and_not_saved(cast: Actors, restricted: Dataset) -> None:
    url = reverse("privacy:new", args=[restricted.slug])
    c = cast.client("staff")
    assert "jushin.受診者数" in c.get(url).content.decode()
    start = dt.date.today() + dt.timedelta(days=10)
    r = c.post(url, _form(starts_on=start.isoformat(), ends_on=(start - dt.timedelta(days=1)).isoformat()))
    assert r.status_code == 400
    assert "利用終了日は利用開始日より後の日付にしてください。" in r.content.decode()
    r = c.post(url, _form(legal_basis="other_purpose"))
    assert r.status_code == 400
    assert "目的外利用の根拠を入力してください。" in r.content.decode()
    assert not AccessRequest.objects.exists()


def test_form_refuses_readable_and_hides_undiscoverable(cast: Actors, restricted: Dataset) -> None:
    r = cast.client("owner_viewer").post(reverse("privacy:new", args=[restricted.slug]), _form())
    assert r.status_code == 400
    assert "すでに利用できます" in r.content.decode()
    hidden = make_dataset(cast.org.health_div, classification="confidential", discoverable=False)
    assert cast.client("staff").get(reverse("privacy:new", args=[hidden.slug])).status_code == 404


def test_route_through_pages_then_expired_grant_gives_nothing(cast: Actors, restricted: Dataset) -> None:
    r = cast.client("staff").post(reverse("privacy:new", args=[restricted.slug]), _form())
    assert r.status_code == 302
    req = AccessRequest.objects.get()
    detail = reverse("privacy:detail", args=[req.pk])
    check_statuses(cast, lambda c: c.get(detail), {
        "anonymous": 302, "staff": 200, "owner_viewer": 200, "owner_editor": 200, "other_editor": 404, "admin": 200,
    })  # fmt: skip
    assert 'value="approve"' in cast.client("fire_head").get(detail).content.decode()
    assert 'value="approve"' not in cast.client("owner_editor").get(detail).content.decode()
    act = reverse("privacy:act", args=[req.pk])
    assert cast.client("owner_editor").post(act, {"decision": "approve"}).status_code == 403
    assert cast.client("fire_head").post(act, {"decision": "approve"}).status_code == 302
    assert cast.client("owner_editor").post(act, {"decision": "approve"}).status_code == 302
    req.refresh_from_db()
    assert req.status == AccessStatus.APPROVED
    table = reverse("catalog:detail", args=[restricted.slug])
    page = cast.client("staff").get(table).content.decode()
    assert LINK not in page
    DatasetGrant.objects.filter(pk=req.grant_id).update(expires_on=dt.date.today() - dt.timedelta(days=1))
    assert LINK in cast.client("staff").get(table).content.decode()  # the expired grant gives nothing
    # lists: mine for the requester, my 課's grants for the owner
    mine = cast.client("staff").get(reverse("privacy:list")).content.decode()
    assert detail in mine
    dept = cast.client("owner_viewer").get(reverse("privacy:list"), {"scope": "department"}).content.decode()
    assert detail in dept
    assert detail not in cast.client("other_editor").get(reverse("privacy:list")).content.decode()


def test_api_file_act_and_list(cast: Actors, restricted: Dataset) -> None:
    base = "/api/v1/access-requests"
    body = {**_form(), "dataset": restricted.slug, "columns": ["jushin.町丁名"]}
    r = cast.client("staff").post(f"{base}/", body, content_type=J)
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert r.json()["steps"][0]["state"] == "決裁待ち"
    assert cast.client("anonymous").get(f"{base}/").status_code == 401
    awaiting = cast.client("fire_head").get(f"{base}/", {"scope": "awaiting"}).json()
    assert [x["id"] for x in awaiting] == [rid]
    assert cast.client("other_editor").get(f"{base}/{rid}").status_code == 404
    r = cast.client("fire_head").post(f"{base}/{rid}/act", {"decision": "approve"}, content_type=J)
    assert r.status_code == 200
    r = cast.client("owner_editor").post(f"{base}/{rid}/act", {"decision": "approve"}, content_type=J)
    assert r.json()["status"] == "approved"
    r = cast.client("staff").post(f"{base}/", {**body, "columns": []}, content_type=J)
    assert r.status_code == 400
    assert "すでに利用できます" in r.json()["detail"]


def test_tag_without_readable_asks_the_policy(cast: Actors, restricted: Dataset) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    from machidata.access.policy import actor_for

    tpl = Template("{% load access_requests %}{% access_request_link d %}")
    hidden = make_dataset(cast.org.health_div, classification="confidential", discoverable=False)

    def render(user: str, d: Dataset) -> str:
        request = RequestFactory().get("/")
        request.actor = actor_for(cast.users[user])  # type: ignore[attr-defined]
        return tpl.render(Context({"request": request, "d": d}))

    assert LINK in render("staff", restricted)
    assert LINK not in render("owner_viewer", restricted)
    assert render("staff", hidden) == ""
