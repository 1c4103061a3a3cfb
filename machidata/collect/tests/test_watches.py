"""Watching a dataset: told of each new version (not of one's own), only while the entry stays discoverable."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from machidata.access.models import Classification
from machidata.catalog.models import Table
from machidata.collect.models import Watch
from machidata.collect.tests.conftest import as_actor
from machidata.collect.watches import watch_set, watched
from machidata.core.errors import NotFound
from machidata.core.testing import Actors, make_dataset
from machidata.ingest.services import ingest_file
from machidata.notify.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)
MORE = "日付,区分,利用者数,備考\n2025-06-01,午前,3,\n"


def test_watchers_are_told_of_new_versions(actors: Actors, visitors: Table, tmp_path: Path) -> None:
    staff, editor = as_actor(actors, "staff"), as_actor(actors, "owner_editor")
    slug = visitors.dataset.slug
    assert watch_set(actor=staff, slug=slug, on=True)
    watch_set(actor=staff, slug=slug, on=True)  # twice: still one watch
    watch_set(actor=editor, slug=slug, on=True)
    assert Watch.objects.count() == 2
    src = tmp_path / "more.csv"
    src.write_text(MORE, encoding="utf-8")
    start = Notification.objects.count()
    version = ingest_file(actor=editor, table=visitors, path=src, source_name="more.csv", mode="append")
    told = list(Notification.objects.order_by("pk")[start:])
    assert [n.recipient_id for n in told] == [actors.users["staff"].pk]  # not the editor who wrote it
    assert f"第{version.number}版" in told[0].message
    assert [w.dataset.slug for w in watched(actor=staff)] == [slug]
    watch_set(actor=staff, slug=slug, on=False)
    assert not Watch.objects.filter(user=actors.users["staff"]).exists()


def test_hidden_entries_cannot_be_watched_and_stop_telling(
    actors: Actors, visitors: Table, tmp_path: Path
) -> None:
    hidden = make_dataset(actors.org.health_div, classification=Classification.CONFIDENTIAL)
    with pytest.raises(NotFound):
        watch_set(actor=as_actor(actors, "staff"), slug=hidden.slug, on=True)
    watch_set(actor=as_actor(actors, "staff"), slug=visitors.dataset.slug, on=True)
    visitors.dataset.classification = Classification.CONFIDENTIAL  # later made 機密: no longer discoverable
    visitors.dataset.save()
    src = tmp_path / "more.csv"
    src.write_text(MORE, encoding="utf-8")
    start = Notification.objects.count()
    ingest_file(
        actor=as_actor(actors, "owner_editor"),
        table=visitors,
        path=src,
        source_name="more.csv",
        mode="append",
    )
    assert Notification.objects.count() == start
    assert list(watched(actor=as_actor(actors, "staff"))) == []


def test_button_and_pages(actors: Actors, visitors: Table) -> None:
    request = RequestFactory().get("/catalog/x/")
    request.actor = as_actor(actors, "staff")  # type: ignore[attr-defined]
    html = Template("{% load collect_tags %}{% watch_button ds %}").render(
        Context({"request": request, "ds": visitors.dataset})
    )
    assert "見守る" in html
    assert reverse("collect:watch", args=[visitors.dataset.slug]) in html
    client = actors.client("staff")
    done = client.post(
        reverse("collect:watch", args=[visitors.dataset.slug]), {"on": "1", "next": "https://evil.example/"}
    )
    assert done["Location"] == reverse("collect:watching")  # never redirected off the site
    page = client.get(reverse("collect:watching")).content.decode()
    assert visitors.dataset.title in page
    assert "見守りをやめる" in page
