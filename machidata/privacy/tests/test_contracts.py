"""Contract terms (有償データ・委託成果物): downloads and exports obey the term and the permitted users,
publication obeys the licence and the rights; refusals are audited with a Japanese message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Classification, DatasetContract
from machidata.access.policy import actor_for, contract_refusal
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.catalog.table_selectors import version_download
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset, make_token
from machidata.privacy import contracts
from machidata.publish.gates import run_gates

__all__ = ["lake_home"]
pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def table(actors: Actors, lake_home: Any) -> Table:
    """An 庁内 table of 健康づくり推進課 (bought data: every member of staff may read it)."""
    ds = make_dataset(actors.org.health_div, classification=Classification.INTERNAL, slug="jinryu")
    t = make_table(ds)
    write(t, ROWS)
    return t


def _a(actors: Actors, name: str) -> Any:
    return actor_for(actors.users[name])


def _set(actors: Actors, table: Table, **data: Any) -> DatasetContract | None:
    return contracts.contract_set(actor=_a(actors, "owner_editor"), dataset=table.dataset, data=data)


def test_term_is_obeyed_for_downloads(actors: Actors, table: Table) -> None:
    _set(actors, table, kind="paid", cost_yen=1_200_000, term_start="2026-04-01", term_end="2027-03-31")
    staff = _a(actors, "staff")
    assert contract_refusal(staff, table.dataset, day=TODAY) == ""
    for day in (dt.date(2026, 3, 31), dt.date(2027, 4, 1)):
        assert "契約期間（2026-04-01〜2027-03-31）の外" in contract_refusal(staff, table.dataset, day=day)


def test_permitted_units_and_users(actors: Actors, table: Table) -> None:
    _set(actors, table, kind="paid", permitted_units=[actors.org.health_div.code],
         permitted_users=[actors.users["staff"].get_username()])  # fmt: skip
    allowed = {n: contract_refusal(_a(actors, n), table.dataset) == "" for n in
               ("staff", "owner_viewer", "owner_editor", "other_editor", "admin")}  # fmt: skip
    # staff by name, the owning 課 (a 係 member too); not another 課's editor, not 管理
    assert allowed == {
        "staff": True,
        "owner_viewer": True,
        "owner_editor": True,
        "other_editor": False,
        "admin": False,
    }


def test_download_refused_with_message_and_audited(actors: Actors, table: Table) -> None:
    other = _a(actors, "other_editor")
    version_download(actor=other, table=table).file.close()  # no terms yet: allowed
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _set(actors, table, kind="paid", term_start="2020-04-01", term_end=yesterday.isoformat())
    with pytest.raises(PermissionDenied, match="契約期間"):
        version_download(actor=other, table=table)
    event = AuditEvent.objects.get(action="data.export_refused")
    assert event.changes["reason"] == "contract"
    assert event.changes["attempted"] == "data.download"
    url = reverse("catalog:table_download", args=[table.dataset.slug, table.name]) + "?format=csv"
    resp = actors.client("other_editor").get(url)
    assert resp.status_code == 403
    assert "契約期間" in resp.content.decode()


def test_publication_gate(actors: Actors, table: Table) -> None:
    def gate() -> list[Any]:
        return [r for r in run_gates(table.dataset, [], licence=None, attribution="", check_licence=False)
                if r.gate == "contract"]  # fmt: skip

    assert gate() == []
    _set(actors, table, kind="paid", publication_allowed=False)
    (result,) = gate()
    assert not result.passed
    assert not result.overridable
    assert "契約が公開を認めていない" in result.detail
    _set(actors, table, kind="paid", publication_allowed=True)
    assert gate() == []
    _set(actors, table, kind="commissioned", contractor="株式会社くまもと測量", rights="contractor",
         delivered_on="2026-03-15")  # fmt: skip
    (result,) = gate()
    assert "権利が市に帰属していない（受託者に帰属）" in result.detail
    _set(actors, table, kind="commissioned", contractor="株式会社くまもと測量", rights="city")
    assert gate() == []


def test_who_sets_terms_and_bad_input(actors: Actors, table: Table) -> None:
    with pytest.raises(PermissionDenied):
        contracts.contract_set(actor=_a(actors, "staff"), dataset=table.dataset, data={"kind": "paid"})
    for data, message in [
        ({"kind": "rental"}, "種別"),
        ({"kind": "commissioned"}, "権利の帰属"),
        ({"kind": "paid", "term_start": "2027-01-01", "term_end": "2026-01-01"}, "終了は開始より後"),
        ({"kind": "paid", "cost_yen": -5}, "費用"),
        ({"kind": "paid", "permitted_units": ["999999"]}, "見つからない"),
        ({"kind": "paid", "term_end": "2026-02-30"}, "日付の形"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            _set(actors, table, **data)
    assert not DatasetContract.objects.exists()
    _set(actors, table, kind="paid")
    contracts.contract_set(actor=_a(actors, "admin"), dataset=table.dataset, data=None)
    assert not DatasetContract.objects.exists()
    assert AuditEvent.objects.filter(action="dataset.contract").count() == 2


def test_api(actors: Actors, table: Table) -> None:
    client = actors.client("anonymous")
    owner = {"HTTP_AUTHORIZATION": f"Bearer {make_token(actors.users['owner_editor'])}"}
    staff = {"HTTP_AUTHORIZATION": f"Bearer {make_token(actors.users['staff'])}"}
    url = f"/api/v1/privacy/contracts/{table.dataset.slug}"
    assert client.get(url, **owner).json()["kind"] == ""
    body = {
        "kind": "paid",
        "cost_yen": 500000,
        "term_end": "2027-03-31",
        "permitted_units": [actors.org.health_div.code],
    }
    assert client.put(url, body, content_type="application/json", **staff).status_code == 403
    got = client.put(url, body, content_type="application/json", **owner).json()
    assert got["permitted_units"] == [actors.org.health_div.code]
    assert got["term_end"] == "2027-03-31"
    assert client.get(url, **staff).status_code == 403


def test_page_sets_and_removes_terms_for_the_owner_and_admin(actors: Actors, table: Table) -> None:
    page = reverse("privacy_contracts:edit", args=[table.dataset.slug])
    for name, status in (("staff", 403), ("other_editor", 403), ("owner_viewer", 403), ("admin", 200)):
        assert actors.client(name).get(page).status_code == status, name
    assert actors.client("anonymous").get(page).status_code == 302  # to the sign-in page
    client = actors.client("owner_editor")
    shown = client.get(reverse("catalog:detail", args=[table.dataset.slug])).content.decode()
    assert page in shown  # linked from the dataset page for those who may set them
    assert (
        page
        not in actors.client("staff")
        .get(reverse("catalog:detail", args=[table.dataset.slug]))
        .content.decode()
    )
    assert "まだ契約条件がありません" in client.get(page).content.decode()
    bad = client.post(page, {"kind": "commissioned", "contractor": "株式会社くまもと測量"})
    assert bad.status_code == 400
    assert "権利の帰属を選んでください" in bad.content.decode()
    missing = client.post(page, {"kind": "paid", "permitted_users": "nobody-such"})
    assert "見つからない課・職員があります: nobody-such" in missing.content.decode()
    assert not DatasetContract.objects.exists()
    saved = client.post(page, {"kind": "paid", "cost_yen": "1200000", "term_end": "2027-03-31",
                               "permitted_units": f"{actors.org.health_div.code}\n",
                               "permitted_users": actors.users["staff"].get_username()})  # fmt: skip
    assert saved.status_code == 302
    contract = DatasetContract.objects.get(dataset=table.dataset)
    assert contract.cost_yen == 1_200_000
    assert [u.pk for u in contract.permitted_users.all()] == [actors.users["staff"].pk]
    assert (
        contract_refusal(_a(actors, "other_editor"), table.dataset, day=TODAY) != ""
    )  # the terms are obeyed
    again = client.get(page).content.decode()
    assert "1200000" in again
    assert actors.users["staff"].get_username() in again
    assert actors.client("admin").post(page, {"remove": "1"}).status_code == 302
    assert not DatasetContract.objects.exists()
    assert AuditEvent.objects.filter(action="dataset.contract").count() == 2
