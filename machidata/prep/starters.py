"""Starter recipes (ひな形): a short form turns into an ordinary recipe (steps as data) that staff then edit and run.

Four starters, each built only from the existing step types:

- ``rate`` — 人口当たりの率: (optionally count rows by key and period,) join a population table on a key,
  calculate ``round(count * per / population, 2)``.
- ``yoy`` — 前年比・前月比（増減）: calculate the previous period, join the same table on the group
  columns and that previous period, calculate the change and the change in percent. By year the
  period is an integer column (``period - 1``); by month it is a date column, and the previous month
  is ``month_index(period) - 1`` joined by month (the join's ``month_index`` key option), so January
  meets the December before it.
- ``stack`` — 月別の表の積み重ね: stack tables of the same shape with a column naming each row's table.
- ``unpivot`` — e-Stat 形式の表の縦持ち: keep the label columns and the year columns, unpivot the year
  columns into (年, 値) with the year as an integer.

:func:`starter_definition` is a plain function over table keys and column names; whether the columns
exist and fit is checked by the engine when the recipe is saved and previewed, as for any edit. The
form picks columns from the chosen tables' schemas (field kinds ``column``, ``columns`` of the first
table and ``other_column`` of the other table); the API takes the same names as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from machidata.core.errors import InvalidInput

PREVIOUS: Final = "前の期"


@dataclass(frozen=True)
class StarterField:
    """One field of a starter's form; as parameters every value is text (column lists comma-separated)."""

    name: str
    label: str
    help: str = ""
    required: bool = True
    # "text"; "table" (one readable table), "tables" (several); "column" / "columns" (of the first
    # table), "other_column" (of the table in the "table" field); "choice" (one of ``choices``)
    kind: str = "text"
    default: str = ""
    choices: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the starter API)."""
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "required": self.required,
            "kind": self.kind,
            "default": self.default,
            "choices": [{"value": v, "label": label} for v, label in self.choices],
        }


@dataclass(frozen=True)
class Starter:
    """A starter: its title, what it does, and the fields of its form."""

    slug: str
    title: str
    description: str
    fields: tuple[StarterField, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the starter API)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "fields": [f.as_dict() for f in self.fields],
        }


STARTERS: Final[dict[str, Starter]] = {
    s.slug: s
    for s in (
        Starter(
            "rate",
            "人口当たりの率",
            "件数を人口の表と結合し、人口千人当たりなどの率を計算します（例: 区別の千人当たり救急出動件数）。",
            (
                StarterField("key", "元の表のキーの列", "人口の表と結び付ける列。例: 区", kind="column"),
                StarterField(
                    "count",
                    "件数の列",
                    "選ばなければ、キーの列（と下のまとめる列）ごとに行の数を数えて「件数」にします。",
                    required=False,
                    kind="column",
                ),
                StarterField(
                    "by",
                    "一緒にまとめる列（任意）",
                    "件数の列を選ばないときに使います。例: 年度（複数選べます）",
                    required=False,
                    kind="columns",
                ),
                StarterField("other", "人口の表", kind="table"),
                StarterField("other_key", "人口の表のキーの列", "例: 区名", kind="other_column"),
                StarterField("population", "人口の列", "例: 人口", kind="other_column"),
                StarterField("per", "何人当たり", "例: 1000", default="1000"),
            ),
        ),
        Starter(
            "yoy",
            "前年比・前月比（増減）",
            "同じ表の前の年（年度）または前の月の値と並べ、増減と増減率（%）を計算します。",
            (
                StarterField(
                    "unit",
                    "比べる期間",
                    "年・年度は整数の列（例: 2024）、月は日付の列（例: 2024-04-01）を下で選びます。1月の前の月は前の年の12月です。",
                    kind="choice",
                    default="year",
                    choices=(("year", "前の年・年度と比べる"), ("month", "前の月と比べる")),
                ),
                StarterField(
                    "period", "年・年度（整数）または月（日付）の列", "例: 年度、年月", kind="column"
                ),
                StarterField("value", "比べる値の列", "例: 出動件数", kind="column"),
                StarterField(
                    "by",
                    "区分の列（任意）",
                    "区別などに分けて比べるときの列。例: 区（複数選べます）",
                    required=False,
                    kind="columns",
                ),
            ),
        ),
        Starter(
            "stack",
            "月別の表の積み重ね",
            "同じ形の表（月ごとのファイルなど）を縦に積み重ね、どの表の行かを示す列を加えます。",
            (
                StarterField(
                    "others", "積み重ねる表", "元の表の下に積み重ねる表（複数選べます）", kind="tables"
                ),
                StarterField("source_column", "出典を示す列の名前", default="出典"),
            ),
        ),
        Starter(
            "unpivot",
            "e-Stat 形式の表の縦持ち",
            "年ごとに列が並ぶ統計表（2019年、2020年…）を、「年」と「値」の行に並べ替えます。",
            (
                StarterField("ids", "そのまま残す列", "例: 地域、項目（複数選べます）", kind="columns"),
                StarterField(
                    "columns",
                    "縦に並べる年の列",
                    "例: 2019年、2020年、2021年（複数選べます）",
                    kind="columns",
                ),
                StarterField("names_to", "年を入れる列の名前", default="年"),
                StarterField("values_to", "値を入れる列の名前", default="値"),
            ),
        ),
    )
}


def split_columns(text: str) -> list[str]:
    """Column names from a comma (or 、) separated text."""
    return [p.strip() for p in str(text or "").replace("、", ",").split(",") if p.strip()]


def _one(params: dict[str, str], name: str, label: str) -> str:
    value = str(params.get(name, "") or "").strip()
    if not value:
        raise InvalidInput(f"「{label}」を指定してください。")
    return value


def _yoy_steps(params: dict[str, str], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The year-over-year (or month-over-month) steps; the source is joined with itself as ``s2``."""
    period = _one(params, "period", labels["period"])
    value = _one(params, "value", labels["value"])
    by = split_columns(params.get("by", ""))
    prev = f"{value}（前の期）"
    unit = str(params.get("unit", "") or "year").strip()
    if unit not in ("year", "month"):
        raise InvalidInput("「比べる期間」は「前の年・年度」か「前の月」を選んでください。")
    by_month = unit == "month"
    previous = f"month_index([{period}]) - 1" if by_month else f"[{period}] - 1"
    return [
        {"type": "calculate", "name": PREVIOUS, "expression": previous},
        {
            "type": "join",
            "source": "s2",
            "keys": [*({"left": c, "right": c} for c in by), {"left": PREVIOUS, "right": period}],
            "how": "left",
            "columns": [value],
            "suffix": "（前の期）",
            **({"normalise": {"month_index": True}} if by_month else {}),
        },
        {"type": "calculate", "name": "増減", "expression": f"[{value}] - [{prev}]"},
        {
            "type": "calculate",
            "name": "増減率（%）",
            "expression": f"round(([{value}] - [{prev}]) * 100 / [{prev}], 1)",
        },
        {"type": "select", "columns": [*by, period, value, prev, "増減", "増減率（%）"]},
    ]


def starter_definition(  # noqa: PLR0912 — one branch per starter
    slug: str,
    *,
    source: tuple[str, str],
    others: list[tuple[str, str]],
    params: dict[str, str],
) -> dict[str, Any]:
    """The recipe (JSON) of the starter ``slug``: ``source`` and ``others`` are (table key, label) pairs."""
    starter = STARTERS.get(slug)
    if starter is None:
        raise InvalidInput("ひな形が見つかりません。")
    labels = {f.name: f.label for f in starter.fields}
    sources = [{"alias": "s1", "table": source[0], "label": source[1]}]
    steps: list[dict[str, Any]]
    if slug == "rate":
        if len(others) != 1:
            raise InvalidInput("人口の表を1つ選んでください。")
        sources.append({"alias": "s2", "table": others[0][0], "label": others[0][1]})
        key = _one(params, "key", labels["key"])
        population = _one(params, "population", labels["population"])
        try:
            per = int(_one(params, "per", labels["per"]))
        except ValueError:
            raise InvalidInput("「何人当たり」は整数で入力してください（例: 1000）。") from None
        if not 1 <= per <= 1_000_000:
            raise InvalidInput("「何人当たり」は1から1000000までで入力してください。")
        count = str(params.get("count", "") or "").strip()
        steps = []
        if not count:
            count = "件数"
            by = [c for c in split_columns(params.get("by", "")) if c != key]
            steps.append(
                {"type": "aggregate", "by": [key, *by], "measures": [{"op": "count", "name": count}]}
            )
        steps += [
            {
                "type": "join",
                "source": "s2",
                "keys": [{"left": key, "right": _one(params, "other_key", labels["other_key"])}],
                "how": "left",
                "normalise": {"nfkc": True},
                "columns": [population],
            },
            {
                "type": "calculate",
                "name": f"{per}人当たり{count}",
                "expression": f"round([{count}] * {per} / [{population}], 2)",
            },
        ]
    elif slug == "yoy":
        sources.append({"alias": "s2", "table": source[0], "label": f"{source[1]}（前の期）"})
        steps = _yoy_steps(params, labels)
    elif slug == "stack":
        if not others:
            raise InvalidInput("積み重ねる表を1つ以上選んでください。")
        for i, (key_, label) in enumerate(others, start=2):
            sources.append({"alias": f"s{i}", "table": key_, "label": label})
        steps = [
            {
                "type": "stack",
                "sources": [f"s{i}" for i in range(2, len(others) + 2)],
                "source_column": _one(params, "source_column", labels["source_column"]),
            }
        ]
    else:  # unpivot
        ids = split_columns(params.get("ids", ""))
        columns = split_columns(params.get("columns", ""))
        if not ids:
            raise InvalidInput(f"「{labels['ids']}」を指定してください。")
        if not columns:
            raise InvalidInput(f"「{labels['columns']}」を指定してください。")
        steps = [
            {"type": "select", "columns": [*ids, *columns]},
            {
                "type": "unpivot",
                "columns": columns,
                "names_to": _one(params, "names_to", labels["names_to"]),
                "values_to": _one(params, "values_to", labels["values_to"]),
                "names_as_integer": True,
            },
        ]
    return {"version": 1, "sources": sources, "steps": steps}
