"""Column profile on the table page: distinct counts never above the rows, codes shown as plain digits."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from machidata.catalog import table_selectors as ts
from machidata.catalog.models import Table
from machidata.core.testing import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def table(actors, tmp_path, settings):
    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, slug="uketsuke")
    lines = ["受付番号,年度,人口"]
    lines += [f"{20240001 + i},{2020 + i % 4},{10000 + i * 37}" for i in range(400)]
    path = tmp_path / "uketsuke.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("ingest", str(path), "--dataset", d.slug, "--table", "t", "--quiet", stdout=io.StringIO())
    return Table.objects.get(dataset=d, name="t")


def test_codes_and_years_are_plain_digits_but_amounts_keep_separators(table):
    assert ts.plain_number_columns(table) == {"受付番号", "年度"}


def test_profile_page_shows_ids_without_separators_or_exponents(actors, table):
    url = reverse("catalog:table_detail", args=[table.dataset.slug, table.name])
    html = actors.client("owner_viewer").get(url + "?per=20").content.decode()
    assert "20,240,001" not in html
    assert "e+07" not in html
    assert "<dd>20240001</dd>" in html  # min of 受付番号
    assert "<dd>20240400</dd>" in html  # max
    assert "20240001 ～ 20240020" in html  # first histogram bin, both ends included
    assert "<td>20240001</td>" in html  # the rows preview too
    assert "<dd>10,000</dd>" in html  # an amount keeps its separators


def test_distinct_count_is_exact_for_a_small_version_and_never_above_the_rows(actors, table):
    from machidata.access.policy import actor_for

    profile = ts.table_profile(actor=actor_for(actors.users["owner_viewer"]), table=table)
    by_name = {p["name"]: p for p in profile}
    assert by_name["受付番号"]["distinct"] == 400
    assert by_name["受付番号"]["distinct_exact"] is True
    assert by_name["年度"]["distinct"] == 4
    shown = {p["name"]: p for p in ts.profile_for_display(profile)}
    assert shown["受付番号"]["distinct_text"] == "400"
    approx = ts.profile_for_display([{**by_name["人口"], "distinct_exact": False}])
    assert approx[0]["distinct_text"] == "約 400"
