"""JSON shapes of the EBPM API (/api/v1/ebpm); names start with Ebpm (OpenAPI schema names are unique)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field


class EbpmItemIn(Schema):
    """A new 政策・施策・事業 (``level``: policy / measure / project)."""

    level: str
    name: str
    unit_id: int
    parent_id: int | None = None
    code: str = ""
    description: str = ""
    plan_reference: str = ""


class EbpmBudgetOut(Schema):
    """One budget figure."""

    fiscal_year: int
    kind: str
    kind_label: str
    amount_yen: int


class EbpmStageChangeOut(Schema):
    """One move along the lifecycle."""

    stage_from: str
    stage_to: str
    note: str
    actor: str
    at: dt.datetime


class EbpmItemOut(Schema):
    """A plan item as the API shows it."""

    id: int
    level: str
    level_label: str
    code: str
    name: str
    description: str
    unit_id: int
    unit: str
    parent_id: int | None
    plan_reference: str
    stage: str
    stage_label: str
    logic_model_version: int
    lock_version: int  # for PUT /items/{id}


class EbpmItemDetailOut(EbpmItemOut):
    """A plan item with its budget lines and lifecycle history."""

    budget: list[EbpmBudgetOut]
    stage_history: list[EbpmStageChangeOut]


class EbpmWarningOut(Schema):
    """A warning from the national guidance."""

    code: str
    message: str
    target: str


class EbpmLogicModelOut(Schema):
    """The current logic model: its version number, document and warnings."""

    item_id: int
    version: int
    document: dict[str, Any]
    warnings: list[EbpmWarningOut]


class EbpmLogicModelIn(Schema):
    """A whole logic model document, the version it was read at (409 if someone saved since) and a note."""

    document: dict[str, Any]
    expected_version: int | None = None
    note: str = ""


class EbpmTargetOut(Schema):
    """A target (``superseded_at`` set: an earlier target, kept visible)."""

    fiscal_year: int
    kind: str
    value: float | None
    note: str
    created_at: dt.datetime
    superseded_at: dt.datetime | None


class EbpmActualOut(Schema):
    """An actual by 年度, with where it came from (hand entry, or the table version queried)."""

    fiscal_year: int
    value: float
    status: str
    final_on: dt.date | None
    source: str
    evidence: str
    evidence_url: str
    table_version: int | None


class EbpmActualIn(Schema):
    """A hand-entered actual with its evidence."""

    fiscal_year: int | str
    value: float | str
    status: str = "preliminary"
    final_on: dt.date | None = None
    evidence: str = ""
    evidence_url: str = ""


class EbpmIndicatorOut(Schema):
    """An indicator (検証指標) with its status."""

    id: int
    item_id: int
    node_id: str
    name: str
    kind: str
    unit_label: str
    direction: str
    definition: str
    data_source: str
    baseline_value: float | None
    baseline_year: int | None
    rate_rule: str
    responsible_unit: str
    source_kind: str
    data_month: int | None
    status: str
    status_label: str
    status_reason: str


class EbpmIndicatorDetailOut(EbpmIndicatorOut):
    """An indicator with every target (current and superseded)."""

    query: dict[str, Any]
    targets: list[EbpmTargetOut]


class EbpmStageIn(Schema):
    """Move a 事業 one step along its lifecycle (``stage``: idea / request / budgeted / running / evaluation)."""

    stage: str
    note: str = ""


class EbpmBudgetIn(Schema):
    """One budget figure (``kind``: initial / supplementary / settlement), integer yen, not negative."""

    fiscal_year: int | str
    kind: str
    amount_yen: int | str
    note: str = ""


class EbpmIndicatorIn(Schema):
    """A new indicator on a node of the item's logic model (``source_kind``: manual / query / formula)."""

    node_id: str
    name: str
    kind: str
    responsible_unit_id: int
    unit_label: str = ""
    direction: str = "up"
    definition: str = ""
    data_source: str = ""
    baseline_value: float | str | None = None
    baseline_year: int | str | None = None
    rate_rule: str = "ratio"
    source_kind: str = "manual"
    table_id: int | None = None
    query: dict[str, Any] | None = None
    formula: str = ""
    data_month: int | None = None
    allow_negative: bool = False


class EbpmTargetIn(Schema):
    """A target for a 年度 (``value`` null: 目標未設定); ``revise`` with a ``note`` replaces the current one, kept visible."""

    fiscal_year: int | str
    value: float | str | None = None
    kind: str = "interim"
    note: str = ""
    revise: bool = False


class EbpmVersionOut(Schema):
    """One saved version of a logic model (``document`` only when one version is asked for)."""

    number: int
    note: str
    actor: str
    created_at: dt.datetime
    document: dict[str, Any] | None = None


# ---- evaluations and the 査定 view (issue 9 point 4) ----------------------------------------------

RowId = Annotated[int, Field(ge=1, le=2_147_483_647, description="番号")]


class EbpmUnitCostOut(Schema):
    """決算 ÷ an indicator's actual in the 年度 (yen, rounded), or why it cannot be computed."""

    value_yen: int | None
    reason: str
    indicator_id: int | None


class EbpmAchievementOut(Schema):
    """One indicator in the evaluated 年度 (``withheld``: the reader may not read its table)."""

    indicator_id: int
    name: str
    kind: str
    target: float | None
    actual: float | None
    rate: float | None
    reached: bool | None
    withheld: bool


class EbpmEvaluationOut(Schema):
    """A yearly evaluation with what is computed for it (achievement, cost per unit)."""

    id: int
    item_id: int
    item_name: str
    unit: str
    fiscal_year: int
    self_assessment: str
    direction: str
    direction_label: str
    evidence_level: int | None
    evidence_label: str
    analysis_id: int | None
    evidence_note: str
    output_indicator_id: int | None
    outcome_indicator_id: int | None
    next_request_note: str
    next_request_amount_yen: int | None
    lock_version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    achievement: str
    mean_rate: float | None
    achievements: list[EbpmAchievementOut]
    settlement_yen: int | None
    cost_per_output: EbpmUnitCostOut
    cost_per_outcome: EbpmUnitCostOut


class EbpmEvaluationFields(Schema):
    """What an evaluation says (``direction``: expand / continue / improve / reduce / abolish; level 1–5 or null)."""

    self_assessment: str
    direction: str
    output_indicator_id: RowId | None = None
    outcome_indicator_id: RowId | None = None
    evidence_level: int | None = None
    analysis_id: RowId | None = None
    evidence_note: str = ""
    next_request_note: str = ""
    next_request_amount_yen: int | str | None = None


class EbpmEvaluationIn(EbpmEvaluationFields):
    """A new yearly evaluation (one per 事業 per 年度)."""

    fiscal_year: int | str


class EbpmEvaluationUpdateIn(EbpmEvaluationFields):
    """A changed evaluation; ``lock_version`` as read (409 when someone changed it first)."""

    lock_version: int


class EbpmReviewRowOut(Schema):
    """One 事業 in the 査定 view of a 年度."""

    item_id: int
    code: str
    name: str
    unit: str
    stage: str
    logic_model_version: int
    logic_model_warnings: int
    achievement: str
    mean_rate: float | None
    settlement_yen: int | None
    cost_per_output: EbpmUnitCostOut
    cost_per_outcome: EbpmUnitCostOut
    evaluation_id: int | None
    evidence_level: int | None
    evidence_label: str
    direction: str
    direction_label: str


class EbpmPlanOut(Schema):
    """An evaluation plan fixed at 立案 (``design``: before_after / did / its / rct / synthetic_control / case_comparison / other)."""

    id: int
    item_id: int
    indicator_id: int
    indicator: str
    design: str
    design_label: str
    fiscal_year: int
    timing: str
    note: str
    stage_at_fixing: str
    actor: str
    created_at: dt.datetime


class EbpmPlanIn(Schema):
    """A new evaluation plan: which indicator of the 事業, which design, which 年度 (and when)."""

    indicator_id: RowId
    design: str
    fiscal_year: int | str
    timing: str = ""
    note: str = ""


# ---- public pages of a 事業 (issue 9 point 7) -------------------------------------------------------


class EbpmPageRequestIn(Schema):
    """Ask to publish the 事業's page: which evaluations to show, and a note for the approvers."""

    evaluation_ids: Annotated[list[int], Field(max_length=50)] = []
    reason: Annotated[str, Field(max_length=2000)] = ""


class EbpmPageWithdrawIn(Schema):
    """Ask to take the 事業's page down (非公開化), with the reason."""

    reason: Annotated[str, Field(max_length=2000)]


class EbpmPageActIn(Schema):
    """A decision on the current step: approve, return or reject (a comment is needed unless approving)."""

    decision: str
    comment: Annotated[str, Field(max_length=2000)] = ""


class EbpmPageStepOut(Schema):
    """One step of a page request's route."""

    key: str
    label: str
    state: str
    acted_by: str
    on_behalf_of: str
    candidates: list[str]


class EbpmPageRequestOut(Schema):
    """A page request (publication or withdrawal), its route and, for publication, the page it would publish."""

    id: int
    item_id: int
    item_name: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    requested_by: str
    reason: str
    logic_model_number: int | None
    evaluation_ids: list[int]
    route_name: str
    steps: list[EbpmPageStepOut]
    current_step: int
    created_at: dt.datetime
    decided_at: dt.datetime | None
    preview: dict[str, Any]


class EbpmPublicPageSummaryOut(Schema):
    """A published 事業 page in the public list."""

    item_id: int
    name: str
    unit: str
    published_at: dt.datetime
    url: str


class EbpmPublicPageOut(EbpmPublicPageSummaryOut):
    """A published 事業 page: the frozen snapshot (事業, logic model, indicators with safe figures, evaluations)."""

    page: dict[str, Any]


# ---- the rest of the pages' features (issue 9 point 8) ----------------------------------------------


class EbpmItemUpdateIn(Schema):
    """Change an item's name, number, description and plan reference (``lock_version`` from the item)."""

    lock_version: int
    name: str
    code: str = ""
    description: str = ""
    plan_reference: str = ""


class EbpmCopyIn(Schema):
    """Copy this item's logic model to another 事業 or 施策 (横展開)."""

    target_item_id: RowId


class EbpmExampleIn(Schema):
    """Start the logic model from an example of the starter library (``key`` from /logic-model-examples)."""

    key: str


class EbpmExampleOut(Schema):
    """An example logic model of the starter library."""

    key: str
    title: str
    description: str
    document: dict[str, Any]


class EbpmQueryIn(Schema):
    """A query indicator's table and query: ``query`` is the TableQuery, grouped by the 年度 column."""

    table_id: RowId
    query: dict[str, Any]
    year_column: str
    value_column: str


class EbpmScheduleIn(Schema):
    """The month (1–12) of the following 年度 in which a year's figure is ready; null to clear it."""

    data_month: int | str | None = None


class EbpmRecomputeOut(Schema):
    """The indicator after recomputation; ``problem`` says why it is 要確認 (blank when computed)."""

    indicator_id: int
    status: str
    status_label: str
    problem: str


class EbpmCalendarRowOut(Schema):
    """One indicator in the data calendar: the month its yearly figure arrives, late for the 予算要求 or not."""

    indicator_id: int
    indicator: str
    item_id: int
    item: str
    responsible_unit: str
    data_month: int | None
    label: str
    late: bool


class EbpmCalendarOut(Schema):
    """The data calendar: the 予算要求 month and every indicator (late ones flagged)."""

    budget_request_month: int
    late: int
    unset: int
    rows: list[EbpmCalendarRowOut]


class EbpmBoardCellOut(Schema):
    """One 年度 of a strategy indicator: the figure (live first), its origin, target and survey round."""

    fiscal_year: int
    value: float | None
    origin: str
    shown: str
    target: str
    round: str
    n: int | None


class EbpmBoardRowOut(Schema):
    """One 検証指標 of the strategy on the KPI board."""

    key: str
    measure: str
    name: str
    unit: str
    direction: str
    baseline: str
    live: bool
    source: str
    indicator_id: int | None
    withheld: bool
    notes: list[str]
    cells: list[EbpmBoardCellOut]


class EbpmSheetImportOut(Schema):
    """The result of reading an evaluation sheet: the evaluation and whether it was new."""

    created: bool
    evaluation_id: int
    fiscal_year: int
    lock_version: int


class EbpmSurveyLinkIn(Schema):
    """Which survey question (its text) and option measure a survey-based board indicator."""

    survey_id: RowId
    question: str
    option: str


class EbpmSurveyLinkOut(Schema):
    """A mapping of a survey question and option to a board indicator."""

    key: str
    key_label: str
    survey_id: int
    survey: str
    question: str
    option: str
    actor: str
    updated_at: dt.datetime
