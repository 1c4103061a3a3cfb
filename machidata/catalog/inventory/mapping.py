"""Which sheet column feeds which catalog field: the targets, the synonym table and automatic suggestions."""

from __future__ import annotations

import re
import unicodedata

from machidata.core.errors import InvalidInput

IGNORE = ""

# Catalog fields a column can be mapped to, with the label staff see in the mapping step.
TARGETS: dict[str, str] = {
    "identifier": "整理番号（識別子）",
    "title": "データ名（タイトル）",
    "description": "概要・説明",
    "note": "備考（説明の末尾に追記）",
    "owner": "データ所有者（所管課）",
    "category": "分野",
    "keywords": "キーワード",
    "classification": "公開区分",
    "personal_data": "個人情報の区分",
    "location": "保管場所（データの所在）",
    "frequency": "更新頻度",
    "formats": "形式",
    "source": "出典",
    "licence": "ライセンス",
    "temporal": "対象期間（開始〜終了）",
    "temporal_start": "対象期間（開始）",
    "temporal_end": "対象期間（終了）",
    "spatial": "対象地域",
    "contact_email": "問い合わせ先メール",
    "contact_phone": "問い合わせ先電話",
    "title_en": "英語タイトル",
}

REQUIRED_TARGETS = ("title", "owner")

# Header spellings seen in departments' inventories (compared after NFKC and without spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "identifier": ("整理番号", "管理番号", "データ番号", "識別子", "識別番号", "データID", "ID", "台帳番号"),
    "title": ("データ名", "名称", "データ名称", "データセット名", "タイトル", "件名", "台帳名", "情報名", "資料名"),
    "description": ("概要", "説明", "データの概要", "内容", "データの説明", "概要・説明", "説明文", "記載内容"),
    "note": ("備考", "特記事項", "補足", "メモ"),
    "owner": ("所管課", "担当課", "所管", "担当部署", "所管部署", "所属", "課名", "所管課名", "担当課名",
              "所管課コード", "所属コード", "データ所有者", "保有課"),
    "category": ("分野", "カテゴリ", "カテゴリー", "分類", "データ分野"),
    "keywords": ("キーワード", "タグ", "検索語"),
    "classification": ("公開区分", "公開・非公開", "公開/非公開", "公開非公開", "公開可否", "機密性",
                       "機密性区分", "公開の可否", "公開状況", "公開範囲"),
    "personal_data": ("個人情報の有無", "個人情報", "個人情報有無", "個人情報の区分", "個人情報区分",
                      "個人情報を含む"),
    "location": ("保管場所", "所在", "保存場所", "データの所在", "格納場所", "保管先", "保存先", "所在地（データ）"),
    "frequency": ("更新頻度", "更新周期", "更新間隔", "更新サイクル"),
    "formats": ("形式", "ファイル形式", "データ形式", "保存形式", "媒体", "ファイル種別"),
    "source": ("出典", "作成者", "データ作成者", "作成元", "提供元", "出所"),
    "licence": ("ライセンス", "利用条件", "利用規約", "二次利用条件"),
    "temporal": ("対象期間", "データの期間", "収録期間", "対象年度", "期間"),
    "temporal_start": ("対象期間(開始)", "開始日", "期間開始", "対象期間開始"),
    "temporal_end": ("対象期間(終了)", "終了日", "期間終了", "対象期間終了"),
    "spatial": ("対象地域", "地域", "対象区域"),
    "contact_email": ("メール", "メールアドレス", "問い合わせ先メール", "連絡先メール"),
    "contact_phone": ("電話", "電話番号", "内線", "連絡先電話", "問い合わせ先電話"),
    "title_en": ("英語名", "英語タイトル", "データ名(英語)"),
}  # fmt: skip

# Headers that are inventory columns but no catalog field: they count when looking for the header
# row and block a misleading partial match (保存期間 is a retention period, not the data's period).
KNOWN_UNMAPPED = ("No", "No.", "番号", "連番", "保存期間", "保存年限", "根拠法令", "更新日", "作成日",
                  "件数", "データ量", "記入者", "確認者", "システム名")  # fmt: skip

# Partial matches only for synonyms this long, so "名称" does not claim "システム名称".
_MIN_PARTIAL = 3
_PARENS = re.compile(r"[(（\[［【].*?[)）\]］】]")


def header_key(header: str) -> str:
    """A header in comparable form: NFKC, no spaces or line breaks, no ※ notes, lower case."""
    text = unicodedata.normalize("NFKC", header or "")
    text = text.split("※", 1)[0]
    text = text.replace("／", "/")
    return re.sub(r"\s+", "", text).lower()


_EXACT: dict[str, str] = {}
for _target, _names in SYNONYMS.items():
    for _name in _names:
        _EXACT.setdefault(header_key(_name), _target)
for _name in KNOWN_UNMAPPED:
    _EXACT.setdefault(header_key(_name), IGNORE)
_PARTIAL = sorted(
    ((key, target) for key, target in _EXACT.items() if target and len(key) >= _MIN_PARTIAL),
    key=lambda kt: -len(kt[0]),
)


def _match(header: str) -> str | None:
    key = header_key(header)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    bare = _PARENS.sub("", key)
    if bare in _EXACT:
        return _EXACT[bare]
    for synonym, target in _PARTIAL:
        if synonym in key:
            return target
    return None


def is_known_header(header: str) -> bool:
    """Whether a cell looks like an inventory column header (used to find the header row)."""
    return _match(header) is not None


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """Header → catalog field from the synonym table; each field goes to the first column that names it."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = _match(header) or IGNORE
        if target and target in taken:
            target = IGNORE
        if target:
            taken.add(target)
        mapping[header] = target
    return mapping


def check_mapping(mapping: dict[str, str], *, generate_identifiers: bool = False) -> None:
    """Refuse unknown fields, a field chosen for two columns, and missing required fields."""
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if target not in TARGETS:
            errors.setdefault(header, []).append(f"「{target}」は取り込める項目ではありません。")
        elif target in used:
            errors.setdefault(header, []).append(
                f"「{TARGETS[target]}」は列「{used[target]}」にも選ばれています。1つの列だけを選んでください。"
            )
        else:
            used[target] = header
    required = list(REQUIRED_TARGETS) + ([] if generate_identifiers else ["identifier"])
    missing = [TARGETS[t] for t in required if t not in used]
    if missing:
        hint = (
            ""
            if generate_identifiers
            else "（整理番号の列がない場合は「整理番号を自動で付ける」を選んでください）"
        )
        errors.setdefault("", []).append(f"次の項目に対応する列を選んでください: {'、'.join(missing)}{hint}")
    if "temporal" in used and ({"temporal_start", "temporal_end"} & set(used)):
        errors.setdefault(used["temporal"], []).append(
            "対象期間は「開始〜終了」の1列か、開始・終了の2列のどちらかにしてください。"
        )
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first, details=errors)
