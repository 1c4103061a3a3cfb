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
    assert "中断時系列分析" in page.content.decode()  # what each design does and needs
    response = client.post(reverse("analysis:list"), _post(counter_table))
    analysis = Analysis.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("analysis:detail", args=[analysis.pk])
    html = client.get(response["Location"]).content.decode()
    assert analysis.result["interpretation"] in html
    assert "レベル" in html
    assert "平行トレンド" in html  # an assumption and a check
    assert "statsmodels" in html
    from machidata.analysis.interpret import fmt

    assert f"<dd>{fmt(analysis.result['estimate'])}</dd>" in html  # numbers rounded for reading
    assert "95%信頼区間" in html
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


def test_exports_xlsx_and_pptx(actors: Actors, counter_table: Table) -> None:
    import io

    from openpyxl import load_workbook
    from pptx import Presentation

    client = actors.client("owner_editor")
    client.post(reverse("analysis:list"), _post(counter_table))
    analysis = Analysis.objects.get()
    xlsx = client.get(reverse("analysis:export", args=[analysis.pk, "xlsx"]))
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["概要", "チェック", "前提", "グラフのデータ"]
    summary = {row[0].value: row[1].value for row in book["概要"].iter_rows()}
    assert summary["推定値"] == pytest.approx(analysis.result["estimate"])
    assert summary["説明"] == analysis.result["interpretation"]
    assert book["グラフのデータ"].max_row == len(analysis.result["chart"]) + 1
    pptx = client.get(reverse("analysis:export", args=[analysis.pk, "pptx"]))
    deck = Presentation(io.BytesIO(pptx.content))
    assert len(deck.slides) == 2
    texts = " ".join(shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame)
    assert analysis.result["interpretation"] in texts
    assert any(shape.shape_type == 13 for shape in deck.slides[1].shapes)  # the chart picture
    assert client.get(reverse("analysis:export", args=[analysis.pk, "pdf"])).status_code == 404
    assert (
        actors.client("owner_viewer").get(reverse("analysis:export", args=[analysis.pk, "xlsx"])).status_code
        == 404
    )


def test_form_dates_narrow_the_rows(actors: Actors, counter_table: Table) -> None:
    client = actors.client("owner_editor")
    response = client.post(
        reverse("analysis:list"), _post(counter_table, since="2025-05-01", until="2025-09-01")
    )
    assert response.status_code == 302
    analysis = Analysis.objects.get()
    assert analysis.spec["since"] == "2025-05-01"
    assert analysis.result["n"] == (31 + 30 + 31 + 31) * 5
    bad = client.post(reverse("analysis:list"), _post(counter_table, since="そのうち"))
    assert bad.status_code == 200
    assert Analysis.objects.count() == 1


def test_saved_analyses_are_listed_a_page_at_a_time(
    actors: Actors, counter_table: Table, settings: object
) -> None:
    settings.MACHIDATA_PAGE_SIZE = 2  # type: ignore[attr-defined]
    client = actors.client("owner_editor")
    for n in range(3):
        data = {**_post(counter_table), "title": f"差の差 {n}"}
        assert client.post(reverse("analysis:list"), data).status_code == 302
    titles = [a.title for a in Analysis.objects.order_by("-created_at")]
    first = client.get(reverse("analysis:list")).content.decode()
    second = client.get(reverse("analysis:list"), {"page": 2}).content.decode()
    assert titles[0] in first
    assert titles[1] in first
    assert titles[2] not in first
    assert titles[2] in second
    assert titles[0] not in second
    assert "1 / 2 ページ" in first
    assert 'rel="next"' in first
