"""The consultation desk (相談・伴走支援) and training (研修, 理解度テスト, コア人材)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from machidata.access.models import StaffRank, Unit

# ---- consultation desk ----------------------------------------------------------------------------


class ConsultationKind(models.TextChoices):
    """A one-off question, or hands-on support over weeks."""

    QUESTION = "question", "相談"
    SUPPORT = "support", "伴走支援"


class Urgency(models.TextChoices):
    """How soon the department needs an answer."""

    LOW = "low", "急がない"
    NORMAL = "normal", "通常"
    HIGH = "high", "至急"


class ConsultationStatus(models.TextChoices):
    """Where a consultation is; the allowed moves are in services.TRANSITIONS."""

    OPEN = "open", "受付"
    IN_PROGRESS = "in_progress", "対応中"
    CLOSED = "closed", "完了"
    WITHDRAWN = "withdrawn", "取り下げ"


class Consultation(models.Model):
    """A 相談 or 伴走支援 request from a department to データ戦略課."""

    kind = models.CharField("種別", max_length=10, choices=ConsultationKind.choices)
    topic = models.CharField("件名", max_length=200)
    description = models.TextField("内容")
    urgency = models.CharField("緊急度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    unit = models.ForeignKey(
        Unit, verbose_name="相談した所属", on_delete=models.PROTECT, related_name="consultations"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="相談者",
        null=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
    )
    datasets = models.ManyToManyField(
        "catalog.Dataset", verbose_name="関係するデータ", blank=True, related_name="consultations"
    )
    dashboards = models.ManyToManyField(
        "charts.Dashboard", verbose_name="関係するダッシュボード", blank=True, related_name="consultations"
    )
    projects = models.ManyToManyField(
        "ebpm.PlanItem", verbose_name="関係する事業", blank=True, related_name="consultations"
    )
    status = models.CharField(
        "状態", max_length=12, choices=ConsultationStatus.choices, default=ConsultationStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="担当者",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_consultations",
    )
    outcome = models.TextField("結果", blank=True)
    opened_at = models.DateTimeField("受付日時")
    closed_at = models.DateTimeField("完了日時", null=True, blank=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)
    is_synthetic = models.BooleanField("デモ用の合成データ", default=False)

    class Meta:
        verbose_name = "相談"
        verbose_name_plural = "相談"
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.topic}"

    @property
    def is_active(self) -> bool:
        """Still being worked on (受付 or 対応中)."""
        return self.status in {ConsultationStatus.OPEN, ConsultationStatus.IN_PROGRESS}


class SupportEntry(models.Model):
    """One step of the support log: what データ戦略課 did, and how many minutes it took."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="entries")
    on_date = models.DateField("対応日")
    minutes = models.PositiveIntegerField("対応時間（分）")
    note = models.TextField("対応内容")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="対応者",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("記録日時", auto_now_add=True)

    class Meta:
        verbose_name = "対応記録"
        verbose_name_plural = "対応記録"
        ordering = ["on_date", "id"]

    def __str__(self) -> str:
        return f"{self.on_date} {self.minutes}分"


# ---- training -------------------------------------------------------------------------------------


class Rank(models.TextChoices):
    """Who a course is for (職位等に応じた人材育成)."""

    MANAGER = "manager", "管理職"
    GENERAL = "general", "一般職"
    CORE = "core", "コア人材"


class Course(models.Model):
    """A course of the curriculum, for one rank, with its comprehension test (question bank)."""

    title = models.CharField("研修名", max_length=200)
    rank = models.CharField("対象", max_length=10, choices=Rank.choices)
    description = models.TextField("内容", blank=True)
    pass_mark = models.PositiveSmallIntegerField(
        "合格点", default=70, help_text="理解度テストで合格とする点数（100点満点）"
    )
    order = models.PositiveSmallIntegerField("表示順", default=0)
    is_active = models.BooleanField("実施中", default=True)
    is_synthetic = models.BooleanField("デモ用の合成データ", default=False)

    class Meta:
        verbose_name = "研修"
        verbose_name_plural = "研修"
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_rank_display()}）"


class Session(models.Model):
    """One date a course is held: where (or online) and for how many people."""

    course = models.ForeignKey(Course, verbose_name="研修", on_delete=models.PROTECT, related_name="sessions")
    on_date = models.DateField("開催日")
    start_time = models.TimeField("開始時刻", null=True, blank=True)
    place = models.CharField("会場", max_length=200, blank=True)
    online = models.BooleanField("オンライン", default=False)
    capacity = models.PositiveIntegerField("定員", null=True, blank=True)
    note = models.CharField("備考", max_length=300, blank=True)

    class Meta:
        verbose_name = "研修の開催回"
        verbose_name_plural = "研修の開催回"
        ordering = ["on_date", "id"]

    def __str__(self) -> str:
        return f"{self.course.title} {self.on_date:%Y-%m-%d}"

    @property
    def where(self) -> str:
        """The place as shown on pages."""
        if self.online:
            return f"オンライン{'・' + self.place if self.place else ''}"
        return self.place or "（未定）"


class AttendanceSource(models.TextChoices):
    """How an attendance came into machidata."""

    RECORDED = "recorded", "画面で記録"
    IMPORTED = "imported", "受講者名簿から取り込み"


class Attendance(models.Model):
    """A person who attended a session, with their 課 at the time (staff move every April).

    ``user`` is empty for staff who have no machidata account (they come from an imported sheet by
    name); ``score`` is the comprehension score when the sheet carried one (tests taken in machidata
    are TestAttempts).
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="attendances"
    )
    staff_name = models.CharField("氏名", max_length=100)
    unit = models.ForeignKey(Unit, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    # 職位 at the time, as on the person's membership (access.StaffRank); empty when nobody said
    rank = models.CharField("職位", max_length=10, choices=StaffRank.choices, blank=True)
    score = models.PositiveSmallIntegerField("理解度テストの点数（取り込み）", null=True, blank=True)
    source = models.CharField(
        "記録方法", max_length=10, choices=AttendanceSource.choices, default=AttendanceSource.RECORDED
    )
    recorded_at = models.DateTimeField("記録日時", auto_now_add=True)

    class Meta:
        verbose_name = "受講記録"
        verbose_name_plural = "受講記録"
        ordering = ["session_id", "unit_id", "staff_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"], condition=Q(user__isnull=False), name="attendance_once_per_user"
            ),
            models.UniqueConstraint(
                fields=["session", "staff_name", "unit"],
                condition=Q(user__isnull=True),
                name="attendance_once_per_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff_name}（{self.session}）"

    @property
    def person_key(self) -> str:
        """Who this is, for counting people once: the account when there is one, else name and 課."""
        return f"u{self.user_id}" if self.user_id else f"n{self.unit_id}:{self.staff_name}"


class Question(models.Model):
    """A multiple-choice question of a course's comprehension test."""

    course = models.ForeignKey(
        Course, verbose_name="研修", on_delete=models.CASCADE, related_name="questions"
    )
    text = models.TextField("問題文")
    explanation = models.TextField("解説", blank=True)
    order = models.PositiveSmallIntegerField("表示順", default=0)

    class Meta:
        verbose_name = "理解度テストの問題"
        verbose_name_plural = "理解度テストの問題"
        ordering = ["course_id", "order", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Choice(models.Model):
    """One answer of a question; exactly one is correct (checked when the test is taken)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField("選択肢", max_length=300)
    is_correct = models.BooleanField("正解", default=False)
    order = models.PositiveSmallIntegerField("表示順", default=0)

    class Meta:
        verbose_name = "選択肢"
        verbose_name_plural = "選択肢"
        ordering = ["question_id", "order", "id"]

    def __str__(self) -> str:
        return self.text


class TestAttempt(models.Model):
    """A comprehension test taken in machidata: the answers and the score (0–100 点)."""

    __test__ = False  # not a pytest class, despite the name

    course = models.ForeignKey(Course, verbose_name="研修", on_delete=models.PROTECT, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="test_attempts")
    unit = models.ForeignKey(Unit, verbose_name="所属", null=True, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField("解答", default=dict)  # {question id: choice id}
    correct = models.PositiveSmallIntegerField("正答数")
    total = models.PositiveSmallIntegerField("問題数")
    score = models.PositiveSmallIntegerField("点数")
    passed = models.BooleanField("合格")
    taken_at = models.DateTimeField("受験日時")

    class Meta:
        verbose_name = "理解度テストの結果"
        verbose_name_plural = "理解度テストの結果"
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"{self.course.title} {self.score}点"


class CoreStaff(models.Model):
    """An entry of the コア人材 register: who, in which 課, since when, in which field."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    staff_name = models.CharField("氏名", max_length=100)
    unit = models.ForeignKey(Unit, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    since = models.DateField("登録日")
    until = models.DateField("登録終了日", null=True, blank=True)
    field = models.CharField("得意分野", max_length=200)
    note = models.CharField("備考", max_length=300, blank=True)
    is_synthetic = models.BooleanField("デモ用の合成データ", default=False)

    class Meta:
        verbose_name = "コア人材"
        verbose_name_plural = "コア人材"
        ordering = ["unit__code", "staff_name"]

    def __str__(self) -> str:
        return f"{self.staff_name}（{self.field}）"


class Headcount(models.Model):
    """The number of staff of a 課, entered by データ戦略課 (most staff have no machidata account)."""

    unit = models.OneToOneField(Unit, verbose_name="所属", on_delete=models.CASCADE, related_name="headcount")
    staff = models.PositiveIntegerField("職員数")
    as_of = models.DateField("基準日")

    class Meta:
        verbose_name = "職員数"
        verbose_name_plural = "職員数"
        ordering = ["unit__code"]

    def __str__(self) -> str:
        return f"{self.unit.name}: {self.staff}人（{self.as_of}）"


# ---- guidebooks (ガイドブック) ---------------------------------------------------------------------


class Guide(models.Model):
    """A guidebook of データ戦略課, known by its slug; its text lives in numbered versions."""

    slug = models.SlugField("識別名", max_length=60, unique=True)
    title = models.CharField("題名", max_length=200)  # mirrors the current version, for listing
    order = models.PositiveSmallIntegerField("表示順", default=0)
    current_version = models.PositiveIntegerField("現在の版", default=0)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "ガイドブック"
        verbose_name_plural = "ガイドブック"
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def current(self) -> GuideVersion | None:
        """The version in force (the latest)."""
        return self.versions.filter(number=self.current_version).first()


class GuideVersion(models.Model):
    """One saved version of a guide: its text (Markdown), its checklist and who changed what."""

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版")
    title = models.CharField("題名", max_length=200)
    body = models.TextField("本文（Markdown）")
    checklist = models.JSONField("チェックリスト", default=list, blank=True)  # [str, ...]
    note = models.CharField("変更内容", max_length=300, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("保存日時", auto_now_add=True)

    class Meta:
        verbose_name = "ガイドブックの版"
        verbose_name_plural = "ガイドブックの版"
        ordering = ["guide_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["guide", "number"], name="guide_version_once")]

    def __str__(self) -> str:
        return f"{self.title}（第{self.number}版）"


# ---- Q&A and community (質問・掲示板・よくある質問) -----------------------------------------------------


class DatasetQuestion(models.Model):
    """A question to a dataset's owner, answered in place; seen by whoever may discover the dataset."""

    dataset = models.ForeignKey(
        "catalog.Dataset", verbose_name="データセット", on_delete=models.CASCADE, related_name="questions"
    )
    body = models.TextField("質問")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    asked_at = models.DateTimeField("質問日時")
    answer = models.TextField("回答", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField("回答日時", null=True, blank=True)
    is_faq = models.BooleanField("よくある質問", default=False)
    is_synthetic = models.BooleanField("デモ用の合成データ", default=False)

    class Meta:
        verbose_name = "データへの質問"
        verbose_name_plural = "データへの質問"
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return self.body[:60]

    @property
    def is_answered(self) -> bool:
        """Whether the owner (or 管理) has answered."""
        return bool(self.answer)


class ForumTopic(models.Model):
    """A topic of the staff forum (職員どうしの掲示板), set up by 管理."""

    slug = models.SlugField("識別名", max_length=60, unique=True)
    name = models.CharField("話題", max_length=100)
    description = models.CharField("説明", max_length=300, blank=True)
    order = models.PositiveSmallIntegerField("表示順", default=0)

    class Meta:
        verbose_name = "掲示板の話題"
        verbose_name_plural = "掲示板の話題"
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ForumThread(models.Model):
    """A thread of the staff forum: a first post and its replies; ``folded`` feeds the search."""

    topic = models.ForeignKey(
        ForumTopic, verbose_name="話題", on_delete=models.PROTECT, related_name="threads"
    )
    title = models.CharField("題名", max_length=200)
    body = models.TextField("本文")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("投稿日時")
    last_post_at = models.DateTimeField("最終投稿日時")
    is_faq = models.BooleanField("よくある質問", default=False)
    folded = models.TextField(editable=False, default="")  # search.normalise.fold of title, body, replies
    is_synthetic = models.BooleanField("デモ用の合成データ", default=False)

    class Meta:
        verbose_name = "掲示板のスレッド"
        verbose_name_plural = "掲示板のスレッド"
        ordering = ["-last_post_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ForumReply(models.Model):
    """A reply in a forum thread."""

    thread = models.ForeignKey(ForumThread, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField("本文")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("投稿日時")

    class Meta:
        verbose_name = "掲示板の返信"
        verbose_name_plural = "掲示板の返信"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


# ---- case library (事例集) -------------------------------------------------------------------------


class CaseField(models.TextChoices):
    """The field a case belongs to (the strategy's reference cases use these)."""

    ECONOMY = "economy", "雇用・経済"
    HEALTH = "health", "健康・福祉"
    CHILDREN = "children", "子ども・教育"
    TRANSPORT = "transport", "交通"
    DISASTER = "disaster", "防災・危機管理"
    SAFETY = "safety", "住民生活・安全"
    ADMINISTRATION = "administration", "行政運営"
    POLICY = "policy", "政策形成プロセス"
    ENVIRONMENT = "environment", "データ分析環境"
    PEOPLE = "people", "データ人材の育成"
    OTHER = "other", "その他"


class EvidenceLevel(models.TextChoices):
    """How strong the evidence behind the case is, from describing the present to a controlled trial."""

    PRACTICE = "practice", "取組の紹介（体制・しくみ）"
    DESCRIPTIVE = "descriptive", "現状の見える化"
    COMPARISON = "comparison", "比較・傾向の分析"
    PREDICTION = "prediction", "予測・シミュレーション"
    CAUSAL = "causal", "効果検証（因果推論）"
    RCT = "rct", "ランダム化比較試験"


class CaseStatus(models.TextChoices):
    """A case is a draft of its 課 until published to all staff."""

    DRAFT = "draft", "下書き"
    PUBLISHED = "published", "公開中（庁内）"


class Case(models.Model):
    """A case of data use (事例): what data, what was learnt, what changed, and how strong the evidence is."""

    title = models.CharField("事例名", max_length=200)
    field = models.CharField("分野", max_length=20, choices=CaseField.choices)
    municipality = models.CharField("自治体", max_length=60)
    summary = models.TextField("概要", blank=True)
    data_used = models.TextField("使用データ")
    insight = models.TextField("得られた知見")
    policy_change = models.TextField("政策等の改善", blank=True)
    evidence_level = models.CharField("根拠の強さ", max_length=20, choices=EvidenceLevel.choices)
    source_title = models.CharField("出典", max_length=300, blank=True)
    source_url = models.URLField("参照URL", max_length=500, blank=True)
    datasets = models.ManyToManyField(
        "catalog.Dataset", verbose_name="関係するデータ", blank=True, related_name="cases"
    )
    # What the case built, linked where machidata holds it; each reader sees only those they may see.
    dashboards = models.ManyToManyField(
        "charts.Dashboard", verbose_name="関係するダッシュボード", blank=True, related_name="cases"
    )
    recipes = models.ManyToManyField(
        "prep.Recipe", verbose_name="関係する加工の手順", blank=True, related_name="cases"
    )
    projects = models.ManyToManyField(
        "ebpm.PlanItem", verbose_name="関係する事業（ロジックモデル）", blank=True, related_name="cases"
    )
    analyses = models.ManyToManyField(
        "analysis.Analysis", verbose_name="関係する分析", blank=True, related_name="cases"
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name="登録した課",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )  # empty: a reference case of データ戦略課 (other cities)
    status = models.CharField("状態", max_length=10, choices=CaseStatus.choices, default=CaseStatus.DRAFT)
    copied_from = models.ForeignKey(
        "self",
        verbose_name="横展開の元になった事例",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    is_reference = models.BooleanField("戦略の参考事例", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)
    folded = models.TextField(editable=False, default="")  # search.normalise.fold of the text fields

    class Meta:
        verbose_name = "事例"
        verbose_name_plural = "事例"
        ordering = ["-is_reference", "field", "municipality", "id"]

    def __str__(self) -> str:
        return f"{self.municipality}: {self.title}"


class SyntheticUsage(models.Model):
    """Invented monthly usage figures of one 局 for the demo (「デモ用の合成データ」), never audit events.

    The usage figures read the audit log, which is hash-chained and must only hold what happened; a
    demo's year of activity is kept here instead, added to the figures and labelled on every page.
    """

    month = models.DateField("月（1日）")
    bureau = models.ForeignKey(Unit, verbose_name="局", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField("項目", max_length=30)
    count = models.PositiveIntegerField("件数")

    class Meta:
        verbose_name = "合成の利用件数（デモ用）"
        verbose_name_plural = "合成の利用件数（デモ用）"
        constraints = [
            models.UniqueConstraint(fields=["month", "bureau", "metric"], name="synthetic_usage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.bureau_id} {self.metric}={self.count}"
