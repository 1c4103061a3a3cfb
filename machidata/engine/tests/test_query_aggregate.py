"""Validation of aggregate queries: Japanese errors that name the field, and default output names."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.engine import EngineQueryError, TableQuery
from machidata.engine.query import MAX_GROUP_KEYS, MAX_MEASURES

SCHEMA = {
    "覚知日時": "timestamp",
    "日付": "date",
    "時刻": "time",
    "区": "string",
    "人数": "integer",
    "所要時間": "number",
    "人口": "integer",
    "搬送": "boolean",
}


def _check(**query: Any) -> Any:
    return TableQuery.from_dict(query).validate_against(SCHEMA)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"measures": [{"op": "sum", "column": "区"}]},
            "集計値（measures）の1番目（合計）：列「区」は文字列の列なので計算できません",
        ),
        (
            {"measures": [{"op": "count"}, {"op": "avg", "column": "搬送"}]},
            "集計値（measures）の2番目（平均）：列「搬送」は真偽値の列",
        ),
        (
            {"measures": [{"op": "median", "column": "なし"}]},
            "集計値（measures）の1番目（中央値）の列「なし」はこの表にありません",
        ),
        (
            {"measures": [{"op": "sum"}]},
            "集計値（measures）の1番目（合計）には列（column）を指定してください",
        ),
        ({"measures": [{"op": "max", "column": "搬送"}]}, "列「搬送」は真偽値の列なので大小を比べられません"),
        (
            {"group_by": [{"column": "区", "grain": "month"}]},
            "グループ化（group_by）の1番目：列「区」は文字列の列なので「月」ごとにはまとめられません",
        ),
        (
            {"group_by": [{"column": "日付", "grain": "hour"}]},
            "列「日付」は日付の列なので「時」ごとにはまとめられません",
        ),
        (
            {"group_by": [{"column": "時刻", "grain": "fiscal_year"}]},
            "列「時刻」は時刻の列なので「年度」ごとには",
        ),
        ({"group_by": ["区", "なし"]}, "グループ化（group_by）の2番目の列「なし」はこの表にありません"),
        (
            {"group_by": ["区"], "measures": [{"op": "count", "as": "区"}]},
            "集計結果の列名「区」が重複しています",
        ),
        ({"measures": [{"op": "count"}, {"op": "count"}]}, "集計結果の列名「件数」が重複しています"),
        (
            {"group_by": ["区"], "measures": [{"op": "rate_per", "per": 1000}]},
            "（率）には母数の列（denominator）を指定してください",
        ),
        ({"measures": [{"op": "rate_per", "denominator": "区"}]}, "母数の列「区」は数値の列ではありません"),
        ({"measures": [{"op": "rate_per", "denominator": "人口", "per": 0}]}, "per）は1以上の整数"),
        ({"measures": [{"op": "target_ratio"}]}, "（目標比）には0でない目標値（target）を指定してください"),
        ({"measures": [{"op": "target_ratio", "target": 0}]}, "0でない目標値"),
        ({"measures": [{"op": "count", "target": 5}]}, "（件数）に不要な指定（target）があります"),
        (
            {"group_by": ["区"], "measures": [{"op": "share_of_row"}]},
            "グループ化（group_by）の列が2つ以上必要です",
        ),
        ({"group_by": ["区"], "measures": [{"op": "change_from_previous"}]}, "比べる時間の列（along）を"),
        (
            {"group_by": ["区"], "measures": [{"op": "change_from_previous", "along": "年度"}]},
            "along）の「年度」はグループ化の列ではありません",
        ),
        (
            {
                "group_by": [{"column": "覚知日時", "grain": "hour"}],
                "measures": [{"op": "change_from_previous", "along": "覚知日時（時）"}],
            },
            "「時」は一巡するので",
        ),
        (
            {"group_by": ["区"], "sort": [{"column": "人数"}]},
            "並べ替え（sort）の「人数」は集計結果の列ではありません",
        ),
        (
            {"group_by": ["区"], "fields": ["人数"]},
            "表示する列（fields）の「人数」は集計結果の列ではありません",
        ),
        (
            {"group_by": ["区"], "measures": [{"op": "count"}], "top_n": {"n": 5, "by": "合計"}},
            "上位N件の基準（top_n.by）の「合計」は集計値の名前ではありません",
        ),
        (
            {"group_by": ["区"], "measures": [{"op": "count"}], "top_n": {"n": 0, "by": "件数"}},
            "上位N件（top_n.n）は1から",
        ),
        ({"top_n": {"n": 5, "by": "件数"}}, "上位N件（top_n）は集計"),
        (
            {"group_by": ["区"] * (MAX_GROUP_KEYS + 1)},
            f"グループ化（group_by）の列が多すぎます（最大{MAX_GROUP_KEYS}列）",
        ),
        (
            {"measures": [{"op": "count", "as": str(i)} for i in range(MAX_MEASURES + 1)]},
            f"最大{MAX_MEASURES}件",
        ),
        ({"group_by": [{"column": "区", "as": " "}]}, "グループ化（group_by）の1番目の名前（as）が空です"),
    ],
)
def test_invalid_aggregates_name_the_field(query: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _check(**query)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ({"group_by": [{"column": "区", "grain": "decade"}]}, "group_by.0.grain"),
        ({"measures": [{"op": "mode", "column": "区"}]}, "measures.0.op"),
        ({"measures": [{"op": "count", "colour": "red"}]}, "measures.0.colour"),
        ({"top_n": {"n": 3}}, "top_n.by"),
    ],
)
def test_shape_errors_name_the_field(query: dict[str, Any], where: str) -> None:
    with pytest.raises(EngineQueryError, match=f"問い合わせの形式が正しくありません（{where}）"):
        TableQuery.from_dict(query)


def test_default_output_names() -> None:
    q = _check(
        group_by=[
            {"column": "覚知日時", "grain": "fiscal_year"},
            "区",
            {"column": "日付", "grain": "weekday"},
        ],
        measures=[
            {"op": "count"},
            {"op": "count", "column": "所要時間"},
            {"op": "sum", "column": "人数"},
            {"op": "avg", "column": "所要時間"},
            {"op": "median", "column": "所要時間"},
            {"op": "min", "column": "日付"},
            {"op": "max", "column": "所要時間"},
            {"op": "count_distinct", "column": "区"},
            {"op": "share_of_total"},
            {"op": "share_of_row", "column": "人数"},
            {"op": "share_of_column"},
            {"op": "rate_per", "denominator": "人口", "per": 1000},
            {"op": "change_from_previous"},
            {"op": "target_ratio", "column": "人数", "target": 10},
        ],
    )
    assert [g.name for g in q.groups] == ["覚知日時（年度）", "区", "日付（曜日）"]
    assert [m.name for m in q.measures] == [
        "件数",
        "件数（所要時間）",
        "合計（人数）",
        "平均（所要時間）",
        "中央値（所要時間）",
        "最小（日付）",
        "最大（所要時間）",
        "種類数（区）",
        "構成比（件数）",
        "行内構成比（合計（人数））",
        "列内構成比（件数）",
        "件数（人口1,000あたり）",
        "前年度比（件数）",
        "目標比（合計（人数））",
    ]


@pytest.mark.parametrize(
    ("grain", "label"),
    [
        ("year", "前年比"),
        ("month", "前月比"),
        ("quarter", "前四半期比"),
        ("week", "前週比"),
        ("day", "前日比"),
    ],
)
def test_change_label_follows_the_grain(grain: str, label: str) -> None:
    q = _check(group_by=[{"column": "日付", "grain": grain}], measures=[{"op": "change_from_previous"}])
    assert q.measures[0].name == f"{label}（件数）"


def test_plain_row_query_is_unchanged() -> None:
    q = _check(fields=["区"], sort=[["人数", "desc"]])
    assert not q.is_aggregate
    assert q.groups == ()
