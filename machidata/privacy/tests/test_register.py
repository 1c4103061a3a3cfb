"""個人情報ファイル簿: which datasets need an entry, the checklist, edits, publication, exports, pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.privacy import register
from machidata.privacy.models import RegisterEntry
from machidata.privacy.tests.conftest import as_actor

pytestmark = pytest.mark.django_db
FULL = {
    "name": "特定健康診査受診者ファイル",
    "agency": "熊本市",
    "purpose": "特定健康診査の実施と受診勧奨のため",
    "items": "氏名、住所、生年月日、受診日、検査結果",
    "scope": "熊本市国民健康保険の40歳から74歳までの被保険者",
    "collection": "本人からの申込み、受診医療機関からの報告",
    "recipients": "なし",
    "request_office": "熊本市 総務局 行政管理部 総務課（熊本市中央区手取本町1-1）",
    "file_kind": "electronic",
}


def _with_rows(ds: Dataset, rows: int) -> None:
    """A table whose current version has ``rows`` rows (no lake needed: the register reads the row count)."""
    table = Table.objects.create(dataset=ds, name=f"t{rows}", title="表", storage_key=f"k-{ds.pk}-{rows}")
    version = TableVersion.objects.create(table=table, number=1, status="committed", rows=rows)
    Table.objects.filter(pk=table.pk).update(current_version=version)


@pytest.fixture
def big(actors: Actors) -> Dataset:
    ds = make_dataset(actors.org.health_div, title="特定健診の受診者", slug="kenshin-jushinsha",
                      personal_data="personal", classification="restricted")  # fmt: skip
    _with_rows(ds, 52_000)
    return ds


@pytest.fixture
def small(actors: Actors) -> Dataset:
    ds = make_dataset(
        actors.org.health_div, title="健康相談の記録", slug="kenko-sodan", personal_data="sensitive"
    )
    _with_rows(ds, 300)
    return ds


def test_which_datasets_need_an_entry(actors: Actors, big: Dataset, small: Dataset) -> None:
    make_dataset(actors.org.health_div, title="区別人口", personal_data="none")
    admin = as_actor(actors, "admin")
    rows = {r.dataset.slug: r for r in register.register_list(actor=admin)}
    assert set(rows) == {"kenshin-jushinsha", "kenko-sodan"}  # personal data only
    assert rows["kenshin-jushinsha"].applicable is True
    assert rows["kenshin-jushinsha"].people == 52_000
    assert "現在の版の行数" in rows["kenshin-jushinsha"].people_source
    assert rows["kenko-sodan"].applicable is False
    # The steward's declaration wins over the row count (one person may have many rows).
    register.entry_update(
        actor=as_actor(actors, "owner_editor"), dataset=big, data={"people_declared": "900"}
    )
    row = register.entry_get(actor=admin, slug=big.slug)
    assert (row.people, row.people_source, row.applicable) == (900, "所管課の申告", False)
    assert [r.dataset.slug for r in register.register_list(actor=admin, state="applicable")] == []


def test_missing_items_are_a_checklist(actors: Actors, big: Dataset) -> None:
    row = register.entry_get(actor=as_actor(actors, "admin"), slug=big.slug)
    assert row.entry is None
    assert len(row.missing) == len(register.REQUIRED)
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data={"purpose": "受診勧奨"})
    row = register.entry_get(actor=as_actor(actors, "admin"), slug=big.slug)
    assert "利用目的" not in row.missing
    assert "記録項目" in row.missing
    assert row.state.startswith("未記入の項目")
    page = actors.client("admin").get(reverse("privacy_register:entry", args=[big.slug])).content.decode()
    assert "未記入: 記録項目" in page


def test_update_is_audited_with_what_changed(actors: Actors, big: Dataset) -> None:
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data=FULL)
    event = AuditEvent.objects.get(action="privacy.register_update")
    assert event.changes["changed"]["purpose"]["after"] == FULL["purpose"]
    with pytest.raises(InvalidInput, match="本人の数は0以上の整数"):
        register.entry_update(
            actor=as_actor(actors, "owner_editor"), dataset=big, data={"people_declared": "-5"}
        )
    with pytest.raises(PermissionDenied):
        register.entry_update(actor=as_actor(actors, "other_editor"), dataset=big, data=FULL)


def test_publication_needs_every_item_and_the_keepers(actors: Actors, big: Dataset) -> None:
    admin = as_actor(actors, "admin")
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data={"purpose": "受診勧奨"})
    with pytest.raises(InvalidInput, match="未記入の項目があるため公表できません"):
        register.entry_set_public(actor=admin, dataset=big, public=True)
    assert AuditEvent.objects.filter(action="privacy.register_publish_refused").exists()
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data=FULL)
    with pytest.raises(PermissionDenied):
        register.entry_set_public(actor=as_actor(actors, "owner_editor"), dataset=big, public=True)
    register.entry_set_public(actor=admin, dataset=big, public=True)
    assert [r.dataset.pk for r in register.public_entries()] == [big.pk]
    # emptying a required item takes the entry off the portal
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data={"scope": ""})
    assert RegisterEntry.objects.get(dataset=big).public is False
    assert register.public_entries() == []


def test_csv_and_xlsx_exports_guard_formulas(actors: Actors, big: Dataset) -> None:
    data = dict(FULL, purpose='=HYPERLINK("http://example.com")', remarks="@SUM(A1)")
    register.entry_update(actor=as_actor(actors, "owner_editor"), dataset=big, data=data)
    body = register.register_csv(actor=as_actor(actors, "admin"))
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "個人情報ファイルの名称"
    assert len(rows) == 2
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["個人情報ファイルの利用目的"].startswith("'=")
    assert cells["備考"] == "'@SUM(A1)"
    assert cells["個人情報ファイルが利用に供される事務をつかさどる組織の名称"] == big.owner.full_name
    assert cells["要配慮個人情報が含まれるときは、その旨"] == "含まない"
    book = load_workbook(io.BytesIO(register.register_xlsx(actor=as_actor(actors, "admin"))))
    sheet = book.active
    header = [c.value for c in sheet[3]]
    values = dict(zip(header, [c.value for c in sheet[4]], strict=True))
    assert values["個人情報ファイルの利用目的"].startswith("'=")
    assert sheet[4][header.index("個人情報ファイルの利用目的")].data_type == "s"
    assert AuditEvent.objects.filter(action="privacy.register.export").count() == 2
    with pytest.raises(PermissionDenied):
        register.register_csv(actor=as_actor(actors, "owner_editor"))


def test_who_reaches_the_pages(actors: Actors, big: Dataset) -> None:
    check_statuses(
        actors, lambda c: c.get(reverse("privacy_register:list")), _everyone(actors, 403, admin=200)
    )
    check_statuses(actors, lambda c: c.get(reverse("privacy_register:entry", args=[big.slug])),
                   _everyone(actors, 404, admin=200, owner_editor=200))  # fmt: skip
    check_statuses(actors, lambda c: c.get(reverse("privacy_register:export") + "?format=xlsx"),
                   _everyone(actors, 403, admin=200))  # fmt: skip
    assert actors.client("anonymous").get(reverse("privacy_public:register")).status_code == 200


def test_entry_form_and_publish_through_the_pages(actors: Actors, big: Dataset) -> None:
    url = reverse("privacy_register:entry", args=[big.slug])
    r = actors.client("owner_editor").post(url, FULL)
    assert r.status_code == 302
    assert RegisterEntry.objects.get(dataset=big).items == FULL["items"]
    publish = reverse("privacy_register:publish", args=[big.slug])
    assert actors.client("owner_editor").post(publish, {"public": "on"}).status_code == 403
    assert actors.client("admin").post(publish, {"public": "on"}).status_code == 302
    page = actors.client("anonymous").get(reverse("privacy_public:register")).content.decode()
    assert FULL["name"] in page
    assert FULL["items"] in page
    assert "52000" not in page  # the register is about the file, never its data


def test_non_personal_dataset_has_no_entry(actors: Actors) -> None:
    ds = make_dataset(actors.org.health_div, title="区別人口", personal_data="none")
    with pytest.raises(NotFound):
        register.entry_get(actor=as_actor(actors, "admin"), slug=ds.slug)


def _everyone(actors: Actors, default: int, **given: int) -> dict[str, int]:
    return {name: given.get(name, default) for name in actors.users if name != "anonymous"} | {
        "anonymous": given.get("anonymous", 302)
    }
