"""JSON shapes of the catalog API (/api/v1/datasets): what goes out, what comes in, with Japanese validation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from machidata.access.models import Classification, PersonalData, Unit
from machidata.access.policy import Action, Actor, allowed_actions
from machidata.catalog.models import Dataset, Frequency, Location, Source
from machidata.core.markdown import render_markdown
from machidata.core.schemas import ErrorOut, Offset

# Descriptions are Markdown without a column limit in the database; this keeps one request bounded.
MAX_DESCRIPTION = 20_000
MAX_KEYWORD_ITEMS = 100  # the service enforces the real rule (30); this only bounds the payload
MAX_FORMAT_ITEMS = 50
DEFAULT_LIMIT = 20  # list page size
MAX_LIMIT = 100

# Labels used in messages: the words on the edit page, so a message names the field the user sees.
_LABELS: dict[str, str] = {
    "identifier": "識別子",
    "slug": "URL名",
    "title": "タイトル",
    "title_en": "英語タイトル",
    "description": "説明",
    "description_en": "英語の説明",
    "owner": "データ所有者（所管課）",
    "contact_email": "問い合わせ先メール",
    "contact_phone": "問い合わせ先電話",
    "category": "分野",
    "location_detail": "所在の詳細",
    "source_detail": "出典の詳細",
    "licence": "ライセンス",
    "spatial": "対象地域",
    "lg_code": "全国地方公共団体コード",
    "classification": "公開区分（機密性）",
    "personal_data": "個人情報の区分",
    "location": "データの所在",
    "frequency": "更新頻度",
    "source": "出典",
    "reason": "廃止の理由",
}


def _model_max(name: str) -> int:
    """The column's max_length, so the API and the database cannot disagree."""
    field = Dataset._meta.get_field(name)
    max_length = getattr(field, "max_length", None)
    assert max_length is not None  # only called for CharFields
    return int(max_length)


# Text fields and their limits (codes of owner/category/licence are bounded by their own columns).
TEXT_LIMITS: dict[str, int] = {
    "identifier": _model_max("identifier"),
    "slug": _model_max("slug"),
    "title": _model_max("title"),
    "title_en": _model_max("title_en"),
    "description": MAX_DESCRIPTION,
    "description_en": MAX_DESCRIPTION,
    "owner": int(Unit._meta.get_field("code").max_length or 32),
    "contact_email": _model_max("contact_email"),
    "contact_phone": _model_max("contact_phone"),
    "category": 40,
    "licence": 40,
    "location_detail": _model_max("location_detail"),
    "source_detail": _model_max("source_detail"),
    "spatial": _model_max("spatial"),
    "lg_code": _model_max("lg_code"),
}

CHOICES: dict[str, list[str]] = {
    "classification": [c.value for c in Classification],
    "personal_data": [p.value for p in PersonalData],
    "location": [c.value for c in Location],
    "frequency": [c.value for c in Frequency],
    "source": [c.value for c in Source],
}


def _check_length(name: str, value: Any) -> Any:
    limit = TEXT_LIMITS[name]
    if isinstance(value, str) and len(value) > limit:
        raise PydanticCustomError(
            "too_long",
            "{label}は{limit}文字以内で入力してください（{length}文字あります）。",
            {"label": _LABELS[name], "limit": limit, "length": len(value)},
        )
    return value


def _check_choice(name: str, value: Any) -> Any:
    if value is not None and value not in CHOICES[name]:
        raise PydanticCustomError(
            "invalid_choice",
            "{label}は次のいずれかで指定してください: {choices}",
            {"label": _LABELS[name], "choices": ", ".join(CHOICES[name])},
        )
    return value


def _choice_field(name: str, default: Any) -> Any:
    """A string field whose OpenAPI schema lists the allowed values (checked by a validator in Japanese)."""
    enum: list[Any] = list(CHOICES[name])
    return Field(default, json_schema_extra={"enum": enum}, description=_LABELS[name])


# ---- out -----------------------------------------------------------------------------------------


class OwnerOut(Schema):
    """データ所有者（所管課）."""

    code: str
    name: str
    full_name: str


class CategoryOut(Schema):
    """分野."""

    code: str
    name: str


class LicenceOut(Schema):
    """ライセンス."""

    code: str
    name: str
    url: str


class ContactOut(Schema):
    """問い合わせ先."""

    email: str
    phone: str


class TemporalOut(Schema):
    """対象期間 (either end may be open)."""

    start: dt.date | None
    end: dt.date | None


class DatasetOut(Schema):
    """One catalog entry as the actor may see it."""

    identifier: str
    slug: str
    title: str
    title_en: str
    description: str
    description_html: str = Field(description="説明を Markdown から変換し、無害化した HTML")
    owner: OwnerOut
    contact: ContactOut
    category: CategoryOut | None
    keywords: list[str]
    formats: list[CategoryOut]
    classification: str
    classification_label: str
    personal_data: str
    personal_data_label: str
    discoverable: bool
    location: str
    location_label: str
    location_detail: str
    frequency: str
    frequency_label: str
    source: str
    source_label: str
    source_detail: str
    licence: LicenceOut | None
    temporal: TemporalOut
    spatial: str
    lg_code: str
    is_synthetic: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    retired_at: dt.datetime | None
    retired_reason: str
    lock_version: int = Field(description="更新（PATCH）のときにそのまま送り返す値（楽観的ロック）")
    limited: bool = Field(
        description="機密のデータセットで、存在だけを示している（説明・所在などを伏せている）とき true"
    )
    allowed_actions: list[str] = Field(
        description="この利用者に許されている操作（discover/read/edit/administer）"
    )


def dataset_out(dataset: Dataset, *, actor: Actor) -> dict[str, Any]:
    """The API view of one dataset for ``actor`` (a 機密 entry shown only as existing hides its details)."""
    actions = allowed_actions(actor, dataset)
    # A 機密 entry that staff may only discover shows its title and 所管課 (the "discoverable" promise);
    # description and whereabouts are for those who may read or manage it.
    limited = dataset.classification == Classification.CONFIDENTIAL and not (
        actions & {Action.READ, Action.EDIT, Action.ADMINISTER}
    )
    owner = dataset.owner
    description = "" if limited else dataset.description
    return {
        "identifier": dataset.identifier,
        "slug": dataset.slug,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "description": description,
        "description_html": render_markdown(description),
        "owner": {"code": owner.code, "name": owner.name, "full_name": owner.full_name},
        "contact": {"email": dataset.contact_email, "phone": dataset.contact_phone},
        "category": (
            {"code": dataset.category.code, "name": dataset.category.name} if dataset.category else None
        ),
        "keywords": [] if limited else list(dataset.keywords or []),
        "formats": [{"code": f.code, "name": f.name} for f in dataset.formats.all()],
        "classification": dataset.classification,
        "classification_label": dataset.get_classification_display(),
        "personal_data": dataset.personal_data,
        "personal_data_label": dataset.get_personal_data_display(),
        "discoverable": dataset.discoverable,
        "location": dataset.location,
        "location_label": dataset.get_location_display(),
        "location_detail": "" if limited else dataset.location_detail,
        "frequency": dataset.frequency,
        "frequency_label": dataset.get_frequency_display(),
        "source": dataset.source,
        "source_label": dataset.get_source_display(),
        "source_detail": "" if limited else dataset.source_detail,
        "licence": (
            {"code": dataset.licence.code, "name": dataset.licence.name, "url": dataset.licence.url}
            if dataset.licence
            else None
        ),
        "temporal": {"start": dataset.temporal_start, "end": dataset.temporal_end},
        "spatial": dataset.spatial,
        "lg_code": dataset.lg_code,
        "is_synthetic": dataset.is_synthetic,
        "created_at": dataset.created_at,
        "updated_at": dataset.updated_at,
        "retired_at": dataset.retired_at,
        "retired_reason": dataset.retired_reason,
        "lock_version": dataset.lock_version,
        "limited": limited,
        "allowed_actions": sorted(a.value for a in actions),
    }


class DatasetListParams(Schema):
    """Query parameters of the list: 絞り込み (repeat a parameter to choose several values) and paging."""

    q: str = Field("", description="キーワード（空白区切りですべてを含むもの）")
    department: list[str] = Field([], description="データ所有者（所管課）の所属コード（複数可）")
    category: list[str] = Field([], description="分野のコード（複数可）")
    classification: list[str] = Field([], description="公開区分（複数可）")
    format: list[str] = Field([], description="形式のコード（複数可）")
    licence: list[str] = Field([], description="ライセンスのコード（複数可）")
    retired: bool = Field(False, description="廃止されたものも含める")
    limit: int = Field(DEFAULT_LIMIT, description=f"1ページの件数（最大{MAX_LIMIT}、超えた分は切り詰め）")
    offset: Offset = 0
    facets: bool = Field(False, description="絞り込みの選択肢ごとの件数も返す")


class FacetOut(Schema):
    """One 絞り込み choice and how many visible entries it would show."""

    value: str
    label: str
    count: int
    selected: bool


class DatasetPage(Schema):
    """A page of the catalog list."""

    count: int = Field(description="条件に合う（この利用者に見える）件数")
    limit: int
    offset: int
    items: list[DatasetOut]
    facets: dict[str, list[FacetOut]] | None = Field(
        None, description="facets=true のとき、絞り込みの選択肢ごとの件数"
    )


class ConflictOut(ErrorOut):
    """A stale edit: someone saved in between; reload and edit again."""

    current_lock_version: int


# ---- in ------------------------------------------------------------------------------------------


class _DatasetFields(Schema):
    """Fields shared by create and update, each checked with a Japanese message."""

    title_en: str | None = None
    description: str | None = Field(None, description="Markdown")
    description_en: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    category: str | None = Field(None, description="分野のコード")
    keywords: list[str] | None = Field(None, max_length=MAX_KEYWORD_ITEMS)
    formats: list[str] | None = Field(None, description="形式のコードの配列", max_length=MAX_FORMAT_ITEMS)
    classification: str | None = _choice_field("classification", None)
    discoverable: bool | None = None
    personal_data: str | None = _choice_field("personal_data", None)
    location: str | None = _choice_field("location", None)
    location_detail: str | None = None
    frequency: str | None = _choice_field("frequency", None)
    source: str | None = _choice_field("source", None)
    source_detail: str | None = None
    licence: str | None = Field(None, description="ライセンスのコード")
    temporal_start: dt.date | None = None
    temporal_end: dt.date | None = None
    spatial: str | None = None
    lg_code: str | None = None

    @field_validator(
        "title_en",
        "description",
        "description_en",
        "contact_email",
        "contact_phone",
        "category",
        "location_detail",
        "source_detail",
        "licence",
        "spatial",
        "lg_code",
    )
    @classmethod
    def _length(cls, value: Any, info: Any) -> Any:
        return _check_length(info.field_name, value)

    @field_validator("classification", "personal_data", "location", "frequency", "source")
    @classmethod
    def _choice(cls, value: Any, info: Any) -> Any:
        return _check_choice(info.field_name, value)

    def to_data(self) -> dict[str, Any]:
        """The fields the caller sent, as the services take them (an explicit null clears a text or list)."""
        data = self.model_dump(exclude_unset=True)
        data.pop("lock_version", None)
        for name, value in list(data.items()):
            if value is not None or name in _NULLABLE:
                continue
            if name in {"keywords", "formats"}:
                data[name] = []
            elif name in TEXT_LIMITS:
                data[name] = ""  # the model keeps blank strings, not NULLs, in text columns
            else:
                data.pop(name)  # a choice or flag sent as null keeps its current value
        return data


# Fields where null is a value of its own (no category, no licence, open-ended period).
_NULLABLE = frozenset({"category", "licence", "temporal_start", "temporal_end"})


class DatasetIn(_DatasetFields):
    """A new catalog entry; owner, category, licence and formats are given by their codes."""

    title: str = Field(description="タイトル（200文字以内）")
    owner: str = Field(description="データ所有者（所管課）の所属コード")
    identifier: str | None = Field(None, description="省略すると自動で付番します")
    slug: str | None = Field(
        None, description="URL名（半角英小文字・数字・ハイフン）。省略すると識別子から作ります"
    )

    @field_validator("title", "owner", "identifier", "slug")
    @classmethod
    def _required_length(cls, value: Any, info: Any) -> Any:
        if info.field_name in {"title", "owner"} and isinstance(value, str) and not value.strip():
            raise PydanticCustomError(
                "required", "{label}を入力してください。", {"label": _LABELS[info.field_name]}
            )
        return _check_length(info.field_name, value)


class DatasetPatch(_DatasetFields):
    """Changes to an entry; only the fields sent are changed. ``lock_version`` is the one last read."""

    lock_version: int = Field(description="取得したときの lock_version（楽観的ロック）")
    title: str | None = None
    owner: str | None = Field(None, description="データ所有者（所管課）の所属コード")

    @field_validator("title", "owner")
    @classmethod
    def _not_blank(cls, value: Any, info: Any) -> Any:
        if value is None or not value.strip():
            raise PydanticCustomError(
                "required", "{label}を空にはできません。", {"label": _LABELS[info.field_name]}
            )
        return _check_length(info.field_name, value)


class RetireIn(Schema):
    """Why an entry is retired (kept in the record)."""

    reason: str = Field(description="廃止の理由（500文字以内）")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("required", "廃止の理由を入力してください。")
        if len(value) > 500:
            raise PydanticCustomError("too_long", "廃止の理由は500文字以内で入力してください。")
        return value
