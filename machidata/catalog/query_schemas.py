"""Schemas of ``/api/v1/query``: which table (and version) to query, and the TableQuery as JSON."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field, Schema


class QueryIn(Schema):
    """A table (``table_id``, or ``dataset`` + ``table``), an optional pinned version, and the query."""

    table_id: int | None = Field(None, description="表のID（dataset と table の代わりに指定できます）")
    dataset: str | None = Field(None, description="データセットの名前（slug）")
    table: str | None = Field(None, description="表の名前")
    version: int | None = Field(None, description="版の番号（省略すると現在の版）")
    query: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "TableQuery（filters・group_by・measures・sort・top_n・fields・limit・offset）。"
            "形は利用の手引き「API で集計する」を参照してください。"
        ),
    )


class QueryParams(Schema):
    """``format``: json (default), csv (UTF-8 with BOM) or arrow (Arrow IPC stream)."""

    format: Literal["json", "csv", "arrow"] = "json"


class QueryColumnOut(Schema):
    """One output column: its name and plain type."""

    name: str
    type: str


class QueryTableOut(Schema):
    """Which table and version answered."""

    id: int
    dataset: str
    name: str
    version: int


class QueryOut(Schema):
    """The answer: columns, rows as lists in column order, and paging (``total`` rows or groups in all)."""

    table: QueryTableOut
    aggregate: bool
    columns: list[QueryColumnOut]
    rows: list[list[Any]]
    total: int
    offset: int
    truncated: bool
