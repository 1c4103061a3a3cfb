"""Checks of a table against a standard, and the standard-format cells: plain functions, no Django.

:func:`check` takes the standard, the owner's confirmed mapping (item → column), the table's columns,
its rows (dicts, as the engine returns them) and the items filled from the site's settings, and
returns a checklist of :class:`Finding` in plain Japanese: required items present, values of the
definition's type (数値 / 日付 / 時刻 / URL), values among the 選択肢, required cells not blank.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from machidata.standards.definitions import DATE, NUMBER, TIME, URL, Item, Standard

OK: Final = "ok"
WARN: Final = "warn"
ERROR: Final = "error"
EXAMPLES: Final = 3

_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME = re.compile(r"^([01]?[0-9]|2[0-4]):[0-5][0-9](:[0-5][0-9])?$")
_URL = re.compile(r"^https?://[^\s]+$")
KIND_HINT: Final[dict[str, str]] = {
    NUMBER: "半角の数字（例: 32.8031）",
    DATE: "YYYY-MM-DD（例: 2024-04-01）",
    TIME: "hh:mm（例: 08:30）",
    URL: "http:// か https:// で始まるURL",
}


@dataclass(frozen=True)
class Finding:
    """One line of the checklist."""

    level: str  # ok / warn / error
    item: str
    message: str
    examples: tuple[str, ...] = ()


@dataclass
class _Tally:
    bad: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, value: Any) -> None:
        self.bad += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(str(value)[:60])


def blank(value: Any) -> bool:
    """Whether a cell is empty (None or only spaces)."""
    return value is None or (isinstance(value, str) and not value.strip())


def fits(kind: str, value: Any) -> bool:  # noqa: PLR0911 - one branch per type
    """Whether a non-blank value is of the definition's type (文字列 always is)."""
    if kind == NUMBER:
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float | Decimal):
            return True
        return bool(_NUMBER.match(str(value).strip()))
    if kind == DATE:
        if isinstance(value, dt.date):
            return True
        text = str(value).strip()
        if not _DATE.match(text):
            return False
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return False
        return True
    if kind == TIME:
        return isinstance(value, dt.time) or bool(_TIME.match(str(value).strip()))
    if kind == URL:
        return bool(_URL.match(str(value).strip()))
    return True


def cell(value: Any, kind: str) -> str:  # noqa: PLR0911 - one branch per value type
    """A value as the standard CSV writes it: dates YYYY-MM-DD, times hh:mm(:ss), numbers plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, dt.datetime):
        if kind == DATE:
            return value.date().isoformat()
        if kind == TIME:
            value = value.time()
        else:
            return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


_FORMULA_ALWAYS = re.compile(r"^[=@\t\r]")
_SIGNED = re.compile(r"^[+-]")
_SIGNED_NUMBER = re.compile(r"^[+-][0-9][0-9,]*(\.[0-9]+)?$")


def guarded(text: str) -> str:
    """A cell with a leading ``'`` where a spreadsheet would run it as a formula (engine/exports' rule)."""
    if _FORMULA_ALWAYS.match(text) or (_SIGNED.match(text) and not _SIGNED_NUMBER.match(text)):
        return "'" + text
    return text


def _label(item: Item) -> str:
    return f"「{item.name}」"


def check(  # noqa: PLR0912 - one block per kind of finding, in the order the checklist shows them
    standard: Standard,
    mapping: Mapping[str, str],
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    filled: Mapping[str, str],
) -> list[Finding]:
    """The checklist of a table against ``standard`` (see the module docstring)."""
    out: list[Finding] = []
    present = set(columns)
    mapped = {item: col for item, col in mapping.items() if col}
    for item_name, col in mapped.items():
        if standard.item(item_name) is None:
            out.append(
                Finding(
                    ERROR,
                    item_name,
                    f"「{item_name}」はこの標準の項目ではありません。対応づけを直してください。",
                )
            )
        elif col not in present:
            out.append(
                Finding(
                    ERROR,
                    item_name,
                    f"対応づけた列「{col}」が表にありません（列名が変わったかもしれません）。",
                )
            )
    usable = {i: c for i, c in mapped.items() if c in present and standard.item(i) is not None}
    for item in standard.items:
        if item.name in usable:
            continue
        if item.name in filled:
            out.append(Finding(OK, item.name, f"{_label(item)}は設定の値「{filled[item.name]}」で埋めます。"))
        elif item.required:
            out.append(Finding(ERROR, item.name, f"必須項目{_label(item)}に対応する列がありません。"))
    recommended = [
        i.name for i in standard.items if i.level == "推奨" and i.name not in usable and i.name not in filled
    ]
    if recommended:
        out.append(
            Finding(
                WARN,
                "",
                f"推奨項目のうち {len(recommended)} 項目に対応する列がありません: {'、'.join(recommended)}",
            )
        )

    kinds: dict[str, Item] = {i: it for i in usable if (it := standard.item(i)) is not None}
    wrong = {i: _Tally() for i in usable}
    outside = {i: _Tally() for i in usable}
    empty = {i: _Tally() for i in usable}
    total = 0
    for row in rows:
        total += 1
        for item_name, col in usable.items():
            item = kinds[item_name]
            assert item is not None
            value = row.get(col)
            if blank(value):
                if item.required and "" not in item.choices:
                    empty[item_name].add(total)
                continue
            if not fits(item.kind, value):
                wrong[item_name].add(value)
            elif item.choices and cell(value, item.kind).strip() not in item.choices:
                outside[item_name].add(value)
    for item_name, col in usable.items():
        item = kinds[item_name]
        problems = False
        if wrong[item_name].bad:
            problems = True
            out.append(Finding(ERROR, item_name, f"{_label(item)}（{item.kind}、列「{col}」）に形式の違う値が {wrong[item_name].bad} 件あります。{KIND_HINT.get(item.kind, '')}で書いてください。", tuple(wrong[item_name].examples)))  # fmt: skip
        if outside[item_name].bad:
            problems = True
            allowed = "・".join(c if c else "空欄" for c in item.choices)
            out.append(Finding(ERROR, item_name, f"{_label(item)}（列「{col}」）に選択肢（{allowed}）以外の値が {outside[item_name].bad} 件あります。", tuple(outside[item_name].examples)))  # fmt: skip
        if empty[item_name].bad:
            problems = True
            out.append(Finding(ERROR, item_name, f"必須項目{_label(item)}（列「{col}」）が空欄の行が {empty[item_name].bad} 件あります。", tuple(f"{n}行目" for n in empty[item_name].examples)))  # fmt: skip
        if not problems:
            out.append(
                Finding(OK, item_name, f"{_label(item)}は列「{col}」から出力します（{total} 行、問題なし）。")
            )
    order = {i.name: n for n, i in enumerate(standard.items)}
    return sorted(out, key=lambda f: ({ERROR: 0, WARN: 1, OK: 2}[f.level], order.get(f.item, -1)))


def standard_row(
    standard: Standard, mapping: Mapping[str, str], row: Mapping[str, Any], filled: Mapping[str, str]
) -> list[str]:
    """One row of the standard-format CSV: every item in order, from its column, the settings, or blank."""
    out = []
    for item in standard.items:
        col = mapping.get(item.name)
        text = cell(row.get(col), item.kind) if col else filled.get(item.name, "")
        out.append(guarded(text))
    return out
