"""Bodies of /api/v1/sql (names prefixed ``Sql`` so they stay unique in the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from machidata.engine.sql import MAX_SQL_CHARS


class SqlIn(Schema):
    """One read-only statement."""

    sql: str = Field(
        ...,
        min_length=1,
        max_length=MAX_SQL_CHARS,
        description='SELECT 文 1 つ。表は "データセット"."表" で指定',
    )


class SqlColumnOut(Schema):
    """A column of the answer: its name and DuckDB type."""

    name: str
    type: str


class SqlTableOut(Schema):
    """A table the statement read, with the version it read."""

    dataset: str
    table: str
    version: int


class SqlOut(Schema):
    """The answer: columns, rows (arrays in column order), and whether the rows were cut at ``max_rows``."""

    columns: list[SqlColumnOut]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    max_rows: int
    duration_ms: int
    tables: list[SqlTableOut]
