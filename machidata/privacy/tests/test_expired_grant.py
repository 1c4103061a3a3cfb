"""Bad input: reading data under a 利用申請 grant that has ended is refused with the end date and how to
renew, in Japanese, and audited (``access.grant_expired``); a grant still running reads as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.models import DatasetGrant, GrantLevel
from machidata.catalog.table_selectors import table_rows
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.errors import PermissionDenied
from machidata.core.testing import Actors, make_dataset

__all__ = ["lake_home"]
pytestmark = pytest.mark.django_db


def test_ended_grant_is_refused_with_its_date_and_audited(actors: Actors, lake_home: Any) -> None:
    ds = make_dataset(actors.org.health_div, slug="kenshin", personal_data="personal")
    table = make_table(ds, name="t")
    write(table, ROWS[:5])
    grant = DatasetGrant.objects.create(dataset=ds, user=actors.users["staff"], level=GrantLevel.READ,
                                        expires_on=timezone.localdate())  # fmt: skip
    staff = actor_for(actors.users["staff"])
    assert table_rows(actor=staff, table=table).rows  # the last day still reads
    ended = timezone.localdate() - dt.timedelta(days=1)
    DatasetGrant.objects.filter(pk=grant.pk).update(expires_on=ended)
    with pytest.raises(PermissionDenied, match=f"利用の許可は {ended:%Y-%m-%d} で終わりました.*更新を申請"):
        table_rows(actor=staff, table=table)
    download = reverse("catalog:table_download", args=[ds.slug, "t"]) + "?format=csv"
    refused = actors.client("staff").get(download)
    assert refused.status_code == 403
    assert "で終わりました" in refused.content.decode()
    events = AuditEvent.objects.filter(action="access.grant_expired")
    assert events.count() == 2
    assert events.first().changes["expired_on"] == ended.isoformat()
    # someone who never held a grant gets the usual 利用申請 message, and nothing is audited for them
    other = actors.client("other_editor").get(download)
    assert other.status_code == 403
    assert "利用申請が必要です" in other.content.decode()
    assert AuditEvent.objects.filter(action="access.grant_expired").count() == 2
