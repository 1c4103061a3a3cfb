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


# ---- the evaluation sheet through the template mapping ------------------------------------------------


def _sheet(content: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


def _cells() -> dict[str, str]:
    """The shipped layout's mapping, read from its own _mapping sheet (as a city would read it)."""
    from machidata.ebpm.sheets import default_template

    rows = default_template()["_mapping"].iter_rows(min_row=2, values_only=True)
    return {str(k): str(c) for k, c, _ in rows}


def _upload(client: Any, item: PlanItem, book: Any, *, follow: bool = True) -> Any:
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "sheet.xlsx"
    return client.post(f"/ebpm/{item.pk}/evaluation-sheet/import/", {"file": out}, follow=follow)


@pytest.fixture
def evaluation(modelled: PlanItem, sent: Indicator, editor: Actor) -> Any:
    from machidata.ebpm import services, services_evaluations

    services.budget_line_set(
        actor=editor, item=modelled, fiscal_year=2024, kind="settlement", amount_yen=900_000
    )
    return services_evaluations.evaluation_create(
        actor=editor, item=modelled, fiscal_year=2024, self_assessment="送付数は目標を上回った。",
        direction="expand", output_indicator_id=sent.pk, evidence_level=2, next_request_amount_yen=1_000_000,
        next_request_note="=1+1",
    )  # fmt: skip


def test_sheet_export_fills_the_mapped_cells(actors: Actors, modelled: PlanItem, evaluation: Any) -> None:
    url = f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024"
    check_statuses(actors, lambda c: c.get(url), {**READERS, "anonymous": 302})
    cells = _cells()
    ws = _sheet(actors.client("staff").get(url).content)["事業評価シート"]
    assert ws[cells["item_name"]].value == "特定健診受診勧奨事業"
    assert ws[cells["unit"]].value == actors.org.health_div.name
    assert ws[cells["fiscal_year"]].value == 2024
    assert ws[cells["direction"]].value == "拡充"
    assert ws[cells["self_assessment"]].value == "送付数は目標を上回った。"
    assert ws[cells["evidence_level"]].value == "レベル2（単純な前後比較）"
    assert ws[cells["next_request_note"]].value == "'=1+1"  # never a formula
    assert ws[cells["cost_per_output"]].value == 3000  # 900,000 ÷ 300
    assert ws[cells["output_indicator"]].value == "案内の送付数"
    assert ws[cells["marker"]].value == f"{evaluation.pk}-0"
    table = ws[cells["achievements"]]
    assert [ws.cell(row=table.row, column=table.column + i).value for i in range(6)] == [
        "案内の送付数", "活動指標", 250, 300, 120.0, "達成",
    ]  # fmt: skip
    event = AuditEvent.objects.filter(action="ebpm.evaluation.export").latest("id")
    assert event.changes["fiscal_year"] == 2024
    blank = _sheet(actors.client("staff").get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2023").content)
    assert blank["事業評価シート"][cells["fiscal_year"]].value == 2023
    assert blank["事業評価シート"][cells["self_assessment"]].value is None


def test_sheet_round_trip_updates_and_creates(actors: Actors, modelled: PlanItem, evaluation: Any) -> None:
    cells = _cells()
    client = actors.client("owner_editor")
    book = _sheet(client.get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024").content)
    ws = book["事業評価シート"]
    ws[cells["direction"]] = "縮小"
    ws[cells["self_assessment"]] = "シートで直した自己評価"
    ws[cells["next_request_amount_yen"]] = "800,000"
    ws[cells["evidence_level"]] = "効果の検証なし"
    check_statuses(
        actors,
        lambda c: _upload(c, modelled, book, follow=False),
        {"anonymous": 302, "staff": 403, "owner_viewer": 403, "other_editor": 403},
    )
    evaluation.refresh_from_db()
    assert evaluation.direction == "expand"  # refused uploads changed nothing
    r = _upload(client, modelled, book)
    assert "評価シートから2024年度の評価を更新しました" in r.content.decode()
    evaluation.refresh_from_db()
    assert (evaluation.direction, evaluation.self_assessment) == ("reduce", "シートで直した自己評価")
    assert evaluation.next_request_amount_yen == 800_000
    assert evaluation.evidence_level is None
    assert evaluation.next_request_note == "=1+1"  # the guard's quote is taken off again
    assert evaluation.output_indicator is not None
    assert AuditEvent.objects.filter(action="ebpm.evaluation.update").exists()
    imported = AuditEvent.objects.filter(action="ebpm.evaluation.import").latest("id")
    assert imported.changes["created"] is False
    # the same (now stale) sheet again: refused, naming the 更新番号
    stale = _upload(client, modelled, book).content.decode()
    assert "ほかの人によって変更されています" in stale
    # a sheet for a new 年度 creates that year's evaluation
    ws[cells["fiscal_year"]] = "令和5年度"
    ws[cells["marker"]] = None
    r = _upload(client, modelled, book)
    assert "2023年度の評価を記録しました" in r.content.decode()
    assert modelled.evaluations.get(fiscal_year=2023).direction == "reduce"


@pytest.mark.parametrize(
    "case",
    [
        ("fiscal_year", "来年", "{cell} の年度が読めません"),
        ("direction", "続ける", "{cell} の今後の方向性「続ける」は選べません"),
        ("evidence_level", "とても強い", "{cell} の根拠の強さ「とても強い」が読めません"),
        ("next_request_amount_yen", "-5", "{cell} の次の予算要求額"),
        (
            "output_indicator",
            "存在しない指標",
            "{cell} の「存在しない指標」は、この事業の活動指標にありません",
        ),
        ("item_name", "別の事業", "{cell} の事業名「別の事業」がこの事業（特定健診受診勧奨事業）と違います"),
    ],
)
def test_sheet_errors_name_the_cell(
    actors: Actors, modelled: PlanItem, evaluation: Any, case: tuple[str, str, str]
) -> None:
    field, value, message = case
    cells = _cells()
    client = actors.client("owner_editor")
    book = _sheet(client.get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024").content)
    book["事業評価シート"][cells[field]] = value
    book["事業評価シート"][cells["direction"]] = "継続" if field != "direction" else value
    page = _upload(client, modelled, book).content.decode()
    assert message.format(cell=cells[field]) in page
    evaluation.refresh_from_db()
    assert evaluation.direction == "expand"  # nothing saved


def test_sheet_with_another_layout_is_refused(actors: Actors, modelled: PlanItem, evaluation: Any) -> None:
    from openpyxl import Workbook

    client = actors.client("owner_editor")
    book = _sheet(client.get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024").content)
    book["事業評価シート"].insert_rows(2)  # every label moves down a row
    page = _upload(client, modelled, book).content.decode()
    assert "様式が違います: A3 は「事業番号」のはずですが「」です" in page
    other = Workbook()
    other.active.title = "Sheet1"  # type: ignore[union-attr]
    assert (
        "様式が違います: シート「事業評価シート」がありません"
        in _upload(client, modelled, other).content.decode()
    )
    from openpyxl.chart import BarChart, Reference

    charts = Workbook()
    data: Any = charts.active
    data.append([1])
    chart = BarChart()
    chart.add_data(Reference(data, min_col=1, min_row=1, max_row=1))
    charts.create_chartsheet("事業評価シート").add_chart(chart)
    assert "が表のシートではありません" in _upload(client, modelled, charts).content.decode()
    junk = io.BytesIO(b"not a workbook")
    junk.name = "x.xlsx"
    r = client.post(f"/ebpm/{modelled.pk}/evaluation-sheet/import/", {"file": junk}, follow=True)
    assert "Excel（.xlsx）ファイルとして読めませんでした" in r.content.decode()
    assert not AuditEvent.objects.filter(action="ebpm.evaluation.import").exists()


def test_a_city_template_replaces_the_default(
    actors: Actors, modelled: PlanItem, evaluation: Any, settings: Any, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws: Any = wb.active
    ws.title = "評価調書"
    ws["A1"] = "熊本市 事務事業評価調書"
    ws["D2"], ws["D3"], ws["D4"], ws["D5"] = "事業名", "年度", "方向性", "評価"
    mapping = wb.create_sheet("_mapping")
    mapping.append(["項目", "セル"])
    for key, cell in (
        ("item_name", "E2"),
        ("fiscal_year", "E3"),
        ("direction", "E4"),
        ("self_assessment", "E5"),
    ):
        mapping.append([key, cell])
    path = tmp_path / "city.xlsx"
    wb.save(path)
    settings.MACHIDATA_EBPM_SHEET_TEMPLATE = str(path)
    client = actors.client("owner_editor")
    book = _sheet(client.get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024").content)
    sheet = book["評価調書"]
    assert (sheet["E2"].value, sheet["E3"].value, sheet["E4"].value) == ("特定健診受診勧奨事業", 2024, "拡充")
    sheet["E4"] = "改善"
    _upload(client, modelled, book)
    evaluation.refresh_from_db()
    assert evaluation.direction == "improve"
    assert evaluation.next_request_amount_yen == 1_000_000  # not in the city's layout: kept
    assert evaluation.evidence_level == 2
    sheet["A1"] = "別の様式"
    assert (
        "様式が違います: A1 は「熊本市 事務事業評価調書」のはずですが「別の様式」です"
        in _upload(client, modelled, book).content.decode()
    )
    mapping["A2"] = "whatever"
    wb.save(path)
    r = client.get(f"/ebpm/{modelled.pk}/evaluation-sheet.xlsx?year=2024")
    assert r.status_code == 400
