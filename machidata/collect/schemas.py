"""JSON shapes of the campaign API (/api/v1/campaigns)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class CampaignIn(Schema):
    """A new campaign: the table (``dataset-slug/table-name``), a deadline, recipients (unit ids and/or facility names)."""

    table: str
    title: str
    deadline: dt.date
    instructions: str = ""
    units: list[int] = []
    facilities: list[str] = []
    repeat: str = "none"
    data_request: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="この照会で応えるデータの要望の番号（データが届くと回答済みにします）",
    )


class CampaignRecipientOut(Schema):
    """One recipient and where it stands."""

    id: int
    name: str
    unit: str | None
    status: str
    rows: int
    answered_at: dt.datetime | None
    template_url: str


class CampaignProgressOut(Schema):
    """Counts per recipient status."""

    total: int
    answered: int
    needs_fix: int
    waiting: int
    percent: int


class CampaignOut(Schema):
    """A campaign with its progress and the recipients the caller may see."""

    id: int
    title: str
    table: str
    unit: str
    deadline: dt.date
    instructions: str
    status: str
    columns: list[dict[str, Any]]
    is_synthetic: bool
    repeat: str
    previous: int | None
    created_at: dt.datetime
    progress: CampaignProgressOut | None
    recipients: list[CampaignRecipientOut]


class CampaignSummaryOut(Schema):
    """A campaign in the list."""

    id: int
    title: str
    table: str
    unit: str
    deadline: dt.date
    status: str
    recipients: int
    answered: int


class CampaignSubmissionOut(Schema):
    """The outcome of a return (rejected returns answer 400 with the same message and report)."""

    id: int
    recipient: str
    status: str
    rows: int
    replaced_rows: int
    message: str
    version: int | None
    report: dict[str, Any]


class CampaignRowsIn(Schema):
    """A few rows typed by hand: each maps the template's headers to text."""

    rows: list[dict[str, Any]]


class ScheduleIn(Schema):
    """A scheduled import into a table (``dataset-slug/table-name``).

    ``kind``: ``folder`` (a folder under the import root and a file-name pattern), ``url`` (a file's address),
    ``ckan`` (a CKAN portal's address, a dataset id and a resource name or format) or ``estat`` (a
    statistics CSV's address). ``mode``: append/replace (default: append for folders, replace otherwise).
    """

    table: str = Field(..., max_length=300)
    kind: str = Field("folder", max_length=10, description="folder・url・ckan・estat")
    folder: str = Field("", max_length=500)
    pattern: str = Field("*.csv", max_length=100)
    url: str = Field("", max_length=1000, description="URL（url・estat: ファイル、ckan: ポータル）")
    ckan_dataset: str = Field("", max_length=200)
    ckan_resource: str = Field("", max_length=200, description="リソースの名前・ID・形式（CSVなど）")
    mode: str | None = Field(None, max_length=10, description="append・replace")
    data_request: int | None = Field(
        None,
        ge=1,
        le=2_147_483_647,
        description="この取り込みで応えるデータの要望の番号（最初のファイルで回答済み）",
    )


class ScheduleFileOut(Schema):
    """A file the import has seen."""

    name: str
    status: str
    rows: int | None
    version: int | None
    message: str
    created_at: dt.datetime


class ScheduleOut(Schema):
    """A folder import with its last check and (on the detail) the files it has seen."""

    id: int
    table: str
    kind: str
    folder: str
    pattern: str
    url: str
    ckan_dataset: str
    ckan_resource: str
    mode: str
    active: bool
    last_checked_at: dt.datetime | None
    last_error: str
    files: list[ScheduleFileOut]


class ScheduleScanOut(Schema):
    """What a check did."""

    ingested: list[str]
    failed: list[str]
    error: str


# ---- alerts (/api/v1/alerts) ------------------------------------------------------------------------------


class AlertRuleIn(Schema):
    """A new rule on a chart (its uuid) or an indicator (its id): one of the two."""

    chart: str | None = Field(None, max_length=64, description="グラフのUUID")
    indicator: int | None = Field(None, ge=1, le=2_147_483_647, description="検証指標の番号")
    condition: str = Field(..., max_length=20, description="above・below・change・forecast・updated")
    series: str = Field("", max_length=200, description="線が分かれたグラフで見る系列")
    threshold: float | None = Field(None, description="しきい値（above・below）")
    percent: float | None = Field(None, description="変化率（%、change）")
    cooldown_hours: int = Field(24, ge=0, le=2160, description="通知の間隔（時間）")


class AlertRuleOut(Schema):
    """One of the caller's rules and where it stands."""

    id: int
    subject: str = Field(..., alias="subject_label")
    chart: str | None
    indicator: int | None = Field(None, alias="indicator_id")
    series: str
    condition: str
    condition_label: str
    threshold: float | None
    percent: float | None
    cooldown_hours: int
    state: str
    last_period: str
    last_value: float | None
    last_evaluated_at: dt.datetime | None
    last_notified_at: dt.datetime | None
    problem: str
    created_at: dt.datetime

    @staticmethod
    def resolve_chart(obj: Any) -> str | None:
        return str(obj.chart.uuid) if obj.chart is not None else None


class AlertOut(Schema):
    """One crossing of a rule: notified, or within the cool-down (``notified`` false)."""

    id: int
    rule: int = Field(..., alias="rule_id")
    subject: str
    period: str
    value: float | None
    message: str
    notified: bool
    fired_at: dt.datetime

    @staticmethod
    def resolve_subject(obj: Any) -> str:
        return str(obj.rule.subject_label)


class EmailPreferenceIn(Schema):
    """How the caller wants notice e-mails."""

    mode: str = Field(..., max_length=20, description="immediate・digest・off")


class EmailPreferenceOut(Schema):
    """How the caller gets notice e-mails."""

    mode: str
    label: str


class OpenDataCkanIn(Schema):
    """Read a CKAN portal (all its packages, or one organisation's) for an open-data import."""

    url: str = Field(..., max_length=1000, description="CKANポータルのURL（取り込みを許されたサーバー）")
    organization: str = Field("", max_length=100, description="組織のURL名（空欄ならすべて）")
    owner: str = Field(
        ..., max_length=40, description="所管課が書かれていないデータセットの所管課（所属コード）"
    )
    fetch_files: bool = Field(True, description="CSV・Excelのファイルも表として取り込む")
    schedule: bool = Field(False, description="取り込んだファイルの定期取り込みも設定する")
    run: bool = Field(False, description="確認だけでなく、そのまま取り込みを始める")


class OpenDataRunOut(Schema):
    """An open-data import: the source, the preview and (once run) the outcome, per dataset."""

    id: int
    origin: str
    source: str
    scope: str
    owner: str
    fetch_files: bool
    schedule: bool
    datasets: int
    state: str = Field(description="previewed（確認のみ）・running（取り込み中）・done（取り込み済み）")
    job: int | None
    counts: dict[str, int]
    plans: list[dict[str, Any]]
    created_at: dt.datetime
    finished_at: dt.datetime | None
