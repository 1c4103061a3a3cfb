"""Inventory import: reading xlsx/CSV, mapping, Japanese values, upsert, idempotence, errors, audit."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from machidata.access.models import Classification, PersonalData
from machidata.access.policy import actor_for
from machidata.audit.models import AuditEvent
from machidata.catalog.inventory import (
    ImportOptions,
    check_mapping,
    file_sha256,
    inventory_import,
    inventory_template_for,
    inventory_template_save,
    read_sheet,
    report_csv,
    sheet_names,
    suggest_mapping,
)
from machidata.catalog.inventory.reading import check_file, decode_csv
from machidata.catalog.inventory.values import (
    CellError,
    Resolver,
    classification_value,
    frequency_value,
    location_value,
    parse_period,
    personal_data_value,
    source_value,
)
from machidata.catalog.models import Dataset, Frequency, Location, Source
from machidata.catalog.tests.inventory_fixtures import (
    FIRE_CP932,
    HEADERS,
    HEALTH_ROWS,
    make_vocabularies,
    workbook_bytes,
)
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import make_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def vocab(db):
    return make_vocabularies()


def _import(actor, content: bytes, *, name="health.xlsx", sheet="棚卸表", mapping=None, **options):
    ext = "." + name.rsplit(".", 1)[1]
    parsed = read_sheet(content, ext=ext, file_name=name, sheet=sheet if ext == ".xlsx" else None)
    return inventory_import(
        actor=actor,
        sheet=parsed,
        file_name=name,
        sha256=file_sha256(content),
        options=ImportOptions(mapping=mapping or suggest_mapping(parsed.headers), **options),
    )


@pytest.fixture
def admin(actors):
    return actor_for(actors.users["admin"])


@pytest.fixture
def editor(actors):
    return actor_for(actors.users["owner_editor"])


# ---- reading ------------------------------------------------------------------------------------


def test_xlsx_header_found_below_title_row():
    content = workbook_bytes(HEALTH_ROWS)
    assert sheet_names(content, ".xlsx", "health.xlsx") == ["記入要領", "棚卸表"]
    sheet = read_sheet(content, ext=".xlsx", sheet="棚卸表")
    assert sheet.header_row == 3
    assert sheet.headers == HEADERS
    # rows keep their numbers as in Excel; the blank row is skipped, the ※ note row is kept for the importer
    assert [n for n, _ in sheet.rows] == [4, 5, 6, 8]
    assert sheet.rows[0][1][:2] == ["H-001", "健診受診者数"]


def test_header_row_given_explicitly_and_missing_header_is_a_clear_error():
    content = workbook_bytes(HEALTH_ROWS)
    assert read_sheet(content, ext=".xlsx", sheet="棚卸表", header_row=3).headers == HEADERS
    with pytest.raises(InvalidInput, match="見出し行"):
        read_sheet(content, ext=".xlsx", sheet="記入要領")
    with pytest.raises(InvalidInput, match="シート「なし」がありません"):
        read_sheet(content, ext=".xlsx", sheet="なし")


def test_csv_encodings():
    text = "整理番号,データ名,所管課\nA-1,①人口,200100\n"
    assert decode_csv(text.encode("utf-8")) == text
    assert decode_csv(text.encode("utf-8-sig")) == text
    assert decode_csv(text.encode("cp932")) == text
    sheet = read_sheet(FIRE_CP932.read_bytes(), ext=".csv", file_name="fire_cp932.csv")
    assert sheet.name == "fire_cp932"
    assert sheet.headers[:4] == ["管理番号", "名称", "説明", "担当課"]
    assert sheet.rows[0][1][2] == "①月別の救急出動件数（～令和5年度）"


def test_file_checks():
    assert check_file("棚卸.XLSX", 10) == ".xlsx"
    with pytest.raises(InvalidInput, match="Excel"):
        check_file("inventory.pdf", 10)
    with pytest.raises(InvalidInput, match="20MB"):
        check_file("inventory.csv", 20 * 1024 * 1024 + 1)


# ---- mapping and values ---------------------------------------------------------------------------


def test_suggested_mapping_from_synonyms():
    headers = [*HEADERS, "保存期間", "システム名称", "所管課\nコード"]
    mapping = suggest_mapping(headers)
    assert mapping == {
        "整理番号": "identifier", "データ名": "title", "概要": "description", "所管課": "owner",
        "分野": "category", "キーワード": "keywords", "公開・非公開": "classification",
        "個人情報の有無": "personal_data", "保管場所": "location", "更新頻度": "frequency",
        "ファイル形式": "formats", "出典": "source", "ライセンス": "licence", "対象期間": "temporal",
        "備考": "note", "保存期間": "", "システム名称": "", "所管課\nコード": "",
    }  # fmt: skip
    other = suggest_mapping(["管理番号", "名称", "担当課", "公開／非公開", "個人情報", "所在", "形式"])
    assert other == {
        "管理番号": "identifier", "名称": "title", "担当課": "owner", "公開／非公開": "classification",
        "個人情報": "personal_data", "所在": "location", "形式": "formats",
    }  # fmt: skip


def test_mapping_check():
    with pytest.raises(InvalidInput, match="整理番号"):
        check_mapping({"データ名": "title", "所管課": "owner"})
    check_mapping({"データ名": "title", "所管課": "owner"}, generate_identifiers=True)
    with pytest.raises(InvalidInput, match="1つの列だけ"):
        check_mapping({"A": "title", "B": "title", "C": "owner", "D": "identifier"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("公開", "public"), ("オープンデータ", "public"), ("庁内", "internal"), ("庁内公開", "internal"),
     ("所属限定", "restricted"), ("課内", "restricted"), ("機密", "confidential"), ("非公開", "confidential"),
     (" 庁 内 ", "internal"), ("internal", "internal")],
)  # fmt: skip
def test_classification_words(raw, expected):
    assert classification_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("なし", "none"), ("無", "none"), ("×", "none"), ("あり", "personal"), ("有", "personal"),
     ("○", "personal"), ("要配慮", "sensitive"), ("要配慮個人情報を含む", "sensitive"),
     ("仮名加工", "pseudonymised"), ("匿名加工情報", "anonymised")],
)  # fmt: skip
def test_personal_data_words(raw, expected):
    assert personal_data_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("毎日", Frequency.DAILY), ("毎月", Frequency.MONTHLY), ("毎年", Frequency.YEARLY),
     ("年１回", Frequency.YEARLY), ("年1回程度", Frequency.YEARLY), ("随時", Frequency.REALTIME),
     ("不定期", Frequency.IRREGULAR), ("なし", Frequency.NONE), ("四半期ごと", Frequency.QUARTERLY)],
)  # fmt: skip
def test_frequency_words(raw, expected):
    assert frequency_value(raw) == expected


def test_unknown_words_are_errors():
    with pytest.raises(CellError, match="公開区分「ひみつ」"):
        classification_value("ひみつ")
    with pytest.raises(CellError, match="更新頻度"):
        frequency_value("ときどき")
    with pytest.raises(CellError, match="保管場所"):
        location_value("どこか")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("\\\\fileserver\\kenko\\data", (Location.FILE_SHARE, "\\\\fileserver\\kenko\\data")),
     ("¥¥fileserver¥kenko", (Location.FILE_SHARE, "¥¥fileserver¥kenko")),
     ("￥￥fs01￥共有", (Location.FILE_SHARE, "¥¥fs01¥共有")),
     ("https://example.jp/a", (Location.EXTERNAL_URL, "https://example.jp/a")),
     ("住民記録システム", (Location.BUSINESS_SYSTEM, "住民記録システム")),
     ("紙", (Location.PAPER, "")), ("紙（キャビネット）", (Location.PAPER, "紙(キャビネット)")),
     ("共有フォルダ", (Location.FILE_SHARE, ""))],
)  # fmt: skip
def test_location_words(raw, expected):
    assert location_value(raw) == expected


def test_source_words(settings):
    settings.MACHIDATA_CITY_NAME = "熊本市"
    assert source_value("本市") == (Source.CITY, "")
    assert source_value("熊本市健康福祉局") == (Source.CITY, "熊本市健康福祉局")
    assert source_value("総務省") == (Source.NATIONAL, "総務省")
    assert source_value("熊本県") == (Source.PREFECTURE, "熊本県")
    assert source_value("株式会社まち") == (Source.PRIVATE, "株式会社まち")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("令和2年度～令和5年度", (dt.date(2020, 4, 1), dt.date(2024, 3, 31))),
     ("２０２４年度", (dt.date(2024, 4, 1), dt.date(2025, 3, 31))),
     ("2020/4/1～2021/3/31", (dt.date(2020, 4, 1), dt.date(2021, 3, 31))),
     ("令和6年4月1日～", (dt.date(2024, 4, 1), None)),
     ("2019年", (dt.date(2019, 1, 1), dt.date(2019, 12, 31)))],
)  # fmt: skip
def test_periods(raw, expected):
    assert parse_period(raw) == expected


def test_resolver_units_formats_and_vocab(org, vocab):
    r = Resolver()
    assert r.owner("200100") == org.health_div
    assert r.owner("２００１００") == org.health_div
    assert r.owner("健康づくり推進課") == org.health_div
    assert r.owner("健康福祉局 健康づくり推進課") == org.health_div
    with pytest.raises(CellError, match="現在の組織にありません"):
        r.owner("存在しない課")
    assert r.format_codes("CSV、Excel") == ["csv", "xlsx"]
    assert r.format_codes("ｃｓｖ／エクセル・PDF") == ["csv", "xlsx", "pdf"]
    with pytest.raises(CellError, match="形式「ZIP」"):
        r.format_codes("CSV, ZIP")
    assert r.category("健康福祉") == vocab["health"]
    assert r.licence("CC-BY 4.0") == vocab["ccby"]


def test_same_unit_name_twice_must_be_given_by_code(org):
    make_unit("総務課", parent=org.health_bureau, code="200900")
    make_unit("総務課", parent=org.fire_bureau, code="300900")
    with pytest.raises(CellError, match="複数あります"):
        Resolver().owner("総務課")
    assert Resolver().owner("300900").code == "300900"
    assert Resolver().owner("消防局 総務課").code == "300900"


# ---- import -----------------------------------------------------------------------------------------


def test_import_xlsx_creates_entries_with_japanese_values(actors, admin, vocab):
    org = actors.org
    report = _import(admin, workbook_bytes(HEALTH_ROWS))
    assert report.committed
    assert report.counts == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    h1 = Dataset.objects.get(identifier="H-001")
    assert h1.title == "健診受診者数"
    assert h1.description == "地区別の受診者数\n\n備考: 年度末に更新"
    assert h1.owner == org.health_div
    assert h1.category == vocab["health"]
    assert h1.keywords == ["健診", "受診率"]
    assert h1.classification == Classification.INTERNAL
    assert h1.personal_data == PersonalData.NONE
    assert (h1.location, h1.location_detail) == (Location.FILE_SHARE, "\\\\fileserver\\kenko\\健診")
    assert h1.frequency == Frequency.YEARLY
    assert sorted(h1.formats.values_list("code", flat=True)) == ["csv", "xlsx"]
    assert h1.source == Source.CITY
    assert h1.licence == vocab["ccby"]
    assert (h1.temporal_start, h1.temporal_end) == (dt.date(2020, 4, 1), dt.date(2024, 3, 31))
    h2 = Dataset.objects.get(identifier="H-002")
    assert (h2.classification, h2.personal_data) == (Classification.RESTRICTED, PersonalData.PERSONAL)
    assert (h2.location, h2.location_detail) == (Location.BUSINESS_SYSTEM, "母子保健システム")
    assert h2.frequency == Frequency.REALTIME
    h3 = Dataset.objects.get(identifier="H-003")  # full-width 整理番号 normalised
    assert h3.owner == org.health_sec
    assert h3.classification == Classification.PUBLIC
    assert h3.location == Location.EXTERNAL_URL
    assert (h3.temporal_start, h3.temporal_end) == (dt.date(2024, 4, 1), dt.date(2025, 3, 31))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["dataset.create"] * 3 + ["inventory.import"]
    event = AuditEvent.objects.get(action="inventory.import")
    assert event.changes["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert event.changes["file_name"] == "health.xlsx"
    assert len(event.changes["sha256"]) == 64


def test_import_cp932_csv(actors, admin, vocab):
    content = FIRE_CP932.read_bytes()
    report = _import(admin, content, name="fire_cp932.csv")
    assert report.counts["created"] == 2, report.errors
    k1 = Dataset.objects.get(identifier="K-101")
    assert k1.owner == actors.org.fire_div
    assert k1.description == "①月別の救急出動件数（～令和5年度）"
    assert (k1.classification, k1.location, k1.frequency) == ("restricted", "paper", "monthly")
    assert list(k1.formats.values_list("code", flat=True)) == ["paper"]
    k2 = Dataset.objects.get(identifier="K-102")
    assert sorted(k2.formats.values_list("code", flat=True)) == ["csv", "xlsx"]
    assert (k2.location, k2.location_detail) == ("business_system", "消防OAシステム")


def test_reimport_is_idempotent_and_changed_rows_update(actors, admin, vocab):
    content = workbook_bytes(HEALTH_ROWS)
    _import(admin, content)
    events_before = AuditEvent.objects.count()
    locks = dict(Dataset.objects.values_list("identifier", "lock_version"))
    second = _import(admin, content)
    assert second.counts == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}
    new_events = list(AuditEvent.objects.filter(id__gt=0).order_by("id")[events_before:])
    assert [e.action for e in new_events] == ["inventory.import"]
    assert dict(Dataset.objects.values_list("identifier", "lock_version")) == locks

    changed = [list(r) for r in HEALTH_ROWS]
    changed[0][1] = "特定健診受診者数"
    changed[1][9] = "毎月"
    third = _import(admin, workbook_bytes(changed))
    assert third.counts == {"created": 0, "updated": 2, "unchanged": 1, "failed": 0}
    h1 = Dataset.objects.get(identifier="H-001")
    assert h1.title == "特定健診受診者数"
    assert h1.lock_version == locks["H-001"] + 1
    assert Dataset.objects.get(identifier="H-002").frequency == Frequency.MONTHLY
    updates = AuditEvent.objects.filter(action="dataset.update").order_by("id")
    assert [list(e.changes) for e in updates] == [["title"], ["frequency"]]


def _error_rows():
    base = ["", "", "", "200100", "", "", "庁内", "なし", "", "", "", "", "", "", ""]

    def row(identifier, title, **changes):
        r = list(base)
        r[0], r[1] = identifier, title
        for index, value in changes.items():
            r[int(index[1:])] = value
        return r

    return [
        row("E-001", "正しい行"),
        row("E-002", "所管課が不明", c3="存在しない課"),
        row("E-003", "重複その1"),
        row("E-003", "重複その2"),
        row("E-004", ""),
        row("E-005", "公開区分が不明", c6="ひみつ"),
        row("E-006", "公開なのに個人情報", c6="公開", c7="あり"),
    ]


def test_every_error_leaves_the_database_unchanged(admin, vocab):
    report = _import(admin, workbook_bytes(_error_rows()))
    assert not report.committed
    assert report.blocked
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()
    found = {(e.row, e.column, e.value) for e in report.errors}
    assert found == {
        (5, "所管課", "存在しない課"),
        (6, "整理番号", "E-003"),
        (7, "整理番号", "E-003"),
        (8, "データ名", ""),
        (9, "公開・非公開", "ひみつ"),
        (10, "個人情報の有無", "あり"),
    }
    messages = {e.row: e.message for e in report.errors}
    assert "現在の組織にありません" in messages[5]
    assert "重複" in messages[6]
    assert "データ名が空" in messages[8]
    assert "公開区分「ひみつ」" in messages[9]
    assert "「公開」にできません" in messages[10]
    assert report.counts["failed"] == 6


def test_valid_rows_only_imports_the_rest(admin, vocab):
    report = _import(admin, workbook_bytes(_error_rows()), valid_rows_only=True)
    assert report.committed
    assert report.counts == {"created": 1, "updated": 0, "unchanged": 0, "failed": 6}
    assert list(Dataset.objects.values_list("identifier", flat=True)) == ["E-001"]
    event = AuditEvent.objects.get(action="inventory.import")
    assert event.changes["counts"]["failed"] == 6


def test_dry_run_writes_nothing_but_reports(admin, vocab):
    report = _import(admin, workbook_bytes(HEALTH_ROWS), dry_run=True)
    assert report.counts["created"] == 3
    assert not report.committed
    assert not Dataset.objects.exists()
    assert not AuditEvent.objects.exists()


def test_missing_identifier_unless_generated(admin, vocab):
    rows = [list(HEALTH_ROWS[0])]
    rows[0][0] = ""
    report = _import(admin, workbook_bytes(rows))
    assert [(e.column, e.message.startswith("整理番号が空です")) for e in report.errors] == [
        ("整理番号", True)
    ]
    generated = _import(admin, workbook_bytes(rows), generate_identifiers=True)
    assert generated.counts["created"] == 1
    assert Dataset.objects.get().identifier == "431001-00001"


def test_data_owner_imports_only_for_own_division(actors, editor, vocab):
    rows = [list(HEALTH_ROWS[1]), list(HEALTH_ROWS[1])]
    rows[1][0], rows[1][3] = "F-001", "警防課"
    report = _import(editor, workbook_bytes(rows))
    assert not Dataset.objects.exists()
    assert [(e.row, e.column) for e in report.errors] == [(5, "所管課")]
    assert "自分の所属課" in report.errors[0].message
    # a データ所有者 cannot make an entry 公開 from a sheet: that is the publication route's decision
    public = _import(editor, workbook_bytes([HEALTH_ROWS[2]]))
    assert [(e.column, "公開申請" in e.message) for e in public.errors] == [("公開・非公開", True)]
    # and cannot touch another 課's entry through its 整理番号
    _import(actor_for(actors.users["admin"]), workbook_bytes([rows[1]]))
    other = list(rows[1])
    other[3] = "200100"
    clash = _import(editor, workbook_bytes([other]))
    assert [e.column for e in clash.errors] == ["整理番号"]
    assert "権限がありません" in clash.errors[0].message


def test_viewer_cannot_import(actors, vocab):
    with pytest.raises(PermissionDenied):
        _import(actor_for(actors.users["staff"]), workbook_bytes(HEALTH_ROWS))


def test_retired_entry_is_not_reimported(actors, admin, vocab):
    from machidata.catalog.services import dataset_retire

    _import(admin, workbook_bytes(HEALTH_ROWS))
    dataset_retire(actor=admin, dataset=Dataset.objects.get(identifier="H-002"), reason="統合のため")
    changed = [list(r) for r in HEALTH_ROWS]
    changed[1][1] = "新しい名前"
    report = _import(admin, workbook_bytes(changed))
    assert [(e.row, "廃止" in e.message) for e in report.errors] == [(5, True)]


def test_report_csv_has_bom_and_neutralises_formulas(admin, vocab):
    rows = _error_rows()
    rows[1][3] = "+存在しない課"
    report = _import(admin, workbook_bytes(rows))
    body = report_csv(report)
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == ["行", "整理番号", "列", "値", "内容"]
    assert table[1][:4] == ["5", "E-002", "所管課", "'+存在しない課"]
    assert len(table) == 1 + 6


def test_templates_are_saved_and_recognised(admin, vocab):
    sheet = read_sheet(workbook_bytes(HEALTH_ROWS), ext=".xlsx", sheet="棚卸表")
    mapping = suggest_mapping(sheet.headers)
    mapping["備考"] = ""
    template = inventory_template_save(
        actor=admin, name="健康福祉局", mapping=mapping, headers=sheet.headers, sheet="棚卸表", header_row=3
    )
    assert template.mapping["備考"] == ""
    assert inventory_template_for(headers=sheet.headers) == template
    assert inventory_template_for(headers=[*sheet.headers, "追加列"]) is None
    assert AuditEvent.objects.filter(action="inventory.template_save").count() == 1
    with pytest.raises(InvalidInput):
        inventory_template_save(actor=admin, name=" ", mapping={}, headers=[], sheet="", header_row=1)
