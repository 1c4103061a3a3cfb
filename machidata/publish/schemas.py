"""JSON shapes of the publication API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema


class RequestIn(Schema):
    """A 公開申請: the dataset, exactly which versions (ids), licence code, attribution, note."""

    dataset: str = Field(description="データセットの URL 名")
    version_ids: list[int]
    licence: str = Field(description="ライセンスのコード（例 cc-by-4.0）")
    attribution: str = ""
    note: str = ""


class PublicationWithdrawIn(Schema):
    """A 非公開化 request."""

    dataset: str
    note: str


class ActIn(Schema):
    """A decision on the current step; ``fingerprint`` is what the decider saw (refused if stale)."""

    decision: Literal["approve", "return", "reject"]
    comment: str = ""
    fingerprint: str = ""


class OverrideIn(Schema):
    """Let one failing gate through (データ戦略課), with a reason."""

    gate: str
    table: str = ""
    reason: str


class ListParams(Schema):
    """Which requests the list returns."""

    scope: Literal["all", "mine", "awaiting"] = "all"


class PublicationVersionOut(Schema):
    """A pinned table version."""

    id: int
    table: str
    number: int
    rows: int | None


class StepOut(Schema):
    """One step of the route and where it stands."""

    key: str
    label: str
    state: str
    acted_by: str
    on_behalf_of: str
    candidates: list[str]


class RequestOut(Schema):
    """A request as listed."""

    id: int
    dataset: str
    kind: str
    status: str
    status_label: str
    route: str
    current_step: int
    requested_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class RequestDetailOut(RequestOut):
    """A request with its versions, route, gate results and fingerprint."""

    licence: str | None
    attribution: str
    note: str
    versions: list[PublicationVersionOut]
    steps: list[StepOut]
    gates: list[dict[str, Any]]
    fingerprint: str
    my_turn: bool


class TableStateOut(Schema):
    """A table's public version and the state of each version that entered publication."""

    table: str
    public_version: int | None
    versions: dict[int, str]


class StateOut(Schema):
    """未申請 / 申請中 / 公開中 / 非公開化 of a dataset."""

    dataset: str
    state: str
    small_count_threshold: int = Field(description="小さい数の基準（この値未満のセルは公開しない）")
    tables: list[TableStateOut]


class ThresholdIn(Schema):
    """A dataset's small-count threshold (1 以上)."""

    threshold: int = Field(ge=1, le=1_000_000, description="小さい数の基準（この値未満のセルは公開しない）")


class CandidateOut(Schema):
    """A 庁内 dataset whose gates would already pass."""

    dataset: str
    title: str
    owner: str
    tables: int
    state: str


class AggregateIn(Schema):
    """Declare a table as a 統計表: wide (count_columns) or long (column_dimension + value_column)."""

    dimension: str = Field(max_length=200)
    count_columns: list[str] = Field(default_factory=list, max_length=500)
    total_column: str = Field("", max_length=200)
    total_row_label: str = Field("", max_length=200)
    threshold: int | None = Field(
        None, description="空のときはデータセットの基準。表ごとに厳しくするときだけ指定"
    )
    protection: int = Field(0, ge=0, le=1_000_000)
    column_dimension: str = Field("", max_length=200, description="縦長の表: 列の区分を表す列")
    value_column: str = Field("", max_length=200, description="縦長の表: 件数の列")
    row_subtotals: dict[str, list[str]] = Field(default_factory=dict, description="小計の行: {小計: [内訳]}")
    column_subtotals: dict[str, list[str]] = Field(
        default_factory=dict, description="小計の列: {小計: [内訳]}"
    )


class AggregateOut(AggregateIn):
    """A table's 統計表 declaration."""

    table: str


class SuppressionOut(Schema):
    """One suppression run: the version read, the version written, and the LP audit."""

    id: int
    table: str
    source_version: int
    result_version: int | None
    report: dict[str, Any]
