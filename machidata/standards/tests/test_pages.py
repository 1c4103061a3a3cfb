"""The pages: templates for everyone, a table's page with suggestions (not saved), declaring by form."""

from __future__ import annotations

from typing import Any

import pytest

from machidata.catalog.models import Table
from machidata.catalog.tests.table_fixtures import ROWS, lake_home, make_table, write
from machidata.core.testing import Actors, make_dataset
from machidata.standards import definitions as d
from machidata.standards.models import StandardDeclaration

__all__ = ["lake_home"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def table(actors: Actors, lake_home: Any) -> Table:
    ds = make_dataset(actors.org.health_div, classification="internal", slug="suiri")
    t = make_table(ds, name="t")
    write(t, ROWS[:3])
    return Table.objects.get(pk=t.pk)


def test_the_template_page_lists_every_standard_for_everyone(actors: Actors) -> None:
    page = actors.client("anonymous").get("/standards/").content.decode()
    for s in d.standards():
        assert s.name in page
        assert f"/standards/{s.code}/template.csv" in page
    assert "一部のみ" in page  # the partial newer-format sets say so


def test_template_downloads(actors: Actors) -> None:
    client = actors.client("anonymous")
    r = client.get("/standards/aed/template.csv?encoding=cp932")
    assert r.status_code == 200
    assert "Shift_JIS" in r["Content-Type"]
    assert "xxxxxx_aed_sjis.csv" in r["Content-Disposition"]
    assert r.content.decode("cp932").startswith("都道府県コード又は市区町村コード,NO,")
    assert client.get("/standards/aed/template.csv?encoding=latin1").status_code == 404
    assert client.get("/standards/nothing/template.csv").status_code == 404


def test_the_owner_sees_suggestions_and_declares_by_form(actors: Actors, table: Table) -> None:
    client = actors.client("owner_editor")
    page = client.get("/standards/tables/suiri/t/?standard=fire_hydrant").content.decode()
    assert "まだ保存されていません" in page
    assert not StandardDeclaration.objects.exists()
    fire = d.by_code("fire_hydrant")
    assert fire is not None
    form = {
        "standard": "fire_hydrant",
        f"item-{fire.header.index('種別')}": "名前",
        f"item-{fire.header.index('備考')}": "区",
    }
    r = client.post("/standards/tables/suiri/t/declare/", form)
    assert r.status_code == 302
    assert StandardDeclaration.objects.get().mapping == {"種別": "名前", "備考": "区"}
    page = client.get("/standards/tables/suiri/t/").content.decode()
    assert "要対応" in page
    assert "選択肢" in page
    assert "431001_fire_hydrant.csv" in page
    detail = client.get("/catalog/suiri/tables/t/").content.decode()
    assert "標準データセット: 消防水利施設一覧" in detail


def test_a_viewer_cannot_declare(actors: Actors, table: Table) -> None:
    client = actors.client("owner_viewer")
    assert client.get("/standards/tables/suiri/t/").status_code == 200
    r = client.post("/standards/tables/suiri/t/declare/", {"standard": "fire_hydrant"})
    assert r.status_code == 403
    assert not StandardDeclaration.objects.exists()


def test_api_declares_and_reports(actors: Actors, table: Table) -> None:
    from machidata.core.testing import make_token

    token = make_token(actors.users["owner_editor"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = actors.client("anonymous")
    got = client.get("/api/v1/standards/tables/suiri/t?standard=fire_hydrant", **auth).json()
    assert got["declared"] is False
    assert {"item": "備考", "column": "区"} not in got["suggestions"]
    r = client.post("/api/v1/standards/tables/suiri/t", {"standard": "fire_hydrant", "mapping": {"種別": "名前"}},
                    content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200
    assert r.json()["declared"] is True
    assert r.json()["errors"] == 1
    bad = client.post("/api/v1/standards/tables/suiri/t", {"standard": "fire_hydrant", "mapping": {"種別": "ない"}},
                      content_type="application/json", **auth)  # fmt: skip
    assert bad.status_code == 400
    listed = client.get("/api/v1/standards/", **auth).json()
    assert listed["count"] == len(d.standards())
    assert client.get("/api/v1/standards/").status_code == 401
