"""API schemas of survey analysis (named Survey… so OpenAPI names stay unique)."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Schema


class SurveyRoundOut(Schema):
    """One round of a survey."""

    id: int
    label: str
    respondents: int
    status: str
    weighted: bool


class SurveyOut(Schema):
    """A survey in a list."""

    id: int
    title: str
    unit: str
    is_synthetic: bool


class SurveyQuestionOut(Schema):
    """One question of a round."""

    position: int
    text: str
    kind: str
    guessed_kind: str
    options: list[str]


class SurveyDetailOut(SurveyOut):
    """A survey with its rounds and the questions of each."""

    description: str
    rounds: list[SurveyRoundOut]


class SurveyFreqRowOut(Schema):
    """One option of a frequency table (share over n; weighted share when asked; null when hidden)."""

    option: str
    count: int | None
    share: float | None
    weighted_share: float | None = None
    hidden: bool = False


class SurveyFrequencyOut(Schema):
    """A frequency table of one question."""

    question: SurveyQuestionOut
    n: int
    total: int
    no_answer: int
    small_base: bool
    denominator: str
    rows: list[SurveyFreqRowOut]


class SurveyTablesOut(Schema):
    """Every frequency table of a round."""

    round: SurveyRoundOut
    suppressed: bool
    tables: list[SurveyFrequencyOut]


class SurveyCrossCellOut(Schema):
    """One cell (null count and share when hidden)."""

    count: int | None
    share: float | None
    weighted_share: float | None = None
    hidden: bool = False


class SurveyCrossRowOut(Schema):
    """One group of the attribute question."""

    label: str
    n: int | None  # null when the group is smaller than the suppression threshold
    small_base: bool
    cells: list[SurveyCrossCellOut]


class SurveyCrosstabParams(Schema):
    """Query of a crosstab: question positions of the attribute (rows) and the question (columns)."""

    by: int = Field(description="表側（行）の質問の番号（単一選択）")
    of: int = Field(description="表頭（列）の質問の番号（単一・複数選択）")
    denominator: str = Field(
        "respondents", description="respondents（回答者数）または selections（選ばれた数）"
    )
    weighted: bool = False
    suppress: bool = Field(False, description="秘匿処理をする（所管課の外の人には常に行う）")
    threshold: int = Field(5, ge=1, le=100, description="この人数未満のセルを秘匿する")


class SurveyCrosstabOut(Schema):
    """Attribute × question, with the heat map's Vega-Lite spec."""

    by: SurveyQuestionOut
    of: SurveyQuestionOut
    columns: list[str]
    rows: list[SurveyCrossRowOut]
    total: SurveyCrossRowOut
    denominator: str
    weighted: bool
    suppressed: bool
    threshold: int
    hidden_cells: int
    heatmap: dict[str, object] = Field(description="Vega-Lite 5 spec (inline data)")


class SurveyIn(Schema):
    """A survey to register for a 課 (the caller must be its 編集)."""

    title: str = Field(max_length=200, description="調査名")
    unit_id: int = Field(ge=1, le=2_147_483_647, description="所管課の番号")
    description: str = Field("", max_length=5000)


class SurveyImportJobOut(Schema):
    """A large export is imported by a job: follow it at /api/v1/jobs/{job_id}."""

    job_id: int
    status: str
    detail: str


class SurveyProposalOut(SurveyQuestionOut):
    """One question as proposed after the import: the guessed kind, the kind now declared, samples."""

    samples: list[str]


class SurveyQuestionsOut(Schema):
    """A round's questions, to be declared and confirmed."""

    round: SurveyRoundOut
    questions: list[SurveyProposalOut]


class SurveyDeclarationIn(Schema):
    """The kind and options of one question (options: one per item; left out = kept)."""

    position: int = Field(ge=0, le=10_000)
    kind: Literal["single", "multi", "number", "text"] | None = None
    options: list[Annotated[str, Field(max_length=500)]] | None = Field(None, max_length=500)


class SurveyQuestionDeclareIn(Schema):
    """The kind and options of one question, declared without confirming the round (left out = kept)."""

    kind: Literal["single", "multi", "number", "text"] | None = None
    options: list[Annotated[str, Field(max_length=500)]] | None = Field(None, max_length=500)


class SurveyConfirmIn(Schema):
    """Declarations of any questions (the others keep their kind and options); the round is then confirmed."""

    questions: list[SurveyDeclarationIn] = Field(default_factory=list, max_length=2000)


class SurveyTargetsIn(Schema):
    """Known population counts: {question position: {option: count}}; empty = no weights."""

    targets: dict[
        Annotated[int, Field(ge=0, le=10_000)],
        dict[Annotated[str, Field(max_length=500)], float],
    ] = Field(default_factory=dict)


class SurveyExportParams(Schema):
    """Which file of the frequency tables."""

    format: Literal["csv", "xlsx"] = "csv"
    denominator: Literal["respondents", "selections"] = "respondents"
    weighted: bool = False


class SurveyCrosstabExportParams(SurveyExportParams):
    """Which file of a crosstab (question positions as in the crosstab)."""

    by: int = Field(ge=0, le=10_000, description="表側（行）の質問の番号（単一選択）")
    of: int = Field(ge=0, le=10_000, description="表頭（列）の質問の番号（単一・複数選択）")
    suppress: bool = Field(False, description="秘匿処理をする（所管課の外の人には常に行う）")
    threshold: int = Field(
        5, ge=1, le=100, description="この人数未満のセルを秘匿する（課の外の人は5未満にできない）"
    )
