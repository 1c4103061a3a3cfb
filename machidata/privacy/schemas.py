"""JSON shapes of the 利用申請 API (names prefixed ``Access`` so they clash with no other room's)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema


class AccessRequestIn(Schema):
    """A 利用申請 on a dataset the caller may discover but not read."""

    dataset: str = Field(description="データセットの URL 名")
    purpose: str
    columns: list[str] = Field(default_factory=list, description="必要な項目（表名.項目名）、空なら全項目")
    starts_on: dt.date
    ends_on: dt.date
    legal_basis: Literal["internal", "other_purpose"]
    legal_ground: str = ""
    approved_use: int | None = Field(
        None, ge=1, le=2**31 - 1, description="この申請を結びつける「承認された利用」の番号"
    )


class AccessActIn(Schema):
    """A decision on the current step."""

    decision: Literal["approve", "return", "reject"]
    comment: str = ""


class AccessRenewIn(Schema):
    """A new end date for a granted access."""

    ends_on: dt.date
    comment: str = ""


class AccessRevokeIn(Schema):
    """Why the access ends now."""

    reason: str


class AccessListParams(Schema):
    """Which requests the list returns."""

    scope: Literal["mine", "awaiting", "department", "all"] = "mine"


class AccessStepOut(Schema):
    """One step of the route and where it stands."""

    label: str
    state: str
    by: str
    on_behalf_of: str
    candidates: list[str]


class AccessRequestOut(Schema):
    """A 利用申請 and its route."""

    id: int
    dataset: str
    status: str
    status_label: str
    requested_by: str
    purpose: str
    columns: list[str]
    starts_on: dt.date
    ends_on: dt.date
    legal_basis: str
    legal_ground: str
    route: str
    steps: list[AccessStepOut]
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ApprovedUseIn(Schema):
    """An approved use of personal data (the keepers: データ戦略課 and the privacy officer)."""

    title: str = Field(max_length=200)
    purpose: str = Field(max_length=2000)
    legal_basis: Literal["internal", "other_purpose"]
    legal_ground: str = Field("", max_length=2000)
    datasets: list[str] = Field(description="対象データセットの URL 名", max_length=50)
    starts_on: dt.date
    ends_on: dt.date
    decision_body: str = Field("", max_length=200, description="決定した機関（倫理審査委員会など）")
    decision_date: dt.date | None = None
    decision_number: str = Field("", max_length=100)
    decision_note: str = Field("", max_length=2000)


class ApprovedUseOut(Schema):
    """An entry of the register of approved uses."""

    id: int
    title: str
    purpose: str
    legal_basis: str
    legal_ground: str
    datasets: list[str]
    unit: str
    starts_on: dt.date
    ends_on: dt.date
    state: str
    decision_body: str
    decision_date: dt.date | None
    decision_number: str
    decision_note: str
    document: str
    access_requests: list[int]


class ApprovedUseParams(Schema):
    """Filters of the register of approved uses."""

    state: Literal["", "current", "upcoming", "ended"] = ""
    q: str = Field("", max_length=100)


class RegisterEntryOut(Schema):
    """One row of the 個人情報ファイル簿: the dataset, its number of people, what is missing, the items."""

    dataset: str
    title: str
    personal_data: str
    people: int | None
    people_source: str
    applicable: bool | None
    public: bool
    missing: list[str]
    items: dict[str, str]


class RegisterParams(Schema):
    """Filters of the 個人情報ファイル簿."""

    state: Literal["", "applicable", "incomplete", "public"] = ""


class ContractIn(Schema):
    """A dataset's contract terms (paid data or a 委託成果物)."""

    kind: Literal["paid", "commissioned"]
    cost_yen: int | None = Field(None, ge=0, le=10**13)
    term_start: dt.date | None = None
    term_end: dt.date | None = None
    permitted_units: list[str] = Field(
        default_factory=list, max_length=200, description="利用できる課の所属コード"
    )
    permitted_users: list[str] = Field(
        default_factory=list, max_length=200, description="利用できる職員のユーザー名"
    )
    publication_allowed: bool = False
    contractor: str = Field("", max_length=200)
    rights: Literal["", "city", "contractor", "shared"] = ""
    delivered_on: dt.date | None = None
    note: str = Field("", max_length=2000)


class ContractOut(ContractIn):
    """The terms as stored (``kind`` empty when the dataset has none)."""

    kind: Literal["", "paid", "commissioned"]  # type: ignore[assignment]


class PartnerIn(Schema):
    """A new 外部協力者 account: the approved use it is scoped to and a period inside that use's."""

    use: int = Field(..., ge=1, le=2**31 - 1, description="承認された利用の番号")
    username: str = Field(..., min_length=3, max_length=150)
    name: str = Field(..., min_length=1, max_length=150, description="氏名（姓と名の間に空白）")
    email: str = Field("", max_length=254)
    organisation: str = Field(..., min_length=1, max_length=200)
    starts_on: dt.date
    ends_on: dt.date


class PartnerOut(Schema):
    """A partner account (the first password only in the answer to its creation)."""

    id: int
    username: str
    organisation: str
    use: int
    starts_on: dt.date
    ends_on: dt.date
    state: str
    ended_at: dt.datetime | None = None
    password: str = ""


class PartnerParams(Schema):
    """Filters of the partner accounts."""

    state: Literal["", "open", "closed"] = ""


class PartnerEndIn(Schema):
    """Why the account ends."""

    reason: str = Field("", max_length=2000)
