"""Machine-readability report (機械判読性): what made a file hard to read, and how to fix it at the source.

Checked against the Digital Agency's rules (デジタル庁「機械判読可能なデータの表記方法の統一ルール」;
the IDs and names below are a copy of ``shared/data/standard-datasets/machine_readability_rules.csv``,
and a test keeps them equal). A rule is *applicable* when something in the file can be checked for it;
the score is the share of applicable rules passed, 0–100. Rules that need a person (コード表, 更新履歴,
書式で違いを表現, オブジェクト) are listed as not checked and do not count.

Inputs: the raw sample (strings as read), the inferred schema and the reader's ``detection`` dict, of
which these keys are read when present: ``format`` (csv, tsv, xlsx, xls, ods, json, geojson, parquet),
``title`` and ``notes`` (lists of text), ``header_rows`` (int), ``total_rows`` / ``totals_removed``
/ ``totals`` / ``total_rows_removed`` (list or count), ``merged_cells`` (bool), ``skipped_rows`` (blank spacer rows), ``spacer_columns``, ``merged`` (merged ranges),
``filled_down`` (columns), ``hidden_rows`` / ``hidden_columns``, ``cell_types`` ({column: {date, number,
text}} counts of real Excel cell types). The report is plain JSON, stored with the version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from machidata.ingest.schema import TableSchema
from machidata.jp import vector as jv

MAX_LOCATIONS = 10
RULES = {
    "L1-01": "ファイル形式は機械が直接読み取れるExcelやCSV等となっているか",
    "L1-02": "１シート（ファイル）に複数の表が掲載されていないか",
    "L1-03": "データが分断されていないか",
    "L1-04": "データ本体と無関係な情報がないか",
    "L1-05": "すべての列に意味が推測できる項目名が存在するか",
    "L1-06": "スペースや改行等で体裁を整えていないか",
    "L1-07": "１セル１データとなっているか",
    "L1-08": "機種依存文字を使用していないか",
    "L1-09": "空白とゼロが明確に区別されているか",
    "L1-10": "【Excel】オブジェクトを使用していないか",
    "L1-11": "【Excel】書式でデータの違いを表現していないか",
    "L1-12": "【Excel】セルの結合をしていないか",
    "L1-13": "【Excel】不要な行や列が非表示のまま残されていないか",
    "L1-14": "【CSV】１行１データで表現されているか",
    "L1-15": "【CSV】文字列にカンマが含まれているフィールドの値はダブルコーテーション（“）で囲んでいるか",
    "L2-01": "数値データは数値属性とし、文字列を含まないこと",
    "L2-02": "データ内での項目名等の省略をしていないか",
    "L2-03": "各列が一意に識別可能な項目名を持っているか",
    "L2-04": "選択肢回答が標準化されているか",
    "L2-05": "選択肢列と「その他」の詳細記入が分離されているか",
    "L2-06": "【Excel】数式を使用している場合は、数値データに修正しているか",
    "L3-01": "項目名行から始まり、次行からデータ入力がされているか",
    "L3-02": "回答のコード表が別添されているか",
    "L3-03": "数値データの同一列内に特殊記号（秘匿等）を使用する場合は、その定義を明記しているか",
    "L3-04": "データの単位を記載しているか",
    "L3-05": "時間軸の表記が標準化されているか",
    "L3-06": "地域コード又は正式な地域名称が表記されているか",
    "L3-07": "年によってフォーマットが著しく異なっていないか",
    "L3-08": "データの定義や更新履歴が記載されているか",
    "L3-09": "データが縦持ち形式になっているか",
}
EXCEL_FORMATS = ("xlsx", "xls", "xlsm", "ods")
# Characters outside JIS X 0208 that staff commonly type: circled numbers, ㈱, roman numerals, ㎡, ㍻, №.
DEPENDENT_CHARS = "[①-⑳㉑-㉟㊱-㊿㈱㈲㈳㈴㈵㈶㈷㈸㈹㈺㈻㈼㈽㈾㈿Ⅰ-Ⅻⅰ-ⅻ㎜㎝㎞㎎㎏㏄㎡㍉㌔㌢㍍㌘㌧㌃㌶㍑㍗㌍㌦㌣㌫㍊㌻㍻㍼㍽㍾㋿№℡]"
HALF_KANA = "[ｦ-ﾟ]"


@dataclass
class Check:
    """One check of one rule: passed or not, where (first cells), how to fix it at the source."""

    rule_id: str
    check: str  # what was looked at (Japanese)
    passed: bool
    locations: list[str] = field(default_factory=list)
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {"rule_id": self.rule_id, "rule": RULES[self.rule_id], "check": self.check, "passed": self.passed,
                "locations": self.locations[:MAX_LOCATIONS], "fix": self.fix}  # fmt: skip


@dataclass
class ReadabilityReport:
    """All checks, the rules not checked automatically, and the score (share of applicable rules passed)."""

    checks: list[Check]

    @property
    def applicable_rules(self) -> list[str]:
        """Rule IDs with at least one check, in rule order."""
        return [r for r in RULES if any(c.rule_id == r for c in self.checks)]

    @property
    def failed_rules(self) -> list[str]:
        """Applicable rule IDs with a failed check."""
        return [r for r in self.applicable_rules if any(c.rule_id == r and not c.passed for c in self.checks)]

    @property
    def score(self) -> int:
        """0–100: the share of applicable rules passed (100 when nothing could be checked)."""
        applicable = self.applicable_rules
        if not applicable:
            return 100
        return round(100 * (len(applicable) - len(self.failed_rules)) / len(applicable))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, stored with the version."""
        return {
            "score": self.score,
            "applicable_rules": self.applicable_rules,
            "failed_rules": self.failed_rules,
            "not_checked": [r for r in RULES if r not in self.applicable_rules],
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        """JSON text (Japanese kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _cells(column: str, values: list[Any], rows: list[int]) -> list[str]:
    return [f"{r}行目「{column}」: {v}" for r, v in zip(rows, values, strict=False)][:MAX_LOCATIONS]


def _find(sample: pa.Table, pattern: str, columns: list[str] | None = None, *, row_offset: int) -> list[str]:
    """First cells (row, column, value) whose raw text matches ``pattern``."""
    found: list[str] = []
    for name in columns if columns is not None else sample.column_names:
        col = sample.column(name).combine_chunks()
        if col.type != pa.string():
            continue
        idx = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(col, pattern), False))
        idx = idx[: MAX_LOCATIONS - len(found)].to_pylist()
        found += _cells(name, col.take(pa.array(idx, pa.int64())).to_pylist(), [row_offset + i for i in idx])
        if len(found) >= MAX_LOCATIONS:
            break
    return found


def _as_list(v: Any) -> list[Any]:
    if v is None or v == 0:
        return []
    if isinstance(v, int):
        return [f"{v}行"]
    return list(v)


def readability_report(  # noqa: PLR0912, PLR0915 - one flat list of checks reads best
    sample: pa.Table,
    schema: TableSchema,
    *,
    detection: dict[str, Any] | None = None,
    row_offset: int | None = None,
) -> ReadabilityReport:
    """Check a sample against the machine-readability rules; ``row_offset``: source row of sample row 0.

    Without ``row_offset`` the detection's ``data_start_row`` is used (row 3 when a title row sits
    above the header), so the rows named in the report are the rows the steward sees in the file.
    """
    d = detection or {}
    if row_offset is None:
        row_offset = int(d.get("data_start_row", 2) or 2)
    fmt = str(d.get("format", "")).lower()
    checks: list[Check] = []

    def add(rule: str, what: str, bad: list[Any], fix: str) -> None:
        checks.append(Check(rule, what, not bad, [str(b) for b in bad], fix if bad else ""))

    add(
        "L1-01",
        "機械が読み取れる形式か",
        [] if fmt != "pdf" else ["PDF"],
        "CSVまたはExcel形式で作成してください。",
    )
    titles = _as_list(d.get("title"))
    add("L1-04", "表の上のタイトル・作成日などの行", titles,
        "表題や作成日はファイル名やデータの説明（メタデータ）に書き、シートは項目名の行から始めてください。")  # fmt: skip
    add("L1-04", "表の下・中の注記（注・資料・出典）", _as_list(d.get("notes")),
        "注記は別シートかデータの説明に移し、表の中には書かないでください。")  # fmt: skip
    totals = d.get("totals") or d.get("total_rows") or d.get("total_rows_removed")
    add("L1-04", "合計・小計の行", _as_list(totals),
        "合計・小計の行は削除してください（集計は利用者が行えます）。")  # fmt: skip
    header_rows = int(d.get("header_rows", 1) or 1)
    add("L3-01", "1行目が項目名の行か", titles + ([f"項目名が{header_rows}行"] if header_rows > 1 else []),
        "1行目を項目名の1行だけにし、2行目からデータを入力してください。")  # fmt: skip
    if fmt in EXCEL_FORMATS:
        merged = _as_list(d.get("merged")) + (["結合セルあり"] if d.get("merged_cells") is True else [])
        merged += [f"「{c}」（結合セルを展開）" for c in d.get("filled_down", [])]
        merged += [f"項目名が{header_rows}行（結合した見出し）"] if header_rows > 1 else []
        add("L1-12", "セルの結合", merged, "セルの結合を解除し、すべてのセルに値を入れてください。")
        if "hidden_rows" in d or "hidden_columns" in d:
            hidden = _as_list(d.get("hidden_rows")) + _as_list(d.get("hidden_columns"))
            add("L1-13", "非表示の行・列", hidden, "非表示の行・列は削除するか再表示してください。")
    add("L1-03", "空白の行・列による分断",
        [f"{r + 1}行目（空行）" for r in _as_list(d.get("skipped_rows")) if isinstance(r, int)]
        + [f"{c}列目（空列）" for c in _as_list(d.get("spacer_columns"))],
        "表の途中の空行・空列を削除してください。")  # fmt: skip
    blanks = [f"{i + 1}列目" for i, f in enumerate(schema.fields) if not f.title.strip()]
    add("L1-05", "項目名のない列", blanks, "すべての列に、内容が分かる項目名を付けてください。")
    titles_seen = [f.title for f in schema.fields if not f.part]
    dupes = sorted({t for t in titles_seen if t and titles_seen.count(t) > 1})
    add(
        "L2-03",
        "同じ項目名の列",
        [f"「{t}」" for t in dupes],
        "項目名が重ならないように、区別できる名前にしてください。",
    )
    layout = _find(sample, "^[ \u3000]|[ \u3000]$|[ \u3000]{2,}", row_offset=row_offset)
    layout += [f"項目名「{t}」（改行）" for t in sample.column_names if "\n" in t]
    add("L1-06", "空白・改行による体裁の調整", layout,
        "値の前後や文字の間の空白、見た目のための改行を削除してください。")  # fmt: skip
    split = [f"「{f.title}」（{'期間' if f.part in ('start', 'end') else '緯度経度'}）" for f in schema.fields
             if f.part in ("start", "lat")]  # fmt: skip
    add(
        "L1-07",
        "1つのセルに複数の値",
        split,
        "期間は開始日と終了日、位置は緯度と経度のように、列を分けてください。",
    )
    dependent = [f"項目名「{t}」" for t in sample.column_names if re.search(DEPENDENT_CHARS, t)]
    dependent += _find(sample, DEPENDENT_CHARS, row_offset=row_offset)
    add("L1-08", "機種依存文字（①、㈱、Ⅰ、㎡、№など）", dependent,
        "①は(1)、㈱は(株)、Ⅰは I、㎡は m2 のように、どの環境でも表示できる文字にしてください。")  # fmt: skip
    add(
        "L1-08",
        "半角カタカナ",
        _find(sample, HALF_KANA, row_offset=row_offset),
        "半角カタカナは全角カタカナにしてください。",
    )
    numeric = [f for f in schema.fields if f.type in ("integer", "number") and not f.part]
    by_source = {f.source_column: f for f in numeric}
    empty_numeric = []
    for src, f in by_source.items():
        col = sample.column(src).combine_chunks()
        if col.type == pa.string():
            n = pc.sum(pc.cast(pc.fill_null(pc.equal(jv.normalise_text(col), ""), True), pa.int64())).as_py()
            if n:
                empty_numeric.append(f"「{f.title}」（空欄{n}件）")
    add("L1-09", "数値の列の空欄（0か、データなしか）", empty_numeric,
        "0は0と入力し、データがない場合は記号（例: -）とその意味を注記してください。")  # fmt: skip
    if fmt in ("csv", "tsv"):
        add("L1-14", "セル内の改行（1行1データ）", _find(sample, "\n", row_offset=row_offset),
            "セル内の改行を削除し、1レコードを1行にしてください。")  # fmt: skip
    plain = "^-?[0-9]+(\\.[0-9]+)?$"
    units: list[str] = []
    for src in by_source:
        col = sample.column(src).combine_chunks()
        if col.type != pa.string():
            continue
        t = jv.normalise_text(col)
        bad = pc.and_(
            pc.is_null(jv.missing_reasons(col)),
            pc.invert(pc.fill_null(pc.match_substring_regex(col, plain), True)),
        )
        bad = pc.and_(bad, pc.fill_null(pc.not_equal(t, ""), False))
        idx = pc.indices_nonzero(bad)[:MAX_LOCATIONS].to_pylist()
        units += _cells(src, col.take(pa.array(idx, pa.int64())).to_pylist(), [row_offset + i for i in idx])
    for src in by_source:
        types = (d.get("cell_types") or {}).get(src) or {}
        if types.get("text", 0) > types.get("number", 0):
            units.append(f"「{src}」（数値が文字列のセル{types['text']}件）")
    add("L2-01", "数値に単位・桁区切り・記号が入っていないか", units[: MAX_LOCATIONS * 2],
        "セルには数値だけを入れ、単位は項目名（例: 金額（円））に書き、桁区切りのカンマや▲は使わないでください。")  # fmt: skip
    dates = [f for f in schema.fields if f.type in ("date", "datetime") and not f.part]
    date_bad: list[str] = []
    for f in dates:
        types = (d.get("cell_types") or {}).get(f.source_column) or {}
        if f.format == "wareki":
            date_bad += _find(
                sample, "令和|平成|昭和|大正|明治|^[MTSHR][0-9]", [f.source_column], row_offset=row_offset
            )[:3]
        elif fmt in EXCEL_FORMATS and types.get("text", 0) > types.get("date", 0):
            date_bad.append(f"「{f.title}」（日付が文字列のセル{types['text']}件）")
    date_bad += [
        f"「{f.title}」（期間を1セルに記入）"
        for f in schema.fields
        if f.part == "start" and f.format == "wareki"
    ]
    add("L3-05", "日付の表記（和暦の文字列、文字列の日付）", date_bad,
        "日付は西暦の日付（例: 2024-04-01）として入力してください。和暦は表示形式で表せます。")  # fmt: skip
    notes_text = " ".join(str(n) for n in _as_list(d.get("notes")))
    symbols = [f"「{f.title}」の「{m}」" for f in numeric for m, reason in f.missing.items()
               if reason in ("suppressed", "unknown") and m not in notes_text]  # fmt: skip
    if any(f.missing for f in numeric):
        add("L3-03", "数値の列の特殊記号（秘匿 x、*** など）の定義", symbols,
            "記号の意味（例: x は秘匿）を注記やデータの説明に明記してください。")  # fmt: skip
    variants = []
    for f in schema.fields:
        if f.type == "boolean" and len(f.true_values) + len(f.false_values) > 2:
            variants.append(f"「{f.title}」: {'、'.join(f.true_values + f.false_values)}")
        elif f.type == "string" and not f.kind:
            col = sample.column(f.source_column).combine_chunks()
            if col.type == pa.string():
                raw_n = len(pc.drop_null(pc.unique(col)))
                norm_n = len(pc.drop_null(pc.unique(jv.normalise_text(col))))
                if raw_n <= 50 and norm_n < raw_n:
                    variants.append(f"「{f.title}」（表記ゆれ {raw_n}種類→{norm_n}種類）")
    add("L2-04", "選択肢の表記ゆれ（○と◯、全角と半角など）", variants, "選択肢は同じ表記にそろえてください。")
    return ReadabilityReport(checks=checks)
