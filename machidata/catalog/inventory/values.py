"""Turning the Japanese words of an inventory sheet into the catalog's values (公開区分, 個人情報, 更新頻度, …)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from django.conf import settings

from machidata.access.models import Classification, PersonalData, Unit
from machidata.catalog.models import Category, DataFormat, Frequency, Licence, Location, Source


class CellError(ValueError):
    """A cell whose value cannot be used; the message is shown to the user as is (Japanese)."""


# Cells that mean "nothing entered" in a hand-filled sheet.
EMPTY_MARKS = frozenset({"", "-", "ー", "―", "‐", "−", "–", "—", "なし(空欄)"})


def norm(value: str) -> str:
    """NFKC with whitespace removed: full-width digits and letters become half-width."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))


def is_empty(value: str) -> bool:
    """Whether a cell is blank or only a dash."""
    return norm(value) in EMPTY_MARKS


def _table(pairs: dict[str, tuple[str, ...]], choices: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, words in pairs.items():
        for word in words:
            out[norm(word).lower()] = code
    for value, label in choices.choices:
        out.setdefault(norm(value).lower(), value)
        out.setdefault(norm(label).lower(), value)
        out.setdefault(norm(re.split(r"[（(]", label)[0]).lower(), value)
    return out


_CLASSIFICATION = _table(
    {
        "public": ("公開", "オープンデータ", "公開可", "公開済", "公開済み", "機密性1", "OD"),
        "internal": ("庁内", "庁内公開", "庁内限定", "庁内共有", "全庁", "全庁共有", "庁内のみ"),
        "restricted": ("所属限定", "課内", "課内限定", "所属内", "所属のみ", "課内のみ", "非公開(課内)"),
        "confidential": ("機密", "非公開", "公開不可", "機密性3", "秘", "極秘"),
    },
    Classification,
)

_PERSONAL = _table(
    {
        "none": ("なし", "無", "無し", "×", "✕", "✖", "いいえ", "非該当", "該当なし", "含まない", "N", "No"),
        "personal": (
            "あり",
            "有",
            "有り",
            "○",
            "〇",
            "◯",
            "●",
            "はい",
            "該当",
            "含む",
            "個人情報",
            "Y",
            "Yes",
        ),
        "sensitive": ("要配慮", "要配慮個人情報", "要配慮あり"),
        "pseudonymised": ("仮名加工", "仮名加工情報", "仮名加工済"),
        "anonymised": ("匿名加工", "匿名加工情報", "匿名加工済", "匿名化", "匿名化済"),
    },
    PersonalData,
)

_FREQUENCY = _table(
    {
        "realtime": ("随時", "リアルタイム", "常時", "都度", "随時更新"),
        "daily": ("毎日", "日次", "日毎", "日ごと", "1日1回", "毎日更新"),
        "weekly": ("毎週", "週次", "週毎", "週ごと", "週1回"),
        "monthly": ("毎月", "月次", "月毎", "月ごと", "月1回", "毎月更新"),
        "quarterly": ("四半期", "四半期ごと", "四半期毎", "年4回", "3か月ごと", "3ヶ月ごと"),
        "yearly": (
            "毎年",
            "年次",
            "年1回",
            "毎年度",
            "年度ごと",
            "年度毎",
            "年ごと",
            "年毎",
            "1年ごと",
            "毎年更新",
        ),
        "irregular": ("不定期", "適宜", "必要に応じて", "随意"),
        "none": ("なし", "無", "無し", "更新なし", "更新しない", "終了", "更新終了"),
    },
    Frequency,
)
_FREQUENCY_NOISE = re.compile(r"(程度|ごろ|頃|予定|更新)$")


def _lookup(table: dict[str, str], raw: str, label: str, allowed: str) -> str:
    key = norm(raw).lower()
    if key in table:
        return table[key]
    bare = re.sub(r"[(（].*?[)）]", "", key)
    if bare in table:
        return table[bare]
    raise CellError(f"{label}「{raw}」を読み取れません。{allowed}のいずれかで入力してください。")


def classification_value(raw: str) -> str:
    """公開/オープンデータ → public, 庁内 → internal, 所属限定/課内 → restricted, 機密/非公開 → confidential."""
    return _lookup(_CLASSIFICATION, raw, "公開区分", "公開・庁内・所属限定・機密")


def personal_data_value(raw: str) -> str:
    """なし/無/× → none, あり/有/○ → personal, 要配慮, 仮名加工, 匿名加工."""
    key = norm(raw)
    # Longer phrases (「要配慮個人情報を含む」) are recognised by their distinctive word.
    for word, value in (("要配慮", "sensitive"), ("仮名加工", "pseudonymised"), ("匿名加工", "anonymised")):
        if word in key:
            return value
    return _lookup(_PERSONAL, raw, "個人情報の有無", "なし・あり・要配慮・仮名加工・匿名加工")


def frequency_value(raw: str) -> str:
    """毎日/毎月/毎年/年1回/随時/不定期/なし … → Frequency."""
    key = norm(raw).lower()
    stripped = key
    while stripped and _FREQUENCY_NOISE.search(stripped) and stripped not in _FREQUENCY:
        stripped = _FREQUENCY_NOISE.sub("", stripped)
    if stripped in _FREQUENCY:
        return _FREQUENCY[stripped]
    return _lookup(_FREQUENCY, raw, "更新頻度", "毎日・毎週・毎月・四半期・毎年・随時・不定期・なし")


_PAPER_WORDS = ("紙", "書類", "簿冊", "ファイリング", "帳票")
_SHARE_WORDS = ("共有フォルダ", "ファイルサーバ", "フォルダ", "サーバ", "nas", "ドライブ", "パソコン", "pc")
_SYSTEM_WORDS = ("システム", "データベース", "db", "クラウド", "kintone", "アプリ")
_WEB_WORDS = ("ホームページ", "ウェブ", "web", "サイト")
# A bare word says only the kind of place; anything longer (a path, a system name) is kept as detail.
_BARE_LOCATION_WORDS = frozenset(
    norm(w).lower()
    for w in (
        "紙",
        "紙媒体",
        "書類",
        "共有フォルダ",
        "ファイルサーバ",
        "システム",
        "業務システム",
        "ホームページ",
    )
)


def location_value(raw: str) -> tuple[str, str]:
    """Where the data lives → (Location, detail): \\\\server or ¥¥server paths, URLs, システム names, 紙."""
    text = unicodedata.normalize("NFKC", raw).strip()
    key = re.sub(r"\s+", "", text).lower()
    detail = "" if key in _BARE_LOCATION_WORDS else text
    if key.startswith(("\\\\", "¥¥", "//")) or re.match(r"^[a-z]:[\\¥/]", key):
        return Location.FILE_SHARE, text
    if key.startswith(("http://", "https://")):
        return Location.EXTERNAL_URL, text
    if "まちデータ" in key or "machidata" in key:
        return Location.MACHIDATA, detail
    for words, location in (
        (_SYSTEM_WORDS, Location.BUSINESS_SYSTEM),
        (_SHARE_WORDS, Location.FILE_SHARE),
        (_WEB_WORDS, Location.EXTERNAL_URL),
        (_PAPER_WORDS, Location.PAPER),
    ):
        if any(word in key for word in words):
            return location, detail
    raise CellError(
        f"保管場所「{raw}」の種類を判別できません。共有フォルダのパス（\\\\サーバ名\\…）、URL、"
        "「○○システム」、「紙」のいずれかの形で入力してください。"
    )


def source_value(raw: str) -> tuple[str, str]:
    """出典 → (Source, detail): 本市/自課 → city, 国/○○省 → national, 県 → prefecture, 民間 → private."""
    key = norm(raw)
    city = norm(settings.MACHIDATA_CITY_NAME)
    for value, label in Source.choices:
        if key in (value, norm(label)):
            return value, ""
    if key in {"市", "自課", "自所属", "当課", "当市", "本課"} or (city and key.startswith(city)):
        return Source.CITY, raw.strip() if key not in {"市", "自課", "当課", "当市"} else ""
    if re.search(r"(省|庁|内閣府|国立|独立行政法人)", key) or key.startswith("国"):
        return Source.NATIONAL, raw.strip()
    if key.endswith("県") or re.search(r"(県庁|県立|県)", key):
        return Source.PREFECTURE, raw.strip()
    if re.search(r"(株式会社|有限会社|\(株\)|民間|事業者|協会|法人)", key):
        return Source.PRIVATE, raw.strip()
    if re.search(r"(市|町|村|区)$", key):
        return Source.OTHER_LG, raw.strip()
    raise CellError(
        f"出典「{raw}」を判別できません。本市・国・県・他自治体・民間のいずれかで入力してください。"
    )


def parse_period(raw: str) -> tuple[dt.date | None, dt.date | None]:
    """対象期間 in one cell: date ranges, 令和2年度～令和5年度, 2023年度, a single date, 2020年."""
    from machidata.jp.fiscal import fiscal_year_range, parse_fiscal_year
    from machidata.jp.wareki import WarekiError, parse_date, parse_date_range

    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        return parse_date_range(text)
    except WarekiError:
        pass
    parts = [p.strip() for p in re.split(r"\s*(?:～|〜|~|―|–|ー|から|-(?=\D))\s*", text) if p.strip()]
    parts = [re.sub(r"まで$", "", p) for p in parts]
    if 1 <= len(parts) <= 2:
        bounds: list[tuple[dt.date, dt.date]] = []
        for part in parts:
            try:
                bounds.append(fiscal_year_range(parse_fiscal_year(part)))
                continue
            except (WarekiError, ValueError):
                pass
            year = re.fullmatch(r"(\d{4})年?", part)
            if year:
                y = int(year[1])
                bounds.append((dt.date(y, 1, 1), dt.date(y, 12, 31)))
                continue
            try:
                day = parse_date(part)
            except (WarekiError, ValueError):
                break
            bounds.append((day, day))
        else:
            start = bounds[0][0]
            end = bounds[-1][1] if (len(bounds) == 2 or "年" in parts[0]) else None
            if len(bounds) == 1 and re.search(r"(～|〜|~|から)$", text):
                end = None
            return start, end
    raise CellError(
        f"対象期間「{raw}」を読み取れません。「2020/4/1～2024/3/31」「令和2年度～令和5年度」のように入力してください。"
    )


def parse_one_date(raw: str) -> dt.date:
    """A single date cell (2024/4/1, 令和6年4月1日, or a year/年度 taken as its first day)."""
    start, _ = parse_period(raw)
    if start is None:
        raise CellError(f"日付「{raw}」を読み取れません。")
    return start


def _loose(text: str) -> str:
    # For matching names typed by hand: no spaces, middle dots, hyphens or dots; lower case.
    return re.sub(r"[\s・･/\-_.,、]", "", unicodedata.normalize("NFKC", text)).lower()


# Common ways of writing a format → the codes it may be stored under, best first.
_FORMAT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "excel": ("xlsx", "xls", "excel"),
    "エクセル": ("xlsx", "xls", "excel"),
    "xls": ("xls", "xlsx", "excel"),
    "xlsx": ("xlsx", "excel"),
    "word": ("docx", "doc", "word"),
    "ワード": ("docx", "doc", "word"),
    "pdf": ("pdf",),
    "csv": ("csv",),
    "tsv": ("tsv", "csv"),
    "json": ("json",),
    "geojson": ("geojson", "json"),
    "xml": ("xml",),
    "shp": ("shp", "shapefile"),
    "shape": ("shp", "shapefile"),
    "シェープ": ("shp", "shapefile"),
    "シェープファイル": ("shp", "shapefile"),
    "紙": ("paper",),
    "紙媒体": ("paper",),
    "システム": ("system",),
    "データベース": ("db", "database", "system"),
    "access": ("mdb", "accdb", "access"),
    "テキスト": ("txt", "text"),
    "txt": ("txt", "text"),
    "画像": ("image", "jpg", "png"),
    "パワーポイント": ("pptx", "ppt"),
    "powerpoint": ("pptx", "ppt"),
}


class Resolver:
    """Looks up units, categories, licences and formats once per import, by code or by name."""

    def __init__(self) -> None:
        self.units = list(Unit.objects.active_on().select_related("parent"))
        self._unit_by_code = {norm(u.code): u for u in self.units}
        self._units_by_name: dict[str, list[Unit]] = {}
        for u in self.units:
            for name in {_loose(u.name), _loose(u.full_name)}:
                self._units_by_name.setdefault(name, []).append(u)
        self.categories = list(Category.objects.all())
        self.licences = list(Licence.objects.all())
        self.formats = list(DataFormat.objects.all())
        self._format_codes = {f.code.lower(): f.code for f in self.formats}
        self._format_names = {_loose(f.name): f.code for f in self.formats}

    def owner(self, raw: str) -> Unit:
        """所管課 by code (所属コード) or by name; a name shared by several units is refused."""
        key = norm(raw)
        if key in self._unit_by_code:
            return self._unit_by_code[key]
        name = _loose(raw)
        matches = self._units_by_name.get(name, [])
        if not matches:
            # "健康福祉局 健康づくり推進課": the last word names the 課.
            last = _loose(unicodedata.normalize("NFKC", raw).split()[-1]) if raw.split() else ""
            matches = self._units_by_name.get(last, [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            codes = "、".join(f"{u.full_name}（{u.code}）" for u in matches[:5])
            raise CellError(
                f"所管課「{raw}」に当たる組織が複数あります（{codes}）。所属コードで入力してください。"
            )
        raise CellError(
            f"所管課「{raw}」が現在の組織にありません。所属コードか正式な課名で入力してください。"
        )

    def _named(self, objects: list[Any], raw: str, label: str) -> Any:
        key = _loose(raw)
        for obj in objects:
            if key in {_loose(obj.code), _loose(obj.name)}:
                return obj
        known = "、".join(o.name for o in objects[:12]) or "（登録なし）"
        raise CellError(f"{label}「{raw}」が登録されていません。登録済みの{label}: {known}")

    def category(self, raw: str) -> Category:
        """分野 by code or name (spaces and ・ ignored)."""
        return self._named(self.categories, raw, "分野")

    def licence(self, raw: str) -> Licence:
        """ライセンス by code or name (CC BY 4.0 = CC-BY-4.0 = ccby40)."""
        return self._named(self.licences, raw, "ライセンス")

    def format_codes(self, raw: str) -> list[str]:
        """形式 like 「CSV、Excel」 → ["csv", "xlsx"] (the codes registered in 形式)."""
        tokens = [
            t for t in re.split(r"[、,，/／・;；\s]+|及び|および|と(?=[A-Za-zＡ-Ｚａ-ｚ])", raw) if t.strip()
        ]
        codes: list[str] = []
        unknown: list[str] = []
        for token in tokens:
            key = unicodedata.normalize("NFKC", token).strip().lower().lstrip(".")
            code = self._format_codes.get(key) or self._format_names.get(_loose(token))
            if code is None:
                for candidate in _FORMAT_SYNONYMS.get(key, ()):
                    if candidate in self._format_codes:
                        code = self._format_codes[candidate]
                        break
            if code is None:
                unknown.append(token.strip())
            elif code not in codes:
                codes.append(code)
        if unknown:
            known = "、".join(f.name for f in self.formats[:15]) or "（登録なし）"
            raise CellError(f"形式「{'、'.join(unknown)}」が登録されていません。登録済みの形式: {known}")
        return codes


def split_keywords(raw: str) -> list[str]:
    """キーワード separated by 、 , ; or line breaks, without duplicates."""
    out: list[str] = []
    for item in re.split(r"[,、，;；\n]", raw or ""):
        word = item.strip()
        if word and word not in out:
            out.append(word)
    return out


SIMPLE_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "classification": classification_value,
    "personal_data": personal_data_value,
    "frequency": frequency_value,
}
