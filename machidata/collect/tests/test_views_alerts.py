"""Alert pages: the list with its empty states, making a rule from the form, removing one's own only, the e-mail choice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from machidata.collect.models import AlertRule
from machidata.collect.tests.test_alerts import indicator, record
from machidata.core.testing import Actors
from machidata.ebpm.models import Indicator
from machidata.notify.models import EmailPreference

__all__ = ["indicator"]
pytestmark = pytest.mark.django_db(transaction=True)


def test_list_form_and_delete(actors: Actors, indicator: Indicator) -> None:
    client = actors.client("staff")
    page = client.get(reverse("collect:alerts")).content.decode()
    assert "アラートはまだありません" in page
    assert "条件を満たしたことはまだありません" in page
    form = client.get(reverse("collect:alert_new"), {"indicator": indicator.pk}).content.decode()
    assert "受診者数（受診勧奨）" in form
    bad = client.post(
        reverse("collect:alert_new"), {"indicator": indicator.pk, "condition": "above", "cooldown_hours": 24}
    )
    assert bad.status_code == 400
    assert "しきい値は数で入力してください" in bad.content.decode()
    record(actors, indicator, 2023, 10)
    made = client.post(
        reverse("collect:alert_new"),
        {"indicator": indicator.pk, "condition": "above", "threshold": 20, "cooldown_hours": 0},
    )
    assert made.status_code == 302
    rule = AlertRule.objects.get()
    record(actors, indicator, 2024, 25)
    page = client.get(reverse("collect:alerts")).content.decode()
    assert "20 を上回ったら" in page
    assert "2024年度の値が 25人" in page
    assert "知らせました" in page
    other = actors.client("other_editor")
    assert other.post(reverse("collect:alert_delete", args=[rule.pk])).status_code == 404
    assert client.post(reverse("collect:alert_delete", args=[rule.pk])).status_code == 302
    assert not AlertRule.objects.exists()


def test_email_choice_page(actors: Actors) -> None:
    client = actors.client("staff")
    assert client.post(reverse("collect:alert_email"), {"mode": "digest"}).status_code == 302
    assert EmailPreference.objects.get(user=actors.users["staff"]).mode == "digest"
    assert client.post(reverse("collect:alert_email"), {"mode": "weekly"}).status_code == 302
    assert EmailPreference.objects.get(user=actors.users["staff"]).mode == "digest"
    assert actors.client("anonymous").get(reverse("collect:alerts")).status_code == 302


def test_alert_link_tag(actors: Actors, indicator: Indicator) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    from machidata.access.policy import actor_for

    tpl = Template("{% load collect_tags %}{% alert_link indicator=ind %}")
    request = RequestFactory().get("/")
    request.actor = actor_for(actors.users["staff"])  # type: ignore[attr-defined]
    html = tpl.render(Context({"request": request, "ind": indicator}))
    assert f'href="/collect/alerts/new/?indicator={indicator.pk}"' in html
    request.actor = actor_for(None)  # type: ignore[attr-defined]
    assert tpl.render(Context({"request": request, "ind": indicator})) == ""


def test_the_pages_place_the_alert_link_watch_button_and_last_update(
    actors: Actors, indicator: Indicator
) -> None:
    """The indicator page links to a new rule; the catalog page has 見守る and 最終更新 (rooms place the tags)."""
    client = actors.client("owner_viewer")
    page = client.get(reverse("ebpm:indicator", args=[indicator.pk])).content.decode()
    assert f"/collect/alerts/new/?indicator={indicator.pk}" in page
    dataset = indicator.table.dataset if indicator.table_id else None
    if dataset is None:
        from machidata.core.testing import make_dataset

        dataset = make_dataset(actors.org.health_div, slug="watch-me")
    detail = client.get(reverse("catalog:detail", args=[dataset.slug])).content.decode()
    assert "見守る（新しい版を知らせる）" in detail
    assert "最終更新" in detail
