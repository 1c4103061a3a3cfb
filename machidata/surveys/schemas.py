"""API schemas of survey analysis (named Survey… so OpenAPI names stay unique)."""

from __future__ import annotations

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
