"""Reading what a city already publishes: the standard オープンデータ一覧 (CSV or Excel) and a CKAN portal's packages.

Both give a list of :class:`Listed` datasets, each with a key that stays the same from one run to the
next (the list's NO, else its URL; the CKAN package id) and its files (:class:`ListedFile`). Nothing here
writes anything: :mod:`machidata.collect.opendata` plans and imports.

The standard list (推奨データセット「オープンデータ一覧」, ``templates/xxxxxx_open_data_list.csv``) has the
columns 都道府県コード又は市区町村コード, NO, 都道府県名, 市区町村名, データ名称, データ概要, データ形式, 分類,
更新頻度, URL, API対応有無, ライセンス, 登録日, 最終更新日, 備考; the newer 自治体標準 layout names the first
ones 全国地方公共団体コード, ID, 地方公共団体名. Real lists add title rows above the header, full-width
text, and sometimes 所管課, キーワード or a file-URL column; those are read too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from machidata.catalog.inventory.mapping import header_key
from machidata.catalog.inventory.reading import ALLOWED_EXTENSIONS, raw_rows
from machidata.catalog.inventory.values import is_empty, split_keywords
from machidata.core.errors import InvalidInput

MAX_KEY = 300
HEADER_SEARCH_ROWS = 30
# Formats whose files become tables (through the normal ingest path); any other file is linked only.
TABLE_FORMATS = frozenset({"csv", "tsv", "xlsx", "xls"})

# List column → the header spellings seen in published lists (compared with ``header_key``).
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "lg_code": ("都道府県コード又は市区町村コード", "全国地方公共団体コード", "地方公共団体コード", "団体コード",
                "市区町村コード"),
    "no": ("NO", "No.", "ID", "番号", "データID", "データセットID", "№", "通番", "連番"),
    "title": ("データ名称", "データ名", "データセット名", "データセット名称", "タイトル", "名称"),
    "description": ("データ概要", "概要", "説明", "データの概要", "データ説明"),
    "formats": ("データ形式", "形式", "ファイル形式"),
    "category": ("分類", "分野", "カテゴリ", "カテゴリー", "データ分類"),
    "frequency": ("更新頻度", "更新周期"),
    "page_url": ("URL", "掲載URL", "掲載ページ", "掲載先URL", "ホームページ", "データセットURL", "ページURL"),
    "file_url": ("ファイルURL", "ダウンロードURL", "データURL", "リソースURL"),
    "api": ("API対応有無", "API対応", "API"),
    "licence": ("ライセンス", "利用条件", "利用ルール"),
    "issued": ("登録日", "公開日", "掲載日"),
    "modified": ("最終更新日", "更新日"),
    "note": ("備考",),
    "department": ("所管課", "担当課", "担当部署", "所管部署", "作成部署", "部署名", "所管", "担当"),
    "keywords": ("キーワード", "タグ"),
    "pref": ("都道府県名",),
    "city": ("市区町村名", "地方公共団体名"),
}  # fmt: skip
COLUMN_LABELS: dict[str, str] = {
    "lg_code": "地方公共団体コード", "no": "NO（番号）", "title": "データ名称", "description": "データ概要",
    "formats": "データ形式", "category": "分類", "frequency": "更新頻度", "page_url": "URL（掲載ページ）",
    "file_url": "ファイルのURL", "api": "API対応有無", "licence": "ライセンス", "issued": "登録日",
    "modified": "最終更新日", "note": "備考", "department": "所管課", "keywords": "キーワード",
    "pref": "都道府県名", "city": "市区町村名",
}  # fmt: skip
_BRACKETS = re.compile(r"[(（\[［【].*?[)）\]］】]")
_EXACT: dict[str, str] = {}
for _target, _names in LIST_COLUMNS.items():
    for _name in _names:
        _EXACT.setdefault(header_key(_name), _target)


@dataclass
class ListedFile:
    """One file of a listed dataset: where it is and what the source says about its version."""

    key: str
    name: str
    url: str
    format: str
    last_modified: str = ""
    hash: str = ""

    @property
    def is_table(self) -> bool:
        """Whether the file is a CSV or Excel file that becomes a table."""
        return self.format in TABLE_FORMATS


@dataclass
class Listed:
    """One dataset as its source describes it (texts as given; the catalog's values are chosen later)."""

    key: str
    position: int  # the row number in the list, or the place in the portal's answer
    title: str
    name: str = ""  # the CKAN package name (an ASCII slug), used for the catalog identifier
    description: str = ""
    licence: str = ""
    keywords: list[str] = field(default_factory=list)
    category: str = ""
    department: str = ""
    frequency: str = ""
    page_url: str = ""
    formats: str = ""
    lg_code: str = ""
    files: list[ListedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, kept on the run so that importing does what the preview showed."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listed:
        """Rebuild one saved with :meth:`to_dict`."""
        files = [ListedFile(**f) for f in data.get("files") or []]
        return cls(**{**data, "files": files})


def stable_key(text: str) -> str:
    """A key that fits the database: as is up to 300 characters, otherwise its SHA-256."""
    text = text.strip()
    return text if len(text) <= MAX_KEY else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def format_of(url: str, declared: str = "") -> str:
    """A file's format in lower case: the declared one (CKAN's ``format``) or the URL's suffix."""
    word = unicodedata.normalize("NFKC", declared or "").strip().lower().lstrip(".")
    aliases = {"excel": "xlsx", "microsoft excel": "xlsx", "text/csv": "csv", "csvファイル": "csv"}
    word = aliases.get(word, word)
    if word:
        return word[:40]
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower().lstrip(".")
    return suffix[:40]


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and len(url) <= 1000


# ---- the standard list ----------------------------------------------------------------------------


def column_of(header: str) -> str | None:
    """Which list column a header names (exact after NFKC and without spaces or bracketed notes)."""
    key = header_key(header)
    if not key:
        return None
    return _EXACT.get(key) or _EXACT.get(_BRACKETS.sub("", key))


def suggest_columns(headers: list[str]) -> dict[str, str]:
    """Header → list column; each column goes to the first header that names it (others are left out)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = column_of(header)
        if target and target not in taken:
            taken.add(target)
            mapping[header] = target
        else:
            mapping[header] = ""
    return mapping


def _header_row(rows: list[list[str]]) -> int | None:
    # The header is the first row naming データ名称 and at least two other list columns; title rows above
    # it (「熊本市オープンデータ一覧（令和5年12月現在）」) and blank rows are skipped.
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        targets = {column_of(cell) for cell in row if cell}
        if "title" in targets and len(targets - {None}) >= 3:
            return index
    return None


def _split_urls(text: str) -> list[str]:
    return [u for u in re.split(r"[\s、,，]+", unicodedata.normalize("NFKC", text or "")) if _is_http(u)]


@dataclass
class ListReading:
    """An オープンデータ一覧 as read: the datasets, the header row, the columns used and the rows left out."""

    datasets: list[Listed]
    header_row: int
    mapping: dict[str, str]
    skipped: list[tuple[int, str]]
    headers: list[str] = field(default_factory=list)  # every header of the header row, in order
    rows: list[list[str]] = field(default_factory=list)  # the list's rows as read (to read again by hand)


def read_open_data_list(content: bytes, *, file_name: str, default_lg_code: str) -> ListReading:
    """Read an オープンデータ一覧 (CSV in UTF-8 or CP932, or Excel) into listed datasets.

    Rows without a データ名称 are left out with the reason; two rows with the same key are both left out
    (neither can be trusted to be the right one).
    """
    ext = Path(file_name).suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise InvalidInput(
            "オープンデータ一覧は CSV（.csv）か Excel（.xlsx / .xls）のファイルを選んでください。",
            details={"file": [file_name]},
        )
    if not content:
        raise InvalidInput("ファイルが空です。", details={"file": ["空です。"]})
    _, rows = raw_rows(content, ext=ext)
    return read_list_rows(rows, default_lg_code=default_lg_code)


def _manual_index(headers: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """List column → header position from a mapping chosen by hand (header → list column, "" = not used)."""
    index_of: dict[str, int] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if target not in LIST_COLUMNS:
            raise InvalidInput(f"「{target}」は一覧の項目にありません。", details={"mapping": [header]})
        if target in index_of:
            raise InvalidInput(
                f"「{COLUMN_LABELS[target]}」に2つの列が選ばれています。1つにしてください。",
                details={"mapping": [header]},
            )
        if header not in headers:
            raise InvalidInput(f"見出し「{header}」は一覧にありません。", details={"mapping": [header]})
        index_of[target] = headers.index(header)
    if "title" not in index_of:
        raise InvalidInput(
            "「データ名称」にあたる列を選んでください（データセットの名前がない行は取り込めません）。",
            details={"mapping": ["title"]},
        )
    return index_of


def read_list_rows(
    rows: list[list[str]],
    *,
    default_lg_code: str,
    mapping: dict[str, str] | None = None,
    header_row: int | None = None,
) -> ListReading:
    """Read the rows of an オープンデータ一覧 (as :func:`read_open_data_list`).

    ``mapping`` (header → list column, "" for a column not used) replaces the automatic reading of the
    headers when the person has corrected it; ``header_row`` (1-based) is then the row they stand in.
    """
    start = header_row - 1 if header_row else _header_row(rows)
    if start is None or not 0 <= start < len(rows):
        raise InvalidInput(
            "見出し行（データ名称・データ形式・URL などの列名が並ぶ行）が見つかりません。"
            "推奨データセット「オープンデータ一覧」の形の一覧か確かめてください。",
            details={"file": ["見出し行が見つかりません。"]},
        )
    headers = [" ".join(cell.split()) for cell in rows[start]]
    index_of: dict[str, int] = {}
    if mapping is not None:
        index_of = _manual_index(headers, mapping)
    else:
        for i, header in enumerate(headers):
            target = column_of(header)
            if target and target not in index_of:
                index_of[target] = i
    mapping = {headers[i]: target for target, i in sorted(index_of.items(), key=lambda ti: ti[1])}
    datasets: list[Listed] = []
    skipped: list[tuple[int, str]] = []
    for number, cells in enumerate(rows[start + 1 :], start=start + 2):
        if not any(c.strip() for c in cells):
            continue
        filled = [c for c in cells if c.strip()]
        if len(filled) == 1 and filled[0].strip().startswith(("※", "注", "（注", "(注")):
            continue

        def cell(target: str, cells: list[str] = cells) -> str:
            i = index_of.get(target)
            value = cells[i].strip() if i is not None and i < len(cells) else ""
            return "" if is_empty(value) else value

        title = " ".join(cell("title").split())  # kept as written: （） and 全角 are part of a title
        if not title:
            skipped.append((number, "データ名称が空のため、取り込みません。"))
            continue
        lg_code = re.sub(r"\D", "", unicodedata.normalize("NFKC", cell("lg_code")))[:6] or default_lg_code
        page_urls = _split_urls(cell("page_url"))
        page_url = page_urls[0] if page_urls else ""
        file_urls = _split_urls(cell("file_url"))
        # A URL column that points straight at a file (…/hinanjo.csv) is that dataset's file.
        file_urls += [u for u in page_urls if format_of(u) in TABLE_FORMATS and u not in file_urls]
        no = unicodedata.normalize("NFKC", cell("no")).strip()
        key = f"no:{no}" if no else (f"url:{page_url}" if page_url else f"title:{title}")
        description = cell("description")
        note = cell("note")
        if note:
            description = f"{description}\n\n備考: {note}" if description else f"備考: {note}"
        datasets.append(
            Listed(
                key=stable_key(f"{lg_code}/{key}"),
                position=number,
                title=title,
                description=description,
                licence=cell("licence"),
                keywords=split_keywords(cell("keywords")),
                category=cell("category"),
                department=cell("department"),
                frequency=cell("frequency"),
                page_url=page_url if format_of(page_url) not in TABLE_FORMATS else "",
                formats=cell("formats"),
                lg_code=lg_code if len(lg_code) == 6 else "",
                files=[
                    ListedFile(key=stable_key(u), name=_file_name(u), url=u, format=format_of(u))
                    for u in dict.fromkeys(file_urls)
                ],
            )
        )
    by_key: dict[str, list[Listed]] = {}
    for listed in datasets:
        by_key.setdefault(listed.key, []).append(listed)
    duplicated = {k for k, group in by_key.items() if len(group) > 1}
    for listed in [d for d in datasets if d.key in duplicated]:
        rows_text = "、".join(f"{d.position}行目" for d in by_key[listed.key])
        skipped.append(
            (listed.position, f"同じ番号（またはURL）の行がほかにもあるため、取り込みません（{rows_text}）。")
        )
    return ListReading(
        datasets=[d for d in datasets if d.key not in duplicated],
        header_row=start + 1,
        mapping=mapping,
        skipped=sorted(skipped),
        headers=headers,
        rows=rows,
    )


def _file_name(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).name[:300] or url[:300]


# ---- a CKAN portal --------------------------------------------------------------------------------

_DEPARTMENT_EXTRAS = (
    "所管課",
    "担当課",
    "担当部署",
    "所管部署",
    "部署",
    "department",
    "publisher_name",
    "publisher",
)
_FREQUENCY_EXTRAS = ("更新頻度", "frequency", "accrual_periodicity", "accrualperiodicity", "update_frequency")


def _text(value: Any, limit: int = 5000) -> str:
    return str(value).strip()[:limit] if isinstance(value, str | int | float) else ""


def _extras(package: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in package.get("extras") or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out.setdefault(header_key(item["key"]), _text(item.get("value"), 500))
    return out


def listed_from_ckan(package: dict[str, Any], *, base: str, position: int) -> Listed:
    """One CKAN package (as ``package_search`` / ``package_show`` answer it) as a listed dataset."""
    extras = _extras(package)
    name = _text(package.get("name"), 100)
    groups = [g for g in package.get("groups") or [] if isinstance(g, dict)]
    found = package.get("organization")
    organization: dict[str, Any] = found if isinstance(found, dict) else {}
    department = next((extras[header_key(k)] for k in _DEPARTMENT_EXTRAS if extras.get(header_key(k))), "")
    department = department or _text(package.get("maintainer"), 200) or _text(package.get("author"), 200)
    frequency = next((extras[header_key(k)] for k in _FREQUENCY_EXTRAS if extras.get(header_key(k))), "")
    url = _text(package.get("url"), 1000)
    page_url = url if _is_http(url) else (f"{base.rstrip('/')}/dataset/{name}" if name else "")
    files: list[ListedFile] = []
    for resource in package.get("resources") or []:
        if not isinstance(resource, dict):
            continue
        file_url = _text(resource.get("url"), 1000)
        if not _is_http(file_url):
            continue
        files.append(
            ListedFile(
                key=stable_key(_text(resource.get("id"), 300) or file_url),
                name=_text(resource.get("name"), 300) or _file_name(file_url),
                url=file_url,
                format=format_of(file_url, _text(resource.get("format"), 40)),
                last_modified=_text(resource.get("last_modified") or resource.get("metadata_modified"), 100),
                hash=_text(resource.get("hash"), 200),
            )
        )
    tags = [t for t in package.get("tags") or [] if isinstance(t, dict)]
    return Listed(
        key=stable_key(_text(package.get("id"), 300)),
        position=position,
        title=_text(package.get("title"), 200) or name,
        name=name,
        description=_text(package.get("notes"), 20000),
        licence=_text(package.get("license_title"), 200) or _text(package.get("license_id"), 200),
        keywords=[w for w in (_text(t.get("display_name") or t.get("name"), 50) for t in tags) if w],
        category=next(
            (
                w
                for w in (
                    _text(g.get("title") or g.get("display_name") or g.get("name"), 100) for g in groups
                )
                if w
            ),
            "",
        ),
        department=department or _text(organization.get("title"), 200),
        frequency=frequency,
        page_url=page_url,
        formats="、".join(dict.fromkeys(f.format for f in files if f.format)),
        files=files,
    )


def portal_origin(base: str) -> str:
    """The stable origin of a portal's entries: ``ckan:`` and its address without the scheme or a final /."""
    parts = urlsplit(base.strip())
    text = f"{(parts.hostname or '').lower()}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"
    return "ckan:" + stable_key(text)[: MAX_KEY - 5]
