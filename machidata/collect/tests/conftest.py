"""Fixtures of the collection tests: a 利用者数 table (ingested from a CSV, with constraints) and helpers to fill templates.

The data are synthetic: invented facility names and visitor counts.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Table
from machidata.core.testing import Actors, make_dataset
from machidata.ingest.services import ingest_file, table_get_or_create

SAMPLE_CSV = "日付,区分,利用者数,備考\n2025-03-01,午前,5,見本\n2025-03-01,午後,7,\n"
FACILITIES = [f"第{i}合成小学校" for i in range(1, 11)]


def as_actor(actors: Actors, name: str) -> Actor:
    return actor_for(actors.users[name])


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    settings.MACHIDATA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def visitors(actors: Actors, home: Path, tmp_path: Path) -> Table:
    """A table of the health 課 with 2 rows and a 項目定義 carrying enum, range and required constraints."""
    editor = as_actor(actors, "owner_editor")
    dataset = make_dataset(actors.org.health_div, slug="riyousha", title="施設の利用者数（合成）")
    table = table_get_or_create(actor=editor, dataset=dataset, name="visitors", title="利用者数")
    src = tmp_path / "sample.csv"
    src.write_text(SAMPLE_CSV, encoding="utf-8")
    ingest_file(actor=editor, table=table, path=src, source_name="sample.csv")
    table.refresh_from_db()
    schema = dict(table.schema)
    for f in schema["fields"]:
        if f["name"] == "区分":
            f["constraints"] = {"enum": ["午前", "午後"]}
        if f["name"] == "利用者数":
            f["constraints"] = {"required": True, "minimum": 0, "maximum": 10000}
    Table.objects.filter(pk=table.pk).update(schema=schema)
    table.refresh_from_db()
    return table


def fill(template: bytes, rows: list[list[Any]], *, header: list[str] | None = None) -> bytes:
    """The template with ``rows`` typed into the 回答 sheet from row 2 (and the header replaced when given)."""
    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb["回答"]
    if header is not None:
        for i, h in enumerate(header, start=1):
            ws.cell(row=1, column=i, value=h)
    for r, values in enumerate(rows, start=2):
        for c, v in enumerate(values, start=1):
            ws.cell(row=r, column=c, value=v)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def as_file(tmp_path: Path, data: bytes, name: str = "return.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def table_rows(table: Table) -> pa.Table:
    """The current version's rows (read straight from the lake's files)."""
    from machidata.lake.readers import files_for

    table.refresh_from_db()
    assert table.current_version is not None
    return pads.dataset(files_for(table.current_version), format="parquet").to_table()
