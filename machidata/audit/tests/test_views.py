"""Audit log pages: 管理 only, 絞り込み, paging, chain status, CSV export, escaping."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_record
from machidata.core.testing import check_statuses

pytestmark = pytest.mark.django_db

ADMIN_ONLY = {"admin": 200, "staff": 404, "owner_editor": 404, "owner_viewer": 404, "anonymous": 302}


def _event(action: str = "test.view", repr_: str = "対象", who: str = "tester") -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=Actor(username=who), action=action, object_type="catalog.dataset", object_repr=repr_
        )


def test_list_statuses(actors) -> None:
    check_statuses(actors, lambda c: c.get(reverse("audit:list")), ADMIN_ONLY, label="list")


def test_detail_statuses(actors) -> None:
    event = _event()
    url = reverse("audit:detail", args=[event.pk])
    check_statuses(actors, lambda c: c.get(url), ADMIN_ONLY, label="detail")
    check_statuses(
        actors, lambda c: c.get(reverse("audit:detail", args=[999999])), {"admin": 404}, label="missing"
    )


def test_export_statuses(actors) -> None:
    check_statuses(actors, lambda c: c.get(reverse("audit:export")), ADMIN_ONLY, label="export")


def test_anonymous_is_sent_to_login(actors) -> None:
    response = actors.client("anonymous").get(reverse("audit:list"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_list_shows_intact_chain_newest_first(actors) -> None:
    _event(repr_="古い記録")
    _event(repr_="新しい記録")
    html = actors.client("admin").get(reverse("audit:list")).content.decode()
    assert "改ざんは検知されていません" in html
    assert html.index("新しい記録") < html.index("古い記録")


def test_list_shows_broken_chain_id(actors) -> None:
    _event()
    broken = _event()
    _event()
    AuditEvent.objects.filter(pk=broken.pk).update(actor_label="someone-else")
    html = actors.client("admin").get(reverse("audit:list")).content.decode()
    assert "改ざんは検知されていません" not in html
    assert f"ID {broken.pk}" in html


def test_filters(actors) -> None:
    _event(action="dataset.create", repr_="人口統計", who="alice")
    _event(action="dataset.update", repr_="避難所一覧", who="bob")
    client = actors.client("admin")

    def titles(**params: str) -> str:
        return client.get(reverse("audit:list"), params).content.decode()

    html = titles(action="dataset.update")
    assert "避難所一覧" in html
    assert "人口統計" not in html
    html = titles(actor="ali")
    assert "人口統計" in html
    assert "避難所一覧" not in html
    html = titles(q="避難")
    assert "避難所一覧" in html
    assert "人口統計" not in html
    html = titles(object_type="catalog.dataset", action="dataset.create")
    assert "人口統計" in html
    assert "避難所一覧" not in html


def test_date_filter_uses_japanese_dates(actors) -> None:
    early = _event(repr_="三月末の記録")
    late = _event(repr_="四月の記録")
    tz = timezone.get_default_timezone()
    # 2024-03-31 23:30 JST is 14:30 UTC on the 31st; 2024-04-01 00:30 JST is 15:30 UTC on the 31st.
    AuditEvent.objects.filter(pk=early.pk).update(created_at=dt.datetime(2024, 3, 31, 23, 30, tzinfo=tz))
    AuditEvent.objects.filter(pk=late.pk).update(created_at=dt.datetime(2024, 4, 1, 0, 30, tzinfo=tz))
    client = actors.client("admin")
    html = client.get(
        reverse("audit:list"), {"date_from": "2024-04-01", "date_to": "2024-04-01"}
    ).content.decode()
    assert "四月の記録" in html
    assert "三月末の記録" not in html
    html = client.get(reverse("audit:list"), {"date_to": "2024-03-31"}).content.decode()
    assert "三月末の記録" in html
    assert "四月の記録" not in html


def test_reversed_period_shows_an_error(actors) -> None:
    response = actors.client("admin").get(
        reverse("audit:list"), {"date_from": "2024-05-01", "date_to": "2024-04-01"}
    )
    assert response.status_code == 200
    assert "終了日が開始日より前になっています" in response.content.decode()


def test_paging_fifty_per_page(actors) -> None:
    for i in range(55):
        _event(action="test.page", repr_=f"記録{i:02d}")
    client = actors.client("admin")
    first = client.get(reverse("audit:list"), {"action": "test.page"})
    assert len(first.context["events"]) == 50
    assert "記録54" in first.content.decode()
    second = client.get(reverse("audit:list"), {"action": "test.page", "page": 2})
    html = second.content.decode()
    assert len(second.context["events"]) == 5
    assert "記録00" in html
    assert "記録54" not in html
    assert "action=test.page&amp;page=1" in html  # the link back keeps the filter


def test_script_in_object_repr_is_escaped(actors) -> None:
    event = _event(repr_="<script>alert(1)</script>")
    client = actors.client("admin")
    for url in (reverse("audit:list"), reverse("audit:detail", args=[event.pk])):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_detail_shows_before_and_after(actors) -> None:
    with transaction.atomic():
        event = audit_record(
            actor=Actor(username="tester"),
            action="dataset.update",
            object_repr="人口",
            changes={"title": {"before": "旧タイトル", "after": "新タイトル"}},
        )
    html = actors.client("admin").get(reverse("audit:detail", args=[event.pk])).content.decode()
    assert "変更前" in html
    assert "旧タイトル" in html
    assert "新タイトル" in html


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_utf8_with_bom_filtered(actors) -> None:
    _event(action="dataset.create", repr_="熊本の人口")
    _event(action="dataset.update", repr_="=1+2")
    response = actors.client("admin").get(reverse("audit:export"), {"action": "dataset.update"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(body.decode("utf-8-sig"))
    assert [r[6] for r in rows[1:]] == ["'=1+2"]
    assert AuditEvent.objects.filter(action="audit.export").count() == 1


def test_export_cp932(actors) -> None:
    _event(repr_="熊本城〜桜の馬場 🏯")
    response = actors.client("admin").get(reverse("audit:export"), {"encoding": "cp932", "q": "熊本城"})
    assert response.status_code == 200
    assert "shift_jis" in response["Content-Type"]
    rows = _csv_rows(response.content.decode("cp932"))
    assert rows[1][6] == "熊本城～桜の馬場 ?"


def test_export_unknown_encoding_is_400(actors) -> None:
    response = actors.client("admin").get(reverse("audit:export"), {"encoding": "latin-1"})
    assert response.status_code == 400
    assert "文字コード" in response.content.decode()
