"""Catalog search through the page and /api/v1/search: permissions, access-aware counts, Japanese, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from machidata.access.models import Classification, PersonalData
from machidata.access.policy import Action, actor_for, all_subjects, restrict
from machidata.audit.models import AuditEvent
from machidata.catalog.models import Category, Dataset, DatasetGrant, Table
from machidata.core.testing import Actors, check_statuses, make_dataset
from machidata.jobs.services import job_submit
from machidata.search.models import IndexPending, SynonymGroup
from machidata.search.services import get_index, index_apply_pending

pytestmark = pytest.mark.django_db

LIST = "catalog:list"
API = "/api/v1/search"
ALL = ("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")


def _titles(response: Any) -> list[str]:
    return [h.dataset.title for h in response.context["hits"]]


def _api_titles(response: Any) -> list[str]:
    return [i["title"] for i in response.json()["items"]]


@pytest.fixture
def catalog(actors: Actors) -> dict[str, Any]:
    org = actors.org
    child = Category.objects.create(code="child", name="子育て・教育")
    fire = Category.objects.create(code="fire", name="消防・救急")
    return {
        "hoiku": make_dataset(
            org.health_div,
            title="保育所の入所児童数",
            description="市内の認可保育所ごとの入所児童数です。",
            classification=Classification.PUBLIC,
            category=child,
        ),
        "kodomo": make_dataset(
            org.health_div,
            title="子ども医療費助成の件数",
            description="こどもの医療費を助成した件数（月別）。",
            classification=Classification.INTERNAL,
            category=child,
        ),
        "kyukyu": make_dataset(
            org.fire_div,
            title="救急出動件数",
            description="救急車の出動件数と搬送人員。",
            classification=Classification.INTERNAL,
            category=fire,
        ),
        "secret": make_dataset(
            org.health_div,
            title="児童虐待相談の記録",
            description="子どもに関する相談の記録。",
            classification=Classification.CONFIDENTIAL,
            personal_data=PersonalData.SENSITIVE,
            category=child,
        ),
    }


def test_page_and_api_answer_every_actor(actors: Actors, catalog: dict[str, Any]) -> None:
    check_statuses(
        actors, lambda c: c.get(reverse(LIST), {"q": "保育"}), dict.fromkeys(ALL, 200), label="page"
    )
    check_statuses(actors, lambda c: c.get(API, {"q": "保育"}), dict.fromkeys(ALL, 200), label="api")


def test_results_follow_discover_for_each_actor(actors: Actors, catalog: dict[str, Any]) -> None:
    assert _titles(actors.client("anonymous").get(reverse(LIST), {"q": "保育"})) == ["保育所の入所児童数"]
    # 児童 matches the hidden 機密 entry too: only its owner and 管理 see it.
    staff = set(_titles(actors.client("staff").get(reverse(LIST), {"q": "児童"})))
    assert staff == {"保育所の入所児童数"}
    owner = set(_titles(actors.client("owner_viewer").get(reverse(LIST), {"q": "児童"})))
    assert owner == {"保育所の入所児童数", "児童虐待相談の記録"}
    admin = set(_api_titles(actors.client("admin").get(API, {"q": "児童"})))
    assert admin == {"保育所の入所児童数", "児童虐待相談の記録"}


def test_counts_never_reveal_an_undiscoverable_entry(actors: Actors) -> None:
    """For every kind of dataset and every actor, the index agrees with the policy's *discover*."""
    org = actors.org
    cat = Category.objects.create(code="stats", name="統計")
    for i, s in enumerate(all_subjects()):
        if s.classification == Classification.PUBLIC and s.personal_data not in {"none", "anonymised"}:
            continue  # the database refuses public personal data
        for owner in (org.health_div, org.fire_div):
            make_dataset(
                owner,
                title=f"人口統計{i}-{owner.code}",
                classification=s.classification,
                personal_data=s.personal_data,
                discoverable=s.discoverable,
                category=cat,
            )
    granted = make_dataset(
        org.fire_div, title="人口統計 付与", classification=Classification.CONFIDENTIAL, category=cat
    )
    DatasetGrant.objects.create(dataset=granted, user=actors.users["staff"])
    expired = make_dataset(
        org.fire_div, title="人口統計 期限切れ", classification=Classification.CONFIDENTIAL, category=cat
    )
    DatasetGrant.objects.create(
        dataset=expired, user=actors.users["staff"], expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    for name in ALL:
        user = actors.users.get(name)
        allowed = restrict(Dataset.objects.live(), actor_for(user), Action.DISCOVER)
        want = set(allowed.values_list("title", flat=True))
        body = actors.client(name).get(API, {"q": "人口", "per_page": 100}).json()
        assert set(_api_titles_from(body)) == want, name
        assert body["count"] == len(want), name
        for group, values in body["facets"].items():
            assert sum(v["count"] for v in values) <= len(want), (name, group)
        by_class = {v["value"]: v["count"] for v in body["facets"]["classification"]}
        assert by_class == {
            c: n for c in Classification.values if (n := allowed.filter(classification=c).count())
        }, name
        assert sum(v["count"] for v in body["facets"]["category"]) == len(want), name


def _api_titles_from(body: dict[str, Any]) -> list[str]:
    return [i["title"] for i in body["items"]]


def test_discoverable_but_unreadable_shows_whom_to_ask(actors: Actors) -> None:
    make_dataset(
        actors.org.health_div,
        title="健診の受診者名簿",
        personal_data=PersonalData.PERSONAL,
        classification=Classification.INTERNAL,
        contact_email="kenko@example.jp",
    )
    page = actors.client("staff").get(reverse(LIST), {"q": "健診"})
    html = page.content.decode()
    assert "利用申請が必要です" in html
    assert "kenko@example.jp" in html
    assert "健康づくり推進課" in html
    item = actors.client("staff").get(API, {"q": "健診"}).json()["items"][0]
    assert item["can_read"] is False
    assert item["owner"]["contact_email"] == "kenko@example.jp"
    assert actors.client("owner_viewer").get(API, {"q": "健診"}).json()["items"][0]["can_read"] is True


@pytest.mark.parametrize("query", ["子ども", "子供", "こども", "コドモ"])
def test_orthographic_variants_find_the_same_entry(
    actors: Actors, catalog: dict[str, Any], query: str
) -> None:
    assert "子ども医療費助成の件数" in _titles(actors.client("staff").get(reverse(LIST), {"q": query}))


@pytest.mark.parametrize(
    ("query", "title"), [("保育園", "保育所の入所児童数"), ("きゅうきゅう", "救急出動件数")]
)
def test_synonyms_and_readings_through_the_page(
    actors: Actors, catalog: dict[str, Any], query: str, title: str
) -> None:
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": query}))[:1] == [title]


def test_admin_edited_synonyms_apply_at_once(actors: Actors, catalog: dict[str, Any]) -> None:
    client = actors.client("staff")
    assert _titles(client.get(reverse(LIST), {"q": "アンビュランス"})) == []
    SynonymGroup.objects.create(words="アンビュランス、救急車")
    assert _titles(client.get(reverse(LIST), {"q": "アンビュランス"})) == ["救急出動件数"]
    SynonymGroup.objects.update(enabled=False)
    assert _titles(client.get(reverse(LIST), {"q": "アンビュランス"})) == []


def test_synonym_admin_is_for_admin_only(actors: Actors) -> None:
    url = reverse("admin:search_synonymgroup_changelist")
    for name in ("staff", "owner_editor"):
        actors.users[name].is_staff = True
        actors.users[name].save()
    actors.users["admin"].is_staff = True
    actors.users["admin"].save()
    check_statuses(
        actors, lambda c: c.get(url), {"anonymous": 302, "staff": 302, "owner_editor": 302, "admin": 200}
    )
    add = reverse("admin:search_synonymgroup_add")
    response = actors.client("admin").post(add, {"words": "避難所", "note": "", "enabled": "on"})
    assert "2語以上" in response.content.decode()
    actors.client("admin").post(add, {"words": "ちゃり, 自転車", "note": "", "enabled": "on"})
    assert SynonymGroup.objects.get().words == "ちゃり、自転車"
    assert AuditEvent.objects.filter(action="synonymgroup.create").exists()


def test_column_titles_are_searched(actors: Actors, catalog: dict[str, Any]) -> None:
    Table.objects.create(
        dataset=catalog["kyukyu"],
        name="dispatch",
        title="出動記録",
        storage_key="k1",
        schema={"fields": [{"name": "arrival_min", "title": "現場到着所要時間"}]},
    )
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "現場到着"})) == ["救急出動件数"]
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "arrival_min"})) == ["救急出動件数"]


def test_title_match_outranks_description_match(actors: Actors) -> None:
    make_dataset(
        actors.org.health_div,
        title="予防接種の記録",
        description="救急の対応も含む",
        classification="internal",
    )
    make_dataset(actors.org.fire_div, title="救急搬送の記録", classification="internal")
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "救急"})) == [
        "救急搬送の記録",
        "予防接種の記録",
    ]


def test_snippets_are_escaped(actors: Actors) -> None:
    make_dataset(
        actors.org.health_div,
        title="<script>alert(1)</script>保育の記録",
        description='<img src=x onerror="alert(2)"> 保育所',
        classification=Classification.PUBLIC,
    )
    html = actors.client("anonymous").get(reverse(LIST), {"q": "保育"}).content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>保育</mark>" in html


def test_sort_filters_and_paging(actors: Actors, catalog: dict[str, Any], settings: Any) -> None:
    settings.MACHIDATA_PAGE_SIZE = 1
    client = actors.client("owner_viewer")
    r = client.get(reverse(LIST), {"q": "件数", "sort": "title"})
    assert r.context["result"].total == 2
    assert r.context["result"].pages == 2
    assert _titles(r) == ["子ども医療費助成の件数"]  # 子 (U+5B50) sorts before 救 (U+6551)
    r2 = client.get(reverse(LIST), {"q": "件数", "sort": "title", "page": 2})
    assert len(_titles(r2)) == 1
    assert _titles(r2) != _titles(r)
    only_fire = client.get(reverse(LIST), {"q": "件数", "category": "fire"})
    assert _titles(only_fire) == ["救急出動件数"]
    body = client.get(API, {"q": "件数", "category": ["fire", "child"], "per_page": 10}).json()
    assert body["count"] == 2
    # A chosen group still counts its other choices.
    assert {v["value"]: v["count"] for v in body["facets"]["category"]} == {"fire": 1, "child": 1}


def test_retired_entries_only_on_request(actors: Actors, catalog: dict[str, Any]) -> None:
    Dataset.objects.filter(pk=catalog["kyukyu"].pk).update(retired_at=timezone.now())
    catalog["kyukyu"].refresh_from_db()
    catalog["kyukyu"].save()  # through save(), as the services do, so the index hears of it
    client = actors.client("staff")
    r = client.get(reverse(LIST), {"q": "救急"})
    assert _titles(r) == []
    assert r.context["result"].retired_count == 1
    assert _titles(client.get(reverse(LIST), {"q": "救急", "retired": "1"})) == ["救急出動件数"]


def test_zero_results_suggest_and_link(actors: Actors, catalog: dict[str, Any]) -> None:
    r = actors.client("staff").get(reverse(LIST), {"q": "救急出動件教"})
    result = r.context["result"]
    assert result.total == 0
    assert "救急出動件数" in result.suggestions
    html = r.content.decode()
    assert "もしかして" in html
    # A filter that hides every match: the categories where the words are found are offered.
    r = actors.client("staff").get(reverse(LIST), {"q": "救急", "category": "child"})
    assert [c.value for c in r.context["result"].related_categories] == ["fire"]


def test_suggestions_never_come_from_hidden_entries(actors: Actors, catalog: dict[str, Any]) -> None:
    r = actors.client("staff").get(reverse(LIST), {"q": "児童虐待相談の記縁"})
    assert r.context["result"].suggestions == []
    r = actors.client("owner_viewer").get(reverse(LIST), {"q": "児童虐待相談の記縁"})
    assert r.context["result"].suggestions


def test_every_search_is_audited(actors: Actors, catalog: dict[str, Any]) -> None:
    actors.client("staff").get(reverse(LIST), {"q": "存在しないデータ", "category": "fire"})
    actors.client("staff").get(API, {"q": "救急"})
    actors.client("staff").get(reverse(LIST))  # browsing is not a search
    events = list(AuditEvent.objects.filter(action="catalog.search").order_by("id"))
    assert [e.changes["q"] for e in events] == ["存在しないデータ", "救急"]
    assert events[0].changes["results"] == 0
    assert events[0].changes["filters"] == {"category": ["fire"]}
    assert events[0].changes["department"] == "警防課"
    assert events[1].changes["results"] == 1


BAD = [
    "",
    "あ" * 10_000,
    "！？。、・…",
    '"',
    "*",
    "NEAR",
    "保育 NEAR 児童",
    ":",
    "title:保育",
    '"保育',
    "🍣🍺",
    "保育🍣",
    "\x00保育",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("query", BAD)
def test_bad_queries_never_fail(actors: Actors, catalog: dict[str, Any], query: str) -> None:
    for name in ("anonymous", "staff"):
        page = actors.client(name).get(reverse(LIST), {"q": query})
        assert page.status_code == 200
        api = actors.client(name).get(API, {"q": query})
        assert api.status_code == 200, api.content
    if query.strip('！？。、・…🍣🍺"*:') == "" and query:
        assert "検索できる文字" in page.content.decode()


def test_unpaired_surrogates_and_broken_utf8(actors: Actors, catalog: dict[str, Any]) -> None:
    client = actors.client("staff")
    for raw in ("q=%ED%A0%80%E4%BF%9D%E8%82%B2", "q=%FF%FE", "q=%ED%A0%80"):
        assert client.get(f"{reverse(LIST)}?{raw}").status_code == 200
        assert client.get(f"{API}?{raw}").status_code == 200


@pytest.mark.parametrize("page", ["0", "-5", "99999", "abc", "1e9", "10000000000000000000000"])
def test_out_of_range_pages(actors: Actors, catalog: dict[str, Any], page: str) -> None:
    client = actors.client("staff")
    r = client.get(reverse(LIST), {"q": "件数", "page": page})
    assert r.status_code == 200
    assert len(_titles(r)) == 2
    api = client.get(API, {"q": "件数", "page": page})
    if page.lstrip("-").isdigit():
        assert api.status_code == 200
        assert api.json()["count"] == 2
        assert len(api.json()["items"]) == 2
    else:
        assert api.status_code == 422
        assert "整数" in api.json()["detail"]


def test_bad_sort_in_api_is_a_japanese_422(actors: Actors) -> None:
    r = actors.client("staff").get(API, {"sort": "random"})
    assert r.status_code == 422
    assert "指定できない値" in r.json()["detail"]


def test_index_follows_changes_through_the_outbox(actors: Actors, catalog: dict[str, Any]) -> None:
    assert IndexPending.objects.exists()  # written in the change's transaction
    assert index_apply_pending() == 4
    assert not IndexPending.objects.exists()
    index = get_index()
    assert len(index) == 4
    d = catalog["kyukyu"]
    d.title = "救急搬送人員"
    d.save()
    assert IndexPending.objects.filter(dataset_id=d.pk).count() == 1
    job = job_submit(kind="search.update", title="検索索引の更新", params={}, actor=None)
    assert job.status == "succeeded"
    assert job.result == {"datasets": 1}
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "搬送人員"})) == ["救急搬送人員"]
    Table.objects.create(dataset=d, name="t", title="t", storage_key="k2")
    Table.objects.filter(dataset=d).delete()
    d.delete()
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "搬送人員"})) == []
    assert len(get_index()) == 3


def test_renamed_category_is_reindexed(actors: Actors, catalog: dict[str, Any]) -> None:
    index_apply_pending()
    Category.objects.filter(code="fire").update()  # no signal, no change
    cat = Category.objects.get(code="fire")
    cat.name = "消防・防災"
    cat.save()
    assert set(IndexPending.objects.values_list("dataset_id", flat=True)) == {catalog["kyukyu"].pk}


def test_reindex_command_rebuilds(actors: Actors, catalog: dict[str, Any], capsys: Any) -> None:
    call_command("reindex")
    assert "4件" in capsys.readouterr().out
    assert not IndexPending.objects.exists()
    assert len(get_index()) == 4
    assert _titles(actors.client("staff").get(reverse(LIST), {"q": "救急"})) == ["救急出動件数"]


def test_japanese_notice_for_some_words(actors: Actors, catalog: dict[str, Any]) -> None:
    r = actors.client("staff").get(reverse(LIST), {"q": "救急 ぜったいにないことば"})
    assert r.context["result"].matched_all_words is False
    assert "いずれかの言葉" in r.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"q": "こども"},  # a kana query: finds 子ども by its variant, which a substring match cannot
        {"q": "件数", "sort": "title"},
        {"q": "件数", "category": "fire"},
        {"q": "児童"},
        {},
    ],
)
def test_export_lists_exactly_what_the_search_shows(
    actors: Actors, catalog: dict[str, Any], settings: Any, params: dict[str, str]
) -> None:
    settings.MACHIDATA_PAGE_SIZE = 1  # the export holds every page, in the page's order
    for name in ("staff", "owner_viewer"):
        client = actors.client(name)
        shown: list[str] = []
        page = 1
        while True:
            r = client.get(reverse(LIST), {**params, "page": page})
            shown += _titles(r)
            if page >= r.context["result"].pages:
                break
            page += 1
        body = client.get(reverse("catalog:export", args=["csv"]), params).content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        col = rows[0].index("データ名")
        exported = [row[col] for row in rows[1:]]
        assert exported == shown, (name, params)
        if params == {"q": "こども"} and name == "staff":
            assert exported == ["子ども医療費助成の件数"]


def test_certified_tables_rank_first_with_a_badge(actors: Actors, catalog: dict[str, Any]) -> None:
    from machidata.prep.models import Recipe

    org = actors.org
    census = make_dataset(
        org.health_div, title="保育所の定員と入所児童数（認定）", classification=Classification.PUBLIC
    )
    derived = Table.objects.create(dataset=census, name="hoiku_teiin", title="保育所の定員")
    recipe = Recipe.objects.create(
        title="保育所の定員の集計",
        unit=org.health_div,
        dataset=census,
        table_name="hoiku_teiin",
        output_table=derived,
    )
    index_apply_pending()
    client = actors.client("staff")
    before = _titles(client.get(reverse(LIST), {"q": "保育所 入所児童数"}))
    assert before[0] == "保育所の入所児童数"  # the plain title match wins on text alone
    Recipe.objects.filter(pk=recipe.pk).update(certified_at=timezone.now())
    page = client.get(reverse(LIST), {"q": "保育所 入所児童数"})
    assert _titles(page)[0] == "保育所の定員と入所児童数（認定）"
    assert "認定データ" in page.content.decode()
    api = client.get(API, {"q": "保育所 入所児童数"}).json()["items"]
    assert (api[0]["title"], api[0]["certified"], api[1]["certified"]) == (
        "保育所の定員と入所児童数（認定）",
        True,
        False,
    )
    table_page = client.get(reverse("catalog:table_detail", args=[census.slug, "hoiku_teiin"]))
    assert "認定データ" in table_page.content.decode()
