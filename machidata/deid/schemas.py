"""JSON shapes of the 仮名加工・匿名加工 API (names prefixed ``Deid`` so they clash with no other room's)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

Method = Literal["age5", "age10", "chome", "ward", "keep"]
Column = Field(min_length=1, max_length=200)


class DeidQuasiIn(Schema):
    """A quasi-identifier and how it is made coarser."""

    column: str = Column
    method: Method


class DeidTopCodeIn(Schema):
    """A number column and the cap above which values become the cap (匿名加工 only)."""

    column: str = Column
    cap: float = Field(ge=-1e15, le=1e15)


class DeidPlanIn(Schema):
    """A new 加工の設定 on a 仮名加工情報 / 匿名加工情報 dataset the caller may edit."""

    dataset: str = Field(max_length=100, description="保存先データセットの URL 名")
    title: str = Field(min_length=1, max_length=200)
    table_name: str = Field("", max_length=60)
    identifiers: list[str] = Field(min_length=1, max_length=200, description="直接の識別子の列")
    quasi: list[DeidQuasiIn] = Field(min_length=1, max_length=200, description="準識別子の列と粗くする方法")
    drop: list[str] = Field(default_factory=list, max_length=200)
    top_code: list[DeidTopCodeIn] = Field(default_factory=list, max_length=200)
    unusual_note: str = Field("", max_length=2000)
    k: int = Field(5, ge=2, le=1000)
    source_dataset: str = Field("", max_length=100, description="元データ（個人情報のデータセット）の URL 名")


class DeidPlanOut(Schema):
    """A plan as the caller may see it."""

    id: int
    dataset: str
    table_name: str
    title: str
    kind: str
    kind_label: str
    source_dataset: str
    identifiers: list[str]
    quasi: list[dict[str, Any]]
    drop: list[str]
    top_code: list[dict[str, Any]]
    unusual_note: str
    k: int
    created_at: dt.datetime


class DeidRunOut(Schema):
    """A run: its result and checks; ``record`` (加工方法等情報) only for the privacy officer."""

    id: int
    plan: int
    status: str
    status_label: str
    as_of: dt.date
    source_name: str
    rows_in: int
    rows_out: int
    k_found: int | None
    version: int | None
    complete: bool
    checks: list[dict[str, Any]]
    message: str
    created_at: dt.datetime
    record: dict[str, Any] | None = None
