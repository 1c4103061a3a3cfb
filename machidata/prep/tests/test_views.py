"""Recipe pages: create from a table, add steps by form (counts and findings shown at each step), errors at the step
concerned, run, code lists; other 課 get 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from machidata.core.testing import Actors, check_statuses
from machidata.prep.codes import load_shipped_codes
from machidata.prep.models import Recipe
from machidata.prep.tests.conftest import dispatch_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _create(actors: Actors) -> Recipe:
    client = actors.client("owner_editor")
    response = client.post(
        reverse("prep:list"),
        {
            "title": "区別の出動件数",
            "source": "kyukyu/dispatches",
            "dataset": "kakou",
            "table_name": "by-ward",
        },
    )
    assert response.status_code == 302, response.content.decode()
    return Recipe.objects.get(table_name="by-ward")


def _add(actors: Actors, recipe: Recipe, **fields: Any) -> Any:
    recipe.refresh_from_db()
    return actors.client("owner_editor").post(
        reverse("prep:step_add", args=[recipe.pk]),
        {"lock_version": recipe.lock_version, **fields},
        follow=True,
    )


def test_build_a_recipe_by_forms_and_run_it(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _create(actors)
    page = _add(actors, recipe, type="calculate", name="年度", expression="年度([覚知日時])")
    assert "手順を加えました" in page.content.decode()
    page = _add(actors, recipe, type="aggregate", by=["区", "年度"], op1="count", name1="件数")
    html = page.content.decode()
    assert "手順2: まとめて数える・合計する（集計）" in html
    assert f"{len(dispatch_rows())} 行" in html  # the count after step 1
    response = actors.client("owner_editor").post(reverse("prep:run", args=[recipe.pk]))
    assert response.status_code == 302
    assert "/jobs/" in response["Location"]
    recipe.refresh_from_db()
    assert recipe.status == "ok"
    table_page = actors.client("owner_editor").get(reverse("catalog:table_detail", args=["kakou", "by-ward"]))
    assert "作り方（系譜）" in table_page.content.decode()
    assert "救急出動記録（第1版）" in table_page.content.decode()


def test_a_step_error_is_shown_at_that_step_with_earlier_counts(
    actors: Actors, world: dict[str, Any]
) -> None:
    recipe = _create(actors)
    _add(actors, recipe, type="filter", column="区", op="eq", value="東区")
    page = _add(actors, recipe, type="calculate", name="率", expression="[件数] / [人口]")
    html = page.content.decode()
    assert "手順2（計算列）: 計算列「率」の式: 列「件数」はこの表にありません" in html
    east = sum(1 for r in dispatch_rows() if r["区"] == "東区")
    assert f"{east} 行" in html


def test_join_form_shows_unmatched_keys_and_refuses_type_clash(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _create(actors)
    recipe.refresh_from_db()
    actors.client("owner_editor").post(
        reverse("prep:source_add", args=[recipe.pk]),
        {"lock_version": recipe.lock_version, "table": "jinko/wards"},
    )
    clash = _add(actors, recipe, type="join", source="s2", left="区コード", right="区コード")
    assert "キーの型が違います" in clash.content.decode()
    recipe.refresh_from_db()
    actors.client("owner_editor").post(
        reverse("prep:step_remove", args=[recipe.pk, 1]), {"lock_version": recipe.lock_version}
    )
    ok = _add(actors, recipe, type="join", source="s2", left="区コード", right="区コード", as_text="on")
    html = ok.content.decode()
    assert "相手のないキーを見る" in html
    assert "４３１０２８" in html  # the full-width code is unmatched without NFKC


def test_pages_answer_404_to_other_departments(actors: Actors, world: dict[str, Any]) -> None:
    recipe = _create(actors)
    check_statuses(
        actors,
        lambda c: c.get(reverse("prep:detail", args=[recipe.pk])),
        {"anonymous": 302, "staff": 404, "other_editor": 404, "owner_editor": 200, "admin": 200},
    )


def test_code_list_pages(actors: Actors, db: None) -> None:
    load_shipped_codes()
    client = actors.client("staff")
    html = client.get(reverse("prep:codelists")).content.decode()
    assert "全国地方公共団体コード（熊本県）" in html
    assert "年齢階級" in html
    detail = client.get(reverse("prep:codelist", args=["lg-code-kumamoto"])).content.decode()
    assert "431010" in detail
    assert "国土数値情報" in detail


def test_a_starter_form_makes_an_ordinary_recipe_with_the_right_rates(
    actors: Actors, world: dict[str, Any]
) -> None:
    from machidata.access.policy import actor_for
    from machidata.prep import selectors
    from machidata.prep.tests.conftest import POPULATION, WARDS

    client = actors.client("owner_editor")
    listing = client.get(reverse("prep:list")).content.decode()
    assert reverse("prep:starter", args=["rate"]) in listing
    form = {
        "title": "区別の千人当たり出動件数",
        "source": "kyukyu/dispatches",
        "dataset": "kakou",
        "table_name": "rate",
        "key": "区",
        "other": "jinko/wards",
        "other_key": "区名",
        "population": "人口",
        "per": "1000",
    }
    bad = client.post(reverse("prep:starter", args=["rate"]), {**form, "population": ""})
    assert "「人口の列」を指定してください。" in bad.content.decode()
    assert not Recipe.objects.filter(table_name="rate").exists()  # nothing half-made
    response = client.post(reverse("prep:starter", args=["rate"]), form)
    assert response.status_code == 302, response.content.decode()
    recipe = Recipe.objects.get(table_name="rate")
    assert [s["type"] for s in recipe.definition["steps"]] == ["aggregate", "join", "calculate"]
    page = client.get(reverse("prep:detail", args=[recipe.pk])).content.decode()
    assert "1000人当たり件数" in page
    preview = selectors.recipe_preview(
        actor=actor_for(actors.users["owner_editor"]), recipe=recipe, limit=100
    )
    counts: dict[str, int] = {}
    for row in dispatch_rows():
        counts[row["区"]] = counts.get(row["区"], 0) + 1
    population = {ward: POPULATION[code] for code, ward in WARDS}
    expected = {w: round(n * 1000 / population[w], 2) for w, n in counts.items()}
    assert {r["区"]: r["1000人当たり件数"] for r in preview.table.to_pylist()} == expected


def test_starter_pages_answer_everyone_signed_in_and_404_to_unknown(
    actors: Actors, world: dict[str, Any]
) -> None:
    check_statuses(
        actors,
        lambda c: c.get(reverse("prep:starter", args=["yoy"])),
        {"anonymous": 302, "staff": 200, "other_editor": 200, "owner_editor": 200, "admin": 200},
    )
    assert actors.client("staff").get(reverse("prep:starter", args=["nothing"])).status_code == 404


def test_starter_column_pickers_list_the_chosen_tables_columns(actors: Actors, world: dict[str, Any]) -> None:
    import re

    from machidata.prep.tests.conftest import pop_rows

    client = actors.client("owner_editor")
    url = reverse("prep:starter", args=["rate"])
    first = client.get(url).content.decode()
    assert "列を読み込む" in first
    assert 'id="starter-key"' not in first  # no column picker before a table is chosen
    html = client.get(url, {"source": "kyukyu/dispatches", "other": "jinko/wards"}).content.decode()

    def options(field: str) -> list[str]:
        block = re.search(rf'<select id="starter-{field}"[^>]*>(.*?)</select>', html, re.S)
        assert block is not None, field
        return [v for v in re.findall(r'<option value="([^"]*)"', block.group(1)) if v]

    # The source's columns (from its schema) for the source's fields, the other table's for the others.
    assert options("key") == list(dispatch_rows()[0])
    assert options("by") == list(dispatch_rows()[0])
    assert options("other_key") == list(pop_rows()[0])
    assert options("population") == list(pop_rows()[0])
    # Several columns picked in a multiple select become one parameter; the recipe groups by both.
    response = client.post(
        url,
        {
            "title": "区・区コード別",
            "source": "kyukyu/dispatches",
            "dataset": "kakou",
            "table_name": "rate2",
            "key": "区",
            "by": ["区", "区コード"],
            "other": "jinko/wards",
            "other_key": "区名",
            "population": "人口",
            "per": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()
    recipe = Recipe.objects.get(table_name="rate2")
    assert recipe.definition["steps"][0]["by"] == ["区", "区コード"]


def test_the_year_over_year_starter_offers_the_month(actors: Actors, world: dict[str, Any]) -> None:
    html = (
        actors.client("owner_editor")
        .get(reverse("prep:starter", args=["yoy"]), {"source": "kyukyu/dispatches"})
        .content.decode()
    )
    assert '<option value="month">前の月と比べる</option>' in html
