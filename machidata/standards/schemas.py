"""JSON shapes of the standard open-data set API."""

from __future__ import annotations

from ninja import Field, Schema


class ItemOut(Schema):
    """One item of a standard."""

    name: str
    level: str = Field(description="必須 / 推奨 / 任意（空: 出典に記載なし）")
    kind: str = Field(description="文字列 / 数値 / 日付 / 時刻 / URL")
    choices: list[str]
    description: str


class StandardOut(Schema):
    """A standard dataset with its header."""

    code: str
    number: str
    name: str
    generation: str
    file_pattern: str
    declarable: bool
    partial: str
    header: list[str]
    items: list[ItemOut]


class SuggestionOut(Schema):
    """A column proposed for an item (not saved until the owner declares)."""

    item: str
    column: str
    reason: str


class FindingOut(Schema):
    """One line of the checklist."""

    level: str = Field(description="ok / warn / error")
    item: str
    message: str
    examples: list[str]


class TableStandardOut(Schema):
    """A table's declaration, the suggestions for the chosen standard and the checklist."""

    dataset: str
    table: str
    declared: bool
    standard: str | None
    mapping: dict[str, str]
    filled: dict[str, str]
    suggestions: list[SuggestionOut]
    findings: list[FindingOut]
    errors: int
    checked_rows: int
    file_name: str


class TableStandardParams(Schema):
    """Which standard to suggest a mapping for (default: the declared one)."""

    standard: str = Field("", max_length=60)


class DeclarationIn(Schema):
    """Declare the table to be ``standard`` with the confirmed ``mapping`` (standard item → column)."""

    standard: str = Field(..., max_length=60)
    mapping: dict[str, str] = Field(default_factory=dict)
