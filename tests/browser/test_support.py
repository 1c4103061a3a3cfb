"""Support pages in Chromium: axe finds no violations, every role reaches what it may (and no more), and
横展開 of a case works by keyboard alone."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from machidata.access.models import Membership, StaffRank
from machidata.access.policy import actor_for
from machidata.charts.models import Dashboard, Sharing
from machidata.charts.services import dashboard_create
from machidata.ebpm.models import Level, PlanItem
from machidata.ebpm.services import logic_model_from_example, plan_item_create
from machidata.support.models import Case, Session, SyntheticUsage
from machidata.support.services import consultation_open
from machidata.support.services_cases import case_create, case_publish
from machidata.support.services_guides import guide_create
from machidata.support.tests.conftest import make_course

from .conftest import login
from .test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE = {
    "title": "健診受診率の区別比較",
    "field": "health",
    "municipality": "豊中市",
    "data_used": "特定健診の受診者数（区別・年度別）",
    "insight": "北区の受診率が低い",
    "policy_change": "北区で受診勧奨を強化",
    "evidence_level": "comparison",
    "source_url": "",
}


@pytest.fixture
def support_world(site: dict[str, Any]) -> dict[str, Any]:
    actors = site["actors"]
    owner = actor_for(actors.users["owner_editor"])
    admin = actor_for(actors.users["admin"])
    board = dashboard_create(actor=owner, title="受診率の推移", sharing=Sharing.STAFF)
    project = plan_item_create(
        actor=owner, level=Level.PROJECT, name="受診勧奨ナッジ事業", unit_id=actors.org.health_div.pk
    )
    logic_model_from_example(actor=owner, item=project, key="nudge")
    case = case_create(actor=owner, values=CASE, links={"dashboards": [board.pk], "projects": [project.pk]})
    case_publish(actor=owner, case=case)
    consultation = consultation_open(
        actor=owner,
        kind="support",
        topic="受診勧奨の効果を測りたい",
        description="前後比較の方法を相談したい。",
        links={"dashboards": [board.pk], "projects": [project.pk]},
    )
    guide_create(
        actor=admin, slug="data-shaping", title="データ整形の手引き", body="## 手順\n\n1. 表の形を整える"
    )
    # owner_editor is 健康づくり推進課's 管理職: the 局's usage page is theirs, not owner_viewer's
    Membership.objects.filter(user=actors.users["owner_editor"]).update(rank=StaffRank.MANAGER)
    course = make_course()
    Session.objects.create(course=course, on_date=dt.date.today(), place="本庁舎")
    SyntheticUsage.objects.create(
        month=dt.date.today().replace(day=1),
        bureau=actors.org.health_bureau,
        metric="searches",
        count=12,
    )
    return {**site, "case": case, "consultation": consultation, "project": project, "course": course}


def test_support_pages_have_no_violations(page: Any, support_world: dict[str, Any]) -> None:
    login(page, support_world, "admin")
    case, consultation = support_world["case"], support_world["consultation"]
    bureau = support_world["actors"].org.health_bureau
    paths = [
        reverse(name)
        for name in (
            "support:home",
            "support:consultations",
            "support:consultation_new",
            "support:training",
            "support:coverage",
            "support:core",
            "support:summary",
            "support:usage",
            "support:usage_rollout",
            "support:guides",
            "support:forum",
            "support:thread_new",
            "support:faq",
            "support:cases",
            "support:case_new",
        )
    ]
    paths += [
        reverse("support:consultation", args=[consultation.pk]),
        reverse("support:usage_bureau", args=[bureau.pk]),
        reverse("support:guide", args=["data-shaping"]),
        reverse("support:guide_edit", args=["data-shaping"]),
        reverse("support:case", args=[case.pk]),
        reverse("support:case_edit", args=[case.pk]),
    ]
    for path in paths:
        assert_accessible(page, support_world["url"] + path)


def test_keyboard_only_case_copy(page: Any, support_world: dict[str, Any], tmp_path: Path) -> None:
    """An editor of another 課 finds the case, copies it by keyboard, and gets a 事業 with the logic model."""
    artifacts = Path(os.environ.get("MACHIDATA_TEST_ARTIFACTS") or tmp_path) / "support-case-copy"
    artifacts.mkdir(parents=True, exist_ok=True)
    login(page, support_world, "other_editor")
    case = support_world["case"]
    page.goto(support_world["url"] + reverse("support:case", args=[case.pk]))
    assert page.get_by_text("受診率の推移").count() == 1  # the linked dashboard is named
    page.screenshot(path=str(artifacts / "1-case.png"), full_page=True)
    for _ in range(60):
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.textContent.trim()")
        if label.startswith("自分の課で横展開する"):
            break
    assert label.startswith("自分の課で横展開する")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.screenshot(path=str(artifacts / "2-copied.png"), full_page=True)
    copy = Case.objects.get(copied_from=case)
    assert copy.unit == support_world["actors"].org.fire_div
    assert page.url.endswith(reverse("support:case_edit", args=[copy.pk]))
    made = PlanItem.objects.get(name="受診勧奨ナッジ事業（横展開）")
    assert made.unit == support_world["actors"].org.fire_div
    assert "受診勧奨ナッジ事業（横展開）" in page.content()  # the message says what was made
    board = Dashboard.objects.get(title="受診率の推移（横展開）")  # the dashboard came along, the 課's own
    assert board.unit == support_world["actors"].org.fire_div
    assert "ダッシュボード「受診率の推移（横展開）」を課で共有する形で作りました。" in page.content()
    assert list(copy.dashboards.all()) == [board]


# What each role gets on the support pages: 200, or 404 for what is not theirs (the page says 見つかりません).
# owner_viewer / owner_editor: 健康づくり推進課 (一般職 / 管理職); staff: 警防課 閲覧; admin: データ戦略課.
ROLE_PAGES: list[tuple[str, dict[str, int]]] = [
    ("support:home", {}),
    ("support:consultations", {}),
    ("support:consultation_new", {}),
    ("support:training", {}),
    ("support:coverage", {}),
    ("support:core", {}),
    ("support:summary", {}),
    ("support:usage", {}),
    ("support:usage_rollout", {"staff": 404, "owner_viewer": 404, "owner_editor": 404}),
    ("support:guides", {}),
    ("support:forum", {}),
    ("support:thread_new", {}),
    ("support:faq", {}),
    ("support:cases", {}),
    ("support:case_new", {}),
]
ROLES = ("staff", "owner_viewer", "owner_editor", "admin")


def test_every_role_walks_the_support_pages(page: Any, support_world: dict[str, Any]) -> None:
    """Each role opens every support page in Chromium; role-bound pages answer 404 to the others.

    axe runs on the pages whose content depends on the role (the rest are checked as 管理 above).
    """
    world = support_world
    bureau = world["actors"].org.health_bureau
    bound = [
        (reverse("support:consultation", args=[world["consultation"].pk]), {"staff": 404}),
        (reverse("support:usage_bureau", args=[bureau.pk]), {"staff": 404, "owner_viewer": 404}),
        (reverse("support:case", args=[world["case"].pk]), {}),
        (reverse("support:test", args=[world["course"].pk]), {}),
        (reverse("support:guide", args=["data-shaping"]), {}),
        (
            reverse("support:guide_edit", args=["data-shaping"]),
            {"staff": 404, "owner_viewer": 404, "owner_editor": 404},
        ),
    ]
    paths = [(reverse(name), expected) for name, expected in ROLE_PAGES] + bound
    failures = []
    for role in ROLES:
        page.context.clear_cookies()
        login(page, world, role)
        for path, expected in paths:
            want = expected.get(role, 200)
            response = page.goto(world["url"] + path)
            got = response.status if response else None
            if got != want:
                failures.append(f"{role} {path}: {got}, expected {want}")
            elif want == 404 and "見つかりません" not in page.content():
                failures.append(f"{role} {path}: 404 without saying so")
        for path, expected in bound[:4]:
            if expected.get(role, 200) == 200:
                assert_accessible(page, world["url"] + path)
    assert not failures, "\n".join(failures)
    # the 管理職 sees a link to their 局's page on the usage home; the 一般職 of the same 局 does not
    link = reverse("support:usage_bureau", args=[bureau.pk])
    page.context.clear_cookies()
    login(page, world, "owner_editor")
    page.goto(world["url"] + reverse("support:usage"))
    assert page.locator(f'a[href^="{link}"]').count() == 1
    page.context.clear_cookies()
    login(page, world, "owner_viewer")
    page.goto(world["url"] + reverse("support:usage"))
    assert page.locator(f'a[href^="{link}"]').count() == 0
