"""The 仮名加工 / 匿名加工 transformation of one extract, as plain functions over an Arrow table.

:func:`process` takes the extract as read by the ingest readers (text columns), the plan's
:class:`Spec` and, for 仮名加工, the run's HMAC key, and returns an :class:`Outcome`: the processed
table, one check per rule with its result, the 加工方法等情報 and, when a rule is not met, the Japanese
reason to refuse the whole extract. Nothing here stores anything; :mod:`machidata.deid.services` does.

k-anonymity is measured with an Arrow group-by over the processed quasi-identifier columns (the size
of the smallest group of rows sharing one combination); see ``docs/guide/deid.md`` for why not pycanon.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from machidata.ingest import screen
from machidata.jp.codes import ward_from_text
from machidata.jp.text import normalize_text
from machidata.jp.wareki import parse_date

PSEUDONYMISED: Final = "pseudonymised"
ANONYMISED: Final = "anonymised"
METHODS: Final = {
    "age5": "生年月日 → 5歳階級（90歳以上はまとめる）",
    "age10": "生年月日 → 10歳階級（90歳以上はまとめる）",
    "chome": "住所 → 町丁まで（番地・号を削る）",
    "ward": "住所 → 区まで",
    "keep": "そのまま（粗くしない）",
}
SUFFIX: Final = {"age5": "_年齢階級", "age10": "_年齢階級", "chome": "_町丁", "ward": "_区", "keep": ""}
FLAG_LABELS: Final = {
    "person_name": "氏名", "phone": "電話番号", "address": "住所", "birth_date": "生年月日", "email": "メールアドレス",
}  # fmt: skip
TOP_AGE: Final = 90
OUTSIDE: Final = "市外・不明"
PSEUDONYM_HEX: Final = 32  # 128 bits of the HMAC-SHA256: collisions are out of reach for any city
# A kept column whose values are this unique (over at least LINK_MIN_ROWS rows) looks like a code that
# links rows to other records (第62条第3号).
LINK_UNIQUE_SHARE: Final = 0.9
LINK_MIN_ROWS: Final = 20
CRITERIA: Final = {
    "art62_1": "第1号 特定の個人を識別できる記述等の削除・置換",
    "art62_2": "第2号 個人識別符号の削除",
    "art62_3": "第3号 情報を相互に連結する符号の削除",
    "art62_4": "第4号 特異な記述等の削除",
    "art62_5": "第5号 その他の適切な措置（k-匿名性）",
}
PSEUDO_CHECKS: Final = {
    "identifiers": "直接の識別子を鍵つきの仮名に置き換え（法第41条第1項・施行規則第31条第1号）",
    "mynumber": "個人識別符号（マイナンバー等）の削除（施行規則第31条第2号）",
    "quasi": "準識別子を粗くする",
    "k": "k-匿名性の確認",
}


@dataclass(frozen=True)
class Spec:
    """A plan as the pipeline needs it."""

    kind: str
    identifiers: tuple[str, ...]
    quasi: tuple[tuple[str, str], ...]  # (column, method)
    as_of: dt.date
    k: int = 5
    drop: tuple[str, ...] = ()
    top_code: tuple[tuple[str, float], ...] = ()  # (column, cap)
    unusual_note: str = ""


@dataclass
class Outcome:
    """The processed table, the checks, the 加工方法等情報, and the reason to refuse (empty: accepted)."""

    table: pa.Table
    checks: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    k_found: int | None = None
    refusal: str = ""

    def check(self, key: str, label: str, passed: bool, detail: str) -> None:
        """Add one check's result (shown on the run page and kept on the run)."""
        self.checks.append({"key": key, "label": label, "passed": bool(passed), "detail": detail})


# ---- one value at a time --------------------------------------------------------------------------


def pseudonym(key: bytes, value: str) -> str:
    """The keyed pseudonym of one identifier: HMAC-SHA256 over its normalised text (NFKC, trimmed)."""
    text = normalize_text(value).strip()
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def age_band(value: str, as_of: dt.date, width: int) -> str | None:
    """「40～44歳」from a birth date (西暦 or 和暦) on ``as_of``; 90 and over in one band; None if unreadable."""
    try:
        born = parse_date(value)
    except ValueError:
        return None
    age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    if age < 0:
        return None
    if age >= TOP_AGE:
        return f"{TOP_AGE}歳以上"
    low = age // width * width
    return f"{low}～{low + width - 1}歳"


def ward_of(address: str) -> str:
    """「熊本市中央区」from an address in the city; otherwise 「市外・不明」."""
    ward = ward_from_text(address)
    return ward.full_name if ward is not None else OUTSIDE


_CHOME = re.compile(r"^(\D*?\d+丁目)")
_UP_TO_NUMBER = re.compile(r"^(\D+)")


def chome_of(address: str) -> str:
    """The 町丁 of an address in the city: 熊本市中央区手取本町1-1 → 熊本市中央区手取本町, 健軍2丁目3-4 → 健軍2丁目."""
    ward = ward_from_text(address)
    if ward is None:
        return OUTSIDE
    text = normalize_text(address).replace(" ", "")
    text = re.sub(r"^熊本県", "", text)
    m = _CHOME.match(text) or _UP_TO_NUMBER.match(text)
    town = (m.group(1) if m else text).rstrip("-ー－の番地号")
    return town or ward.full_name


# ---- columns ----------------------------------------------------------------------------------------


def _map(column: pa.ChunkedArray, fn: Callable[[str], str | None]) -> tuple[pa.Array, int]:
    """Apply ``fn`` to each distinct non-empty value; count the non-empty values ``fn`` could not read."""
    values = column.to_pylist()
    cache: dict[str, str | None] = {}
    out: list[str | None] = []
    unread = 0
    for v in values:
        if v is None or not str(v).strip():
            out.append(None)
            continue
        if v not in cache:
            cache[v] = fn(str(v))
        if cache[v] is None:
            unread += 1
        out.append(cache[v])
    return pa.array(out, type=pa.string()), unread


def _coarsen(method: str, as_of: dt.date) -> Callable[[str], str | None] | None:
    if method == "age5":
        return lambda v: age_band(v, as_of, 5)
    if method == "age10":
        return lambda v: age_band(v, as_of, 10)
    if method == "ward":
        return ward_of
    if method == "chome":
        return chome_of
    return None


def _number(v: str) -> float | None:
    try:
        return float(normalize_text(v).replace(",", ""))
    except ValueError:
        return None


def number_text(x: float) -> str:
    """1e7 → "10000000", 2.5 → "2.5" (never scientific notation, which the readers would not read back)."""
    return str(int(x)) if float(x).is_integer() else format(x, "f").rstrip("0")


def _top_code(column: pa.ChunkedArray, cap: float) -> tuple[pa.Array, int]:
    """Numbers above ``cap`` become ``cap`` (text kept as text, like the rest of the extract)."""
    shown = number_text(cap)
    changed = 0
    out: list[str | None] = []
    for v in column.to_pylist():
        n = _number(v) if v is not None else None
        if n is not None and n > cap:
            changed += 1
            out.append(shown)
        else:
            out.append(v)
    return pa.array(out, type=pa.string()), changed


def k_anonymity(table: pa.Table, columns: list[str]) -> tuple[int, int]:
    """(k, groups below nothing): the size of the smallest group of rows sharing one combination of
    ``columns`` (empty values count as a value of their own), and the number of groups."""
    if table.num_rows == 0 or not columns:
        return 0, 0
    filled = pa.table({c: pc.fill_null(table.column(c).cast(pa.string()), "\x00") for c in columns})
    counts = filled.group_by(columns).aggregate([([], "count_all")]).column("count_all")
    return int(pc.min(counts).as_py()), len(counts)


def small_groups(table: pa.Table, columns: list[str], k: int) -> int:
    """How many rows sit in a group smaller than ``k``."""
    if table.num_rows == 0 or not columns:
        return 0
    filled = pa.table({c: pc.fill_null(table.column(c).cast(pa.string()), "\x00") for c in columns})
    counts = filled.group_by(columns).aggregate([([], "count_all")]).column("count_all")
    return int(pc.sum(pc.filter(counts, pc.less(counts, k))).as_py() or 0)


# ---- the whole extract --------------------------------------------------------------------------------


def missing_columns(columns: list[str], spec: Spec) -> list[str]:
    """Declared columns the extract lacks, in declaration order."""
    declared = [*spec.identifiers, *(c for c, _ in spec.quasi), *spec.drop, *(c for c, _ in spec.top_code)]
    have = set(columns)
    return list(dict.fromkeys(c for c in declared if c not in have))


def _linking_suspects(table: pa.Table, kept: list[str]) -> list[str]:
    """Kept columns whose values are nearly all different (they would link rows to other records)."""
    n = table.num_rows
    if n < LINK_MIN_ROWS:
        return []
    out = []
    for c in kept:
        col = table.column(c)
        present = n - col.null_count
        if present >= LINK_MIN_ROWS and pc.count_distinct(col).as_py() >= LINK_UNIQUE_SHARE * present:
            out.append(c)
    return out


def process(extract: pa.Table, spec: Spec, key: bytes | None) -> Outcome:  # noqa: PLR0912, PLR0915 - one pass, one branch per rule
    """Pseudonymise or anonymise ``extract`` by ``spec``; the outcome says whether it may be stored."""
    missing = missing_columns(extract.column_names, spec)
    if missing:
        return Outcome(
            table=pa.table({}),
            refusal=(
                f"宣言した列がファイルにありません: {'、'.join(missing)}。抽出の設定とファイルの見出しを"
                "確かめてください（このファイルは何も保存していません）。"
            ),
        )
    if not spec.quasi:
        return Outcome(
            table=pa.table({}), refusal="準識別子の列を1つ以上宣言してください（k-匿名性を確かめるため）。"
        )
    if spec.kind == PSEUDONYMISED and key is None:
        raise ValueError("仮名加工には鍵が必要です")
    removed = set(spec.identifiers) | set(spec.drop)
    quasi = dict(spec.quasi)
    caps = dict(spec.top_code)
    columns: dict[str, Any] = {}
    record: dict[str, Any] = {
        "kind": spec.kind, "as_of": spec.as_of.isoformat(), "rows": extract.num_rows,
        "identifiers": [], "quasi": [], "drop": list(spec.drop), "top_code": [], "k": spec.k,
    }  # fmt: skip
    quasi_out: list[str] = []
    pseudonym_out: list[str] = []
    for name in extract.column_names:
        col = extract.column(name)
        if name in spec.identifiers:
            if spec.kind == PSEUDONYMISED:
                assert key is not None
                arr, _ = _map(col, functools.partial(pseudonym, key))
                out = f"{name}_仮名"
                columns[out] = arr
                pseudonym_out.append(out)
                record["identifiers"].append(
                    {"column": name, "treatment": "HMAC-SHA256 の仮名", "output": out}
                )
            else:
                record["identifiers"].append({"column": name, "treatment": "削除"})
            continue
        if name in removed:
            continue
        if name in quasi:
            method = quasi[name]
            fn = _coarsen(method, spec.as_of)
            out = name + SUFFIX.get(method, "")
            arr, unread = (col, 0) if fn is None else _map(col, fn)
            columns[out] = arr
            quasi_out.append(out)
            record["quasi"].append(
                {"column": name, "method": method, "label": METHODS.get(method, method), "output": out,
                 "unreadable": unread}
            )  # fmt: skip
            continue
        if name in caps:
            arr, changed = _top_code(col, caps[name])
            columns[name] = arr
            record["top_code"].append({"column": name, "cap": caps[name], "changed": changed})
            continue
        columns[name] = col
    table = pa.table(columns) if columns else pa.table({})
    result = Outcome(table=table, record=record)
    k_found, groups = k_anonymity(table, quasi_out)
    result.k_found = k_found
    record.update({"k_found": k_found, "groups": groups, "columns_out": table.column_names})
    short = small_groups(table, quasi_out, spec.k)
    k_ok = k_found >= spec.k
    k_detail = (
        f"準識別子（{'、'.join(quasi_out)}）の組合せ {groups:,} 通りのうち最も少ないものが {k_found} 人"
        f"（基準 {spec.k} 人以上）。" + ("" if k_ok else f"基準に満たない組合せに {short:,} 人います。")
    )
    mynumber = _mynumber_columns(table)
    kept = [c for c in table.column_names if c not in quasi_out and c not in pseudonym_out]
    if spec.kind == PSEUDONYMISED:
        result.check("identifiers", PSEUDO_CHECKS["identifiers"], bool(spec.identifiers),
                     "、".join(f"{i['column']} → {i['output']}" for i in record["identifiers"])
                     or "識別子の列が宣言されていません。")  # fmt: skip
        result.check("mynumber", PSEUDO_CHECKS["mynumber"], not mynumber,
                     "マイナンバーと思われる列はありません。" if not mynumber
                     else f"マイナンバーと思われる列があります: {'、'.join(mynumber)}。")  # fmt: skip
        result.check("quasi", PSEUDO_CHECKS["quasi"], True,
                     "、".join(f"{q['column']}: {q['label']}" for q in record["quasi"]))  # fmt: skip
        result.check("k", PSEUDO_CHECKS["k"], k_ok, k_detail)
    else:
        flagged = _screen_flags(table, kept)
        result.check("art62_1", CRITERIA["art62_1"], bool(spec.identifiers) and not flagged,
                     (f"識別子の列（{'、'.join(spec.identifiers)}）を削除し、準識別子を粗くしました。"
                      if spec.identifiers else "識別子の列が宣言されていません。")
                     + (f"残った列に個人を識別できそうな値があります: {'、'.join(flagged)}。" if flagged
                        else "残った列に氏名・住所・電話番号などらしい値はありません。"))  # fmt: skip
        result.check("art62_2", CRITERIA["art62_2"], not mynumber,
                     (f"削除した列: {'、'.join(spec.drop)}。" if spec.drop else "")
                     + ("マイナンバーと思われる列はありません。" if not mynumber
                        else f"マイナンバーと思われる列があります: {'、'.join(mynumber)}。"))  # fmt: skip
        # Declared measures (top-coded amounts) are values, not codes.
        linking = _linking_suspects(table, [c for c in kept if c not in caps])
        result.check("art62_3", CRITERIA["art62_3"], not linking,
                     "仮名も含め、行を他の情報と結びつける番号は残していません。" if not linking
                     else f"値がほぼすべて異なる列があり、番号として他の情報と結びつく恐れがあります: {'、'.join(linking)}。"
                     "削除するか、準識別子として粗くしてください。")  # fmt: skip
        unusual_ok = bool(record["top_code"]) or bool(spec.unusual_note.strip())
        unusual = "、".join(
            f"{t['column']}: {number_text(t['cap'])} を超える {t['changed']} 件を {number_text(t['cap'])} に"
            for t in record["top_code"]
        )
        result.check("art62_4", CRITERIA["art62_4"], unusual_ok,
                     (f"上限でまとめました（{unusual}）。" if unusual else "")
                     + (f"年齢は{TOP_AGE}歳以上を1つにまとめました。" if any(m in ("age5", "age10") for m in quasi.values()) else "")
                     + (f"理由: {spec.unusual_note.strip()}" if spec.unusual_note.strip() else "")
                     + ("" if unusual_ok else "特異な値の扱い（上限でまとめる列か、まとめない理由）を設定してください。"))  # fmt: skip
        result.check("art62_5", CRITERIA["art62_5"], k_ok, k_detail)
    failed = [c["label"] for c in result.checks if not c["passed"]]
    if not k_ok:
        result.refusal = (
            f"k-匿名性が基準に届きません（最少 {k_found} 人、基準 {spec.k} 人）。準識別子をさらに粗くするか"
            "（例: 町丁 → 区、5歳階級 → 10歳階級）、設定を見直してください（このファイルは何も保存していません）。"
        )
    elif failed:
        result.refusal = (
            f"満たしていない確認があります: {'／'.join(failed)}（このファイルは何も保存していません）。"
        )
    return result


def _mynumber_columns(table: pa.Table) -> list[str]:
    out = []
    for name in table.column_names:
        try:
            screen.check_mynumber(name, table.column(name).cast(pa.string()))
        except screen.MyNumberDetected:
            out.append(name)
    return out


def _screen_flags(table: pa.Table, columns: list[str]) -> list[str]:
    flagged: list[str] = []
    for name in columns:
        for f in screen.screen_column(name, table.column(name).cast(pa.string())):
            flagged.append(f"{name}（{FLAG_LABELS.get(f.kind, f.kind)}）")
    return list(dict.fromkeys(flagged))
