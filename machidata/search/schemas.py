"""Schemas of /api/v1/search: the page's parameters, and hits with highlights as text segments."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Schema


class SearchQuery(Schema):
    """The same parameters as the catalog page (repeat a 絞り込み parameter to choose several values)."""

    q: str = Field("", description="検索語（空なら全件を更新日の新しい順）")
    department: list[str] = Field(default_factory=list, description="データ所有者（所管課）のコード")
    category: list[str] = Field(default_factory=list, description="分野のコード")
    classification: list[str] = Field(default_factory=list, description="公開区分")
    format: list[str] = Field(default_factory=list, description="形式のコード")
    licence: list[str] = Field(default_factory=list, description="ライセンスのコード")
    retired: bool = Field(False, description="廃止したものも含める")
    sort: Literal["relevance", "updated", "title"] = Field("relevance", description="並び順")
    page: int = Field(1, description="ページ（範囲外は最後のページ）")
    per_page: int = Field(20, description="1ページの件数（1〜100）")


class Segment(Schema):
    """A piece of text; ``match`` is true where the query matched (mark it when displaying)."""

    text: str
    match: bool


class Owner(Schema):
    """データ所有者（所管課）: whom to ask about an entry."""

    code: str
    name: str
    contact_email: str
    contact_phone: str


class SearchHitOut(Schema):
    """One result."""

    slug: str
    identifier: str
    title: str
    title_segments: list[Segment]
    snippet_segments: list[Segment]
    score: float
    classification: str
    category: str | None
    owner: Owner
    updated_at: str
    retired: bool
    can_read: bool = Field(description="データの中身を利用できるか（false なら所管課へ利用申請）")
    certified: bool = Field(
        False,
        description="認定データ（データ戦略課が市の基準と認めた表）を含むか。関連度順では先頭に並びます",
    )
    url: str


class FacetValueOut(Schema):
    """One 絞り込み choice and how many discoverable entries it shows."""

    value: str
    label: str
    count: int
    selected: bool


class SearchOut(Schema):
    """A page of results with 絞り込み counts and suggestions."""

    q: str
    count: int
    page: int
    pages: int
    per_page: int
    sort: str
    items: list[SearchHitOut]
    facets: dict[str, list[FacetValueOut]]
    retired_count: int
    suggestions: list[str]
    related_categories: list[FacetValueOut]
    notice: str | None
    matched_all_words: bool
