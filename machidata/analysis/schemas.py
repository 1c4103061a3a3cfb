"""JSON shapes of the analysis API (/api/v1/analyses)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema


class AnalysisRunIn(Schema):
    """Run one design on a catalog table (by id) and save it.

    ``spec``: ``design`` (before_after, did_2x2, did_twfe, its, synthetic_control, forecast), ``time`` (column),
    ``grain`` (hour, day, month, year), ``outcome`` (column to sum; omit to count rows), ``unit`` (column, for
    panels), ``treated_units`` (comma-separated), ``intervention`` (date or year), ``horizon`` (forecasts),
    ``since`` / ``until`` (optional dates: rows with ``since`` ≤ time < ``until``).

    Long analyses (synthetic control, hourly forecasts, forecasts by unit on many rows, any design on more than
    20,000 aggregated rows) run as a job: the answer has ``status: running``, ``job_id`` and ``progress``.
    """

    title: str
    table_id: int
    spec: dict[str, Any]


class AnalysisProgressOut(Schema):
    """How far the job of a long analysis got: poll ``GET /api/v1/analyses/{id}`` until ``status`` is not running."""

    job_status: str
    done: int
    total: int | None
    percent: int | None
    phase: str
    error: str


class AnalysisOut(Schema):
    """A saved analysis: what was asked, on which table version, the result (estimate, interval, checks…)."""

    id: int
    title: str
    design: str
    status: str
    error: str
    table_id: int
    table_version: int | None
    spec: dict[str, Any]
    result: dict[str, Any]
    library_versions: dict[str, str]
    job_id: int | None
    progress: AnalysisProgressOut | None = None
    created_at: dt.datetime


class AnalysisSampleSizeIn(Schema):
    """A planned randomised trial: ``kind`` means (with ``effect_size``, Cohen's d) or proportions (with
    ``p_control`` and ``p_treated``); two-sided ``alpha``, ``power``, and ``ratio`` = control / treated."""

    kind: str = "means"
    effect_size: float | None = None
    p_control: float | None = None
    p_treated: float | None = None
    alpha: float = 0.05
    power: float = 0.8
    ratio: float = 1.0


class AnalysisSampleSizeOut(Schema):
    """Rows per group (``n_treated``, ``n_control``, rounded up), the unrounded ``estimate`` and the explanation."""

    estimate: float
    n_treated: int
    n_control: int
    test: str
    interpretation: str
    versions: dict[str, str]
