"""Forms of the campaign pages: start a campaign, upload a return."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from machidata.access.models import Unit, UnitKind
from machidata.catalog.models import Table
from machidata.collect.models import AlertCondition, ImportKind, ImportMode, Repeat
from machidata.notify.models import EmailMode


class CampaignForm(forms.Form):
    """Start a 照会 on a table the actor may edit."""

    table = forms.ModelChoiceField(
        label="集める表", queryset=Table.objects.none(), empty_label="表を選んでください"
    )
    title = forms.CharField(label="照会の名前", max_length=200)
    deadline = forms.DateField(label="締切日", widget=forms.DateInput(attrs={"type": "date"}))
    repeat = forms.ChoiceField(
        label="繰り返し",
        choices=Repeat.choices,
        initial=Repeat.NONE,
        required=False,
        help_text="毎月・毎年にすると、締切日の翌日に次の回の照会を同じ回答先に自動で始めます。",
    )
    instructions = forms.CharField(
        label="記入のお願い", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    units = forms.ModelMultipleChoiceField(
        label="回答先（課・区役所）",
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Ctrl キーを押しながら選ぶと、複数選べます。",
    )
    facilities = forms.CharField(
        label="回答先（施設などの名前）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="学校や保育所など、1行に1つずつ書いてください。",
    )
    # A data request (データの要望) this campaign answers when the first return arrives (from ?data_request=).
    data_request = forms.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, tables: QuerySet[Table], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["table"].queryset = tables  # type: ignore[attr-defined]
        self.fields["table"].label_from_instance = lambda t: f"{t.dataset.title} / {t.title}"  # type: ignore[attr-defined]
        self.fields["units"].queryset = (  # type: ignore[attr-defined]
            Unit.objects.active_on()
            .filter(kind__in=[UnitKind.DIVISION, UnitKind.WARD_OFFICE])
            .order_by("code")
        )

    def facility_names(self) -> list[str]:
        """The facility lines, blank lines dropped."""
        return [
            line.strip() for line in (self.cleaned_data.get("facilities") or "").splitlines() if line.strip()
        ]


class ReturnUploadForm(forms.Form):
    """A filled-in template."""

    file = forms.FileField(label="記入した様式（.xlsx）")


class ImportSourceForm(forms.Form):
    """Feed a table from a folder under the import root, an internal URL, a CKAN portal or a statistics CSV."""

    table = forms.ModelChoiceField(
        label="取り込む表", queryset=Table.objects.none(), empty_label="表を選んでください"
    )
    kind = forms.ChoiceField(
        label="取り込み元", choices=ImportKind.choices, initial=ImportKind.FOLDER, required=False
    )
    folder = forms.CharField(
        label="フォルダ（共有フォルダのとき）",
        max_length=500,
        required=False,
        help_text="取り込み用フォルダの中の場所（例: kenkou/riyousha）",
    )
    pattern = forms.CharField(
        label="ファイル名のパターン（共有フォルダのとき）", max_length=100, initial="*.csv", required=False
    )
    url = forms.CharField(
        label="URL（URL・CKAN・統計表のとき）",
        max_length=1000,
        required=False,
        help_text="ファイルのURL。CKANのときはポータルのURL（例: https://opendata.city.local/）。庁内の許可されたサーバーだけ使えます。",
    )
    ckan_dataset = forms.CharField(label="CKANのデータセットID", max_length=200, required=False)
    ckan_resource = forms.CharField(
        label="CKANのリソース名または形式",
        max_length=200,
        required=False,
        help_text="リソースの名前（例: 人口.csv）か形式（例: CSV）。",
    )
    mode = forms.ChoiceField(
        label="取り込み方法",
        choices=ImportMode.choices,
        initial=ImportMode.APPEND,
        help_text="URL・CKAN・統計表は、ふつう「置き換え」（毎回ファイル全体が最新版のため）。",
    )
    # A data request (データの要望) this import answers when its first file enters the table (?data_request=).
    data_request = forms.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, tables: QuerySet[Table], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["table"].queryset = tables  # type: ignore[attr-defined]
        self.fields["table"].label_from_instance = lambda t: f"{t.dataset.title} / {t.title}"  # type: ignore[attr-defined]


class AlertRuleForm(forms.Form):
    """An alert rule on a chart or an indicator the actor may see (one of the two)."""

    chart = forms.ChoiceField(label="グラフ", required=False)
    indicator = forms.ChoiceField(label="または 検証指標", required=False)
    series = forms.CharField(
        label="系列",
        required=False,
        max_length=200,
        help_text="線が色分けされたグラフのとき、見る線の名前（例: 中央区）。それ以外は空欄のまま。",
    )
    condition = forms.ChoiceField(label="知らせる条件", choices=AlertCondition.choices)
    threshold = forms.FloatField(
        label="しきい値", required=False, help_text="「上回ったら」「下回ったら」の値。"
    )
    percent = forms.FloatField(
        label="変化率（%）",
        required=False,
        help_text="「N% 以上変わったら」の N（増えても減っても知らせます）。",
    )
    cooldown_hours = forms.IntegerField(
        label="通知の間隔（時間）",
        min_value=0,
        max_value=2160,
        initial=24,
        help_text="知らせてからこの時間のうちは、また条件を満たしても記録だけして知らせません。",
    )

    def __init__(
        self, *args: Any, charts: list[tuple[str, str]], indicators: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["chart"].choices = [("", "（グラフを選ばない）"), *charts]  # type: ignore[attr-defined]
        self.fields["indicator"].choices = [("", "（指標を選ばない）"), *indicators]  # type: ignore[attr-defined]


class EmailPreferenceForm(forms.Form):
    """How the actor gets notice e-mails."""

    mode = forms.ChoiceField(
        label="お知らせメールの受け取り方", choices=EmailMode.choices, widget=forms.RadioSelect
    )


class OpenDataForm(forms.Form):
    """Bring in what is already published: an オープンデータ一覧 file or a CKAN portal."""

    origin = forms.ChoiceField(
        label="取り込み元",
        choices=[("list", "オープンデータ一覧（CSV・Excel）"), ("ckan", "CKANポータル")],
        initial="list",
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label="オープンデータ一覧のファイル（一覧のとき）",
        required=False,
        help_text="推奨データセット「オープンデータ一覧」の形のCSV（UTF-8・Shift_JIS）かExcel。表題の行があってもかまいません。",
    )
    url = forms.CharField(
        label="CKANポータルのURL（CKANのとき）",
        max_length=1000,
        required=False,
        help_text="例: https://opendata.city.local/ 。取り込みを許されたサーバーだけ使えます。",
    )
    organization = forms.CharField(
        label="CKANの組織（任意）",
        max_length=100,
        required=False,
        help_text="ポータルの組織のURL名（例: 431001）。空欄ならポータルのすべてのデータセットです。",
    )
    owner = forms.ModelChoiceField(
        label="所管課（一覧に所管課がないとき）",
        queryset=Unit.objects.none(),
        empty_label="課を選んでください",
        help_text="一覧やポータルに所管課が書かれていない、または組織にないデータセットはこの課の所管になります。",
    )
    fetch_files = forms.BooleanField(
        label="CSV・Excelのファイルも表として取り込む", required=False, initial=True
    )
    schedule = forms.BooleanField(
        label="取り込んだファイルの定期取り込み（15分ごとの確認）も設定する", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = Unit.objects.active_on().filter(kind=UnitKind.DIVISION).order_by("code")
        self.fields["owner"].queryset = units  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("origin") == "list" and not data.get("file"):
            self.add_error("file", "オープンデータ一覧のファイルを選んでください。")
        if data.get("origin") == "ckan" and not (data.get("url") or "").strip():
            self.add_error("url", "CKANポータルのURLを書いてください。")
        return data
