"""JSON shapes of the recipe API (/api/v1/recipes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class RecipeIn(Schema):
    """A new recipe: its name, the source table (``dataset-slug/table-name``), where the result goes, optional steps."""

    title: str
    source: str
    dataset: str
    table_name: str
    description: str = ""
    definition: dict[str, Any] | None = None


class DefinitionIn(Schema):
    """A whole recipe definition (``version``, ``sources``, ``steps``) and the lock version it was read at."""

    definition: dict[str, Any]
    lock_version: int


class RecipeOut(Schema):
    """A recipe as the API shows it."""

    id: int
    title: str
    description: str
    unit: str
    dataset: str
    table_name: str
    output_table: str | None
    definition: dict[str, Any]
    lock_version: int
    status: str
    last_error: str
    last_steps: list[dict[str, Any]]
    last_run_at: dt.datetime | None
    certified_at: dt.datetime | None
    lineage: dict[str, Any] | None = None


class StepsOut(Schema):
    """Each step's row count and findings, the result's columns and its first rows."""

    steps: list[dict[str, Any]]
    columns: list[str]
    rows: list[dict[str, Any]]
    errors: list[str]


class RecipeJobOut(Schema):
    """The job that runs a recipe."""

    job_id: int
    status: str


class CopyIn(Schema):
    """Copy a recipe onto other tables of the same shape: ``sources`` maps aliases to ``dataset-slug/table-name``."""

    sources: dict[str, str]
    dataset: str
    table_name: str
    title: str = ""


class CertifyIn(Schema):
    """Certify (true) or withdraw the certificate (false)."""

    certify: bool = True


class StarterFieldOut(Schema):
    """One field of a starter: ``kind`` says what it takes (a column of the first table, several, a table…)."""

    name: str
    label: str
    help: str
    required: bool
    kind: str
    default: str
    choices: list[dict[str, str]]


class StarterOut(Schema):
    """A starter (ひな形) and its fields."""

    slug: str
    title: str
    description: str
    fields: list[StarterFieldOut]


class StarterIn(Schema):
    """A new recipe from a starter: the tables as ``dataset-slug/table-name``; ``params`` by field name (text).

    ``other`` is the table of a ``table`` field (the population table); ``others`` the tables of a
    ``tables`` field (the months to stack); several columns are one comma-separated text.
    """

    title: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=300)
    dataset: str = Field(min_length=1, max_length=200)
    table_name: str = Field(min_length=1, max_length=200)
    other: str = Field(default="", max_length=300)
    others: list[str] = Field(default_factory=list, max_length=50)
    params: dict[str, str] = Field(default_factory=dict, max_length=20)
