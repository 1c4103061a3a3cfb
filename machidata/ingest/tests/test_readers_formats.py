"""JSON, GeoJSON and Parquet readers, and format detection."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest.readers import ReadOptions, read_source


def _table(path, options=None):
    source = read_source(path, options)
    return pa.Table.from_batches(list(source.batches), schema=source.schema), source.detection


def test_json_array_of_records(tmp_path):
    path = tmp_path / "a.json"
    records = [
        {"名前": "熊本城", "人数": 12, "比率": 0.5, "公開": True, "タグ": ["城", "観光"]},
        {"名前": "水前寺", "住所": {"区": "中央区"}, "人数": None},
    ]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    table, det = _table(path)
    assert table.column_names == ["名前", "人数", "比率", "公開", "タグ", "住所"]
    assert table.to_pylist()[0] == {
        "名前": "熊本城",
        "人数": "12",
        "比率": "0.5",
        "公開": "true",
        "タグ": '["城","観光"]',
        "住所": None,
    }
    assert table.column("住所")[1].as_py() == '{"区":"中央区"}'
    assert det["cell_types"]["人数"] == {"number": 1, "text": 0, "boolean": 0, "object": 0}


@pytest.mark.parametrize("key", ["data", "records", "items"])
def test_json_wrapped_records(tmp_path, key):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"count": 1, key: [{"a": "x"}]}), encoding="utf-8")
    table, det = _table(path)
    assert table.to_pylist() == [{"a": "x"}]
    assert det["records_key"] == key


def test_json_cp932_detected(tmp_path):
    path = tmp_path / "s.json"
    path.write_bytes(json.dumps([{"名前": "熊本"}], ensure_ascii=False).encode("cp932"))
    table, det = _table(path)
    assert det["encoding"] == "cp932"
    assert table.column("名前")[0].as_py() == "熊本"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('{"a": 1}', "レコード（オブジェクト）の配列"),
        ("[1, 2]", "レコード（オブジェクト）の配列"),
        ('[{"a": ', "JSON として読めません"),
        ("[]", "空の配列"),
    ],
)
def test_json_bad_shapes(tmp_path, text, phrase):
    path = tmp_path / "b.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=phrase):
        read_source(path)


def test_geojson_properties_geometry_and_crs(tmp_path):
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6668"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"名称": "熊本城", "標高": 50},
                "geometry": {"type": "Point", "coordinates": [130.7058, 32.8062]},
            },
            {"type": "Feature", "properties": {"名称": "不明"}, "geometry": None},
        ],
    }
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    table, det = _table(path)
    assert table.column_names == ["名称", "標高", "geometry"]
    assert json.loads(table.column("geometry")[0].as_py()) == {
        "type": "Point",
        "coordinates": [130.7058, 32.8062],
    }
    assert table.column("geometry")[1].as_py() is None
    assert det["crs"] == "urn:ogc:def:crs:EPSG::6668"
    assert det["geometry_types"] == {"Point": 1}


def test_geojson_detected_from_json_extension_and_default_crs(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"geometry": "x"},
                        "geometry": {"type": "Point", "coordinates": [1, 2]},
                    }
                ],
            }
        )
    )
    source = read_source(path)
    assert source.format == "geojson"
    assert source.columns == ["geometry", "geometry_2"]
    assert source.detection["geometry_column"] == "geometry_2"
    assert source.detection["crs"] == "EPSG:4326"


def test_parquet_keeps_native_types(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": pa.array([1, 2, 3], pa.int64()), "s": ["a", None, "c"]}), path)
    source = read_source(path, ReadOptions(batch_rows=2))
    batches = list(source.batches)
    assert [b.num_rows for b in batches] == [2, 1]
    assert source.detection["typed"] is True
    assert source.detection["rows_total"] == 3
    assert source.schema.field("n").type == pa.int64()


def test_parquet_broken(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1" + b"junk" * 10)
    with pytest.raises(InvalidInput, match="Parquet ファイルとして読めません"):
        read_source(path)


def test_format_override_and_unknown_format(tmp_path):
    path = tmp_path / "data.dat"
    path.write_bytes(b"a\tb\n1\t2\n")
    source = read_source(path, ReadOptions(format="tsv"))
    assert source.columns == ["a", "b"]
    with pytest.raises(InvalidInput, match="形式「pdf」には対応していません"):
        read_source(path, ReadOptions(format="pdf"))


def test_pdf_renamed_csv(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00\x01" * 100)
    with pytest.raises(InvalidInput, match="中身はPDF"):
        read_source(path)
