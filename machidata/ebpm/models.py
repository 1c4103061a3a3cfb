"""EBPM: the 政策 → 施策 → 事業 tree, budget lines, lifecycle, versioned logic models and indicators (検証指標)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Level(models.TextChoices):
    """Where an item stands in the plan tree."""

    POLICY = "policy", "政策"
    MEASURE = "measure", "施策"
    PROJECT = "project", "事業"


# The level a child must have, by its parent's level.
CHILD_LEVEL = {Level.POLICY: Level.MEASURE, Level.MEASURE: Level.PROJECT}


class Stage(models.TextChoices):
    """The lifecycle of a 事業 (a logic model may start at 構想, before any budget)."""

    IDEA = "idea", "構想"
    REQUEST = "request", "予算要求"
    BUDGETED = "budgeted", "予算化"
    RUNNING = "running", "実施"
    EVALUATION = "evaluation", "評価"


class PlanItem(models.Model):
    """One 政策, 施策 or 事業 of the city's plan, owned by a 課."""

    level = models.CharField("区分", max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name="上位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField("番号", max_length=40, blank=True)
    name = models.CharField("名称", max_length=200)
    description = models.TextField("概要", max_length=5000, blank=True)
    unit = models.ForeignKey("access.Unit", verbose_name="所管課", on_delete=models.PROTECT, related_name="+")
    plan_reference = models.CharField("総合計画との関係", max_length=300, blank=True)
    stage = models.CharField("段階", max_length=12, choices=Stage.choices, default=Stage.IDEA, db_index=True)
    lock_version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", default=timezone.now)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "政策・施策・事業"
        verbose_name_plural = "政策・施策・事業"
        ordering = ["code", "name", "id"]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.name}"


class StageChange(models.Model):
    """One move of a 事業 along its lifecycle (kept as its history)."""

    item = models.ForeignKey(PlanItem, on_delete=models.CASCADE, related_name="stage_changes")
    stage_from = models.CharField("変更前", max_length=12, choices=Stage.choices)
    stage_to = models.CharField("変更後", max_length=12, choices=Stage.choices)
    note = models.CharField("メモ", max_length=500, blank=True)
    actor_label = models.CharField("操作者", max_length=200)
    created_at = models.DateTimeField("日時", default=timezone.now)

    class Meta:
        verbose_name = "段階の変更"
        verbose_name_plural = "段階の変更"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_stage_from_display()} → {self.get_stage_to_display()}"


class BudgetKind(models.TextChoices):
    """Which figure of a fiscal year's budget a line holds."""

    INITIAL = "initial", "当初予算"
    SUPPLEMENTARY = "supplementary", "補正予算"
    SETTLEMENT = "settlement", "決算（執行額）"


class BudgetLine(models.Model):
    """One budget figure of a 事業: (年度, kind) → yen."""

    item = models.ForeignKey(PlanItem, on_delete=models.CASCADE, related_name="budget_lines")
    fiscal_year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("種類", max_length=16, choices=BudgetKind.choices)
    amount_yen = models.PositiveBigIntegerField("金額（円）")
    note = models.CharField("メモ", max_length=300, blank=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "予算・決算"
        verbose_name_plural = "予算・決算"
        ordering = ["fiscal_year", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "fiscal_year", "kind"], name="ebpm_budget_one_per_year_kind"
            ),
            models.CheckConstraint(condition=Q(amount_yen__gte=0), name="ebpm_budget_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度 {self.get_kind_display()}: {self.amount_yen:,}円"


class LogicModel(models.Model):
    """The logic model of a 事業 (or 施策); its content lives in immutable versions, the newest is current."""

    item = models.OneToOneField(PlanItem, on_delete=models.CASCADE, related_name="logic_model")
    number = models.PositiveIntegerField("現在の版", default=0)
    document = models.JSONField("内容（現在の版）", default=dict)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "ロジックモデル"
        verbose_name_plural = "ロジックモデル"

    def __str__(self) -> str:
        return f"ロジックモデル: {self.item.name}（第{self.number}版）"


class LogicModelVersion(models.Model):
    """One saved version of a logic model: never changed after it is written."""

    model = models.ForeignKey(LogicModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版")
    document = models.JSONField("内容")
    note = models.CharField("変更内容", max_length=300, blank=True)
    actor_label = models.CharField("保存した人", max_length=200)
    created_at = models.DateTimeField("保存日時", default=timezone.now)

    class Meta:
        verbose_name = "ロジックモデルの版"
        verbose_name_plural = "ロジックモデルの版"
        ordering = ["model", "-number"]
        constraints = [models.UniqueConstraint(fields=["model", "number"], name="ebpm_lm_version_unique")]

    def __str__(self) -> str:
        return f"第{self.number}版"


class IndicatorKind(models.TextChoices):
    """活動指標 (what the project does) or 成果指標 (what changes)."""

    ACTIVITY = "activity", "活動指標"
    OUTCOME = "outcome", "成果指標"


class Direction(models.TextChoices):
    """Which way is better."""

    UP = "up", "上向き（大きいほど良い）"
    DOWN = "down", "下向き（小さいほど良い）"


class RateRule(models.TextChoices):
    """How the achievement rate is computed (see docs/guide/ebpm.md)."""

    RATIO = "ratio", "実績 ÷ 目標（下向きは 目標 ÷ 実績）"
    PROGRESS = "progress", "（実績 − 基準値）÷（目標 − 基準値）"


class SourceKind(models.TextChoices):
    """Where the actuals come from."""

    MANUAL = "manual", "手入力"
    QUERY = "query", "カタログの表から集計"
    FORMULA = "formula", "ほかの指標から計算"


class IndicatorStatus(models.TextChoices):
    """The indicator's status in its latest measured year."""

    ACHIEVED = "achieved", "達成"
    ON_TRACK = "on_track", "順調"
    BEHIND = "behind", "遅れ"
    UNMEASURED = "unmeasured", "未測定"
    CHECK = "check", "要確認"


class Indicator(models.Model):
    """A 検証指標 (KPI) attached to one node of a logic model."""

    logic_model = models.ForeignKey(LogicModel, on_delete=models.CASCADE, related_name="indicators")
    node_id = models.CharField("ノード", max_length=20)
    name = models.CharField("指標名", max_length=200)
    kind = models.CharField("種類", max_length=10, choices=IndicatorKind.choices)
    unit_label = models.CharField("単位", max_length=20, blank=True)
    direction = models.CharField("方向", max_length=6, choices=Direction.choices, default=Direction.UP)
    definition = models.TextField("定義", max_length=2000, blank=True)
    data_source = models.CharField("データの出所", max_length=300, blank=True)
    # Counts, rates and amounts are never negative; a change (増減) indicator may be.
    allow_negative = models.BooleanField("マイナスの値を認める", default=False)
    baseline_value = models.DecimalField("基準値", max_digits=20, decimal_places=4, null=True, blank=True)
    baseline_year = models.PositiveSmallIntegerField("基準年度", null=True, blank=True)
    rate_rule = models.CharField(
        "達成率の計算", max_length=10, choices=RateRule.choices, default=RateRule.RATIO
    )
    responsible_unit = models.ForeignKey(
        "access.Unit", verbose_name="担当課", on_delete=models.PROTECT, related_name="+"
    )
    source_kind = models.CharField(
        "実績の入れ方", max_length=8, choices=SourceKind.choices, default=SourceKind.MANUAL
    )
    table = models.ForeignKey(
        "catalog.Table",
        verbose_name="集計する表",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # query: {"query": TableQuery JSON (grouped by a fiscal-year column), "year_column": str, "value_column": str}
    # formula: {"formula": "i12 / i15 * 100"} (iN: indicator N, not itself a formula)
    query = models.JSONField("集計の定義", default=dict, blank=True)
    # The month (1–12) in which a fiscal year's figure is ready, in the following fiscal year
    # (e.g. 9: 決算 figures in September; 7: a survey in July). Compared with the 予算要求 in the data calendar.
    data_month = models.PositiveSmallIntegerField("実績がそろう月（翌年度）", null=True, blank=True)
    status = models.CharField(
        "状態", max_length=10, choices=IndicatorStatus.choices, default=IndicatorStatus.UNMEASURED
    )
    status_reason = models.CharField("要確認の理由", max_length=1000, blank=True)
    computed_at = models.DateTimeField("最後の集計", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", default=timezone.now)

    class Meta:
        verbose_name = "検証指標"
        verbose_name_plural = "検証指標"
        ordering = ["logic_model", "id"]

    def __str__(self) -> str:
        return self.name


class TargetKind(models.TextChoices):
    """An interim (中間) or final (最終) target."""

    INTERIM = "interim", "中間目標"
    FINAL = "final", "最終目標"


class IndicatorTarget(models.Model):
    """A target for one 年度; a revision supersedes the old row, which stays visible."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    fiscal_year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("種類", max_length=8, choices=TargetKind.choices, default=TargetKind.INTERIM)
    value = models.DecimalField(
        "目標値", max_digits=20, decimal_places=4, null=True, blank=True
    )  # None: 目標未設定
    note = models.CharField("メモ・変更の理由", max_length=500, blank=True)
    actor_label = models.CharField("設定した人", max_length=200)
    created_at = models.DateTimeField("設定日時", default=timezone.now)
    superseded_at = models.DateTimeField("変更された日時", null=True, blank=True)

    class Meta:
        verbose_name = "目標"
        verbose_name_plural = "目標"
        ordering = ["fiscal_year", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "fiscal_year"],
                condition=Q(superseded_at__isnull=True),
                name="ebpm_target_one_current_per_year",
            )
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度: {self.value if self.value is not None else '目標未設定'}"


class ActualStatus(models.TextChoices):
    """速報 (preliminary) or 確定 (final) figure."""

    PRELIMINARY = "preliminary", "速報"
    FINAL = "final", "確定"


class IndicatorActual(models.Model):
    """The actual value of an indicator in one 年度."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="actuals")
    fiscal_year = models.PositiveSmallIntegerField("年度")
    value = models.DecimalField("実績値", max_digits=20, decimal_places=4)
    status = models.CharField(
        "速報・確定", max_length=12, choices=ActualStatus.choices, default=ActualStatus.PRELIMINARY
    )
    final_on = models.DateField("確定する日", null=True, blank=True)
    source = models.CharField("出所", max_length=8, choices=SourceKind.choices, default=SourceKind.MANUAL)
    evidence = models.CharField("根拠", max_length=1000, blank=True)
    evidence_url = models.URLField("根拠のURL", max_length=500, blank=True)
    table_version = models.ForeignKey(
        "catalog.TableVersion",
        verbose_name="集計した版",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version_number = models.PositiveIntegerField("集計した版の番号", null=True, blank=True)
    actor_label = models.CharField("入力した人", max_length=200)
    updated_at = models.DateTimeField("更新日時", default=timezone.now)

    class Meta:
        verbose_name = "実績"
        verbose_name_plural = "実績"
        ordering = ["fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "fiscal_year"], name="ebpm_actual_one_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度: {self.value}"


# ---- evaluation tied to the budget (issue 9 point 4) ----------------------------------------------


class EvaluationDirection(models.TextChoices):
    """The direction an evaluation proposes for the next 予算要求."""

    EXPAND = "expand", "拡充"
    CONTINUE = "continue", "継続"
    IMPROVE = "improve", "改善"
    REDUCE = "reduce", "縮小"
    ABOLISH = "abolish", "廃止"


class EvidenceLevel(models.IntegerChoices):
    """How strong the evidence of the effect is: the analysis room's scale (``analysis.interpret.LEVEL_LABELS``)."""

    RCT = 5, "レベル5（無作為化比較）"
    QUASI = 4, "レベル4（比較対象のある準実験）"
    TIME_SERIES = 3, "レベル3（長い時系列の準実験）"
    BEFORE_AFTER = 2, "レベル2（単純な前後比較）"
    COMPARISON = 1, "レベル1（比較のみ・因果の根拠としては弱い）"


class EvaluationDesign(models.TextChoices):
    """How the effect is to be verified (the evaluation plan fixed at 立案)."""

    BEFORE_AFTER = "before_after", "前後比較"
    DID = "did", "差の差分析（DiD）"
    ITS = "its", "中断時系列分析（ITS）"
    RCT = "rct", "無作為化比較（RCT）"
    SYNTHETIC = "synthetic_control", "合成コントロール法"
    CASES = "case_comparison", "事例比較"
    OTHER = "other", "その他"


class EvaluationPlan(models.Model):
    """How a 事業's effect will be verified, fixed when it is planned: which indicator, which design, when."""

    item = models.ForeignKey(PlanItem, on_delete=models.CASCADE, related_name="evaluation_plans")
    indicator = models.ForeignKey(
        Indicator, verbose_name="検証する指標", on_delete=models.PROTECT, related_name="evaluation_plans"
    )
    design = models.CharField("検証の方法", max_length=20, choices=EvaluationDesign.choices)
    fiscal_year = models.PositiveSmallIntegerField("検証する年度")
    timing = models.CharField("時期・段取り", max_length=300, blank=True)
    note = models.CharField("比較対象・メモ", max_length=1000, blank=True)
    stage_at_fixing = models.CharField("決めたときの段階", max_length=12, choices=Stage.choices)
    actor_label = models.CharField("決めた人", max_length=200)
    created_at = models.DateTimeField("決めた日時", default=timezone.now)

    class Meta:
        verbose_name = "効果検証の計画"
        verbose_name_plural = "効果検証の計画"
        ordering = ["item", "fiscal_year", "id"]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度: {self.get_design_display()}"


class Evaluation(models.Model):
    """The yearly evaluation of a 事業 (one per 年度), tied to its budget and the next 予算要求.

    Achievement and cost per output/outcome are not stored: they are computed from the indicators and the
    budget lines when shown (``selectors.evaluation_figures``).
    """

    item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="evaluations")
    fiscal_year = models.PositiveSmallIntegerField("評価する年度")
    self_assessment = models.TextField("自己評価", max_length=5000)
    output_indicator = models.ForeignKey(
        Indicator,
        verbose_name="単位コストのアウトプット指標",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome_indicator = models.ForeignKey(
        Indicator,
        verbose_name="単位コストの成果指標",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence_level = models.PositiveSmallIntegerField(
        "効果の根拠の強さ", choices=EvidenceLevel.choices, null=True, blank=True
    )  # None: 効果の検証なし
    analysis = models.ForeignKey(
        "analysis.Analysis",
        verbose_name="根拠とした分析",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence_note = models.CharField("根拠の説明", max_length=1000, blank=True)
    direction = models.CharField("今後の方向性", max_length=10, choices=EvaluationDirection.choices)
    next_request_note = models.TextField("次の予算要求への反映", max_length=3000, blank=True)
    next_request_amount_yen = models.PositiveBigIntegerField("次の予算要求額（円）", null=True, blank=True)
    lock_version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", default=timezone.now)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "事業評価"
        verbose_name_plural = "事業評価"
        ordering = ["item", "-fiscal_year"]
        constraints = [
            models.UniqueConstraint(fields=["item", "fiscal_year"], name="ebpm_evaluation_one_per_year"),
            models.CheckConstraint(
                condition=Q(evidence_level__isnull=True) | Q(evidence_level__gte=1, evidence_level__lte=5),
                name="ebpm_evaluation_level_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year}年度の評価: {self.item.name}"


# ---- public pages of a 事業 (issue 9 point 7) -------------------------------------------------------


class PageRequestKind(models.TextChoices):
    """Publishing a 事業's public page, or taking it down (非公開化)."""

    PUBLISH = "publish", "公開申請"
    WITHDRAW = "withdraw", "非公開化の申請"


class PageRequestStatus(models.TextChoices):
    """Where a page request stands."""

    PENDING = "pending", "決裁中"
    APPROVED = "approved", "決裁済み"
    RETURNED = "returned", "差戻し"
    REJECTED = "rejected", "却下"
    CANCELLED = "cancelled", "取り下げ"


class PageDecision(models.TextChoices):
    """What an approver did at a step."""

    APPROVE = "approve", "承認"
    RETURN = "return", "差戻し"
    REJECT = "reject", "却下"


class PageRequest(models.Model):
    """A request to publish (or withdraw) the citizen-facing page of a 事業, walking a 決裁 route.

    ``preview`` is the page exactly as it would be published, taken when the request is filed from the
    pinned logic model version and the chosen evaluations; ``fingerprint`` is its SHA-256. Every
    approval takes the page again and refuses when it differs (the 事業 changed since the filing).
    """

    item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="page_requests")
    kind = models.CharField("種類", max_length=10, choices=PageRequestKind.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("申請の理由・メモ（庁内）", max_length=2000, blank=True)
    logic_model_number = models.PositiveIntegerField("公開するロジックモデルの版", null=True, blank=True)
    evaluation_ids = models.JSONField("公開する事業評価", default=list, blank=True)
    preview = models.JSONField("公開する内容", default=dict, blank=True)
    fingerprint = models.CharField("内容の指紋", max_length=64, blank=True)
    route_name = models.CharField("決裁ルート", max_length=40)
    steps = models.JSONField("決裁の段階", default=list)
    current_step = models.PositiveSmallIntegerField("現在の段階", default=0)
    status = models.CharField(
        "状態", max_length=10, choices=PageRequestStatus.choices, default=PageRequestStatus.PENDING
    )
    created_at = models.DateTimeField("申請日時", default=timezone.now)
    decided_at = models.DateTimeField("決定日時", null=True, blank=True)

    class Meta:
        verbose_name = "事業ページの公開申請"
        verbose_name_plural = "事業ページの公開申請"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.item.name}"


class PageAction(models.Model):
    """One decision at one step of a page request; ``on_behalf_of`` is set for a 代決."""

    request = models.ForeignKey(PageRequest, on_delete=models.CASCADE, related_name="actions")
    step_index = models.PositiveSmallIntegerField()
    step_key = models.CharField(max_length=40)
    decision = models.CharField("判断", max_length=10, choices=PageDecision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField("コメント", max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "事業ページの決裁の記録"
        verbose_name_plural = "事業ページの決裁の記録"
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.step_key}: {self.decision}"


class PublicPage(models.Model):
    """A published page of a 事業: the frozen snapshot an approved request made public.

    The public sees the item's newest page that is neither superseded (a later approved request) nor
    withdrawn (an approved 非公開化). The snapshot never changes.
    """

    item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="public_pages")
    request = models.OneToOneField(PageRequest, on_delete=models.PROTECT, related_name="page")
    snapshot = models.JSONField("公開した内容")
    published_at = models.DateTimeField("公開日時", default=timezone.now)
    superseded_at = models.DateTimeField("新しい版に替わった日時", null=True, blank=True)
    withdrawn_at = models.DateTimeField("非公開にした日時", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        PageRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="withdrawn_pages"
    )

    class Meta:
        verbose_name = "公開中の事業ページ"
        verbose_name_plural = "公開中の事業ページ"
        ordering = ["item", "-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(superseded_at__isnull=True, withdrawn_at__isnull=True),
                name="ebpm_one_live_page_per_item",
            )
        ]

    def __str__(self) -> str:
        return f"公開ページ: {self.item.name}（{self.published_at:%Y-%m-%d}）"


class BoardSurveyKey(models.TextChoices):
    """The strategy's 検証指標 that a staff survey answers (keys of ``strategy.DEFINITIONS``)."""

    SKILL = "skill", "「知識や活用スキル」を課題と回答した職員の割合"
    CONSCIOUS = "conscious", "事業等の立案においてデータ利活用を意識している職員の割合"
    WHERE = "where", "「必要とするデータがどこにあるのか分からない」と回答した職員の割合"
    COMPREHENSION = "comprehension", "研修受講者の理解度"


class BoardSurveyLink(models.Model):
    """Which survey question and option measure one of the strategy's survey-based 検証指標 (set by 管理).

    Rounds of a survey repeat their questions as separate rows, so the question is kept by its text; the
    board reads every confirmed round of the survey that asks it.
    """

    key = models.CharField("検証指標", max_length=20, choices=BoardSurveyKey.choices, unique=True)
    survey = models.ForeignKey(
        "surveys.Survey", verbose_name="アンケート", on_delete=models.CASCADE, related_name="+"
    )
    question = models.TextField("質問文")
    option = models.CharField("選択肢", max_length=300)
    actor_label = models.CharField("設定した人", max_length=200)
    updated_at = models.DateTimeField("設定日時", auto_now=True)

    class Meta:
        verbose_name = "検証指標とアンケートの対応"
        verbose_name_plural = "検証指標とアンケートの対応"

    def __str__(self) -> str:
        return f"{self.get_key_display()} ← {self.option}"
