"""The vectorised twins agree with the scalar references on generated, realistic cells."""

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machidata.jp import vector
from machidata.jp.text import TextParseError, normalize_text, parse_number
from machidata.jp.wareki import SlashOrder, WarekiError, parse_date, parse_datetime

# The era table written out independently of machidata.jp.wareki: (name, letter, first day).
ERAS = [
    ("明治", "M", date(1868, 1, 25)),
    ("大正", "T", date(1912, 7, 30)),
    ("昭和", "S", date(1926, 12, 25)),
    ("平成", "H", date(1989, 1, 8)),
    ("令和", "R", date(2019, 5, 1)),
]
KANJI = "〇一二三四五六七八九"
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def kanji_number(n: int) -> str:
    if n < 10:
        return KANJI[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else KANJI[tens]) + "十" + ("" if ones == 0 else KANJI[ones])


def era_of(d: date) -> tuple[str, str, int]:
    name, letter, start = next((e for e in reversed(ERAS) if e[2] <= d), ERAS[0])
    return name, letter, d.year - start.year + 1


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    """Dates in many written styles, sometimes impossible or mis-labelled on purpose."""
    d = draw(st.dates(min_value=date(1860, 1, 1), max_value=date(2100, 12, 31)))
    y, m, dd = d.year, d.month, d.day
    if draw(st.integers(0, 9)) == 0:  # an impossible day, e.g. 2月30日
        dd = draw(st.sampled_from([0, 29, 30, 31, 32]))
    name, letter, ey = era_of(d)
    if draw(st.integers(0, 7)) == 0:  # the neighbouring era's label (平成31年5月1日 style errors)
        i = next(i for i, e in enumerate(ERAS) if e[0] == name)
        j = max(0, i - 1) if draw(st.booleans()) else min(len(ERAS) - 1, i + 1)
        name, letter, ey = ERAS[j][0], ERAS[j][1], y - ERAS[j][2].year + 1
    pad = draw(st.booleans())

    def num(n: int, width: int = 2) -> str:
        return str(n).zfill(width) if pad else str(n)

    year_tok = "元" if ey == 1 and draw(st.booleans()) else num(ey)
    sep = draw(st.sampled_from(["/", "-", ".", "/"]))
    sep2 = sep if draw(st.integers(0, 9)) else draw(st.sampled_from(["/", "-", "."]))
    sp = draw(st.sampled_from(["", "", " ", "　"]))
    style = draw(st.integers(0, 8))
    if style == 0:
        text = f"{name}{sp}{year_tok}{sp}年{num(m)}{sp}月{num(dd)}日"
    elif style == 1:
        tok = draw(st.sampled_from([letter, letter.lower(), name[0], name]))
        text = f"{tok}{num(ey)}{sep}{num(m)}{sep2}{num(dd)}"
    elif style == 2:
        text = f"{y}{sep}{num(m)}{sep2}{num(dd)}"
    elif style == 3:
        text = f"{y}{sp}年{sp}{num(m)}{sp}月{sp}{num(dd)}{sp}日"
    elif style == 4:
        text = f"{y}{m:02d}{dd:02d}"
    elif style == 5:  # kanji numerals: the scalar fallback path
        text = f"{name}{kanji_number(ey) if 0 <= ey < 100 else ey}年{kanji_number(m)}月{kanji_number(dd)}日"
    elif style == 6:  # weekday suffix, right or wrong
        wd = "月火水木金土日"[(d.weekday() + draw(st.sampled_from([0, 0, 1]))) % 7]
        text = f"{y}年{m}月{dd}日({wd})"
    elif style == 7:
        text = draw(st.sampled_from(["", "-", "x", "令和", "2024", "R6", "hello", "096-328-2111", "12,345"]))
    else:  # slashes, the year first or last (2024/4/1付, 3/31/2023, 31/3/2023)
        suffix = draw(st.sampled_from(["付", "", " "]))
        text = draw(
            st.sampled_from([f"{y}/{m}/{dd}{suffix}", f"{num(m)}/{num(dd)}/{y}", f"{num(dd)}/{num(m)}/{y}"])
        )
    if draw(st.booleans()):
        text = full_width(text)
    return text


def scalar_date(s: str, order: SlashOrder | None = None) -> date | None:
    try:
        return parse_date(s, slash_order=order)
    except WarekiError:
        return None


@FAST
@given(st.lists(date_texts(), min_size=1, max_size=30))
def test_parse_dates_agrees_with_parse_date(texts: list[str]) -> None:
    got = vector.parse_dates(pa.array(texts)).to_pylist()
    assert got == [scalar_date(s) for s in texts]


@st.composite
def datetime_texts(draw: st.DrawFn) -> str:
    """A date text, often followed by a time in colon, 時分 or 午前/午後 form, or an ISO offset."""
    d = draw(date_texts())
    h, mi, sec = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 59))
    styles = [
        d,
        f"{d} {h}:{mi:02d}",
        f"{d} {h:02d}:{mi:02d}:{sec:02d}",
        f"{d}T{h:02d}:{mi:02d}:{sec:02d}" + draw(st.sampled_from(["", "Z", "+09:00", "-05:00"])),
        f"{d}{draw(st.sampled_from(['', ' ']))}{h}時{mi}分",
        f"{d} {draw(st.sampled_from(['午前', '午後']))}{h % 13}時",
        f"{d} {h}時半",
    ]
    return draw(st.sampled_from(styles))


# Characters dates are written with, for random cells that may or may not be dates.
ALPHABET_DATES = st.sampled_from(list("0123456789０１２二〇十年月日/.-: T令和R元付(火)曜午後時分"))


def scalar_datetime(s: str, order: SlashOrder | None = None) -> datetime | None:
    try:
        return parse_datetime(s, slash_order=order)
    except WarekiError:
        return None


@FAST
@given(st.lists(datetime_texts(), min_size=1, max_size=30))
def test_parse_datetimes_agrees_with_parse_datetime(texts: list[str]) -> None:
    got = vector.parse_datetimes(pa.array(texts)).to_pylist()
    assert got == [scalar_datetime(s) for s in texts]


@FAST
@given(st.lists(datetime_texts(), min_size=1, max_size=30), st.sampled_from(["mdy", "dmy"]))
def test_slash_order_agrees_with_the_scalar_parsers(texts: list[str], order: SlashOrder) -> None:
    assert vector.parse_dates(pa.array(texts), slash_order=order).to_pylist() == [
        scalar_date(s, order) for s in texts
    ]
    assert vector.parse_datetimes(pa.array(texts), slash_order=order).to_pylist() == [
        scalar_datetime(s, order) for s in texts
    ]


@FAST
@given(st.lists(st.one_of(datetime_texts(), st.text(ALPHABET_DATES, max_size=16)), min_size=1, max_size=30))
def test_date_shape_holds_for_every_cell_parse_datetime_reads(texts: list[str]) -> None:
    # The vectorised datetime parser sends only cells of this shape to the scalar fallback.
    shaped = pc.match_substring_regex(pa.array([normalize_text(s) for s in texts]), vector.DATE_SHAPE_PATTERN)
    for s, ok in zip(texts, shaped.to_pylist(), strict=True):
        if scalar_datetime(s) is not None:
            assert ok, s


@pytest.mark.parametrize(
    ("raw", "order", "expected"),
    [
        ("3/31/2023", None, date(2023, 3, 31)),  # the second part is over 12: month first
        ("31/3/2023", None, date(2023, 3, 31)),  # the first part is over 12: day first
        ("3/3/2023", None, date(2023, 3, 3)),
        ("3/1/2023", None, None),  # ambiguous without the column's order
        ("3/1/2023", "mdy", date(2023, 3, 1)),
        ("3/1/2023", "dmy", date(2023, 1, 3)),
        ("３／１／２０２３", "mdy", date(2023, 3, 1)),
        ("31/3/2023", "mdy", None),  # no 31st month
        ("2/30/2023", "mdy", None),
        ("2023/3/1", "dmy", date(2023, 3, 1)),  # year first is never reordered
        ("3/1/23", "mdy", None),  # a two-digit year is not read
    ],
)
def test_slash_year_last_dates(raw: str, order: SlashOrder | None, expected: date | None) -> None:
    assert scalar_date(raw, order) == expected
    assert vector.parse_dates(pa.array([raw]), slash_order=order).to_pylist() == [expected]


UNITS = [
    "",
    "",
    "円",
    "千円",
    "百万円",
    "人",
    "件",
    "%",
    "％",
    "㎡",
    "世帯",
    "台",
    "回",
    "万",
    "kg",
    "個入",
    "ドル",
]


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """Numbers with separators, decimals, ▲/△/()/minus, units, yen signs, full width, missing markers."""
    if draw(st.integers(0, 7)) == 0:
        return draw(
            st.sampled_from(
                ["-", "－", "―", "…", "･･･", "x", "X", "***", "*", "秘匿", "不詳", "ー", "", "　", "abc"]
            )
        )
    n = draw(st.integers(0, 10**12))
    if draw(st.booleans()):
        digits = f"{n:,}"
        if draw(st.integers(0, 15)) == 0:  # a broken grouping
            digits = digits.replace(",", "", 1) + ",12"
    else:
        digits = str(n)
    if draw(st.booleans()):
        digits += "." + str(draw(st.integers(0, 999))).zfill(draw(st.integers(1, 3)))
    unit = draw(st.sampled_from(UNITS))
    sp = draw(st.sampled_from(["", "", " "]))
    form = draw(st.integers(0, 4))
    if form == 0:
        text = f"{draw(st.sampled_from(['▲', '△', '▼', '-', '−', '+']))}{sp}{digits}{sp}{unit}"
    elif form == 1:
        text = f"({digits}){unit}"
    elif form == 2:
        text = f"¥{sp}{digits}"
    else:
        text = f"{digits}{sp}{unit}"
    if draw(st.booleans()):
        text = full_width(text)
    return text


@FAST
@given(st.lists(number_texts(), min_size=1, max_size=30))
def test_parse_numbers_agrees_with_parse_number(texts: list[str]) -> None:
    col = vector.parse_numbers(pa.array(texts))
    rows = zip(
        texts,
        col.value.to_pylist(),
        col.unit.to_pylist(),
        col.negative_marker.to_pylist(),
        col.missing.to_pylist(),
        col.ok.to_pylist(),
        strict=True,
    )
    for text, value, unit, marker, missing, ok in rows:
        try:
            expected = parse_number(text)
        except TextParseError:
            assert (value, unit, marker, missing, ok) == (None, None, None, None, False), text
            continue
        if expected.missing is not None:
            assert (value, missing, ok) == (None, expected.missing.reason, False), text
        else:
            assert expected.value is not None
            assert ok, text
            assert value == float(expected.value), text
            assert (unit, marker, missing) == (expected.unit, expected.negative_marker, None), text


ALPHABET = st.sampled_from(
    list("abcXYZ019 ")
    + list("ＡＢＣ０１９　")
    + list("ｱｲｳｶﾞｷﾞｮｰﾟﾞ")
    + list("熊本市区中央東西南北ー－―…･")
    + ["\t", "\n", "\u200b", "\ufeff", "㍻", "㋿", "㎡"]
)


@FAST
@given(st.lists(st.text(ALPHABET, max_size=20), min_size=1, max_size=30))
def test_normalise_text_agrees_with_normalize_text(texts: list[str]) -> None:
    assert vector.normalise_text(pa.array(texts)).to_pylist() == [normalize_text(s) for s in texts]


def test_nulls_stay_null_and_chunked_arrays_work() -> None:
    arr = pa.chunked_array([["令和6年4月1日", None], ["R6.4.1"]])
    assert vector.parse_dates(arr).to_pylist() == [date(2024, 4, 1), None, date(2024, 4, 1)]
    col = vector.parse_numbers(pa.array([None, "1,234円"]))
    assert col.value.to_pylist() == [None, 1234.0]
    assert col.ok.to_pylist() == [False, True]
    assert vector.normalise_text(pa.array([None])).to_pylist() == [None]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("令和6年3月31日 23:30", datetime(2024, 3, 31, 23, 30)),
        ("2024-04-01 00:30", datetime(2024, 4, 1, 0, 30)),
        ("2024-03-31T15:30:00Z", datetime(2024, 4, 1, 0, 30)),
    ],
)
def test_parse_datetimes_fiscal_boundary(raw: str, expected: datetime) -> None:
    got = vector.parse_datetimes(pa.array([raw])).to_pylist()[0]
    assert got == expected
