"""Tests of batch normalisation: typed values, raw text kept where changed, issues."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machidata.ingest.infer import infer_schema
from machidata.ingest.normalise import (
    ParseCache,
    Parsed,
    _parse_text_column,
    _time_text,
    arrow_schema_with_raw,
    normalise_batch,
    parse_field,
    raw_columns,
)
from machidata.ingest.readers import ReadOptions, read_source
from machidata.ingest.schema import Field, TableSchema, schema_to_arrow


def _batch(columns: dict[str, list[str | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def _run(columns: dict[str, list[str | None]], fields: list[Field], **kw: object):  # type: ignore[no-untyped-def]
    return normalise_batch(_batch(columns), TableSchema(fields=fields), **kw)


def test_numbers_missing_markers_and_raw() -> None:
    f = Field(name="金額", title="金額", type="integer", unit="円", missing={"x": "suppressed", "-": "none"})
    r = _run({"金額": ["1,234円", "▲500", "x", "１２", "-", "42", None, "abc"]}, [f], row_offset=2)
    assert r.batch.column("金額").to_pylist() == [1234, -500, None, 12, None, 42, None, None]
    assert r.raw["金額"].to_pylist() == ["1,234円", "▲500", "x", "１２", "-", None, None, "abc"]
    assert [(i.row, i.raw) for i in r.issues] == [(9, "abc")]
    assert r.issues[0].message == "整数として読めません"
    assert r.failures == {"金額": 1}


def test_year_month_needs_a_four_digit_year_or_an_era() -> None:
    f = Field(name="年月", title="年月", type="yearmonth")
    r = _run({"年月": ["2024年4月", "令和6年5月", "R6.7", "12.3", "2024/13"]}, [f])
    assert r.batch.column("年月").to_pylist() == ["2024-04", "2024-05", "2024-07", None, None]
    assert r.failures == {"年月": 2}


def test_wrong_unit_and_fraction_in_integer() -> None:
    f = Field(name="人口", title="人口", type="integer", unit="人")
    r = _run({"人口": ["10人", "5千人", "1.5"]}, [f])
    assert r.batch.column("人口").to_pylist() == [10, None, None]
    assert [i.message for i in r.issues] == ["単位が項目定義（人）と違います", "小数は整数の項目に入りません"]


def test_fiscal_year_boundary_times_naive_japan() -> None:
    """23:30 on 3/31 and 00:30 on 4/1 stay on their own side of the fiscal-year boundary."""
    f = Field(name="日時", title="日時", type="datetime")
    values = ["2024-03-31 23:30", "2024-04-01 00:30", "令和6年3月31日 23時30分", "2024-04-01T00:30:00"]
    r = _run({"日時": values}, [f])
    assert r.batch.column("日時").to_pylist() == [
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    assert r.batch.schema.field("日時").type == pa.timestamp("us")  # no time zone
    assert r.raw["日時"].to_pylist() == [
        "2024-03-31 23:30",
        "2024-04-01 00:30",
        "令和6年3月31日 23時30分",
        None,
    ]


def test_tz_aware_input_is_converted_to_tokyo_and_raw_kept() -> None:
    f = Field(name="t", title="t", type="datetime")
    r = _run({"t": ["2024-03-31T15:30:00Z", "2024-03-31T14:30:00+00:00", "2024-04-01T00:30:00+09:00"]}, [f])
    assert r.batch.column("t").to_pylist() == [
        dt.datetime(2024, 4, 1, 0, 30),
        dt.datetime(2024, 3, 31, 23, 30),
        dt.datetime(2024, 4, 1, 0, 30),
    ]
    assert r.raw["t"].to_pylist() == [
        "2024-03-31T15:30:00Z",
        "2024-03-31T14:30:00+00:00",
        "2024-04-01T00:30:00+09:00",
    ]


def test_dates_wareki_and_excel_midnight() -> None:
    f = Field(name="d", title="d", type="date")
    r = _run({"d": ["令和 02年05月01日", "2024-04-01", "2024-04-02 00:00:00", "R1.5.1", "2019-02-30"]}, [f])
    assert r.batch.column("d").to_pylist() == [
        dt.date(2020, 5, 1),
        dt.date(2024, 4, 1),
        dt.date(2024, 4, 2),
        dt.date(2019, 5, 1),
        None,
    ]
    assert r.raw["d"].to_pylist() == [
        "令和 02年05月01日",
        None,
        "2024-04-02 00:00:00",
        "R1.5.1",
        "2019-02-30",
    ]
    assert r.issues[0].message == "日付として読めません"


def test_booleans_declared_words_are_not_raw() -> None:
    f = Field(name="内科", title="内科", type="boolean", true_values=["○"], false_values=["×"])
    r = _run({"内科": ["○", None, "×", "◯", "△"]}, [f])
    assert r.batch.column("内科").to_pylist() == [True, None, False, True, None]
    assert r.raw["内科"].to_pylist() == [None, None, None, "◯", "△"]


def test_range_and_latlon_split() -> None:
    s = infer_schema(
        pa.table({"期間": ["令和6年1月1日～令和11年12月31日", None], "位置": ["32.8,130.7", "33.0, 131.0"]}),
        detection={},
    )
    r = normalise_batch(
        _batch({"期間": ["令和6年1月1日～令和11年12月31日", None], "位置": ["32.8,130.7", "33.0, 131.0"]}), s
    )
    assert r.batch.column("期間_開始").to_pylist() == [dt.date(2024, 1, 1), None]
    assert r.batch.column("期間_終了").to_pylist() == [dt.date(2029, 12, 31), None]
    assert r.batch.column("位置_緯度").to_pylist() == [32.8, 33.0]
    assert r.batch.column("位置_経度").to_pylist() == [130.7, 131.0]
    assert r.raw["期間"].to_pylist() == ["令和6年1月1日～令和11年12月31日", None]
    assert r.with_raw().schema.names == [
        "期間_開始",
        "期間_終了",
        "位置_緯度",
        "位置_経度",
        "期間__raw",
        "位置__raw",
    ]
    assert arrow_schema_with_raw(s).names == r.with_raw().schema.names


def test_postal_phone_text_and_time() -> None:
    fields = [
        Field(name="郵便番号", title="郵便番号", kind="postal_code"),
        Field(name="電話", title="電話", kind="phone"),
        Field(name="時刻", title="時刻", type="time"),
        Field(name="年度", title="年度", type="integer", format="fiscal_year", kind="fiscal_year"),
    ]
    r = _run(
        {
            "郵便番号": ["8620971", "〒860ー8601", "862-0975", "12"],
            "電話": ["096ー366ー3666", "382-3222", "096-365-1711", "電話なし"],
            "時刻": ["9:00", "午後3時", "23:30:15", "25:00"],
            "年度": ["令和5年度", "R元年度", "2024", "来年度"],
        },
        fields,
    )
    assert r.batch.column("郵便番号").to_pylist() == ["862-0971", "860-8601", "862-0975", None]
    assert r.batch.column("電話").to_pylist() == ["096-366-3666", "382-3222", "096-365-1711", None]
    # stored as "HH:MM:SS" text: Delta Lake has no time type
    assert r.batch.column("時刻").to_pylist() == ["09:00:00", "15:00:00", "23:30:15", None]
    assert r.batch.column("年度").to_pylist() == [2023, 2019, 2024, None]
    assert sorted((i.column, i.raw) for i in r.issues) == [
        ("年度", "来年度"),
        ("時刻", "25:00"),
        ("郵便番号", "12"),
        ("電話", "電話なし"),
    ]


def test_plain_string_without_raw_column_is_stored_as_read() -> None:
    s = TableSchema(fields=[Field(name="名称", title="名称")])
    assert raw_columns(s) == []
    r = normalise_batch(_batch({"名称": ["ＡＢＣ", "", None]}), s)
    assert r.batch.column("名称").to_pylist() == ["ＡＢＣ", None, None]
    assert r.raw == {}


def test_string_with_changes_in_sample_is_nfkc_and_raw_kept() -> None:
    s = infer_schema(pa.table({"屋号": ["ｎｏｉｒ", "喫茶　店", "－"]}), detection={})
    r = normalise_batch(_batch({"屋号": ["ｎｏｉｒ", "喫茶　店", "－"]}), s)
    assert r.batch.column("屋号").to_pylist() == ["noir", "喫茶 店", None]
    assert r.raw["屋号"].to_pylist() == ["ｎｏｉｒ", "喫茶　店", "－"]


def test_batch_matches_schema_to_arrow_and_source_rows() -> None:
    s = TableSchema(fields=[Field(name="n", title="n", type="number")])
    batch = pa.RecordBatch.from_pydict({"n": pa.array(["1.5", "x1"]), "__source_row": pa.array([5, 9])})
    r = normalise_batch(batch, s)
    assert r.batch.schema == schema_to_arrow(s)
    assert [i.row for i in r.issues] == [9]


def test_issue_list_is_capped_but_counted() -> None:
    s = TableSchema(fields=[Field(name="n", title="n", type="integer")])
    r = normalise_batch(_batch({"n": ["a"] * 50}), s, max_issues_per_column=3)
    assert (len(r.issues), r.failures) == (3, {"n": 50})


# --- fast paths: canonical cells by one cast, the rest once per distinct value ----------------------


def _outcome(p: Parsed, raw: pa.Array) -> dict[str, list[object]]:
    """What normalise_batch keeps of a parse: stored values, read/failed cells, raw text kept, messages."""
    ok = pc.fill_null(p.ok, False)
    failed = pc.and_(p.present, pc.invert(ok))
    nonblank = pc.fill_null(pc.not_equal(raw, ""), False)
    keep = pc.and_(nonblank, pc.or_(pc.invert(p.present), pc.or_(failed, pc.fill_null(p.changed, True))))
    message = p.message if isinstance(p.message, str) else None
    msgs = [
        message if message is not None else p.message[i].as_py()
        for i, f in enumerate(failed.to_pylist())
        if f
    ]
    return {
        "typed": pc.if_else(ok, p.typed, pa.scalar(None, p.typed.type)).to_pylist(),
        "present": p.present.to_pylist(),
        "ok": ok.to_pylist(),
        "keep": keep.to_pylist(),
        "messages": msgs,
    }


def _reference(column: list[str | None], f: Field) -> dict[str, list[object]]:
    raw = pa.array(column, pa.string())
    return _outcome(_parse_text_column(pc.fill_null(raw, ""), f), raw)


FAST_FIELDS = [
    Field(name="n", type="integer"),
    Field(name="n", type="integer", missing={"-": "none", "999": "unknown"}),
    Field(name="n", type="year"),
    Field(name="n", type="number", unit="%"),
    Field(name="n", type="date"),
    Field(name="n", type="date", format="%m/%d/%Y"),
    Field(name="n", type="time"),
    Field(name="n", type="boolean", true_values=["○"], false_values=["×"]),
    Field(name="n", type="string", kind="ward"),
]
CELLS = ["0", "7", "-12", "1234", "007", "-0", "1e3", "12.5", "-0.25", ".5", "5.", "999", "123456789012345",
         "1234567890123456", "１，２３４", "▲12", "1,234円", "12.5%", "-", "－", "x", "", " ", " 12", "2024-04-01",
         "0000-01-01", "2023-02-30", "2024-4-1", "令和6年4月1日", "R6.4.1", "3/31/2023", "3/1/2023",
         "2024-04-01 00:00:00", "2024/4/1 0時", "23:30", "9:05", "○", "×", "中央区", None, "+5", "00", "0x10",
         "-007", "inf", "-nan", "1E5", "+.5", "-.5", "1.", "99999999999", "2147483648"]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FAST_FIELDS), st.lists(st.sampled_from(CELLS), min_size=1, max_size=40), st.integers(1, 3)
)
def test_fast_paths_read_every_cell_as_the_jp_parsers_do(
    f: Field, cells: list[str | None], split: int
) -> None:
    cache = ParseCache()
    n = len(cells)
    cut = n * split // 4
    for part in (cells[:cut], cells[cut:], cells):  # the cache carries values from batch to batch
        if part:
            got = _outcome(parse_field(pa.array(part, pa.string()), f, cache), pa.array(part, pa.string()))
            assert got == _reference(part, f)


def test_iso_dates_with_one_wareki_cell() -> None:
    f = Field(name="日", title="日", type="date")
    cells = ["2024-04-01"] * 5 + ["令和6年4月2日"] + ["2024-04-03", ""]
    r = _run({"日": cells}, [f])
    assert r.batch.column("日").to_pylist() == [dt.date(2024, 4, 1)] * 5 + [
        dt.date(2024, 4, 2),
        dt.date(2024, 4, 3),
        None,
    ]
    assert r.raw["日"].to_pylist() == [None] * 5 + ["令和6年4月2日", None, None]


def test_plain_integers_with_one_full_width_and_dash_markers() -> None:
    f = Field(name="件数", title="件数", type="integer", missing={"-": "none"})
    r = _run({"件数": ["1", "22", "１，２３４", "-", "333", "－", "x1"]}, [f])
    assert r.batch.column("件数").to_pylist() == [1, 22, 1234, None, 333, None, None]
    assert r.raw["件数"].to_pylist() == [None, None, "１，２３４", "-", None, "－", "x1"]
    assert r.failures == {"件数": 1}


def test_cache_across_batches_gives_the_same_batches() -> None:
    f = Field(name="日", title="日", type="date")
    s = TableSchema(fields=[f])
    cache = ParseCache()
    first = ["R6.4.1"] * 4 + ["令和6年4月2日", "x"]
    batches = [_batch({"日": first}), _batch({"日": ["x", "x", "R6.4.1", "2024/4/3"]})]
    for b in batches:
        assert normalise_batch(b, s, cache=cache).with_raw() == normalise_batch(b, s).with_raw()
    assert len(cache.seen["日"].values) == 4


def test_month_first_dates_of_the_takamatsu_population_file() -> None:
    """高松市 地域・年齢別人口 (CC BY): surveyDate is written 3/1/2023 (1 March 2023, the file is 202303)."""
    path = Path("/work/shared/data/real/372013_takamatsu_population_by_town_age_202303.csv")
    if not path.exists():
        pytest.skip("the real municipal files are not here")
    source = read_source(path, ReadOptions())
    sample = pa.Table.from_batches(list(source.batches))
    schema = infer_schema(sample)
    f = next(f for f in schema.fields if f.title == "surveyDate")
    assert (f.type, f.format) == ("date", "%m/%d/%Y")
    r = normalise_batch(sample.to_batches()[0], schema)
    assert set(r.batch.column(f.name).to_pylist()) == {dt.date(2023, 3, 1)}
    assert r.failures.get(f.name) is None


# --- the clean shortcut: a batch whose distinct values all read as spelled takes one `take` ---------


def _municipal(rows: int, *, messy: bool) -> dict[str, list[str | None]]:
    """Columns like the benchmark's table (clean or messy spellings), with blanks and repeats."""
    wards = ["中央区", "東区", "西区", "南区", "北区"]
    eras = ["令和6年4月{d}日", "R6.4.{d}", "2024/4/{d}", "2024-04-{d:02d}"]
    out: dict[str, list[str | None]] = {"日": [], "区": [], "件数": [], "時刻": [], "有無": [], "率": []}
    for i in range(rows):
        d = i % 28 + 1
        out["日"].append(eras[i % 4].format(d=d) if messy else f"2024-04-{d:02d}")
        out["区"].append(wards[i % 5] if i % 13 else "")
        out["件数"].append(("１，２３４" if i % 7 == 0 else str(i)) if messy else str(i % 500))
        out["時刻"].append(f"{i % 24:02d}:{i % 60:02d}" if i % 11 else None)
        out["有無"].append(("○" if i % 2 else "×") if messy else ("true" if i % 2 else "false"))
        out["率"].append(f"{i % 100}.5%" if messy else f"{i % 100}.5")
    return out


MUNICIPAL_FIELDS = [
    Field(name="日", type="date"),
    Field(name="区", type="string", kind="ward"),
    Field(name="件数", type="integer"),
    Field(name="時刻", type="time"),
    Field(name="有無", type="boolean", true_values=["○", "true"], false_values=["×", "false"]),
    Field(name="率", type="number", unit="%"),
]


def _without_shortcut(
    monkeypatch: pytest.MonkeyPatch, batches: list[pa.RecordBatch], schema: TableSchema
) -> list:
    from machidata.ingest import normalise

    monkeypatch.setattr(normalise, "_all_clean", lambda *a: False)
    try:
        cache = ParseCache()
        return [normalise_batch(b, schema, cache=cache) for b in batches]
    finally:
        monkeypatch.undo()


def _same(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        assert g.with_raw().equals(w.with_raw())
        assert g.issues == w.issues
        assert g.failures == w.failures


@pytest.mark.parametrize("messy", [False, True])
def test_clean_shortcut_gives_what_the_full_path_gives(monkeypatch: pytest.MonkeyPatch, messy: bool) -> None:
    from machidata.ingest import normalise

    schema = TableSchema(fields=MUNICIPAL_FIELDS)
    batches = [_batch(_municipal(3000, messy=messy)) for _ in range(3)]
    taken = []
    real_all_clean = normalise._all_clean
    monkeypatch.setattr(normalise, "_all_clean", lambda *a: taken.append(real_all_clean(*a)) or taken[-1])
    cache = ParseCache()
    fast = [normalise_batch(b, schema, cache=cache) for b in batches]
    monkeypatch.undo()
    _same(fast, _without_shortcut(monkeypatch, batches, schema))
    assert any(taken)  # the shortcut ran: 区 and 有無 (and the clean 時刻) read as spelled
    if not messy:
        assert not any(r.raw[k].null_count < len(r.raw[k]) for r in fast for k in ("区", "有無"))


@pytest.mark.parametrize("name", ["350001_yamaguchi_tourism.csv", "372013_takamatsu_population_by_town_age_202303.csv",
                                  "431001_kumamoto_inshokuten_eigyo_kyoka.csv", "372013_takamatsu_evacuation_space.csv",
                                  "011002_sapporo_public_facility.csv"])  # fmt: skip
def test_clean_shortcut_on_the_real_files(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = Path(__file__).resolve().parents[4] / "shared" / "data" / "real" / name
    if not path.exists():
        pytest.skip(f"real test file missing: {path}")
    source = read_source(path, ReadOptions(batch_rows=500))
    batches = list(source.batches)
    schema = infer_schema(pa.Table.from_batches(batches).slice(0, 10_000), detection=source.detection)
    cache = ParseCache()
    fast = [normalise_batch(b, schema, cache=cache) for b in batches]
    _same(fast, _without_shortcut(monkeypatch, batches, schema))


def test_time_text_formats_each_cell_as_the_per_cell_cast_does() -> None:
    micros = [
        0,
        1_000_000,
        59 * 60_000_000,
        (23 * 3600 + 59 * 60 + 59) * 1_000_000,
        None,
        1_000_000,
        1_500_000,
    ]
    typed = pa.array(micros, pa.time64("us"))
    expected = pc.utf8_slice_codeunits(pc.cast(typed, pa.string()), 0, 8).to_pylist()
    assert expected == ["00:00:00", "00:00:01", "00:59:00", "23:59:59", None, "00:00:01", "00:00:01"]
    assert _time_text(typed).to_pylist() == expected


@pytest.mark.parametrize(
    "cells",
    [
        ["a", "", None, "熊本"],  # blanks become null
        ["a", None, "熊本"],  # nothing blank: returned as read
        [None, None],  # no text at all
        ["", ""],
        [],
    ],
)
def test_plain_text_blank_cells_are_null_as_per_cell_comparison_gives(cells: list[str | None]) -> None:
    f = Field(name="備考", title="備考", type="string")
    r = _run({"備考": cells}, [f])
    assert r.batch.column("備考").to_pylist() == [None if c in ("", None) else c for c in cells]
    assert r.batch.column("備考").type == pa.string()
