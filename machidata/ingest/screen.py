"""Personal-data screen: flag columns of a sample that look like personal data, reject マイナンバー.

Flags (kinds): ``person_name``, ``phone``, ``address``, ``birth_date``, ``email``. Each combines a header
hint (氏名, 申請者, 電話, 住所, 生年月日, メール …) with the share of values matching a pattern, after
NFKC (so 全角スペース and ㈱ are already a space and (株)). Person names are two kanji/kana tokens
separated by a space, or — under a name header — a short kanji/kana word, and never a value holding
an organisation word (株式会社, 法人, 協会, 病院, 薬局, 市 …). The flags say what a column holds; the
publication gates decide what that means. Precision and recall are measured by ``bench/pii_screen.py``
on the labelled columns in ``tests/fixtures/pii_labels.json`` (see docs/ingest-screening.md).

マイナンバー is a column-level rule: a column whose values are mostly (≥ 80 %, at least 20 values)
12-digit numbers passing the check digit raises :class:`MyNumberDetected` and the version is rejected.
One random 12-digit number in ten passes the check, so a single passing value proves nothing.
The numbers themselves never appear in messages or logs (番号法).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from machidata.core.errors import InvalidInput
from machidata.jp import vector as jv
from machidata.jp.mynumber import MYNUMBER_WEIGHTS

Arr = Any
KINDS = ("person_name", "phone", "address", "birth_date", "email")
KIND_LABELS = {"person_name": "氏名", "phone": "電話番号", "address": "住所（番地まで）", "birth_date": "生年月日",
               "email": "メールアドレス"}  # fmt: skip
MYNUMBER_MIN_VALUES = 20
MYNUMBER_MIN_SHARE = 0.8

_NAME_HINT = re.compile("氏名|名前|申請者|代表者|開設者|管理者|設置者|届出者|営業者|患者|保護者|世帯主|被保険者|"
                        "担当者|ふりがな|フリガナ|^name$|fullname|person", re.IGNORECASE)  # fmt: skip
_NOT_NAME_HINT = re.compile("住所|所在地|電話|番号|年月日|日$|施設|店舗|屋号|名称|法人名|会社名")
_PHONE_HINT = re.compile("電話|TEL|FAX|携帯|telephone|phone", re.IGNORECASE)
_ADDRESS_HINT = re.compile("住所|所在地|address|居所", re.IGNORECASE)
_BIRTH_HINT = re.compile("生年月日|誕生日|生年|birth", re.IGNORECASE)
_EMAIL_HINT = re.compile("メール|mail", re.IGNORECASE)

_KANA_KANJI = "[\\p{Han}\\p{Hiragana}\\p{Katakana}ー々〆ヶ]"
NAME_PATTERN = f"^{_KANA_KANJI}{{1,6}} {_KANA_KANJI}{{1,8}}$"
SHORT_NAME_PATTERN = f"^{_KANA_KANJI}{{2,7}}$"
ORG_PATTERN = ("会社|法人|協会|病院|薬局|組合|医院|クリニック|診療所|\\(株\\)|\\(有\\)|\\(同\\)|センター|事務所|"
               "学校|大学|協同|生協|財団|機構|市$|県$|町$|村$|省|庁|連合|グループ|ホールディングス|店|商店|商会|"
               "株式|有限|合同|ショップ|ストア|ハウス|ホテル|カフェ|館|堂|屋|亭|苑|園|荘|会$|部$|課$|社$|団$")  # fmt: skip
PHONE_FULL_PATTERN = "^(?:\\+81[ -]?)?0[0-9]{1,4}[-( ]?[0-9]{1,4}[-) ]?[0-9]{3,4}$"
PHONE_LOCAL_PATTERN = "^[0-9]{2,4}-[0-9]{4}$"
# 丁目/番地/番/号 after a number, 1-2-3, or a lot number right after a place name (大字吉田町1184).
ADDRESS_PATTERN = (
    "[0-9〇一二三四五六七八九十]+ ?(?:丁目|番地|番|号)|[0-9]+-[0-9]+|\\p{Han}[0-9]{1,5}(?:$|[ の(])"
)
PLACE_PATTERN = "[都道府県市区町村郡]"
EMAIL_PATTERN = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$"


class MyNumberDetected(InvalidInput):
    """A column holds マイナンバー (個人番号): the whole version is rejected."""


@dataclass(frozen=True)
class ColumnFlag:
    """One personal-data flag on a column: kind, share of values that match, reason (Japanese)."""

    column: str
    kind: str
    share: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "column": self.column,
            "kind": self.kind,
            "share": round(self.share, 4),
            "reason": self.reason,
        }


@dataclass
class ScreenReport:
    """The flags of a sample, stored with the version and shown on the table page."""

    flags: list[ColumnFlag] = field(default_factory=list)

    def kinds(self, column: str) -> set[str]:
        """The kinds flagged on ``column``."""
        return {f.kind for f in self.flags if f.column == column}

    @property
    def flagged_columns(self) -> list[str]:
        """Columns with at least one flag, in order."""
        return list(dict.fromkeys(f.column for f in self.flags))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"flags": [f.to_dict() for f in self.flags]}


class Distinct(NamedTuple):
    """A column's distinct normalised, non-blank values and how many cells hold each (the weights)."""

    values: Arr
    counts: Arr
    n: int  # cells with a non-blank value


def distinct_values(values: Arr) -> Distinct:
    """Normalise once and count: the screen's shares are the same on distinct values weighted by counts.

    A 10,000-row sample of a ward or date column holds a few hundred distinct values, so the
    patterns below run on those rather than on every cell.
    """
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values, pa.string())
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    vc = pc.value_counts(values)
    raw, counts = vc.field("values"), vc.field("counts")
    t = jv.normalise_text(raw)
    keep = pc.fill_null(pc.not_equal(t, ""), False)  # null and blank cells are not values
    t, counts = pc.filter(t, keep), pc.filter(counts, keep)
    return Distinct(t, counts, int(pc.sum(counts).as_py() or 0))


def _weighted(d: Distinct, keep: Arr) -> Distinct:
    counts = pc.filter(d.counts, keep)
    return Distinct(pc.filter(d.values, keep), counts, int(pc.sum(counts).as_py() or 0))


def _share(mask: Arr, d: Distinct) -> float:
    """Share of ``d``'s cells (not of its distinct values) where ``mask`` holds."""
    if not d.n:
        return 0.0
    hits = pc.sum(pc.if_else(pc.fill_null(mask, False), d.counts, 0)).as_py() or 0
    return hits / d.n


def _match(values: Arr, pattern: str) -> Arr:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def mynumber_share(values: Arr | Distinct) -> tuple[float, int]:
    """Share of non-blank values that are 12 digits with a valid マイナンバー check digit, and the count."""
    d = values if isinstance(values, Distinct) else distinct_values(values)
    if d.n == 0:
        return 0.0, 0
    t = pc.replace_substring_regex(d.values, "[ -]", "")
    twelve = _match(t, "^[0-9]{12}$")
    if not pc.any(twelve).as_py():  # no 12-digit value at all: nothing to check
        return 0.0, d.n
    safe = pc.if_else(twelve, t, "000000000000")
    total = pa.array([0] * len(t), pa.int64())
    for i, w in enumerate(MYNUMBER_WEIGHTS):
        total = pc.add(total, pc.multiply(pc.cast(pc.utf8_slice_codeunits(safe, i, i + 1), pa.int64()), w))
    rem = pc.divide(total, 11)
    rem = pc.subtract(total, pc.multiply(rem, 11))
    check = pc.if_else(pc.less_equal(rem, 1), 0, pc.subtract(11, rem))
    last = pc.cast(pc.utf8_slice_codeunits(safe, 11, 12), pa.int64())
    return _share(pc.and_(twelve, pc.equal(check, last)), d), d.n


def check_mynumber(column: str, values: Arr | Distinct) -> None:
    """Raise :class:`MyNumberDetected` when the column's values are mostly valid マイナンバー."""
    share, n = mynumber_share(values)
    if n >= MYNUMBER_MIN_VALUES and share >= MYNUMBER_MIN_SHARE:
        raise MyNumberDetected(
            f"列「{column}」にマイナンバー（個人番号）と思われる12桁の番号があります"
            f"（{n}件中{round(share * 100)}%が検査用数字と一致）。マイナンバーは取り込めません。"
            "この列を削除したファイルで取り込み直してください。",
            details={"column": column, "share": round(share, 4), "values": n},
        )


def screen_column(title: str, values: Arr | Distinct) -> list[ColumnFlag]:
    """Flags for one column of raw text values (a sample)."""
    d = values if isinstance(values, Distinct) else distinct_values(values)
    d = _weighted(d, pc.is_null(jv.missing_reasons_normalised(d.values)))
    t, n = d.values, d.n
    if n == 0:
        return []
    flags: list[ColumnFlag] = []

    def flag(kind: str, share: float, why: str) -> None:
        flags.append(ColumnFlag(title, kind, share, f"{why}（値の{round(share * 100)}%）"))

    org = _match(t, ORG_PATTERN)
    name_hint = bool(_NAME_HINT.search(title)) and not _NOT_NAME_HINT.search(title.replace("氏名", ""))
    spaced = _share(pc.and_(_match(t, NAME_PATTERN), pc.invert(org)), d)
    short = _share(pc.and_(_match(t, SHORT_NAME_PATTERN), pc.invert(org)), d)
    # Under a name header a few individuals among companies (薬局の開設者) are enough to flag.
    if name_hint and (spaced >= 0.02 or short >= 0.5):
        flag("person_name", max(spaced, short), f"項目名「{title}」と値が個人の氏名に見えます")
    elif spaced >= 0.5:
        flag("person_name", spaced, "姓と名を空白で区切った氏名のような値です")
    phone_full = _match(t, PHONE_FULL_PATTERN)
    full = _share(phone_full, d)
    local = _share(pc.or_(phone_full, _match(t, PHONE_LOCAL_PATTERN)), d)
    if full >= 0.5 or (_PHONE_HINT.search(title) and local >= 0.5):
        flag("phone", max(full, local), "電話番号です")
    addr = _share(pc.and_(_match(t, ADDRESS_PATTERN), _match(t, PLACE_PATTERN)), d)
    if addr >= 0.5 or (_ADDRESS_HINT.search(title) and addr >= 0.3):
        flag("address", addr, "番地・号まで書かれた住所です")
    if _BIRTH_HINT.search(title):
        dates = _share(pc.is_valid(jv.parse_dates(t)), d)
        if dates >= 0.5:
            flag("birth_date", dates, f"項目名「{title}」の日付（生年月日）です")
    mail = _share(_match(t, EMAIL_PATTERN), d)
    if mail >= 0.5 or (_EMAIL_HINT.search(title) and mail >= 0.3):
        flag("email", mail, "メールアドレスです")
    return flags


def screen_sample(sample: pa.Table) -> ScreenReport:
    """Screen every column of a sample; raise :class:`MyNumberDetected` before returning any flags."""
    columns = {title: distinct_values(sample.column(title)) for title in sample.column_names}
    for title, d in columns.items():
        check_mynumber(title, d)
    report = ScreenReport()
    for title, d in columns.items():
        report.flags.extend(screen_column(title, d))
    return report
