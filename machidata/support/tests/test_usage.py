"""Usage figures by 局 and month: hand-counted events, Tokyo month boundaries, who may read which page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from machidata.access.models import Membership, StaffRank
from machidata.access.policy import ANONYMOUS, actor_for, require_manager_of
from machidata.audit.models import AuditEvent
from machidata.core.errors import NotFound
from machidata.core.testing import Actors, check_statuses, make_dataset, make_user
from machidata.support import usage
from machidata.support.models import Attendance, Consultation, Course, Session

pytestmark = pytest.mark.django_db

UTC = dt.UTC
_n = iter(range(1, 10_000))


def event(user: Any, action: str, at: dt.datetime, **changes: Any) -> AuditEvent:
    """Write an audit event directly (the hash chain is not what these tests are about)."""
    n = next(_n)
    return AuditEvent.objects.create(
        created_at=at,
        actor=user,
        actor_label=user.username if user else "anonymous",
        action=action,
        changes=changes,
        prev_hash=f"{n - 1:064d}",
        hash=f"{n:064d}",
    )


def utc(*args: int) -> dt.datetime:
    """An aware UTC datetime."""
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def events(actors: Actors) -> Actors:
    """A small known year (2024年度) of activity; the expected figures below are counted by hand.

    - owner_viewer (健康福祉局, 係): April: 1 search with 3 results, 1 search with 0 results, 1 download.
      The first search is at 2024-03-31T15:30Z = 2024-04-01 00:30 in Tokyo → April, 2024年度.
    - owner_editor (健康福祉局, 課): April: dataset.create, data.ingest; May: data.ingest, chart.create.
    - owner_editor also opens a dashboard twice in May (dashboard.view).
    - staff (消防局): May: 1 search with 0 results.
    - admin (政策局): March 2025 (Tokyo) — 2025-03-31T14:59Z: 1 login. 2025-03-31T15:00Z is 2025年度: not counted.
    - 2024-03-31T14:59Z (still 2023年度 in Tokyo): a download by owner_viewer: not counted.
    - An anonymous download in April of an unknown dataset "x": not a staff figure; one public
      (オープンデータ) download for the city only. An anonymous download of 健康福祉局's "kenshin" in May:
      one public download for the city and for 健康福祉局; another in 2025年度: not counted.
    - A mover: 消防局 until 2024-05-31, 健康福祉局 from 2024-06-01: a search in May (fire) and one in June (health).
    - Consultations: one from the health 課 opened 2024-06-30T15:10Z (= July 1 in Tokyo); one from fire in 2023年度.
    - Attendance: two health members and one fire member at a session on 2024-06-03.
    """
    u = actors.users
    event(u["owner_viewer"], "catalog.search", utc(2024, 3, 31, 15, 30), q="健診", results=3)
    event(u["owner_viewer"], "catalog.search", utc(2024, 4, 10, 1), q="ドローン", results=0)
    event(u["owner_viewer"], "data.download", utc(2024, 4, 11, 1), dataset="x")
    event(u["owner_editor"], "dataset.create", utc(2024, 4, 12, 1))
    event(u["owner_editor"], "data.ingest", utc(2024, 4, 12, 2))
    event(u["owner_editor"], "data.ingest", utc(2024, 5, 2, 2))
    event(u["owner_editor"], "chart.create", utc(2024, 5, 2, 3))
    event(u["owner_editor"], "dashboard.view", utc(2024, 5, 2, 4))
    event(u["owner_editor"], "dashboard.view", utc(2024, 5, 3, 4))
    event(u["staff"], "catalog.search", utc(2024, 5, 3, 2), q="消火栓", results=0)
    event(u["admin"], "auth.login", utc(2025, 3, 31, 14, 59))
    event(u["admin"], "auth.login", utc(2025, 3, 31, 15, 0))
    event(u["owner_viewer"], "data.download", utc(2024, 3, 31, 14, 59), dataset="x")
    event(None, "data.download", utc(2024, 4, 20, 1), dataset="x")
    make_dataset(actors.org.health_div, slug="kenshin", title="健診")
    event(None, "data.download", utc(2024, 5, 20, 1), dataset="kenshin")
    event(None, "data.download", utc(2025, 4, 1, 1), dataset="kenshin")  # 2025年度: not counted
    mover = make_user("mover")
    Membership.objects.create(
        user=mover, unit=actors.org.fire_div, valid_from=dt.date(2020, 4, 1), valid_to=dt.date(2024, 5, 31)
    )
    Membership.objects.create(user=mover, unit=actors.org.health_div, valid_from=dt.date(2024, 6, 1))
    event(mover, "catalog.search", utc(2024, 5, 20, 1), q="a", results=1)
    event(mover, "catalog.search", utc(2024, 6, 20, 1), q="b", results=2)
    Consultation.objects.create(
        kind="question",
        topic="t",
        description="d",
        unit=actors.org.health_div,
        opened_at=utc(2024, 6, 30, 15, 10),
    )
    Consultation.objects.create(
        kind="support", topic="t", description="d", unit=actors.org.fire_div, opened_at=utc(2024, 3, 1, 1)
    )
    session = Session.objects.create(
        course=Course.objects.create(title="基礎"), on_date=dt.date(2024, 6, 3), place="本庁舎"
    )
    Attendance.objects.create(
        session=session, user=u["owner_viewer"], staff_name="a", unit=actors.org.health_sec
    )
    Attendance.objects.create(
        session=session, user=u["owner_editor"], staff_name="b", unit=actors.org.health_div
    )
    Attendance.objects.create(session=session, user=u["staff"], staff_name="c", unit=actors.org.fire_div)
    # 管理職: owner_editor (健康づくり推進課) and other_editor (消防局); the others are 一般職
    Membership.objects.filter(user__in=[u["owner_editor"], u["other_editor"]]).update(rank=StaffRank.MANAGER)
    return actors


APR, MAY, JUN, JUL, MAR = (
    dt.date(2024, 4, 1),
    dt.date(2024, 5, 1),
    dt.date(2024, 6, 1),
    dt.date(2024, 7, 1),
    dt.date(2025, 3, 1),
)


def test_city_and_bureau_figures_by_month(events: Actors) -> None:
    org = events.org
    u = usage.compute_usage(2024)
    health, fire, policy = org.health_bureau.pk, org.fire_bureau.pk, org.policy_bureau.pk
    assert u.bureau_month(health, APR) == {
        "active_users": 2,
        "datasets": 1,
        "versions": 1,
        "searches": 2,
        "searches_empty": 1,
        "downloads": 1,
        "consultations": 0,
        "attendances": 0,
        "charts": 0,
        "dashboard_views": 0,
        "open_data_downloads": 0,
    }
    assert u.bureau_month(health, MAY)["open_data_downloads"] == 1  # kenshin, owned by 健康福祉局
    assert u.bureau_month(health, MAY)["versions"] == 1
    assert u.bureau_month(health, MAY)["charts"] == 1
    assert u.bureau_month(health, MAY)["dashboard_views"] == 2
    assert u.bureau_month(health, MAY)["active_users"] == 1
    assert u.bureau_month(fire, MAY) == {
        "active_users": 2,
        "datasets": 0,
        "versions": 0,
        "searches": 2,
        "searches_empty": 1,
        "downloads": 0,
        "consultations": 0,
        "attendances": 0,
        "charts": 0,
        "dashboard_views": 0,
        "open_data_downloads": 0,
    }
    # the mover's June search counts for health, not fire
    assert u.bureau_month(health, JUN)["searches"] == 1
    assert u.bureau_month(fire, JUN)["searches"] == 0
    assert u.bureau_month(health, JUN)["attendances"] == 2
    assert u.bureau_month(fire, JUN)["attendances"] == 1
    # opened 2024-06-30T15:10Z = July 1 in Tokyo
    assert u.bureau_month(health, JUL)["consultations"] == 1
    assert u.bureau_month(health, JUN)["consultations"] == 0
    assert u.bureau_month(policy, MAR)["active_users"] == 1
    assert u.city_month(APR) == {
        "active_users": 2,
        "datasets": 1,
        "versions": 1,
        "searches": 2,
        "searches_empty": 1,
        "downloads": 1,
        "consultations": 0,
        "attendances": 0,
        "charts": 0,
        "dashboard_views": 0,
        "open_data_downloads": 1,  # "x": no dataset, so the city's figure only
    }
    assert u.city_month(MAY)["open_data_downloads"] == 1
    assert u.city_month(MAY)["active_users"] == 3
    assert u.city_month(MAY)["searches"] == 2
    assert u.city_year == {
        "active_users": 5,
        "datasets": 1,
        "versions": 2,
        "searches": 5,
        "searches_empty": 2,
        "downloads": 1,
        "consultations": 1,
        "attendances": 3,
        "charts": 1,
        "dashboard_views": 2,
        "open_data_downloads": 2,
    }
    assert u.year_of(health)["open_data_downloads"] == 1
    # the year counts people once, not once a month: owner_viewer, owner_editor, mover
    assert u.year_of(health)["active_users"] == 3
    assert u.year_of(fire)["active_users"] == 2
    assert u.year_of(fire)["consultations"] == 0


def test_month_boundaries_are_tokyo_time(events: Actors) -> None:
    before = usage.compute_usage(2023)
    # 2024-03-31T14:59Z is 23:59 on March 31 in Tokyo: 2023年度; the 15:30Z search is not
    assert before.city_month(dt.date(2024, 3, 1))["downloads"] == 1
    assert before.city_month(dt.date(2024, 3, 1))["searches"] == 0
    assert before.city_year["consultations"] == 1
    after = usage.compute_usage(2025)
    assert after.city_month(dt.date(2025, 4, 1))["active_users"] == 1
    assert usage.fiscal_months(2024)[0] == APR
    assert usage.fiscal_months(2024)[-1] == MAR


def test_rollout_marks_used_and_not_yet(events: Actors) -> None:
    org = events.org
    u = usage.compute_usage(2024)
    rows = {r.bureau.pk: r.used for r in usage.rollout(u, usage.bureaus(2024))}
    assert rows[org.health_bureau.pk] == {
        "datasets": True,
        "versions": True,
        "searches": True,
        "downloads": True,
        "consultations": True,
        "attendances": True,
        "charts": True,
        "dashboard_views": True,
    }
    assert rows[org.fire_bureau.pk] == {
        "datasets": False,
        "versions": False,
        "searches": True,
        "downloads": False,
        "consultations": False,
        "attendances": True,
        "charts": False,
        "dashboard_views": False,
    }
    assert not any(rows[org.policy_bureau.pk].values())


def test_require_manager_of(actors: Actors) -> None:
    org = actors.org
    health_units = [org.health_bureau.pk, org.health_div.pk, org.health_sec.pk]
    Membership.objects.filter(user=actors.users["owner_editor"]).update(rank=StaffRank.MANAGER)
    Membership.objects.filter(user=actors.users["other_editor"]).update(rank=StaffRank.MANAGER)
    require_manager_of(actor_for(actors.users["owner_editor"]), health_units)
    require_manager_of(actor_for(actors.users["admin"]), health_units)
    for name in ("owner_viewer", "staff", "other_editor"):  # a member who is not 管理職; another 局's 管理職
        with pytest.raises(NotFound):
            require_manager_of(actor_for(actors.users[name]), health_units)
    with pytest.raises(NotFound):
        require_manager_of(ANONYMOUS, health_units)


def test_manager_rank_ends_with_the_membership(actors: Actors) -> None:
    org = actors.org
    health_units = [org.health_bureau.pk, org.health_div.pk, org.health_sec.pk]
    Membership.objects.filter(user=actors.users["owner_editor"]).update(
        rank=StaffRank.MANAGER, valid_to=dt.date(2024, 3, 31)
    )
    actor = actor_for(actors.users["owner_editor"], day=dt.date(2024, 3, 31))
    require_manager_of(actor, health_units)
    with pytest.raises(NotFound):
        require_manager_of(actor_for(actors.users["owner_editor"], day=dt.date(2024, 4, 1)), health_units)


# ---- pages and API -------------------------------------------------------------------------------

HEALTH_PAGE = {
    "anonymous": 302,
    "staff": 404,
    "owner_viewer": 404,  # a member of the 局 but 一般職
    "owner_editor": 200,
    "other_editor": 404,
    "admin": 200,
}


def test_bureau_page_visibility(events: Actors) -> None:
    health = reverse("support:usage_bureau", args=[events.org.health_bureau.pk])
    check_statuses(events, lambda c: c.get(health, {"fy": 2024}), HEALTH_PAGE, label="health page")
    fire = reverse("support:usage_bureau", args=[events.org.fire_bureau.pk])
    check_statuses(
        events,
        lambda c: c.get(fire),
        {"staff": 404, "other_editor": 200, "owner_viewer": 404, "owner_editor": 404, "admin": 200},
        label="fire page",
    )
    # a 課 is not a 局: no page
    div = reverse("support:usage_bureau", args=[events.org.health_div.pk])
    check_statuses(events, lambda c: c.get(div), {"owner_editor": 404, "admin": 404}, label="division")


def test_home_and_rollout_visibility(events: Actors) -> None:
    home = reverse("support:usage")
    check_statuses(
        events,
        lambda c: c.get(home),
        {
            "anonymous": 302,
            "staff": 200,
            "owner_viewer": 200,
            "owner_editor": 200,
            "other_editor": 200,
            "admin": 200,
        },
    )
    rollout = reverse("support:usage_rollout")
    check_statuses(
        events,
        lambda c: c.get(rollout),
        {
            "anonymous": 302,
            "staff": 404,
            "owner_viewer": 404,
            "owner_editor": 404,
            "other_editor": 404,
            "admin": 200,
        },
    )


def test_bureau_page_shows_figures_and_not_built(events: Actors) -> None:
    page = events.client("owner_editor").get(
        reverse("support:usage_bureau", args=[events.org.health_bureau.pk]), {"fy": 2024}
    )
    html = page.content.decode()
    assert "健康福祉局の利用状況（2024年度）" in html
    # April searches: health 2 of the city's 2; May searches: health 0 of 2
    assert "2 / 2（100.0%）" in html
    assert "0 / 2（0.0%）" in html
    # the year's datasets: health 1, city 1, 100%
    assert '<th scope="row">登録したデータセット</th><td>1</td><td>1</td><td>100.0%</td>' in html
    assert '<th scope="row">作成したグラフ</th><td>1</td><td>1</td><td>100.0%</td>' in html
    assert '<th scope="row">ダッシュボードの閲覧</th><td>2</td><td>2</td><td>100.0%</td>' in html
    # one public download of a dataset the health 課 owns, one of an unknown dataset (city only)
    assert '<th scope="row">オープンデータのダウンロード</th><td>1</td><td>2</td><td>50.0%</td>' in html


def test_home_lists_own_bureau_and_admin_sees_all(events: Actors) -> None:
    html = events.client("other_editor").get(reverse("support:usage"), {"fy": 2024}).content.decode()
    assert reverse("support:usage_bureau", args=[events.org.fire_bureau.pk]) in html
    assert reverse("support:usage_bureau", args=[events.org.health_bureau.pk]) not in html
    # a 一般職 of the same 局 gets no link to a page they may not open
    plain = events.client("staff").get(reverse("support:usage"), {"fy": 2024}).content.decode()
    assert reverse("support:usage_bureau", args=[events.org.fire_bureau.pk]) not in plain
    assert '<th scope="row">オープンデータのダウンロード</th><td>2</td>' in html  # the city's year
    assert "（未実装の機能）" not in html
    admin = events.client("admin").get(reverse("support:usage"), {"fy": 2024}).content.decode()
    assert reverse("support:usage_bureau", args=[events.org.health_bureau.pk]) in admin
    assert "局別（年度の合計）" in admin


def test_rollout_page(events: Actors) -> None:
    html = events.client("admin").get(reverse("support:usage_rollout"), {"fy": 2024}).content.decode()
    assert "利用あり" in html
    assert "未利用" in html
    assert "8 / 8" in html  # health used every feature (charts and dashboards too)
    assert "2 / 8" in html  # fire: searches and training


def test_api_city_and_bureau(events: Actors) -> None:
    url = "/api/v1/support/usage"
    check_statuses(
        events,
        lambda c: c.get(url, {"fy": 2024, "bureau": events.org.health_bureau.pk}),
        {
            "anonymous": 401,
            "staff": 404,
            "owner_viewer": 404,
            "owner_editor": 200,
            "other_editor": 404,
            "admin": 200,
        },
        label="api bureau",
    )
    check_statuses(
        events, lambda c: c.get(url, {"fy": 2024}), {"anonymous": 401, "staff": 200}, label="api city"
    )
    body = events.client("owner_editor").get(url, {"fy": 2024, "bureau": events.org.health_bureau.pk}).json()
    assert body["bureau"] == "健康福祉局"
    april = body["months"][0]
    assert april["month"] == "2024-04"
    assert april["bureau"]["searches"] == 2
    assert april["city"]["searches"] == 2
    assert april["share"]["searches"] == 100.0
    assert april["bureau"]["charts"] == 0
    assert body["months"][1]["bureau"]["charts"] == 1  # May
    assert body["months"][1]["bureau"]["dashboard_views"] == 2
    assert april["bureau"]["open_data_downloads"] == 0
    assert april["city"]["open_data_downloads"] == 1
    assert body["months"][1]["bureau"]["open_data_downloads"] == 1  # May: kenshin
    assert body["total"]["city"]["active_users"] == 5
    assert body["total"]["bureau"]["active_users"] == 3
    assert body["total"]["share"]["active_users"] == 60.0
    assert all(m["implemented"] for m in body["metrics"])
    assert len(body["months"]) == 12
    city = events.client("staff").get(url, {"fy": 2024}).json()
    assert city["bureau"] is None
    assert city["months"][1]["city"]["active_users"] == 3
    assert events.client("staff").get(url, {"fy": 1900}).status_code == 400


def test_figures_are_database_aggregates(events: Actors, django_assert_max_num_queries: Any) -> None:
    # one query for the unit tree, four on the audit log, one each for consultations and attendance,
    # one for the demo's synthetic figures; 30 more events cost no more queries
    for _ in range(30):
        event(events.users["staff"], "catalog.search", utc(2024, 8, 1, 1), q="x", results=1)
    with django_assert_max_num_queries(10):  # + 2 for the public's downloads
        u = usage.compute_usage(2024)
    assert u.city_month(dt.date(2024, 8, 1))["searches"] == 30


def test_synthetic_usage_is_added_and_labelled(events: Actors) -> None:
    from machidata.support.models import SyntheticUsage

    org = events.org
    plain = usage.compute_usage(2024)
    assert plain.synthetic is False
    health = org.health_bureau
    for month, n in ((APR, 10), (MAY, 30)):
        SyntheticUsage.objects.create(month=month, bureau=health, metric="searches", count=n)
        SyntheticUsage.objects.create(month=month, bureau=health, metric="active_users", count=n // 10)
    SyntheticUsage.objects.create(month=dt.date(2025, 4, 1), bureau=health, metric="searches", count=999)
    u = usage.compute_usage(2024)
    assert u.synthetic is True
    # months add up: April had 2 real searches in health
    assert u.bureau_month(health.pk, APR)["searches"] == 2 + 10
    assert u.city_month(MAY)["searches"] == 2 + 30
    assert u.year_of(health.pk)["searches"] == plain.year_of(health.pk)["searches"] + 40
    # the year's people: the busiest invented month (3), never the sum of months (4)
    assert u.year_of(health.pk)["active_users"] == plain.year_of(health.pk)["active_users"] + 3
    assert u.city_year["active_users"] == plain.city_year["active_users"] + 3
    # 2025年度's row does not leak into 2024年度
    assert u.city_year["searches"] == plain.city_year["searches"] + 40
    html = events.client("admin").get(reverse("support:usage"), {"fy": 2024}).content.decode()
    assert "デモ用の合成データを含みます" in html
    assert "デモ用の合成データを含みます" not in (
        events.client("admin").get(reverse("support:usage"), {"fy": 2023}).content.decode()
    )
    body = events.client("admin").get("/api/v1/support/usage", {"fy": 2024}).json()
    assert body["synthetic"] is True
