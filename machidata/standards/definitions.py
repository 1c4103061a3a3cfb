"""The standard open-data sets as plain data, read from the copies shipped in ``standards/data/``.

Two generations are shipped (attribution and licences in ``data/SOURCE.md`` and ``data/README.md``):

* **推奨データセット 基本編** (14 sets, older format): item definitions (``data/definitions/``, from
  NEC-FIWARE/smart-data-models) and the official フォーマット標準例 templates (``data/templates/``).
  An item's name is the template's header (the file aggregators compare), its type, 必須 and 選択肢
  come from the definition; the known differences between the two (``料金(基本)``/``料金（基本）``,
  ``利用可能日時特記事項``/``利用可能時間特記事項``) are matched by :func:`norm` and :data:`ALIASES`.
  The 食品等営業許可・届出一覧 (A-1, beta) has templates only: listed, not declarable.
* **自治体標準オープンデータセット** (newer format) where ``data/new_format/`` has it: 指定緊急避難場所一覧
  (39 items, complete, transcribed from a Javadoc), 公衆トイレ一覧 (the header observed in real files;
  types and 選択肢 borrowed from the older definition, 必須 unknown: partial) and 観光施設一覧 (items 1–7
  only: listed, not declarable).

Nothing here touches Django or the database; the files are read once per process.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

DATA: Final = Path(__file__).resolve().parent / "data"
TAG: Final = "自治体標準ODS"  # the tag aggregators look for on declared datasets
OLD: Final = "推奨データセット（基本編）"
NEW: Final = "自治体標準オープンデータセット"

KINDS: Final = ("文字列", "数値", "日付", "時刻", "URL")
STRING, NUMBER, DATE, TIME, URL = KINDS

# Items machidata fills from the site's settings when no column is mapped to them.
FILL_LG_CODE: Final = "lg_code"
FILL_PREFECTURE: Final = "prefecture"
FILL_CITY: Final = "city"
FILL_LG_NAME: Final = "lg_name"
FILLS: Final[dict[str, str]] = {
    "都道府県コード又は市区町村コード": FILL_LG_CODE,
    "全国地方公共団体コード": FILL_LG_CODE,
    "市区町村コード": FILL_LG_CODE,
    "都道府県名": FILL_PREFECTURE,
    "市区町村名": FILL_CITY,
    "地方公共団体名": FILL_LG_NAME,
}

# Names that mean the same item: the known definition/template differences and the old → new renames
# (SOURCE.md, "Findings useful for tests"). Compared after :func:`norm`.
ALIASES: Final[tuple[tuple[str, ...], ...]] = (
    ("利用可能日時特記事項", "利用可能時間特記事項"),
    ("都道府県コード又は市区町村コード", "全国地方公共団体コード"),
    ("NO", "ID", "緊急避難場所ID"),
    ("方書", "建物名等(方書)"),
    ("名称_英語", "名称_英字"),
    ("住所", "所在地_連結表記"),
    ("多機能トイレ数", "バリアフリートイレ数"),
)
# Column names cities often use for an item (suggested with a weaker reason; the owner confirms).
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "名称": ("施設名", "施設名称", "施設正式名称", "名前"),
    "名称_カナ": ("施設名カナ", "名称カナ", "フリガナ", "ふりがな"),
    "住所": ("所在地", "施設住所"),
    "電話番号": ("電話", "TEL", "連絡先電話番号"),
    "緯度": ("lat", "latitude"),
    "経度": ("lng", "lon", "long", "longitude"),
}

_DASHES: Final = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")
_SPACE: Final = re.compile(r"\s+")


def norm(name: str) -> str:
    """A column name for comparison: NFKC (full/half width, brackets), no spaces, unified dashes, casefolded."""
    text = unicodedata.normalize("NFKC", name).translate(_DASHES)
    return _SPACE.sub("", text).casefold()


@dataclass(frozen=True)
class Item:
    """One item (項目) of a standard, in the standard's column order."""

    name: str  # the header in the standard-format CSV
    description: str = ""
    kind: str = STRING  # 文字列 / 数値 / 日付 / 時刻 / URL
    level: str = ""  # 必須 / 推奨 / 任意; "" when the source does not say
    choices: tuple[str, ...] = ()  # allowed values ("" in it: blank allowed)
    other_names: tuple[str, ...] = ()  # the definition's own name when it differs from the template's

    @property
    def required(self) -> bool:
        """Whether the item is 必須."""
        return self.level == "必須"

    @property
    def fill(self) -> str:
        """Which site setting fills the item when no column is mapped ("" for none)."""
        return FILLS.get(self.name, "")

    def names(self) -> set[str]:
        """Normalised names that designate this item: its own, the definition's, and known aliases."""
        own = {norm(self.name), *(norm(n) for n in self.other_names)}
        out = set(own)
        for group in ALIASES:
            normed = {norm(g) for g in group}
            if own & normed:
                out |= normed
        return out


@dataclass(frozen=True)
class Standard:
    """One standard dataset: its items in order, where it comes from, whether a table may declare it."""

    code: str  # e.g. "aed", "evacuation_space_ods"
    number: str  # "1" … "14", "A-1", or "" for the newer format
    name: str  # データセット名 (also the dataset-type tag)
    description: str
    generation: str  # OLD or NEW
    file_pattern: str  # the template's file name, e.g. "xxxxxx_aed.csv"
    items: tuple[Item, ...]
    declarable: bool = True
    partial: str = ""  # why the definition is incomplete, in plain Japanese ("" when complete)

    @property
    def header(self) -> list[str]:
        """The standard-format CSV's header row."""
        return [i.name for i in self.items]

    @property
    def label(self) -> str:
        """Name with its generation, for lists."""
        return f"{self.name}（{'自治体標準ODS' if self.generation == NEW else '推奨データセット'}）"

    def item(self, name: str) -> Item | None:
        """The item called ``name`` (exactly), if any."""
        return next((i for i in self.items if i.name == name), None)

    def file_name(self, lg_code: str, *, on: str = "") -> str:
        """The standard file name: ``xxxxxx`` → the 全国地方公共団体コード, ``yyyymmdd`` → ``on`` (YYYYMMDD)."""
        name = self.file_pattern.replace("xxxxxx", lg_code)
        return name.replace("yyyymmdd", on) if on else name.replace("_yyyymmdd", "")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for codec in ("utf-8-sig", "cp932"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_read_text(path))))


def _header(path: Path) -> list[str]:
    return next(csv.reader(io.StringIO(_read_text(path))))


def _choices(raw: str) -> tuple[str, ...]:
    return tuple(raw.split("|")) if raw else ()


def _match(name: str, pool: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """The definition row for template header ``name``: same normalised name, or a known alias."""
    probe = Item(name)
    for key in probe.names():
        if key in pool:
            return pool.pop(key)
    return None


def _old(row: dict[str, str]) -> list[Standard]:
    templates = [t.strip() for t in row["テンプレートファイル"].split(";")]
    out = []
    for template in templates:
        header = _header(DATA / template)
        file_pattern = Path(template).name
        code = file_pattern.removeprefix("xxxxxx_").removesuffix(".csv").replace("_yyyymmdd", "")
        if not row["定義ファイル"]:  # templates only
            items = tuple(Item(h) for h in header)
            out.append(Standard(code, row["No"], row["データセット名"] + ("" if len(templates) == 1 else f"（{code}）"),
                                row["説明"], OLD, file_pattern, items, declarable=False,
                                partial="項目定義が見つかっていないため、ヘッダ（テンプレート）だけを載せています。"))  # fmt: skip
            continue
        pool = {norm(r["項目名"]): r for r in _rows(DATA / row["定義ファイル"])}
        items_list = []
        for h in header:
            d = _match(h, pool)
            if d is None:
                items_list.append(Item(h))
                continue
            other = (d["項目名"],) if d["項目名"] != h else ()
            items_list.append(Item(h, d["説明"], d["型"] or STRING, d["必須"], _choices(d["選択肢"]), other))
        if pool:  # a definition item the template lacks: kept, after the template's columns
            items_list += [
                Item(r["項目名"], r["説明"], r["型"], r["必須"], _choices(r["選択肢"])) for r in pool.values()
            ]
        out.append(
            Standard(
                code, row["No"], row["データセット名"], row["説明"], OLD, file_pattern, tuple(items_list)
            )
        )
    return out


def _new_kind(form: str) -> str:
    return URL if "URI" in form or "URL" in form else STRING


def _new_choices(form: str) -> tuple[str, ...]:
    return ("1", "") if re.match(r"^(対応|重複)あり：1", form) else ()


def _evacuation_ods() -> Standard:
    rows = _rows(DATA / "new_format" / "指定緊急避難場所一覧_自治体標準ODS.csv")
    items = tuple(
        Item(r["項目名"], r["説明"], _new_kind(r["形式"]), r["掲載区分"], _new_choices(r["形式"]))
        for r in rows
    )
    return Standard(
        "evacuation_space_ods", "", "指定緊急避難場所一覧", "市区町村から提供される指定緊急避難場所の一覧。",
        NEW, "xxxxxx_evacuation_space.csv", items,
        partial="項目定義はデジタル庁の定義を書き写したソースコードのコメントから作りました（39項目）。"
        "2番目の項目名は書き写しのまま「緊急避難場所ID」です（公式の表では「ID」の可能性が高い）。",
    )  # fmt: skip


def _toilet_ods(old: Standard) -> Standard:
    header = json.loads(
        (DATA / "new_format" / "公衆トイレ一覧_自治体標準ODS_実データのヘッダ.json").read_text("utf-8")
    )
    items = []
    for h in header["columns"]:
        borrowed = next((i for i in old.items if Item(h).names() & i.names()), None)
        if borrowed is None:
            items.append(Item(h))
        else:  # type and 選択肢 from the older definition; 必須 is not known for the newer one
            items.append(Item(h, borrowed.description, borrowed.kind, "", borrowed.choices))
    return Standard(
        "public_toilet_ods", "", "公衆トイレ一覧", "公衆トイレの一覧。", NEW, "xxxxxx_public_toilet.csv", tuple(items),
        partial="公式の項目定義ではなく、実際の公開ファイル（江東区・町田市）のヘッダから作りました。"
        "型と選択肢は旧形式の定義から借りています。必須項目は分からないため確認しません。",
    )  # fmt: skip


def _tourism_ods() -> Standard:
    rows = _rows(DATA / "new_format" / "観光施設一覧_自治体標準ODS_先頭7項目のみ.csv")
    items = tuple(Item(r["項目名"], r["説明"], _new_kind(r["形式"])) for r in rows)
    return Standard(
        "tourism_ods", "", "観光施設一覧", "観光施設の情報の一覧。", NEW, "xxxxxx_tourism.csv", items,
        declarable=False, partial="先頭の7項目しか手に入っていないため、参考として載せています（宣言はできません）。",
    )  # fmt: skip


@cache
def standards() -> tuple[Standard, ...]:
    """Every shipped standard: the 基本編 in their numbering (A-1 last), then the newer ones."""
    out: list[Standard] = []
    for row in _rows(DATA / "dataset_list.csv"):
        out += _old(row)
    toilet = next(s for s in out if s.code == "public_toilet")
    out += [_evacuation_ods(), _toilet_ods(toilet), _tourism_ods()]
    return tuple(out)


def by_code(code: str) -> Standard | None:
    """The standard with ``code``, or None."""
    return next((s for s in standards() if s.code == code), None)


def declarable() -> list[Standard]:
    """Standards a table may be declared to be (complete enough to map and check)."""
    return [s for s in standards() if s.declarable]


# ---- mapping suggestions --------------------------------------------------------------------------

EXACT: Final = "同じ項目名"
VARIANT: Final = "表記ゆれ（全角・半角、括弧、空白）"
ALIAS: Final = "定義とテンプレートの違い・新旧の形式の違い"
SYNONYM: Final = "よく使われる別の名前"


@dataclass(frozen=True)
class Suggestion:
    """A column proposed for an item, and why; the owner confirms it (nothing is saved by suggesting)."""

    item: str
    column: str
    reason: str


def suggest(standard: Standard, columns: Sequence[str]) -> list[Suggestion]:
    """Propose a column for each item: exact name, then width/bracket/space variants, aliases, synonyms.

    A column is proposed for at most one item; earlier kinds of match win.
    """
    taken: set[str] = set()
    found: dict[str, Suggestion] = {}
    normed = {c: norm(c) for c in columns}

    def take(item: Item, candidates: Iterable[str], reason: str) -> None:
        if item.name in found:
            return
        for c in columns:
            if c not in taken and c in candidates:
                taken.add(c)
                found[item.name] = Suggestion(item.name, c, reason)
                return

    for item in standard.items:
        take(item, [item.name], EXACT)
    for item in standard.items:
        take(item, [c for c in columns if normed[c] == norm(item.name)], VARIANT)
    for item in standard.items:
        names = item.names()
        take(item, [c for c in columns if normed[c] in names], ALIAS)
    for item in standard.items:
        syn = {norm(s) for s in SYNONYMS.get(item.name, ())}
        take(item, [c for c in columns if normed[c] in syn], SYNONYM)
    return [found[i.name] for i in standard.items if i.name in found]


# ---- templates --------------------------------------------------------------------------------------

TEMPLATE_ENCODINGS: Final[dict[str, str]] = {"utf-8": "utf-8-sig", "cp932": "cp932"}


def template_bytes(standard: Standard, encoding: str = "utf-8") -> bytes:
    """The standard's header row as a CSV (CRLF): UTF-8 with BOM, or CP932 (Shift_JIS)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(standard.header)
    return buf.getvalue().encode(TEMPLATE_ENCODINGS[encoding])


# ---- the organisation's own items ---------------------------------------------------------------

PREFECTURES: Final = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県",
    "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県",
    "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
    "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip


def fill_values(lg_code: str, city_name: str) -> dict[str, str]:
    """The values of the organisation's own items for a 全国地方公共団体コード and a city name.

    A prefecture's code (``xx000`` + check digit) leaves 市区町村名 empty, as the definitions say.
    """
    digits = lg_code.strip()
    pref = ""
    if len(digits) >= 2 and digits[:2].isdigit() and 1 <= int(digits[:2]) <= len(PREFECTURES):
        pref = PREFECTURES[int(digits[:2]) - 1]
    is_prefecture = digits[2:5] == "000"
    city = "" if is_prefecture else city_name
    return {
        FILL_LG_CODE: digits,
        FILL_PREFECTURE: pref,
        FILL_CITY: city,
        FILL_LG_NAME: pref if is_prefecture else f"{pref}{city}",
    }
