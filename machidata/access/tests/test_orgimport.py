"""Reading the lists (xlsx, CSV in CP932/UTF-8/UTF-8-BOM) and planning a reorganisation (the preview)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from machidata.access.models import Unit, UnitKind
from machidata.access.orgimport import organisation_import_preview
from machidata.access.orgimport.reading import ReadError, decode_text, read_lists
from machidata.access.tests.orgdata import (
    D2024,
    D2025,
    ORG_2024,
    ORG_HEADER,
    rows_2024,
    write_csv,
    write_xlsx,
)
from machidata.audit.models import AuditEvent


def test_reads_the_cp932_fixture() -> None:
    org, staff = read_lists(ORG_2024)
    assert staff is None
    assert len(org.rows) == 38
    number, first = org.rows[0]
    assert number == 2  # the row number as Excel shows it
    assert first["code"] == "110000"
    assert first["name"] == "政策局"
    assert first["kind"] == "局"
    assert dict(org.rows[4][1])["name"] == "データ戦略課"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "utf-16"])
def test_csv_encodings_read_alike(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "org.csv", ORG_HEADER, rows_2024(), encoding=encoding)
    org, _ = read_lists(path)
    assert [values["name"] for _, values in org.rows] == [row[1] for row in rows_2024()]


def test_decode_text_prefers_utf8_then_cp932() -> None:
    assert decode_text("熊本市".encode()) == "熊本市"
    assert decode_text("熊本市".encode("cp932")) == "熊本市"
    assert decode_text("\ufeff熊本市".encode()) == "熊本市"


def test_xlsx_with_title_rows_numeric_codes_and_full_width_digits(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["令和7年度 組織一覧"])
    ws.append([" 所属 コード ", "所属名", "種別", "上位所属コード"])
    ws.append([110000, "政策局", "局", None])  # Excel keeps codes typed as numbers
    ws.append(["１１０１０１", "政策企画課", "課", 110000.0])
    wb.save(tmp_path / "org.xlsx")
    org, staff = read_lists(tmp_path / "org.xlsx")
    assert staff is None
    assert [(n, v["code"], v["parent"]) for n, v in org.rows] == [(3, "110000", ""), (4, "110101", "110000")]


def test_staff_sheet_found_in_the_same_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "org.xlsx", rows_2024(), [["k9", "菊池 四郎", "110201", "編集", ""]])
    org, staff = read_lists(path)
    assert len(org.rows) == 38
    assert staff is not None
    assert staff.rows == [
        (2, {"username": "k9", "name": "菊池 四郎", "unit": "110201", "role": "編集", "email": ""})
    ]


def test_missing_columns_are_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "org.csv", ["所属コード", "所属名"], [["1", "政策局"]])
    with pytest.raises(ReadError, match="「種別」の列がありません"):
        read_lists(path)


def test_first_import_plans_every_unit_and_writes_nothing(db: None) -> None:
    preview = organisation_import_preview(org_file=ORG_2024, effective_date=D2024)
    assert preview.ok, preview.errors
    assert len(preview.added) == 38
    assert preview.added[0].kind == UnitKind.BUREAU
    assert {a.code: a.kind for a in preview.added}["220000"] == UnitKind.ENTERPRISE
    assert {a.code: a.kind for a in preview.added}["290000"] == UnitKind.COMMISSION
    assert {a.code: a.kind for a in preview.added}["240000"] == UnitKind.WARD_OFFICE
    assert not preview.closed
    assert Unit.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_reorganisation_preview(kumamoto: object) -> None:
    preview = organisation_import_preview(org_file=kumamoto.workbook_2025, effective_date=D2025)  # type: ignore[attr-defined]
    assert preview.ok, [str(e) for e in preview.errors]
    assert sorted(a.code for a in preview.added) == ["110203", "150103", "150104", "200100"]
    assert [c.code for c in preview.renamed] == ["180101"]
    assert preview.renamed[0].changes["name"] == ("観光政策課", "観光交流政策課")
    assert [c.code for c in preview.moved] == ["200101"]
    assert {c.code for c in preview.changed} == {"180101", "200101", "160101"}
    assert sorted(preview.mappings) == [
        ("110202", "政策局 デジタル戦略部 情報政策課", "110201", "データ戦略課"),
        ("150102", "健康福祉局 高齢介護福祉課", "150103", "高齢福祉課"),
    ]
    assert {(t.title, t.to_code) for t in preview.transfers} == {
        ("庁内システム台帳", "110201"),
        ("介護保険事業所一覧", "150103"),
        ("高齢者人口の推移", "150103"),
    }
    moves = {m.username: (m.to_code, m.role, m.reason, m.new_user) for m in preview.memberships}
    assert moves == {
        "k0001": ("110201", "admin", "名簿", False),  # same place; 氏名 unchanged but メール new
        "k0002": ("150103", "editor", "名簿", False),
        "k0003": ("110203", "viewer", "名簿", True),
        "k0004": ("150103", "viewer", "組織改正", False),
        "k0005": ("110201", "editor", "組織改正", False),
    }
    # 150102 is split: the first row that names it takes its data, and the preview says so.
    assert any("150102" in str(w) and "高齢福祉課" in str(w) for w in preview.warnings)
    assert "施行日: 2025年04月01日" in preview.lines()[0]
