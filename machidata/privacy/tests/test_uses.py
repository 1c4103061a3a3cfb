"""承認された利用: made by an approved 利用申請, linked, entered by hand with its decision record,
who sees what, the export, the pages and the API; bad input refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from machidata.access.models import Role, UnitKind
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, check_statuses, make_dataset, make_token, make_unit, make_user
from machidata.privacy import services, uses
from machidata.privacy.models import AccessStatus, ApprovedUse
from machidata.privacy.selectors import access_request_get, may_act_now
from machidata.privacy.tests.conftest import as_actor, period

pytestmark = pytest.mark.django_db


@pytest.fixture
def personal(cast: Actors) -> Dataset:
    """A 個人情報 dataset of 健康づくり推進課 (所属限定)."""
    return make_dataset(
        cast.org.health_div, title="特定健診の受診者", slug="kenshin-jushinsha", personal_data="personal"
    )


@pytest.fixture
def officer(cast: Actors, settings: Any) -> Actors:
    """``officer``: an 編集 member of the privacy unit (個人情報保護担当)."""
    unit = make_unit("情報公開・個人情報保護室", UnitKind.DIVISION, code="110100")
    settings.MACHIDATA_PRIVACY_UNIT_CODE = unit.code
    cast.users["officer"] = make_user("officer", unit=unit, role=Role.EDITOR)
    return cast


def _approve(cast: Actors, ds: Dataset, **over: Any) -> Any:
    start, end = period(60)
    req = services.access_request_create(
        actor=as_actor(cast, "staff"), dataset=ds, purpose="救急搬送と健診受診の関係を調べる", starts_on=start,
        ends_on=end, legal_basis="other_purpose", legal_ground="第69条第2項第2号（相当な理由）", **over,
    )  # fmt: skip
    services.access_request_act(actor=as_actor(cast, "fire_head"), request=req, decision="approve")
    return services.access_request_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")


def _data(**over: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data = {
        "title": "熊本大学との共同研究（健診と救急搬送）", "purpose": "健診の受診と救急搬送の関係の研究",
        "legal_basis": "other_purpose", "legal_ground": "第69条第2項第4号（学術研究）", "starts_on": today,
        "ends_on": today + dt.timedelta(days=365), "decision_body": "熊本市研究倫理審査委員会",
        "decision_date": today - dt.timedelta(days=3), "decision_number": "熊倫審第12号",
    }  # fmt: skip
    data.update(over)
    return data


def test_approved_request_on_personal_data_makes_its_entry(cast: Actors, personal: Dataset) -> None:
    req = _approve(cast, personal)
    assert req.status == AccessStatus.APPROVED
    use = ApprovedUse.objects.get()
    assert req.approved_use_id == use.pk
    assert list(use.datasets.all()) == [personal]
    assert (use.purpose, use.legal_basis, use.legal_ground) == (
        "救急搬送と健診受診の関係を調べる", "other_purpose", "第69条第2項第2号（相当な理由）")  # fmt: skip
    assert (use.starts_on, use.ends_on) == (req.starts_on, req.ends_on)
    assert use.unit_id == cast.org.fire_div.pk
    assert use.user_id == cast.users["staff"].pk
    assert use.decision_number == f"利用申請 #{req.pk}"
    assert AuditEvent.objects.filter(action="privacy.use_create").count() == 1


def test_request_without_personal_data_makes_no_entry(cast: Actors, restricted: Dataset) -> None:
    _approve(cast, restricted)
    assert not ApprovedUse.objects.exists()


def test_request_filed_under_an_entry_adds_its_dataset(
    cast: Actors, officer: Actors, personal: Dataset
) -> None:
    other = make_dataset(cast.org.health_div, title="救急搬送の記録", slug="kyukyu", personal_data="personal")
    use = uses.use_create(actor=as_actor(cast, "officer"), data=_data(unit_id=cast.org.fire_div.pk),
                          datasets=[personal.slug])  # fmt: skip
    req = _approve(cast, other, approved_use=use.pk)
    assert req.approved_use_id == use.pk
    assert sorted(d.slug for d in use.datasets.all()) == ["kenshin-jushinsha", "kyukyu"]
    assert ApprovedUse.objects.count() == 1
    assert AuditEvent.objects.filter(action="privacy.use_link").exists()


def test_request_may_not_name_an_entry_it_cannot_see(
    cast: Actors, officer: Actors, personal: Dataset
) -> None:
    use = uses.use_create(actor=as_actor(cast, "officer"), data=_data(unit_id=cast.org.health_div.pk),
                          datasets=[personal.slug])  # fmt: skip
    with pytest.raises(InvalidInput, match="承認された利用"):
        _approve(cast, personal, approved_use=use.pk)  # staff is in 警防課: not their entry


def test_ended_entry_cannot_be_chosen(cast: Actors, officer: Actors, personal: Dataset) -> None:
    past = timezone.localdate() - dt.timedelta(days=10)
    use = uses.use_create(actor=as_actor(cast, "officer"),
                          data=_data(unit_id=cast.org.fire_div.pk, starts_on=past - dt.timedelta(days=30), ends_on=past),
                          datasets=[personal.slug])  # fmt: skip
    assert uses.state_of(use) == "終了"
    with pytest.raises(InvalidInput):
        _approve(cast, personal, approved_use=use.pk)


def test_who_sees_which_entries(cast: Actors, officer: Actors, personal: Dataset) -> None:
    mine = _approve(cast, personal).approved_use  # staff's (警防課)
    theirs = uses.use_create(actor=as_actor(cast, "officer"), data=_data(unit_id=cast.org.health_div.pk),
                             datasets=[personal.slug])  # fmt: skip
    seen = {name: set(uses.visible(as_actor(cast, name)).values_list("pk", flat=True))
            for name in ("staff", "other_editor", "owner_viewer", "owner_editor", "admin", "officer", "fire_head")}  # fmt: skip
    assert seen["admin"] == seen["officer"] == {mine.pk, theirs.pk}
    assert seen["staff"] == seen["other_editor"] == seen["fire_head"] == {mine.pk}  # 警防課's
    assert seen["owner_viewer"] == seen["owner_editor"] == {theirs.pk}
    with pytest.raises(NotFound):
        uses.use_get(actor=as_actor(cast, "staff"), pk=theirs.pk)


def test_only_the_keepers_write(cast: Actors, officer: Actors, personal: Dataset) -> None:
    for name in ("staff", "owner_editor"):
        with pytest.raises(PermissionDenied):
            uses.use_create(actor=as_actor(cast, name), data=_data(), datasets=[personal.slug])
    use = uses.use_create(actor=as_actor(cast, "admin"), data=_data(), datasets=[personal.slug])
    with pytest.raises(PermissionDenied):
        uses.use_update(actor=as_actor(cast, "owner_editor"), use=use, data=_data(), datasets=[personal.slug])
    use = uses.use_update(actor=as_actor(cast, "officer"), use=use, data=_data(decision_number="熊倫審第13号"),
                          datasets=[personal.slug])  # fmt: skip
    assert use.decision_number == "熊倫審第13号"
    event = AuditEvent.objects.get(action="privacy.use_update")
    assert event.changes == {"decision_number": ["熊倫審第12号", "熊倫審第13号"]}


@pytest.mark.parametrize(
    ("over", "datasets", "message"),
    [
        ({"title": ""}, None, "利用の名称"),
        ({"legal_basis": "whatever"}, None, "法的根拠"),
        ({"legal_ground": ""}, None, "根拠"),
        ({"ends_on": dt.date(2000, 1, 1)}, None, "利用終了日"),
        ({"starts_on": "2026-13-40"}, None, "利用開始日"),
        ({"decision_date": dt.date(2999, 1, 1)}, None, "未来"),
        ({"unit_id": 999999}, None, "課"),
        ({}, [], "対象データセット"),
        ({}, ["no-such-dataset"], "見つからない"),
    ],
)
def test_bad_input_is_refused(
    cast: Actors, personal: Dataset, over: dict[str, Any], datasets: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        uses.use_create(actor=as_actor(cast, "admin"), data=_data(**over),
                        datasets=[personal.slug] if datasets is None else datasets)  # fmt: skip
    assert not ApprovedUse.objects.exists()


def test_document_attached_checked_and_read(
    cast: Actors, personal: Dataset, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    admin = as_actor(cast, "admin")
    use = uses.use_create(actor=admin, data=_data(), datasets=[personal.slug])
    with pytest.raises(InvalidInput, match="添付できる"):
        uses.use_attach_document(actor=admin, use=use, name="decision.exe", content=b"MZ")
    with pytest.raises(InvalidInput, match="空"):
        uses.use_attach_document(actor=admin, use=use, name="decision.pdf", content=b"")
    use = uses.use_attach_document(actor=admin, use=use, name="../../決定通知.pdf", content=b"%PDF-1.4 test")
    assert use.document_name == "決定通知.pdf"
    assert "privacy/decisions/" in use.document.name
    assert ".." not in use.document.name
    assert uses.use_document(actor=admin, use=use) == ("決定通知.pdf", b"%PDF-1.4 test")
    assert AuditEvent.objects.filter(action="privacy.use_document.download").exists()


def test_csv_and_xlsx_exports(cast: Actors, personal: Dataset) -> None:
    admin = as_actor(cast, "admin")
    uses.use_create(actor=admin, data=_data(title='=HYPERLINK("x")'), datasets=[personal.slug])
    rows = list(csv.reader(io.StringIO(uses.uses_csv(actor=admin).decode("utf-8-sig"))))
    assert rows[0][:4] == ["番号", "利用の名称", "利用目的", "法的根拠"]
    assert rows[1][1] == '\'=HYPERLINK("x")'
    assert rows[1][3] == "目的外利用（第69条第2項各号の根拠による）"
    assert rows[1][5] == "特定健診の受診者"
    assert rows[1][11:14] == [
        "熊本市研究倫理審査委員会",
        (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        "熊倫審第12号",
    ]
    ws = load_workbook(io.BytesIO(uses.uses_xlsx(actor=admin))).active
    assert ws["A1"].value == "承認された利用の登録簿"
    assert ws["B4"].value == '\'=HYPERLINK("x")'
    # others export only what they see
    staff_rows = list(
        csv.reader(io.StringIO(uses.uses_csv(actor=as_actor(cast, "staff")).decode("utf-8-sig")))
    )
    assert len(staff_rows) == 1
    assert AuditEvent.objects.filter(action="privacy.uses.export").count() == 3


def test_pages(cast: Actors, officer: Actors, personal: Dataset, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    use = _approve(cast, personal).approved_use
    detail = reverse("privacy_uses:detail", args=[use.pk])
    check_statuses(cast, lambda c: c.get(reverse("privacy_uses:list")),
                   {"anonymous": 302, "staff": 200, "owner_editor": 200, "admin": 200})  # fmt: skip
    check_statuses(cast, lambda c: c.get(detail),
                   {"anonymous": 302, "staff": 200, "owner_editor": 404, "other_editor": 200, "admin": 200})  # fmt: skip
    check_statuses(cast, lambda c: c.get(reverse("privacy_uses:new")),
                   {"staff": 403, "owner_editor": 403, "admin": 200, "officer": 200})  # fmt: skip
    page = cast.client("staff").get(reverse("privacy_uses:list")).content.decode()
    assert use.title in page
    assert "承認された利用を登録する" not in page
    # the officer adds the committee's decision and its document on the entry page
    form = {**{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in _data().items()},
            "datasets": personal.slug, "document": SimpleUploadedFile("kettei.pdf", b"%PDF-1.4 ok")}  # fmt: skip
    resp = cast.client("officer").post(detail, form)
    assert resp.status_code == 302
    use.refresh_from_db()
    assert (use.decision_body, use.document_name) == ("熊本市研究倫理審査委員会", "kettei.pdf")
    resp = cast.client("staff").get(reverse("privacy_uses:document", args=[use.pk]))
    assert resp.status_code == 200
    assert b"".join(resp) == b"%PDF-1.4 ok"  # type: ignore[arg-type]
    assert cast.client("owner_editor").get(reverse("privacy_uses:document", args=[use.pk])).status_code == 404
    assert cast.client("staff").post(detail, form).status_code == 403
    empty = cast.client("owner_viewer").get(reverse("privacy_uses:list") + "?state=ended").content.decode()
    assert "条件に合う利用はありません" in empty


def test_api(cast: Actors, personal: Dataset) -> None:
    use = _approve(cast, personal).approved_use
    token = make_token(cast.users["staff"])
    got = cast.client("anonymous").get("/api/v1/privacy/uses", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [u["id"] for u in got["items"]] == [use.pk]
    assert got["items"][0]["datasets"] == [personal.slug]
    other = make_token(cast.users["owner_editor"])
    assert cast.client("anonymous").get(f"/api/v1/privacy/uses/{use.pk}",
                                        HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404  # fmt: skip
    body = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in _data().items()}
    body["datasets"] = [personal.slug]
    resp = cast.client("anonymous").post("/api/v1/privacy/uses", body, content_type="application/json",
                                         HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert resp.status_code == 403
    admin = make_token(cast.users["admin"])
    resp = cast.client("anonymous").post("/api/v1/privacy/uses", body, content_type="application/json",
                                         HTTP_AUTHORIZATION=f"Bearer {admin}")  # fmt: skip
    assert resp.status_code == 201
    assert resp.json()["decision_number"] == "熊倫審第12号"


def test_act_buttons_hidden_from_an_earlier_approver(cast: Actors, restricted: Dataset) -> None:
    """Someone who approved step 1 and could also decide step 2 sees no buttons there (one step each)."""
    from machidata.access.models import Membership

    # fire_head is also an 編集 member of the owning 課, so step 2's rule alone would let them act
    Membership.objects.create(user=cast.users["fire_head"], unit=cast.org.health_div, role=Role.EDITOR,
                              valid_from=dt.date(2000, 1, 1))  # fmt: skip
    start, end = period()
    req = services.access_request_create(actor=as_actor(cast, "staff"), dataset=restricted, purpose="比較",
                                         starts_on=start, ends_on=end, legal_basis="internal")  # fmt: skip
    head = as_actor(cast, "fire_head")
    assert may_act_now(head, req)
    services.access_request_act(actor=head, request=req, decision="approve")
    req = access_request_get(actor=head, pk=req.pk)
    assert req.current_step == 1
    assert not may_act_now(as_actor(cast, "fire_head"), req)
    assert may_act_now(as_actor(cast, "owner_editor"), req)
    page = cast.client("fire_head").get(reverse("privacy:detail", args=[req.pk])).content.decode()
    assert 'name="decision"' not in page


def test_dataset_page_links_to_register_entry_and_uses(cast: Actors, personal: Dataset) -> None:
    use = _approve(cast, personal).approved_use
    detail = reverse("catalog:detail", args=[personal.slug])
    entry = reverse("privacy_register:entry", args=[personal.slug])
    use_url = reverse("privacy_uses:detail", args=[use.pk])
    owner = cast.client("owner_editor").get(detail).content.decode()
    assert entry in owner  # the data owner writes the entry
    assert use_url not in owner  # the use is 警防課's
    staff = cast.client("staff").get(detail).content.decode()
    assert use_url in staff
    assert entry not in staff
    admin = cast.client("admin").get(detail).content.decode()
    assert entry in admin
    assert use_url in admin
