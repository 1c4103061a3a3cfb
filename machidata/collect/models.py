"""照会 (collection campaigns): a campaign on one table, its recipients, their returns and the reminders sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from machidata.access.models import Unit
from machidata.catalog.models import Dataset, Table, TableVersion

# Columns a campaign adds to its table so every row says who sent it (see docs/guide/collect.md).
SENDER_COLUMN = "回答元"
CAMPAIGN_COLUMN = "照会番号"
SYSTEM_COLUMNS = (SENDER_COLUMN, CAMPAIGN_COLUMN)


class CampaignStatus(models.TextChoices):
    """Whether a campaign still takes returns."""

    OPEN = "open", "受付中"
    CLOSED = "closed", "締め切り済み"


class Repeat(models.TextChoices):
    """Whether a campaign starts again by itself after its deadline."""

    NONE = "none", "繰り返さない"
    MONTHLY = "monthly", "毎月"
    YEARLY = "yearly", "毎年"


class Campaign(models.Model):
    """A 照会: the data owner asks recipients to fill one table's 項目定義 by a deadline."""

    title = models.CharField("照会の名前", max_length=200)
    table = models.ForeignKey(Table, verbose_name="集める表", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, verbose_name="照会する課", on_delete=models.PROTECT, related_name="+")
    instructions = models.TextField("記入のお願い", blank=True)
    deadline = models.DateField("締切日")
    status = models.CharField(
        "状態", max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    # The template's columns as they were when the campaign started: returns are checked against these.
    columns = models.JSONField("様式の列", default=list)
    is_synthetic = models.BooleanField("合成データ（デモ用）", default=False)
    repeat = models.CharField("繰り返し", max_length=10, choices=Repeat.choices, default=Repeat.NONE)
    # The campaign this one repeats: one follower at most, so the schedule never starts a period twice.
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_campaign"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "照会"
        verbose_name_plural = "照会"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def dataset(self) -> Dataset:
        """The dataset of the collected table."""
        return self.table.dataset


class RecipientStatus(models.TextChoices):
    """Where a recipient stands."""

    WAITING = "waiting", "未回答"
    NEEDS_FIX = "needs_fix", "要修正"
    ANSWERED = "answered", "回答済み"


class Recipient(models.Model):
    """One recipient of a campaign: a 課 / 区役所 of the organisation tree, or a named facility (a school …)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    name = models.CharField("回答先", max_length=200)
    unit = models.ForeignKey(
        Unit, verbose_name="組織", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        "状態", max_length=10, choices=RecipientStatus.choices, default=RecipientStatus.WAITING
    )
    rows = models.PositiveIntegerField("受け付けた行数", default=0)
    answered_at = models.DateTimeField("回答日時", null=True, blank=True)

    class Meta:
        verbose_name = "照会の回答先"
        verbose_name_plural = "照会の回答先"
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="collect_recipient_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} → {self.name}"


class SubmissionStatus(models.TextChoices):
    """The outcome of one return."""

    ACCEPTED = "accepted", "受付"
    REJECTED = "rejected", "差し戻し"


class Submission(models.Model):
    """One return (an uploaded template or the web form), accepted as a version or rejected with its report."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="submissions")
    status = models.CharField("結果", max_length=10, choices=SubmissionStatus.choices)
    source_name = models.CharField("ファイル名", max_length=300, blank=True)
    rows = models.PositiveIntegerField("行数", default=0)
    message = models.TextField("結果の説明", blank=True)
    # The validation report of ingestion (ValidationReport.to_dict()) when values broke the 項目定義.
    report = models.JSONField("確認結果", default=dict, blank=True)
    version = models.ForeignKey(
        TableVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaced_rows = models.PositiveIntegerField("置き換えた前回の行数", default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField("提出日時", auto_now_add=True)

    class Meta:
        verbose_name = "照会の回答"
        verbose_name_plural = "照会の回答"
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.recipient} {self.get_status_display()}"


class ReminderKind(models.TextChoices):
    """Which reminder was sent."""

    BEFORE = "before", "締切前のお知らせ"
    AFTER = "after", "締切後の督促"


class Reminder(models.Model):
    """A reminder sent to one recipient: at most one per kind (the unique constraint makes it exactly once)."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField("種類", max_length=10, choices=ReminderKind.choices)
    sent_at = models.DateTimeField("送信日時", auto_now_add=True)

    class Meta:
        verbose_name = "照会のお知らせ"
        verbose_name_plural = "照会のお知らせ"
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind"], name="collect_reminder_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.get_kind_display()}"


class FreshnessReminder(models.Model):
    """An overdue notice sent to a dataset's owner: once per due date."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    due = models.DateField("更新予定日")
    sent_at = models.DateTimeField("送信日時", auto_now_add=True)

    class Meta:
        verbose_name = "更新遅れのお知らせ"
        verbose_name_plural = "更新遅れのお知らせ"
        constraints = [
            models.UniqueConstraint(fields=["dataset", "due"], name="collect_freshness_once_per_due")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.due}"


class ImportMode(models.TextChoices):
    """How a picked-up file becomes a version."""

    APPEND = "append", "追加"
    REPLACE = "replace", "置き換え"


class ImportKind(models.TextChoices):
    """Where a scheduled import reads from."""

    FOLDER = "folder", "共有フォルダ"
    URL = "url", "庁内のURL"
    CKAN = "ckan", "他のCKANポータル"
    ESTAT = "estat", "統計表（e-Stat形式のCSV）"


class ImportSource(models.Model):
    """A source whose new files are ingested into a table on a schedule.

    ``folder``: a folder under MACHIDATA_IMPORT_ROOT (new files picked up). ``url`` / ``estat``: an http(s)
    address on an allowed host (MACHIDATA_IMPORT_URL_HOSTS), fetched with a conditional GET. ``ckan``: a
    resource of a dataset on another CKAN portal, found with ``package_show``, then fetched as a URL.
    """

    table = models.ForeignKey(Table, verbose_name="取り込む表", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        "取り込み元", max_length=10, choices=ImportKind.choices, default=ImportKind.FOLDER
    )
    folder = models.CharField(
        "フォルダ",
        max_length=500,
        blank=True,
        help_text="取り込み用フォルダの中の場所（例: kenkou/riyousha）",
    )
    url = models.CharField(
        "URL", max_length=1000, blank=True, help_text="ファイルのURL、またはCKANポータルのURL"
    )
    ckan_dataset = models.CharField("CKANのデータセットID", max_length=200, blank=True)
    ckan_resource = models.CharField(
        "CKANのリソース名または形式", max_length=200, blank=True, help_text="例: 人口.csv、または CSV"
    )
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # CKAN: the resource's url and last_modified when last fetched (the same again: not fetched again).
    remote_version = models.CharField(max_length=1200, blank=True)
    pattern = models.CharField("ファイル名のパターン", max_length=100, default="*.csv")
    mode = models.CharField(
        "取り込み方法", max_length=10, choices=ImportMode.choices, default=ImportMode.APPEND
    )
    active = models.BooleanField("有効", default=True)
    last_checked_at = models.DateTimeField("最後に確認した日時", null=True, blank=True)
    last_error = models.TextField("最後のエラー", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)

    class Meta:
        verbose_name = "定期取り込み"
        verbose_name_plural = "定期取り込み"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.where} → {self.table}"

    @property
    def where(self) -> str:
        """Where it reads from, in one line."""
        if self.kind == ImportKind.FOLDER:
            return f"{self.folder}/{self.pattern}"
        if self.kind == ImportKind.CKAN:
            return f"{self.url} のデータセット「{self.ckan_dataset}」の「{self.ckan_resource}」"
        return self.url


class ImportedFileStatus(models.TextChoices):
    """The outcome of one picked-up file."""

    INGESTED = "ingested", "取り込み済み"
    FAILED = "failed", "失敗"


class ImportedFile(models.Model):
    """A file an import picked up (by content): ingested as a version, or failed with the reason; never retried unchanged."""

    source = models.ForeignKey(ImportSource, on_delete=models.CASCADE, related_name="files")
    name = models.CharField("ファイル名", max_length=300)
    sha256 = models.CharField(max_length=64)
    status = models.CharField("結果", max_length=10, choices=ImportedFileStatus.choices)
    rows = models.BigIntegerField("行数", null=True, blank=True)
    version = models.ForeignKey(
        TableVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField("結果の説明", blank=True)
    created_at = models.DateTimeField("日時", auto_now_add=True)

    class Meta:
        verbose_name = "取り込んだファイル"
        verbose_name_plural = "取り込んだファイル"
        ordering = ["-created_at", "-id"]
        # Not unique per content: a URL's content may come back (A → B → A) and is a new version then.
        indexes = [models.Index(fields=["source", "sha256"], name="collect_imported_file_sha")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_status_display()}）"


class Watch(models.Model):
    """A member of staff watching a dataset: told when any of its tables gets a new version (版)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        verbose_name = "見守り"
        verbose_name_plural = "見守り"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "dataset"], name="collect_watch_once")]

    def __str__(self) -> str:
        return f"{self.user} → {self.dataset}"


class AlertCondition(models.TextChoices):
    """What an alert rule looks for in the newest value of a chart or an indicator."""

    ABOVE = "above", "しきい値を上回ったら"
    BELOW = "below", "しきい値を下回ったら"
    CHANGE = "change", "前の期間から N% 以上変わったら"
    FORECAST = "forecast", "予測の範囲（95%予測区間）を外れたら"
    UPDATED = "updated", "新しい値が入ったら（見守り）"


class AlertState(models.TextChoices):
    """Armed: the next crossing fires. Fired: it has fired and waits for the value to go back."""

    ARMED = "armed", "待機中"
    FIRED = "fired", "条件を満たしています"


class AlertRule(models.Model):
    """A member of staff's rule on a chart or an EBPM indicator, evaluated when new data arrives.

    Fires once per crossing: ``armed`` → (condition met) → ``fired`` → (condition no longer met) → ``armed``.
    A crossing within ``cooldown_hours`` of the last notice is recorded without a notice.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    chart = models.ForeignKey(
        "charts.Chart",
        verbose_name="グラフ",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    indicator = models.ForeignKey(
        "ebpm.Indicator",
        verbose_name="指標",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # For a chart with a colour key (several lines): which line the rule watches.
    series = models.CharField("系列", max_length=200, blank=True)
    condition = models.CharField("条件", max_length=10, choices=AlertCondition.choices)
    threshold = models.FloatField("しきい値", null=True, blank=True)
    percent = models.FloatField("変化率（%）", null=True, blank=True)
    cooldown_hours = models.PositiveIntegerField("通知の間隔（時間）", default=24)
    state = models.CharField("状態", max_length=6, choices=AlertState.choices, default=AlertState.ARMED)
    last_period = models.CharField("最後に見た期間", max_length=100, blank=True)
    last_value = models.FloatField("最後に見た値", null=True, blank=True)
    last_evaluated_at = models.DateTimeField("最後に確かめた日時", null=True, blank=True)
    last_notified_at = models.DateTimeField("最後に知らせた日時", null=True, blank=True)
    problem = models.CharField("確かめられない理由", max_length=500, blank=True)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)

    class Meta:
        verbose_name = "アラートの条件"
        verbose_name_plural = "アラートの条件"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(chart__isnull=False, indicator__isnull=True)
                | models.Q(chart__isnull=True, indicator__isnull=False),
                name="collect_alert_rule_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_label}: {self.condition_label}"

    @property
    def subject_label(self) -> str:
        """「グラフ「…」」 or 「指標「…」」."""
        if self.chart_id:
            return f"グラフ「{self.chart.title}」" + (f"の「{self.series}」" if self.series else "")  # type: ignore[union-attr]
        return f"指標「{self.indicator.name}」"  # type: ignore[union-attr]

    @property
    def condition_label(self) -> str:
        """The condition in words, e.g. 「100 を上回ったら」."""
        if self.condition == AlertCondition.ABOVE:
            return f"{self.threshold:g} を上回ったら"
        if self.condition == AlertCondition.BELOW:
            return f"{self.threshold:g} を下回ったら"
        if self.condition == AlertCondition.CHANGE:
            return f"前の期間から {self.percent:g}% 以上変わったら"
        return str(self.get_condition_display())


class Alert(models.Model):
    """One crossing of a rule: notified, or recorded silently because it came within the cool-down."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    period = models.CharField("期間", max_length=100, blank=True)
    value = models.FloatField("値", null=True, blank=True)
    message = models.CharField("内容", max_length=500)
    notified = models.BooleanField("通知した", default=True)
    fired_at = models.DateTimeField("日時", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "アラート"
        verbose_name_plural = "アラート"
        ordering = ["-fired_at", "-id"]

    def __str__(self) -> str:
        return self.message[:80]


class RequestFollowUp(models.Model):
    """A data request (データの要望) answered by a 照会 or a scheduled import: closed (回答済み) when the first
    return is accepted, or when the import first brings a file into the table. Exactly one of the two is set."""

    data_request = models.ForeignKey(
        "datarequests.DataRequest", verbose_name="データの要望", on_delete=models.CASCADE, related_name="+"
    )
    campaign = models.OneToOneField(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="follow_up"
    )
    import_source = models.OneToOneField(
        ImportSource, null=True, blank=True, on_delete=models.CASCADE, related_name="follow_up"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    closed_at = models.DateTimeField("要望を閉じた日時", null=True, blank=True)
    close_note = models.CharField("閉じたときの説明", max_length=500, blank=True)

    class Meta:
        verbose_name = "データの要望からの照会・定期取り込み"
        verbose_name_plural = "データの要望からの照会・定期取り込み"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(campaign__isnull=False, import_source__isnull=True)
                | models.Q(campaign__isnull=True, import_source__isnull=False),
                name="collect_followup_campaign_xor_import",
            )
        ]

    def __str__(self) -> str:
        if self.campaign_id is not None:
            return f"要望{self.data_request_id} → 照会{self.campaign_id}"
        return f"要望{self.data_request_id} → 定期取り込み{self.import_source_id}"


# ---- bringing in what is already published (オープンデータの移行) -----------------------------------------


class OpenDataOrigin(models.TextChoices):
    """Where an open-data import reads its list of datasets."""

    LIST = "list", "オープンデータ一覧（CSV・Excel）"
    CKAN = "ckan", "CKANポータル"


class OpenDataRun(models.Model):
    """One open-data import: its source, the preview (dry run) and, once run, the outcome per dataset."""

    origin = models.CharField("取り込み元の種類", max_length=10, choices=OpenDataOrigin.choices)
    source = models.CharField("取り込み元", max_length=1000, help_text="ファイル名、またはCKANポータルのURL")
    # The portal's organisation (CKAN) or the list's 地方公共団体コード: part of every entry's stable key.
    scope = models.CharField("範囲", max_length=200, blank=True)
    owner = models.ForeignKey(
        Unit, verbose_name="所管課（列にない場合）", on_delete=models.PROTECT, related_name="+"
    )
    fetch_files = models.BooleanField("ファイルも取り込む", default=True)
    schedule = models.BooleanField("定期取り込みも設定する", default=False)
    # The datasets as read from the source (JSON), so the run does exactly what the preview showed.
    listed = models.JSONField(default=list, blank=True)
    preview = models.JSONField("確認結果", default=dict, blank=True)
    result = models.JSONField("取り込み結果", default=dict, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    finished_at = models.DateTimeField("完了日時", null=True, blank=True)

    class Meta:
        verbose_name = "オープンデータの取り込み"
        verbose_name_plural = "オープンデータの取り込み"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_origin_display()} {self.source[:80]}"


class OpenDataEntry(models.Model):
    """A catalog entry that came from an open-data list or portal, matched on the source's stable key."""

    origin = models.CharField(
        "取り込み元", max_length=300, help_text="ckan:<ポータル> または list:<団体コード>"
    )
    key = models.CharField(
        "元の識別子", max_length=300, help_text="CKANのパッケージID、一覧のNO・URL（長いものはハッシュ）"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    page_url = models.URLField("元の公開ページ", max_length=1000, blank=True)
    # The metadata last taken from the source (codes, not objects): a re-run changes only what the source
    # changed since, so an edit made in machidata is not undone by the next run of an unchanged list.
    imported = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "取り込んだオープンデータ"
        verbose_name_plural = "取り込んだオープンデータ"
        constraints = [models.UniqueConstraint(fields=["origin", "key"], name="collect_opendata_entry_key")]

    def __str__(self) -> str:
        return f"{self.origin} {self.key}"


class OpenDataResource(models.Model):
    """One file of an imported entry: the table it feeds (CSV/Excel) or only its link, and what was last taken."""

    entry = models.ForeignKey(OpenDataEntry, on_delete=models.CASCADE, related_name="resources")
    key = models.CharField(
        "元の識別子", max_length=300, help_text="CKANのリソースID、またはURL（長いものはハッシュ）"
    )
    name = models.CharField("名前", max_length=300, blank=True)
    url = models.URLField("URL", max_length=1000)
    format = models.CharField("形式", max_length=40, blank=True)
    table = models.ForeignKey(Table, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    remote_version = models.CharField(max_length=1200, blank=True)  # CKAN url|last_modified, or a hash
    sha256 = models.CharField(max_length=64, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "取り込んだオープンデータのファイル"
        verbose_name_plural = "取り込んだオープンデータのファイル"
        constraints = [models.UniqueConstraint(fields=["entry", "key"], name="collect_opendata_resource_key")]

    def __str__(self) -> str:
        return self.name or self.url
