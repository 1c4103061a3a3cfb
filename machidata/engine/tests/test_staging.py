"""stage_csv_to_parquet: DuckDB's CSV reader to staged Parquet, with Japanese errors."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.engine import EngineQueryError, TableQuery, run_query, stage_csv_to_parquet

ROWS = [
    ["1", "熊本, 太郎", "1200", "2024-04-01", "2024-03-31 23:30:00"],
    ["2", 'ＡＢＣ "商店"', "", "2024-04-02", "2024-04-01 00:30:00"],
    ["3", "改行を\n含む", "-5", "2025-03-31", "2025-03-31 12:00:00"],
]


def _write(path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(["番号", "名前", "金額", "日付", "受付日時"])
        w.writerows(rows)
    return path


def test_round_trip_with_detected_types(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", ROWS)
    staged = stage_csv_to_parquet(src, tmp_path / "stage")
    assert staged.row_count == 3
    assert all(Path(f).parent == tmp_path / "stage" for f in staged.files)
    table = pa.concat_tables(pq.read_table(f) for f in staged.files)
    assert table.column_names == ["番号", "名前", "金額", "日付", "受付日時"]
    assert table["名前"].to_pylist() == ["熊本, 太郎", 'ＡＢＣ "商店"', "改行を\n含む"]
    assert table["金額"].to_pylist() == [1200, None, -5]
    assert table["日付"].to_pylist() == [dt.date(2024, 4, 1), dt.date(2024, 4, 2), dt.date(2025, 3, 31)]
    assert table["受付日時"].to_pylist()[:2] == [
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    # The staged files are what lake commits; the engine can query them straight away.
    assert (
        run_query(
            staged.files,
            TableQuery.from_dict({"filters": [{"column": "名前", "op": "contains", "value": "abc"}]}),
        ).total
        == 1
    )


def test_given_columns_rename_and_type_by_position(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.tsv", ROWS, delimiter="\t")
    staged = stage_csv_to_parquet(
        src,
        tmp_path / "stage",
        delimiter="\t",
        columns={"no": "integer", "name": "string", "amount": "number", "day": "date", "at": "datetime"},
    )
    assert staged.schema.names == ["no", "name", "amount", "day", "at"]
    assert staged.schema.field("amount").type == pa.float64()
    table = pq.read_table(staged.files[0])
    assert table["amount"].to_pylist() == [1200.0, None, -5.0]


def test_all_varchar_keeps_text_for_ingest_inference(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", ROWS)
    staged = stage_csv_to_parquet(src, tmp_path / "stage", all_varchar=True)
    assert all(pa.types.is_string(f.type) for f in staged.schema)


def test_utf8_with_bom(tmp_path: Path) -> None:
    src = _write(tmp_path / "bom.csv", ROWS, encoding="utf-8-sig")
    staged = stage_csv_to_parquet(src, tmp_path / "stage", encoding="utf-8-sig")
    assert staged.schema.names[0] == "番号"
    assert staged.row_count == 3


def test_dialect_is_pinned_not_sniffed(tmp_path: Path) -> None:
    src = tmp_path / "tricky.csv"
    src.write_text('a,b\n#1,C:\\dir\\x\n"q""x",2\n', encoding="utf-8")
    staged = stage_csv_to_parquet(src, tmp_path / "stage", all_varchar=True)
    table = pq.read_table(staged.files[0])
    assert table.to_pylist() == [{"a": "#1", "b": "C:\\dir\\x"}, {"a": 'q"x', "b": "2"}]


def test_type_error_names_line_and_column(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", ROWS)
    with pytest.raises(EngineQueryError, match="CSVを読み込めませんでした（2行目の列「name」）"):
        stage_csv_to_parquet(
            src,
            tmp_path / "stage",
            columns={"no": "integer", "name": "integer", "a": "string", "d": "string", "t": "string"},
        )


@pytest.mark.parametrize("enc", ["cp932", "utf-16"])
def test_other_encodings_are_refused_for_the_python_path(tmp_path: Path, enc: str) -> None:
    src = _write(tmp_path / "legacy.csv", ROWS, encoding=enc)
    with pytest.raises(EngineQueryError, match=f"文字コード「{enc}」は高速読み込みに対応していません"):
        stage_csv_to_parquet(src, tmp_path / "stage", encoding=enc)


def test_output_directory_must_be_empty_and_source_must_exist(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", ROWS)
    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / "old.parquet").write_bytes(b"x")
    with pytest.raises(EngineQueryError, match="空ではありません"):
        stage_csv_to_parquet(src, tmp_path / "stage")
    with pytest.raises(EngineQueryError, match="見つかりません"):
        stage_csv_to_parquet(tmp_path / "missing.csv", tmp_path / "other")


def test_ragged_rows_are_an_error_not_a_partial_stage(tmp_path: Path) -> None:
    src = tmp_path / "ragged.csv"
    src.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")
    with pytest.raises(EngineQueryError, match="CSVを読み込めませんでした"):
        stage_csv_to_parquet(src, tmp_path / "stage")
    assert list((tmp_path / "stage").iterdir()) == []


def test_late_conversion_error_leaves_no_files(tmp_path: Path) -> None:
    src = tmp_path / "late.csv"
    # The bad value sits far beyond DuckDB's sniffing sample, so some output may exist when it fails.
    src.write_text("n\n" + "1\n" * 300_000 + "x\n", encoding="utf-8")
    with pytest.raises(EngineQueryError, match="300002行目"):
        stage_csv_to_parquet(src, tmp_path / "stage", columns={"n": "integer"})
    assert list((tmp_path / "stage").iterdir()) == []
