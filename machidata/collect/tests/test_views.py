"""Campaign pages: list (empty state), start a campaign from the form, progress, a recipient's upload and web form, freshness."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse

from machidata.catalog.models import Table
from machidata.collect.models import Campaign, Recipient, RecipientStatus, Submission
from machidata.collect.tests.conftest import fill
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)


def test_empty_list_explains_what_to_do(actors: Actors) -> None:
    page = actors.client("staff").get(reverse("collect:list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "表示できる照会はありません" in text
    assert "照会を始める</a>" not in text


def test_start_answer_and_follow_a_campaign(actors: Actors, visitors: Table) -> None:
    client = actors.client("owner_editor")
    form = client.get(reverse("collect:create") + f"?table={visitors.pk}")
    assert form.status_code == 200
    assert "集める表" in form.content.decode()
    bad = client.post(
        reverse("collect:create"), {"table": visitors.pk, "title": "x", "deadline": "2000-01-01"}
    )
    assert bad.status_code == 400
    assert "締切日は今日以降" in bad.content.decode()
    deadline = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    done = client.post(
        reverse("collect:create"),
        {
            "table": visitors.pk,
            "title": "4月の利用者数",
            "deadline": deadline,
            "instructions": "",
            "units": [actors.org.fire_div.pk],
            "facilities": "第1合成小学校\n\n第2合成小学校\n",
        },
    )
    campaign = Campaign.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("collect:detail", args=[campaign.pk])
    assert Recipient.objects.filter(campaign=campaign).count() == 3
    facility = Recipient.objects.get(campaign=campaign, name="第1合成小学校")

    template = client.get(reverse("collect:template", args=[campaign.pk, facility.pk]))
    assert template.status_code == 200
    upload = io.BytesIO(fill(template.content, [["2025-04-01", "午前", -1, ""]]))
    upload.name = "kaitou.xlsx"
    client.post(reverse("collect:upload", args=[campaign.pk, facility.pk]), {"file": upload})
    page = client.get(reverse("collect:recipient", args=[campaign.pk, facility.pk])).content.decode()
    assert "直すところ" in page
    assert "最小値（0）より小さい値です" in page
    rows = {
        "r1_c0": "2025-04-01",
        "r1_c1": "午前",
        "r1_c2": "12",
        "r2_c0": "2025-04-01",
        "r2_c1": "午後",
        "r2_c2": "9",
    }
    client.post(reverse("collect:rows", args=[campaign.pk, facility.pk]), rows)
    facility.refresh_from_db()
    assert (facility.status, facility.rows) == (RecipientStatus.ANSWERED, 2)
    detail = client.get(reverse("collect:detail", args=[campaign.pk])).content.decode()
    assert "回答済み 1 / 3（33%）" in detail
    assert 'value="1"' in detail
    assert Submission.objects.filter(recipient=facility).count() == 2
    # The recipient 課 sees its own entry only.
    seen = actors.client("staff").get(reverse("collect:detail", args=[campaign.pk])).content.decode()
    assert "警防課" in seen
    assert "第1合成小学校" not in seen
    closed = client.post(reverse("collect:close", args=[campaign.pk]))
    assert closed.status_code == 302
    assert Campaign.objects.get().status == "closed"


def test_freshness_page_lists_overdue_data(actors: Actors, visitors: Table) -> None:
    from machidata.catalog.models import Frequency, TableVersion

    ds = visitors.dataset
    ds.frequency = Frequency.DAILY
    ds.save()
    TableVersion.objects.filter(table=visitors).update(committed_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    page = actors.client("owner_editor").get(reverse("collect:freshness")).content.decode()
    assert ds.title in page
    assert "2020-01-02" in page
    other = actors.client("other_editor").get(reverse("collect:freshness")).content.decode()
    assert ds.title not in other
    assert "更新が遅れているデータはありません" in other


def test_imports_page_sets_up_and_runs_a_folder_import(
    actors: Actors, visitors: Table, settings: object, tmp_path: object
) -> None:
    from pathlib import Path

    root = Path(str(tmp_path)) / "share"
    (root / "kenkou").mkdir(parents=True)
    settings.MACHIDATA_IMPORT_ROOT = str(root)  # type: ignore[attr-defined]
    client = actors.client("owner_editor")
    empty = client.get(reverse("collect:imports")).content.decode()
    assert "見られる定期取り込みはありません" in empty
    bad = client.post(
        reverse("collect:imports"),
        {"table": visitors.pk, "folder": "../x", "pattern": "*.csv", "mode": "append"},
    )
    assert bad.status_code == 400
    assert "取り込み用フォルダの中の場所を書いてください" in bad.content.decode()
    done = client.post(
        reverse("collect:imports"),
        {"table": visitors.pk, "folder": "kenkou", "pattern": "*.csv", "mode": "append"},
    )
    assert done.status_code == 302
    ran = client.post(done["Location"] + "scan")
    assert ran.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "まだファイルはありません" in page
    assert "最後の確認" in page
    assert "まだ確認していません" not in page
    assert actors.client("staff").get(done["Location"]).status_code == 404
