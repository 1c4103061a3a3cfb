"""The whole publication route in Chromium, one person per browser: the データ所有者 requests publication of a
version, the 課長 approves, データ戦略課 checks, the dataset appears on /open/; then a 非公開化 through the
route removes it. axe (WCAG 2.0/2.1 A and AA) finds no violation on any page of the route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors
from machidata.publish import selectors
from machidata.publish.models import PublicationRequest, RequestKind, RequestStatus
from machidata.publish.tests.conftest import cast, dataset, v1

from .conftest import PASSWORD_SUFFIX

__all__ = ["cast", "dataset", "v1"]  # fixtures: the publication cast and a clean 庁内 dataset with its v1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


class Person:
    """One signed-in person in their own browser context; every page they reach is checked with axe."""

    def __init__(self, browser: Any, base: str, username: str = "") -> None:
        self.context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.checked: list[str] = []
        if username:
            self.page.goto(base + reverse("login"))
            self.page.fill("#id_username", username)
            self.page.fill("#id_password", f"pw-{username}{PASSWORD_SUFFIX}")
            with self.page.expect_navigation():
                self.page.click("button[type=submit]")
            assert reverse("login") not in self.page.url, f"{username} could not sign in"

    def axe(self) -> None:
        """No WCAG 2.1 AA violation on the page shown now."""
        violations = Axe().run(self.page, options=AXE_OPTIONS).response["violations"]
        summary = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
        ]
        assert not violations, f"{self.page.url}:\n" + "\n".join(summary)
        self.checked.append(self.page.url.removeprefix(self.base))

    def visit(self, path: str) -> Any:
        """Open ``path``, check it, and return the response."""
        response = self.page.goto(self.base + path)
        self.axe()
        return response

    def submit(self, selector: str) -> None:
        """Press a submit button, wait for the next page, and check it."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.axe()


@pytest.fixture
def people(browser: Any, live_server: Any, cast: Actors) -> Iterator[dict[str, Person]]:
    out = {"public": Person(browser, live_server.url)}
    for name in ("owner_editor", "head", "admin"):
        out[name] = Person(browser, live_server.url, cast.users[name].username)
    yield out
    for person in out.values():
        person.context.close()


def _decide(person: Person, req: PublicationRequest) -> None:
    person.visit(reverse("publish:list") + "?scope=awaiting")
    assert person.page.locator(f"a[href='{reverse('publish:detail', args=[req.pk])}']").count() >= 1
    person.visit(reverse("publish:detail", args=[req.pk]))
    person.page.fill("#comment", "確認しました。")
    person.submit("button[name=decision][value=approve]")
    assert "決裁を記録しました。" in person.page.locator(".message--success").inner_text()


def test_publication_route_in_the_browser_then_withdrawal(
    people: dict[str, Person], dataset: Dataset, v1: TableVersion
) -> None:
    owner, head, admin, public = people["owner_editor"], people["head"], people["admin"], people["public"]
    dataset_page = reverse("catalog:detail", args=[dataset.slug])
    open_page = f"/open/datasets/{dataset.slug}/"
    assert public.visit(open_page).status == 404  # 庁内: not on the portal yet (the 404 page is checked too)

    # The データ所有者 requests publication of version 1.
    owner.visit(dataset_page)
    assert "公開状態: 未申請" in owner.page.content()
    with owner.page.expect_navigation():
        owner.page.click("a.button:has-text('公開申請')")
    owner.axe()
    assert owner.page.locator(f"#v-{v1.table_id} option:checked").inner_text().startswith("第1版")
    owner.page.select_option("#licence", "cc-by-4.0")
    owner.page.fill("#attribution", "熊本市オープンデータ（健康づくり推進課）")
    owner.page.fill("#note", "毎年度更新します。")
    owner.submit("button:has-text('申請する')")
    req = PublicationRequest.objects.get(dataset=dataset)
    assert owner.page.url.endswith(reverse("publish:detail", args=[req.pk]))
    assert "所管課長の決裁" in owner.page.content()
    assert owner.page.locator("button[name=decision]").count() == 0  # not the requester's turn

    # The 課長 approves; データ戦略課 checks — each from their own list of requests awaiting them.
    _decide(head, req)
    req.refresh_from_db()
    assert (req.status, req.current_step) == (RequestStatus.PENDING, 1)
    assert public.visit(open_page).status == 404  # one approval is not publication
    _decide(admin, req)
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert "決裁済み" in admin.page.content()

    # On the portal now, with exactly the approved version.
    assert public.visit("/open/").ok
    assert public.visit(open_page).status == 200
    assert dataset.title in public.page.content()
    assert selectors.public_version_for(v1.table) == v1
    owner.visit(dataset_page)
    assert "公開状態: 公開中" in owner.page.content()

    # 非公開化 through the route: the データ所有者 files it, the 課長 decides, and it is gone at once.
    owner.page.fill("#withdraw-note", "内容を見直すため、いったん非公開にします。")
    owner.submit("button:has-text('非公開化を申請')")
    withdraw = PublicationRequest.objects.get(dataset=dataset, kind=RequestKind.WITHDRAW)
    assert owner.page.url.endswith(reverse("publish:detail", args=[withdraw.pk]))
    assert public.visit(open_page).status == 200  # still public until the 課長 decides
    _decide(head, withdraw)
    withdraw.refresh_from_db()
    assert withdraw.status == RequestStatus.APPROVED
    assert public.visit(open_page).status == 404
    public.visit("/open/search/?q=保健センター")
    assert dataset.title not in public.page.locator("main").inner_text()
    owner.visit(dataset_page)
    assert "公開状態: 非公開化" in owner.page.content()
    # Every page of the route was checked: the dataset page, the form, the request and lists, the portal.
    assert {p.split("?")[0] for p in owner.checked + head.checked + admin.checked} >= {
        dataset_page, reverse("publish:new", args=[dataset.slug]), reverse("publish:detail", args=[req.pk]),
        reverse("publish:list"), reverse("publish:detail", args=[withdraw.pk]),
    }  # fmt: skip


# The facilities' own switchboard numbers: the ingestion screen flags the column (a false positive).
PHONES = (
    "施設名,区,代表電話番号\n中央保健センター,中央区,096-328-2419\n東保健センター,東区,096-367-9127\n"
    "西保健センター,西区,096-329-1147\n"
)


def test_deputy_override_and_privacy_consult_in_the_browser(
    browser: Any, live_server: Any, cast: Actors, dataset: Dataset
) -> None:
    """The other roles of the route: データ戦略課 lets a false positive of the screen through with a
    reason, the 代決者 decides for the 課長 (recorded as 代決), and the 個人情報 section is consulted."""
    from machidata.publish.tests.conftest import ingest_text

    version = ingest_text(cast, dataset, "facilities", PHONES)
    assert "代表電話番号" in {f["column"] for f in version.reports["screen"]["flags"]}
    people = {"public": Person(browser, live_server.url)}
    for name in ("owner_editor", "deputy", "admin", "privacy"):
        people[name] = Person(browser, live_server.url, cast.users[name].username)
    owner, deputy, admin, privacy = (people[n] for n in ("owner_editor", "deputy", "admin", "privacy"))
    try:
        owner.visit(reverse("publish:new", args=[dataset.slug]))
        owner.page.select_option("#licence", "cc-by-4.0")
        owner.page.fill("#attribution", "熊本市オープンデータ（健康づくり推進課）")
        owner.submit("button:has-text('申請する')")
        req = PublicationRequest.objects.get(dataset=dataset)
        assert [s["key"] for s in req.steps] == ["head", "strategy", "privacy"]  # the screen adds the consult
        assert "要対応" in owner.page.content()

        # データ戦略課 overrides the screen gate, with the reason shown on the request from then on.
        admin.visit(reverse("publish:detail", args=[req.pk]))
        row = admin.page.locator("tr", has_text="個人情報と思われる列")
        row.locator("input[name=reason]").fill("施設の代表電話番号で、個人の番号ではないため。")
        with admin.page.expect_navigation():
            row.locator("button:has-text('例外承認する')").click()
        admin.axe()
        assert "例外承認: " in admin.page.content()

        _decide(deputy, req)  # the 課長's deputy
        deputy.visit(reverse("publish:detail", args=[req.pk]))
        assert "の代決）" in deputy.page.content()
        _decide(admin, req)
        req.refresh_from_db()
        assert (req.status, req.steps[req.current_step]["key"]) == (RequestStatus.PENDING, "privacy")
        assert people["public"].visit(f"/open/datasets/{dataset.slug}/").status == 404
        _decide(privacy, req)
        req.refresh_from_db()
        assert req.status == RequestStatus.APPROVED
        assert people["public"].visit(f"/open/datasets/{dataset.slug}/").status == 200
        assert selectors.public_version_for(version.table) == version
    finally:
        for person in people.values():
            person.context.close()
