"""EBPM sheets: the logic model as PPTX, the national review-sheet CSV pair, the evaluation sheet round trip."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation

from machidata.access.policy import Actor
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.ebpm import services_indicators
from machidata.ebpm.models import Indicator, PlanItem
from machidata.ebpm.tests.conftest import DOC, as_actor
from machidata.ebpm.tests.test_services_indicators import QUERY, TIMES, _by_fiscal_year, _write

pytestmark = pytest.mark.django_db
READERS = {"staff": 200, "owner_viewer": 200, "owner_editor": 200, "other_editor": 200, "admin": 200}


def _texts(shapes: Any) -> list[str]:
    out = []
    for shape in shapes:
        if shape.has_text_frame:
            out.append(shape.text_frame.text)
        if getattr(shape, "has_table", False) and shape.has_table:
            out.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return out


@pytest.fixture
def sent(actors: Actors, modelled: PlanItem, editor: Actor) -> Indicator:
    ind = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="案内の送付数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, unit_label="通",
    )  # fmt: skip
    services_indicators.indicator_target_set(actor=editor, indicator=ind, fiscal_year=2024, value=250)
    services_indicators.indicator_actual_record(
        actor=editor, indicator=ind, fiscal_year=2024, value=300, evidence="発送記録"
    )
    return ind


def test_pptx_draws_every_node_link_and_indicator(
    actors: Actors, modelled: PlanItem, sent: Indicator
) -> None:
    check_statuses(
        actors, lambda c: c.get(f"/ebpm/{modelled.pk}/logic-model.pptx"), {**READERS, "anonymous": 302}
    )
    before = AuditEvent.objects.filter(action="ebpm.logic_model.export").count()
    r = actors.client("staff").get(f"/ebpm/{modelled.pk}/logic-model.pptx")
    assert r["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.presentationml")
    deck = Presentation(io.BytesIO(r.content))
    assert len(deck.slides) == 2
    model_slide, indicator_slide = deck.slides
    texts = _texts(model_slide.shapes)
    for node in DOC["nodes"]:
        assert any(node["statement"] in t for t in texts), node["statement"]
    assert any("特定健診受診勧奨事業" in t for t in texts)
    assert any("第1版" in t for t in texts)
    assert any("感染症の流行" in t for t in texts)  # external factors
    connectors = [s for s in model_slide.shapes if s.name.startswith("link ")]
    assert len(connectors) == len(DOC["links"])
    for c in connectors:
        assert c.begin_x != c.end_x or c.begin_y != c.end_y  # glued to two different boxes
        assert "tailEnd" in c._element.xml  # an arrowhead
    ind_texts = _texts(indicator_slide.shapes)
    assert "案内の送付数" in ind_texts
    assert "2024年度: 300通（速報）" in ind_texts
    assert "2024年度: 250通" in ind_texts
    assert AuditEvent.objects.filter(action="ebpm.logic_model.export").count() == before + 1
    event = AuditEvent.objects.filter(action="ebpm.logic_model.export").latest("id")
    assert event.changes == {"format": "pptx", "version": 1}
    assert "PowerPoint で書き出す" in actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode()


def test_pptx_without_a_model_is_404(actors: Actors, project: PlanItem) -> None:
    assert actors.client("staff").get(f"/ebpm/{project.pk}/logic-model.pptx").status_code == 404


def test_pptx_many_long_statements_shrink_to_fit(actors: Actors, project: PlanItem, editor: Actor) -> None:
    from machidata.ebpm import services

    long = "地域の医療機関と連携して、受診をためらう人に保健師が電話と訪問で個別に働きかける" * 2
    doc = {
        "stage_set": "six",
        "nodes": [
            {"id": f"n{i}", "stage": "activity", "number": str(i), "statement": f"{i}: {long}"}
            for i in range(1, 9)
        ],
        "links": [],
    }
    services.logic_model_save(actor=editor, item=project, document=doc, note="長い")
    deck = Presentation(
        io.BytesIO(actors.client("staff").get(f"/ebpm/{project.pk}/logic-model.pptx").content)
    )
    boxes = [s for s in deck.slides[0].shapes if s.name.startswith("node ")]
    assert len(boxes) == 8
    assert max(s.top + s.height for s in boxes) <= deck.slide_height  # nothing drawn off the slide


@pytest.mark.django_db(transaction=True)
def test_pptx_withholds_figures_from_a_restricted_table(
    actors: Actors, modelled: PlanItem, settings: Any, tmp_path: Path
) -> None:
    settings.MACHIDATA_HOME = tmp_path
    editor = as_actor(actors, "owner_editor")
    dataset = make_dataset(actors.org.health_div, slug="kyukyu", title="救急出動")  # 所属限定
    table = Table.objects.create(
        dataset=dataset, name="dispatches", title="救急出動記録", storage_key=uuid.uuid4().hex
    )
    _write(table, TIMES)
    services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n2", name="出動件数", kind="activity",
        responsible_unit_id=actors.org.health_div.pk, source_kind="query", table_id=table.pk, query=QUERY,
    )  # fmt: skip
    n = _by_fiscal_year(TIMES)[max(_by_fiscal_year(TIMES))]
    figure = f"{max(_by_fiscal_year(TIMES))}年度: {n:,}"
    for name, sees in (("owner_viewer", True), ("admin", True), ("staff", False), ("other_editor", False)):
        deck = Presentation(
            io.BytesIO(actors.client(name).get(f"/ebpm/{modelled.pk}/logic-model.pptx").content)
        )
        texts = _texts(deck.slides[1].shapes)
        assert "出動件数" in texts, name
        assert any(t.startswith(figure) for t in texts) is sees, name
        assert any(t.startswith("表示できません") for t in texts) is not sees, name
        rs = _zip(actors.client(name).get(f"/ebpm/{modelled.pk}/rs-sheet.zip").content)
        latest = [
            r for r in rs["3-1_効果発現経路_目標・実績.csv"] if r["年度"] == str(max(_by_fiscal_year(TIMES)))
        ]
        assert [r["実績値"] for r in latest] == [str(n) if sees else ""], name
        assert ("集計元の表を読めない" in latest[0]["備考"]) is not sees, name


def _zip(content: bytes) -> dict[str, list[dict[str, str]]]:
    import csv
    import zipfile

    out = {}
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            raw = z.read(name)
            assert raw.startswith(b"\xef\xbb\xbf"), name  # UTF-8 with BOM
            out[name] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return out


def test_rs_csv_pair_reads_back(actors: Actors, modelled: PlanItem, sent: Indicator, editor: Actor) -> None:
    check_statuses(
        actors, lambda c: c.get(f"/ebpm/{modelled.pk}/rs-sheet.zip"), {**READERS, "anonymous": 302}
    )
    services_indicators.indicator_target_set(
        actor=editor, indicator=sent, fiscal_year=2026, value=400, kind="final"
    )
    outcome = services_indicators.indicator_create(
        actor=editor, item=modelled, node_id="n3", name="=受診率", kind="outcome",
        responsible_unit_id=actors.org.health_div.pk,
    )  # fmt: skip
    r = actors.client("staff").get(f"/ebpm/{modelled.pk}/rs-sheet.zip")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/zip"
    files = _zip(r.content)
    assert set(files) == {"3-1_効果発現経路_目標・実績.csv", "3-2_効果発現経路_目標のつながり.csv"}
    targets = files["3-1_効果発現経路_目標・実績.csv"]
    mine = [(t["指標名"], t["年度"], t["目標値"], t["実績値"], t["目標の種類"]) for t in targets]
    assert mine == [
        ("案内の送付数", "2024", "250", "300", "中間目標"),
        ("案内の送付数", "2026", "400", "", "最終目標"),
        ("'=受診率", "", "", "", ""),  # never a formula; no years yet: one row
    ]
    first = targets[0]
    assert (first["事業名"], first["事業番号"], first["段階"], first["箱の内容"]) == (
        "特定健診受診勧奨事業", "3-2-1", "アウトプット", "案内を受け取った人が増える",
    )  # fmt: skip
    assert first["達成率（%）"] == "120.0"
    assert first["速報・確定"] == "速報"
    assert outcome.pk
    links = files["3-2_効果発現経路_目標のつながり.csv"]
    assert [(x["元の箱の内容"], x["先の箱の内容"], x["根拠となる考え方"]) for x in links] == [
        (n1, n2, link["rationale"])
        for link in DOC["links"]
        for n1, n2 in [(
            next(n["statement"] for n in DOC["nodes"] if n["id"] == link["from"]),
            next(n["statement"] for n in DOC["nodes"] if n["id"] == link["to"]),
        )]
    ]  # fmt: skip
    event = AuditEvent.objects.filter(action="ebpm.logic_model.export").latest("id")
    assert event.changes["format"] == "rs_csv"
    assert actors.client("staff").get(f"/ebpm/{modelled.pk}/").content.decode().count("rs-sheet.zip") == 1
