"""Analysis pages: the form runs a design and shows the result; refusals show the Japanese reasons; owners only."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from machidata.analysis.models import Analysis
from machidata.analysis.tests.test_services import DID
from machidata.catalog.models import Table
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)


def _post(table: Table, **spec: object) -> dict[str, object]:
    return {
        "title": "窓口の受付時間変更",
        "table": table.pk,
        **{k: v for k, v in {**DID, **spec}.items() if v is not None},
    }


def test_form_runs_and_result_page_shows_everything(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    page = client.get(reverse("analysis:list"))
    assert page.status_code == 200
    assert "窓口の来庁者数（合成）" in page.content.decode()
    response = client.post(reverse("analysis:list"), _post(counter_table))
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("analysis:detail", args=[analysis.pk])
    html = client.get(response["Location"]).content.decode()
    assert analysis.result["interpretation"] in html
    assert "レベル" in html
    assert "平行トレンド" in html  # an assumption and a check
    assert "statsmodels" in html
    spec = json.loads(
        re.search(r'<script id="analysis-spec" type="application/json">(.*?)</script>', html, re.S).group(1)
    )  # type: ignore[union-attr]
    assert spec["layer"][0]["encoding"]["color"]["field"] == "group"
    assert len(spec["data"]["values"]) == 180 * 2  # daily means of the two groups


def test_refused_design_shows_the_reason_and_saves_nothing(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    response = client.post(
        reverse("analysis:list"), _post(counter_table, treated_units="中央区,東区,西区,南区,北区")
    )
    assert response.status_code == 200
    assert "比較対象" in response.content.decode()
    assert not Analysis.objects.exists()


def test_pages_are_for_signed_in_owners(actors: Actors, counter_table: Table) -> None:
    actors.client("owner_editor").post(reverse("analysis:list"), _post(counter_table))
    url = reverse("analysis:detail", args=[Analysis.objects.get().pk])
    assert actors.client("anonymous").get(url).status_code == 302  # to the sign-in page
    assert actors.client("owner_viewer").get(url).status_code == 404
    assert actors.client("staff").get(url).status_code == 404
    assert actors.client("admin").get(url).status_code == 200
    # A table the actor may not read is not a choice, and posting its id answers the form's own error.
    response = actors.client("staff").post(reverse("analysis:list"), _post(counter_table))
    assert response.status_code == 200
    assert Analysis.objects.count() == 1


def test_sample_size_page(actors: Actors) -> None:
    client = actors.client("staff")
    url = reverse("analysis:sample_size")
    assert "計算する" in client.get(url).content.decode()
    html = client.get(
        url, {"kind": "means", "effect_size": "0.5", "alpha": "0.05", "power": "0.8", "ratio": "1"}
    ).content.decode()
    assert "対象群 64 件・比較群 64 件" in html
    refused = client.get(
        url, {"kind": "means", "alpha": "0.05", "power": "0.8", "ratio": "1"}
    ).content.decode()
    assert "効果の大きさを入れてください" in refused
    assert actors.client("anonymous").get(url).status_code == 302
