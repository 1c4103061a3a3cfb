"""CSV/TSV reader: the real files of ../shared/data/real and generated fixtures for every messy and bad case."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from machidata.core.errors import InvalidInput
from machidata.ingest.readers import MAX_COLUMNS, ReadOptions, peek, read_source

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"


def _real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real test file missing: {path}")
    return path


def _table(path: Path, options: ReadOptions | None = None) -> tuple[pa.Table, dict]:
    source = read_source(path, options)
    table = pa.Table.from_batches(list(source.batches), schema=source.schema)
    assert table.column_names == source.columns
    assert all(f.type == pa.string() for f in table.schema)
    return table, source.detection


def _multiline_cells(table: pa.Table) -> int:
    return sum(1 for col in table.columns for v in col.to_pylist() if v is not None and "\n" in v)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- real files -----------------------------------------------------------------------------------


def test_yamaguchi_tourism_cp932_multiline_cells():
    table, det = _table(_real("350001_yamaguchi_tourism.csv"))
    assert det["encoding"] == "cp932"
    assert det["delimiter"] == ","
    assert table.num_rows == 792  # 793 records incl. the header
    assert table.num_columns == 30
    assert _multiline_cells(table) == 989
    assert table.column_names[0] == "都道府県コード又は市区町村コード"
    assert "料金(基本)" in table.column_names  # half-width in the file (SOURCE.md says full-width)
    assert det["rows_total"] == 792


def test_sapporo_bom_header_cell_with_newline():
    table, det = _table(_real("011002_sapporo_public_facility.csv"))
    assert det["encoding"] == "utf-8-sig"
    assert det["encoding_how"] == "bom"
    assert (table.num_rows, table.num_columns) == (674, 92)
    assert "建築時期（西暦）" in table.column_names  # the line break inside the header cell is removed
    assert det["header_line_breaks"] == ["建築時期\n（西暦）"]
    assert "ⅰ複合施設名" in table.column_names
    assert _multiline_cells(table) == 38  # SOURCE.md's 39 multi-line cells include the header cell


def test_takamatsu_population_metadata_rows_and_property_header():
    table, det = _table(_real("372013_takamatsu_population_by_town_age_202303.csv"))
    assert len(det["metadata_rows"]) == 9
    assert det["metadata_rows"][0] == "#LINK"
    assert det["header_row"] == 7  # the #property row names the columns
    assert (table.num_rows, table.num_columns) == (235, 49)
    assert table.column_names[1:4] == ["prefCode", "regionCode", "prefName"]
    first = table.slice(0, 1).to_pylist()[0]
    assert first["regionName"] == "塩屋町"
    assert first["surveyDate"] == "3/1/2023"
    assert first["location"] == "34.342286,134.055021"  # the packed "lat,lng" stays one cell
    assert first["regionCode"] is None
    # The last line has an unterminated quote and no newline: its cell still reads.
    assert table.column("location")[-1].as_py() == "34.323483,134.153506"


def test_takamatsu_evacuation_space():
    table, det = _table(_real("372013_takamatsu_evacuation_space.csv"))
    assert (table.num_rows, table.num_columns) == (193, 18)
    assert det["header_row"] == 7
    assert table.column("name")[0].as_py() == "日新小学校跡施設"


def test_kumamoto_inshokuten_utf8_bom_crlf():
    table, det = _table(_real("431001_kumamoto_inshokuten_eigyo_kyoka.csv"))
    assert det["encoding"] == "utf-8-sig"
    assert (table.num_rows, table.num_columns) == (8351, 14)
    assert table.column_names[0] == "№"
    assert "期限＿開始日" in table.column_names
    assert "期限_満了日" in table.column_names
    assert table.column("№")[-1].as_py() == "8351"
    assert not any(v.endswith("\r") for v in table.column(1).to_pylist() if v)


def test_peek_gives_detection_and_first_rows():
    source, preview = peek(_real("350001_yamaguchi_tourism.csv"), rows=20)
    assert preview.num_rows == 20
    assert source.detection["encoding"] == "cp932"
    assert preview.column_names == source.columns


# --- messy layouts ----------------------------------------------------------------------------------


def test_title_rows_and_two_row_header_and_trailing_totals_and_notes(tmp_path):
    text = (
        "令和5年度 区別救急出動件数,,,\r\n"
        "（単位：件）,,,\r\n"
        ",,,\r\n"
        "区,出動件数,,搬送人員\r\n"
        ",急病,交通事故,急病\r\n"
        '中央区,"5,123",310,4800\r\n'
        "東区,4210,280,4000\r\n"
        "合計,9333,590,8800\r\n"
        "注：件数は速報値である。,,,\r\n"
        "資料：消防局警防課,,,\r\n"
        ",,,\r\n"
    )
    path = _write(tmp_path, "kyukyu.csv", text.encode("cp932"))
    table, det = _table(path)
    assert det["encoding"] == "cp932"
    assert det["title"] == ["令和5年度 区別救急出動件数", "（単位：件）"]
    assert det["header_row"] == 4
    assert det["header_rows"] == 2
    assert table.column_names == ["区", "出動件数_急病", "出動件数_交通事故", "搬送人員_急病"]
    assert table.to_pylist() == [
        {"区": "中央区", "出動件数_急病": "5,123", "出動件数_交通事故": "310", "搬送人員_急病": "4800"},
        {"区": "東区", "出動件数_急病": "4210", "出動件数_交通事故": "280", "搬送人員_急病": "4000"},
    ]
    assert det["totals"] == ["合計 9333 590 8800"]
    assert det["total_rows_removed"] == 1
    assert det["notes"] == ["注：件数は速報値である。", "資料：消防局警防課"]
    assert det["rows_total"] == 2


def test_estat_symbols_stay_text(tmp_path):
    text = "表1 人口,,\n,,\n地域,人口,世帯数\n中央区,186000,-\n東区,…,x\n西区,***,12\n"
    table, _ = _table(_write(tmp_path, "estat.csv", text.encode("utf-8")))
    assert table.column("世帯数").to_pylist() == ["-", "x", "12"]
    assert table.column("人口").to_pylist() == ["186000", "…", "***"]


def test_raw_text_is_kept_no_null_words(tmp_path):
    text = 'a,b,c\n NA ,NULL,nan\n"",N/A,  x  \n'
    table, _ = _table(_write(tmp_path, "raw.csv", text.encode("utf-8")))
    assert table.to_pylist() == [
        {"a": " NA ", "b": "NULL", "c": "nan"},
        {"a": None, "b": "N/A", "c": "  x  "},
    ]


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [("\t", "data.tsv"), ("\t", "data.txt"), (";", "data.csv"), ("|", "data.csv")],
)
def test_delimiter_detection(tmp_path, delimiter, name):
    rows = [["名前", "住所", "人数"], ["a", "熊本市中央区手取本町1-1", "3"], ["b", "c, d", "4"]]
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in r) for r in rows) + "\n"
    table, det = _table(_write(tmp_path, name, text.encode("utf-8")))
    assert det["delimiter"] == delimiter
    assert table.column_names == ["名前", "住所", "人数"]
    assert table.column("住所").to_pylist() == ["熊本市中央区手取本町1-1", "c, d"]


def test_delimiter_and_encoding_overrides(tmp_path):
    path = _write(tmp_path, "x.csv", "a;b\n1;2\n".encode("euc-jp"))
    table, det = _table(path, ReadOptions(delimiter=",", encoding="euc-jp"))
    assert det["delimiter"] == ","
    assert det["encoding"] == "euc-jp"
    assert table.column_names == ["a;b"]


def test_euc_jp_and_utf16_detected(tmp_path):
    text = "名前,区\n熊本城,中央区\n水前寺,中央区\n" * 30
    t1, d1 = _table(_write(tmp_path, "e.csv", text.encode("euc-jp")))
    t2, d2 = _table(_write(tmp_path, "u.csv", text.encode("utf-16")))  # with BOM
    t3, d3 = _table(_write(tmp_path, "l.csv", text.encode("utf-16-le")))  # no BOM
    assert d1["encoding"] == "euc-jp"
    assert d2["encoding"] == "utf-16"
    assert d3["encoding"] == "utf-16-le"
    for t in (t1, t2, t3):
        assert t.column_names == ["名前", "区"]
        assert t.column("名前")[0].as_py() == "熊本城"


def test_ascii_start_then_cp932_later(tmp_path):
    head = "id,name\n" + "".join(f"{i},abc\n" for i in range(150_000))  # > 1 MB of ASCII
    path = _write(tmp_path, "late.csv", head.encode("ascii") + "150000,熊本\n".encode("cp932"))
    table, det = _table(path)
    assert det["encoding"] == "cp932"
    assert table.column("name")[-1].as_py() == "熊本"


def test_header_only_is_zero_rows(tmp_path):
    source = read_source(_write(tmp_path, "h.csv", "名前,住所,電話\r\n".encode("cp932")))
    assert source.columns == ["名前", "住所", "電話"]
    assert list(source.batches) == []
    assert source.detection["rows_total"] == 0


def test_short_rows_padded_long_rows_refused(tmp_path):
    path = _write(tmp_path, "short.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n")
    table, det = _table(path)
    assert table.to_pylist()[1] == {"a": "4", "b": "5", "c": None}
    assert table.num_rows == 3
    assert det["padded_rows"] == [3]
    path = _write(tmp_path, "long.csv", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(InvalidInput, match="3 行目の項目数（4）が見出しの列数（3）より多く"):
        _table(path)


def test_short_row_after_first_batch_keeps_order(tmp_path):
    lines = ["a,b,c"] + [f"{i},x,y" for i in range(200)] + ["200,x"] + [f"{i},x,y" for i in range(201, 300)]
    path = _write(tmp_path, "late_short.csv", ("\n".join(lines) + "\n").encode())
    table, _ = _table(path, ReadOptions(batch_rows=64))
    assert table.column("a").to_pylist() == [str(i) for i in range(300)]
    assert table.column("c")[200].as_py() is None


def test_skip_rows_and_header_row_overrides(tmp_path):
    text = "タイトル\n作成日 2024-04-01\nx,y\n1,2\n"
    table, det = _table(_write(tmp_path, "o.csv", text.encode()), ReadOptions(header_row=3))
    assert table.column_names == ["x", "y"]
    assert det["header_row"] == 3
    table, _ = _table(_write(tmp_path, "o2.csv", text.encode()), ReadOptions(skip_rows=2))
    assert table.to_pylist() == [{"x": "1", "y": "2"}]


def test_batches_respect_batch_rows(tmp_path):
    path = _write(tmp_path, "n.csv", ("a\n" + "".join(f"{i}\n" for i in range(1000))).encode())
    source = read_source(path, ReadOptions(batch_rows=100))
    sizes = [b.num_rows for b in source.batches]
    assert max(sizes) <= 100
    assert sum(sizes) == 1000


# --- bad input --------------------------------------------------------------------------------------


def test_empty_file(tmp_path):
    with pytest.raises(InvalidInput, match="ファイルが空です"):
        read_source(_write(tmp_path, "empty.csv", b""))


def test_blank_lines_only(tmp_path):
    with pytest.raises(InvalidInput, match="表のデータがありません"):
        read_source(_write(tmp_path, "blank.csv", b"\r\n\r\n,,\r\n"))


def test_binary_renamed_csv(tmp_path):
    with pytest.raises(InvalidInput, match="バイナリファイル"):
        read_source(_write(tmp_path, "img.csv", bytes(range(256)) * 40))


def test_zip_renamed_csv(tmp_path):
    with pytest.raises(InvalidInput, match="ZIP 形式"):
        read_source(_write(tmp_path, "book.csv", b"PK\x03\x04" + b"\x00" * 100))


def test_too_many_columns(tmp_path):
    header = ",".join(f"c{i}" for i in range(10_000))
    path = _write(tmp_path, "wide.csv", (header + "\n" + ",".join("1" * 10_000) + "\n").encode())
    with pytest.raises(InvalidInput, match=f"上限は {MAX_COLUMNS:,} 列"):
        read_source(path)


def test_wide_but_allowed(tmp_path):
    header = ",".join(f"c{i}" for i in range(2_000))
    table, _ = _table(_write(tmp_path, "w.csv", (header + "\n" + ",".join(["1"] * 2_000) + "\n").encode()))
    assert table.num_columns == 2_000


@pytest.mark.slow
def test_200mb_single_line_refused_without_loading_it(tmp_path):
    path = tmp_path / "oneline.csv"
    with path.open("wb") as fh:
        fh.write(b"a,b\n1,")
        chunk = b"x" * (1024 * 1024)
        for _ in range(200):
            fh.write(chunk)
    with pytest.raises(InvalidInput, match="1 行（1 件）が大きすぎます"):
        list(read_source(path).batches)


def test_single_line_without_newline_refused_in_detection(tmp_path):
    path = tmp_path / "nonl.csv"
    path.write_bytes(b"a," * (9 * 1024 * 1024))  # 18 MB, no line break at all
    with pytest.raises(InvalidInput, match="1 行（1 件）が大きすぎます"):
        read_source(path)


def test_over_max_bytes(tmp_path):
    path = _write(tmp_path, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(InvalidInput, match="ファイルが大きすぎます"):
        read_source(path, ReadOptions(max_bytes=1000))


def test_wrong_encoding_override_names_encoding_offset_and_line(tmp_path):
    path = _write(tmp_path, "sjis.csv", "id,name\n1,abc\n2,熊本\n".encode("cp932"))
    with pytest.raises(InvalidInput, match=r"「utf-8」では読めません（17 バイト目、3 行目）"):
        read_source(path, ReadOptions(encoding="utf-8"))


def test_wrong_legacy_override_refused_when_mostly_unreadable(tmp_path):
    path = _write(tmp_path, "u.csv", ("名前\n" + "ｱｲｳｴｵ熊本市中央区\n" * 50).encode("utf-8"))
    with pytest.raises(InvalidInput, match="「euc-jp」では読めません"):
        read_source(path, ReadOptions(encoding="euc-jp"))


def test_unknown_encoding_override(tmp_path):
    with pytest.raises(InvalidInput, match="文字コード「klingon」には対応していません"):
        read_source(_write(tmp_path, "a.csv", b"a\n1\n"), ReadOptions(encoding="klingon"))


def test_invalid_utf8_later_in_file(tmp_path):
    body = b"a,b\n" + b"1,abc\n" * 300_000 + "2,熊本\n".encode("cp932")
    body = "名前,x\n".encode() + body  # the sample is valid UTF-8 (with Japanese), the tail is not
    with pytest.raises(InvalidInput, match="読めない文字"):
        list(read_source(_write(tmp_path, "mixed.csv", body)).batches)
