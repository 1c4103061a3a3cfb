"""Tests of constraint validation and the validation report."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from machidata.ingest.schema import Constraints, Field, TableSchema
from machidata.ingest.validate import Issue, UniqueState, ValidationReport, validate_batch


def _schema() -> TableSchema:
    return TableSchema(
        fields=[
            Field(name="id", type="integer", constraints=Constraints(required=True, unique=True)),
            Field(name="率", type="number", constraints=Constraints(minimum=0, maximum=100)),
            Field(name="区", type="string", constraints=Constraints(enum=["中央区", "東区"])),
            Field(name="郵便", type="string", constraints=Constraints(pattern="[0-9]{3}-[0-9]{4}")),
            Field(name="日", type="date", constraints=Constraints(minimum="2024-04-01")),
        ]
    )


def _batch(ids: list[int | None], rates: list[float | None], wards: list[str | None], postal: list[str | None],
           days: list[dt.date | None]) -> pa.RecordBatch:  # fmt: skip
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array(ids, pa.int64()),
            "率": pa.array(rates, pa.float64()),
            "区": pa.array(wards, pa.string()),
            "郵便": pa.array(postal, pa.string()),
            "日": pa.array(days, pa.date32()),
        }
    )


def test_each_constraint_reports_row_column_value_and_japanese_message() -> None:
    b = _batch(
        [1, None, 1],
        [50.0, -1.0, 100.5],
        ["中央区", "西区", None],
        ["860-8601", "8608601", None],
        [dt.date(2024, 4, 1), dt.date(2024, 3, 31), None],
    )
    issues = validate_batch(b, _schema(), row_offset=2)
    assert [(i.row, i.column, i.raw, i.kind) for i in issues] == [
        (3, "id", None, "required"),
        (3, "率", "-1", "minimum"),
        (3, "区", "西区", "enum"),
        (3, "郵便", "8608601", "pattern"),
        (3, "日", "2024-03-31", "minimum"),
        (4, "id", "1", "unique"),
        (4, "率", "100.5", "maximum"),
    ]
    messages = {i.kind: i.message for i in issues}
    assert messages["required"] == "必須の項目が空です"
    assert messages["unique"] == "重複した値です（一意の項目）"
    assert messages["maximum"] == "最大値（100）より大きい値です"
    assert messages["enum"] == "選択肢（中央区、東区）にない値です"


def test_unique_across_batches_with_state() -> None:
    state = UniqueState()
    s = _schema()
    first = _batch([1, 2], [1.0, 1.0], ["東区", "東区"], [None, None], [None, None])
    second = _batch([3, 2], [1.0, 1.0], ["東区", "東区"], [None, None], [None, None])
    assert validate_batch(first, s, row_offset=2, state=state) == []
    issues = validate_batch(second, s, row_offset=4, state=state)
    assert [(i.row, i.raw, i.kind) for i in issues] == [(5, "2", "unique")]


def test_report_counts_and_limits() -> None:
    report = ValidationReport(limit=2)
    report.add(
        [Issue(2, "a", "x", "m"), Issue(3, "a", "y", "m"), Issue(4, "b", None, "必須", kind="required")]
    )
    report.add([Issue(5, "a", "z", "m")], extra_counts={"a": 10})  # normalise listed 1 of 10 failures
    assert report.total == 13
    assert report.per_column() == {"a": {"type": 12}, "b": {"required": 1}}
    assert len(report.issues) == 2
    assert not report.ok
    assert report.summary_ja() == "項目定義と合わない値が13件あります: a（型12件）、b（必須1件）"
    assert report.to_dict()["issues"][0] == {
        "row": 2,
        "column": "a",
        "raw": "x",
        "message": "m",
        "kind": "type",
    }
    assert ValidationReport().summary_ja() == "項目定義との不一致はありません。"
