"""外部協力者 (partners): created and ended by the keepers (page and API, audited); a partner reads only
the de-identified datasets of its approved use while its period runs, reaches no other page or API
operation, and every refusal it meets — outside its use, after its period — is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Partner, Role, UnitKind
from machidata.access.policy import Action, actor_for, can, restrict
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.errors import InvalidInput, NotFound
from machidata.core.testing import Actors, make_dataset, make_token, make_unit, make_user
from machidata.privacy import partners
from machidata.privacy.use_records import ApprovedUse

__all__ = ["lake_home"]
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def study(actors: Actors, lake_home: Any, settings: Any) -> dict[str, Any]:
    """An approved study covering a 仮名加工, a 匿名加工 and a 個人情報 dataset (each with a table),
    another 仮名加工 dataset outside it, and the privacy officer ``officer``."""
    unit = make_unit("情報公開・個人情報保護室", UnitKind.DIVISION, code="110100")
    settings.MACHIDATA_PRIVACY_UNIT_CODE = unit.code
    actors.users["officer"] = make_user("officer", unit=unit, role=Role.EDITOR)
    h = actors.org.health_div
    made = {}
    for key, pd in (("pseudo", "pseudonymised"), ("anon", "anonymised"), ("personal", "personal"),
                    ("outside", "pseudonymised"), ("open", "none")):  # fmt: skip
        ds = make_dataset(h, title=f"{key}のデータ", slug=f"ds-{key}", personal_data=pd,
                          classification="public" if key == "open" else "restricted")  # fmt: skip
        write(make_table(ds, name="t"), ROWS[:5])
        made[key] = ds
    use = ApprovedUse.objects.create(
        title="熊本大学との共同研究", purpose="健診と救急搬送の関係", legal_basis="other_purpose",
        legal_ground="第69条第2項第4号（学術研究）", starts_on=TODAY - dt.timedelta(days=30),
        ends_on=TODAY + dt.timedelta(days=300), decision_body="熊本市研究倫理審査委員会",
        created_by=actors.users["admin"],
    )  # fmt: skip
    use.datasets.set([made["pseudo"], made["anon"], made["personal"]])
    return {"use": use, **made}


def _create(actors: Actors, study: dict[str, Any], who: str = "admin", **over: Any) -> tuple[Partner, str]:
    data = {"username": "kumadai.tanaka", "name": "田中 一郎", "organisation": "熊本大学 公衆衛生学講座",
            "starts_on": TODAY - dt.timedelta(days=1), "ends_on": TODAY + dt.timedelta(days=90), **over}  # fmt: skip
    return partners.partner_create(actor=actor_for(actors.users[who]), use_id=study["use"].pk, data=data)


def _signed_in(partner: Partner) -> Client:
    client = Client()
    client.force_login(partner.user)
    return client


def test_partner_reads_only_the_deidentified_data_of_its_use(actors: Actors, study: dict[str, Any]) -> None:
    partner, _ = _create(actors, study)
    actor = actor_for(partner.user)
    assert actor.is_partner
    assert not actor.unit_ids
    readable = set(restrict(Dataset.objects.all(), actor, Action.READ).values_list("slug", flat=True))
    assert readable == {"ds-pseudo", "ds-anon"}  # not its use's 個人情報, not another study's, not open data
    assert (
        set(restrict(Dataset.objects.all(), actor, Action.DISCOVER).values_list("slug", flat=True))
        == readable
    )
    assert not can(actor, Action.EDIT, study["pseudo"])
    client = _signed_in(partner)
    home = client.get(reverse("partners:home")).content.decode()
    assert "pseudoのデータ" in home
    assert "anonのデータ" in home
    assert "personalのデータ" not in home
    assert "outsideのデータ" not in home
    assert client.get(reverse("catalog:table_detail", args=["ds-pseudo", "t"])).status_code == 200
    rows = "/api/v1/datasets/ds-anon/tables/t/rows"
    assert client.get(rows).status_code == 200
    # 仮名加工 never leaves as a file, not even for the partner; 匿名加工 may
    assert (
        client.get(reverse("catalog:table_download", args=["ds-pseudo", "t"]) + "?format=csv").status_code
        == 403
    )
    assert (
        client.get(reverse("catalog:table_download", args=["ds-anon", "t"]) + "?format=csv").status_code
        == 200
    )
    # the start page and the catalog list lead to its own page
    for landing in (reverse("home"), reverse("catalog:list")):
        assert client.get(landing)["Location"] == reverse("partners:home")


def test_partner_reaching_outside_its_use_is_refused_and_audited(
    actors: Actors, study: dict[str, Any]
) -> None:
    partner, _ = _create(actors, study)
    client = _signed_in(partner)
    outside = [
        reverse("catalog:detail", args=["ds-outside"]),  # another study's 仮名加工 data
        reverse("catalog:detail", args=["ds-personal"]),  # its own use's 個人情報
        reverse("catalog:detail", args=["ds-open"]),  # open data: not through the staff catalog
        "/search/?q=t", reverse("charts:list"), reverse("charts:dashboards"), reverse("ebpm:list"),
        reverse("privacy_uses:list"), reverse("partners:list"), reverse("access:tokens"), reverse("console:page"),
        "/api/v1/datasets", "/api/v1/privacy/uses", "/api/v1/datasets/ds-outside/tables/t/rows",
    ]  # fmt: skip
    for url in outside:
        response = client.get(url)
        assert response.status_code == 404, url
    assert "外部協力者は、承認された利用の対象" in client.get(reverse("charts:list")).content.decode()
    events = AuditEvent.objects.filter(action="access.partner_refused")
    assert events.count() == len(outside) + 1
    assert {e.changes["path"] for e in events} >= {
        "/api/v1/datasets",
        reverse("catalog:detail", args=["ds-outside"]),
    }
    # the same through an API token
    token = {"HTTP_AUTHORIZATION": f"Bearer {make_token(partner.user)}"}
    assert Client().get("/api/v1/datasets", **token).status_code == 404
    assert Client().get("/api/v1/datasets/ds-outside/tables/t/rows", **token).status_code == 404
    assert Client().get("/api/v1/datasets/ds-pseudo/tables/t/rows", **token).status_code == 200
    assert Client().post("/api/v1/query", "{}", content_type="application/json", **token).status_code == 404
    assert AuditEvent.objects.filter(action="access.partner_refused").count() == len(outside) + 4


@pytest.mark.parametrize("how", ["period_over", "ended"])
def test_after_its_period_or_end_a_partner_is_refused_with_the_reason_and_audited(
    actors: Actors, study: dict[str, Any], how: str
) -> None:
    partner, _ = _create(actors, study)
    token = {"HTTP_AUTHORIZATION": f"Bearer {make_token(partner.user)}"}
    if how == "period_over":
        Partner.objects.filter(pk=partner.pk).update(
            starts_on=TODAY - dt.timedelta(days=60), ends_on=TODAY - dt.timedelta(days=1)
        )
    else:
        partners.partner_end(actor=actor_for(actors.users["officer"]), partner=partner, reason="研究の終了")
        assert AuditEvent.objects.get(action="partner.end").changes["tokens_revoked"] == 1
    actor = actor_for(partner.user)
    assert not actor.partner_open
    assert not restrict(Dataset.objects.all(), actor, Action.READ).exists()
    client = _signed_in(partner)
    for url in (reverse("partners:home"), reverse("catalog:detail", args=["ds-pseudo"]), reverse("home")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "利用期間" in response.content.decode()
    api = Client().get("/api/v1/datasets/ds-pseudo/tables/t/rows", **token)
    assert (
        api.status_code == 401 if how == "ended" else api.status_code == 403
    )  # ended: its tokens are revoked
    if how == "period_over":
        assert "利用期間" in api.json()["detail"]
    assert AuditEvent.objects.filter(action="access.partner_expired").count() == 3 + (how == "period_over")
    assert client.post(reverse("logout")).status_code == 302  # it may still sign out


def test_keepers_create_and_end_accounts_on_the_page_and_the_api(
    actors: Actors, study: dict[str, Any]
) -> None:
    for name in ("staff", "owner_editor", "other_editor"):
        assert actors.client(name).get(reverse("partners:list")).status_code == 404
        assert actors.client(name).get(reverse("partners:new")).status_code == 404
    admin = actors.client("admin")
    assert "まだ外部協力者はいません" in admin.get(reverse("partners:list")).content.decode()
    form = {"use": study["use"].pk, "organisation": "株式会社くまもと分析", "name": "山田 花子",
            "username": "yamada.hanako", "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + dt.timedelta(days=30)).isoformat()}  # fmt: skip
    created = admin.post(reverse("partners:new"), form)
    assert created.status_code == 200
    partner = Partner.objects.get(user__username="yamada.hanako")
    password = created.context["password"]
    assert password in created.content.decode()
    signing_in = Client()  # the partner signs in with it and lands on its own page
    landed = signing_in.post(
        reverse("login"), {"username": "yamada.hanako", "password": password}, follow=True
    )
    assert landed.redirect_chain[-1][0] == reverse("partners:home")
    assert "株式会社くまもと分析 の外部協力者" in landed.content.decode()
    event = AuditEvent.objects.get(action="partner.create")
    assert password not in str(event.changes)
    assert event.changes["use"] == study["use"].pk
    # the privacy officer through the API
    officer = {"HTTP_AUTHORIZATION": f"Bearer {make_token(actors.users['officer'])}"}
    staff = {"HTTP_AUTHORIZATION": f"Bearer {make_token(actors.users['owner_editor'])}"}
    body = {**form, "username": "suzuki.ken", "use": study["use"].pk}
    assert (
        Client().post("/api/v1/privacy/partners", body, content_type="application/json", **staff).status_code
        == 404
    )
    got = Client().post("/api/v1/privacy/partners", body, content_type="application/json", **officer)
    assert got.status_code == 201
    assert got.json()["password"]
    assert got.json()["state"] == "利用中"
    listed = Client().get("/api/v1/privacy/partners", **officer).json()
    assert listed["count"] == 2
    assert all(not p["password"] for p in listed["items"])
    assert Client().get("/api/v1/privacy/partners", **staff).status_code == 404
    ended = Client().post(f"/api/v1/privacy/partners/{got.json()['id']}/end", {"reason": "契約の終了"},
                          content_type="application/json", **officer)  # fmt: skip
    assert ended.json()["state"] == "終了"
    assert admin.post(reverse("partners:end", args=[partner.pk]), {"reason": "研究の終了"}).status_code == 302
    assert AuditEvent.objects.filter(action="partner.end").count() == 2
    assert "終了" in admin.get(reverse("partners:list") + "?state=closed").content.decode()


def test_bad_input_is_refused_with_a_reason(actors: Actors, study: dict[str, Any]) -> None:
    use = study["use"]
    for over, message in [
        ({"starts_on": use.starts_on - dt.timedelta(days=1)}, "承認された利用の期間"),
        ({"ends_on": use.ends_on + dt.timedelta(days=1)}, "承認された利用の期間"),
        ({"ends_on": TODAY - dt.timedelta(days=5)}, "利用開始日より後"),
        ({"username": "x y"}, "ログイン名は半角"),
        ({"username": actors.users["staff"].get_username()}, "もう使われています"),
        ({"organisation": ""}, "所属機関"),
        ({"starts_on": "2026-02-30"}, "利用開始日"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            _create(actors, study, **over)
    with pytest.raises(NotFound):
        _create(actors, study, who="owner_editor")
    use.datasets.set([study["personal"]])  # nothing de-identified to read
    with pytest.raises(InvalidInput, match="仮名加工・匿名加工のデータセットがありません"):
        _create(actors, study)
    assert not Partner.objects.exists()
    assert not AuditEvent.objects.filter(action="partner.create").exists()
