"""The portal benchmark's harness (bench/portal.py), tiny: its setup publishes what it says and each of its
requests gets the right answer from machidata (a live server) and from Datasette on the same rows.

``python -m bench portal`` runs 20,000 datasets and 1,000,000 rows under 8 clients (figures in
docs/benchmarks.md, "Portal"); here 50 datasets and 1,000 rows, one request of each kind, no timing.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.portal import ENDPOINTS, KINDS, TOPICS, WARDS, Target, check, datasette, setup
from machidata.access.policy import actor_for
from machidata.core.testing import Actors, make_token
from machidata.portal.selectors import package_dicts
from machidata.publish.tests.conftest import cast

__all__ = ["cast"]

pytest.importorskip("datasette")
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _answer(name: str, target: Target) -> dict[str, Any]:
    answer = ENDPOINTS[name][1](requests.Session(), target, random.Random(1))
    assert check(name, answer) == "", (name, answer.status_code, answer.text[:300])
    return dict(answer.json())


def test_the_harness_asks_both_servers_the_same_questions(
    cast: Actors, live_server: Any, tmp_path: Path
) -> None:
    users = cast.users
    people = (
        cast.org.health_div, actor_for(users["owner_editor"]), actor_for(users["head"]), actor_for(users["admin"])
    )  # fmt: skip
    info = setup(tmp_path, datasets=50, rows=1000, templates=2, people=people)
    assert (info["route_published"], info["bulk_copies"]) == (3, 47)
    # the portal sees every one of them as an approved publication
    pkgs = package_dicts(base_url=live_server.url)
    assert len(pkgs) == 50
    assert sum(info["org_counts"].values()) == 50
    free = free_port()
    with datasette(Path(info["sqlite"]), port=free, log=tmp_path / "datasette.log"):
        target = Target(live_server.url, f"http://127.0.0.1:{free}", info, make_token(users["owner_editor"]))
        # package_search: an organization's count is the number the setup gave it
        org = random.Random(1).choice(sorted(info["org_counts"]))  # what search_fq picks with this seed
        assert _answer("package_search fq+facets", target)["result"]["count"] == info["org_counts"][org]
        assert _answer("package_search harvest page", target)["result"]["count"] == 50
        word = random.Random(1).choice(TOPICS)  # what search_q picks
        expected = sum(
            1
            for p in pkgs
            if word in p["title"] or word in p["notes"] or word in [t["name"] for t in p["tags"]]
        )
        assert _answer("package_search q", target)["result"]["count"] == expected > 0
        assert _answer("package_show", target)["result"]["name"].startswith("bench-")
        # the first page: the same 100 rows in the same order from both
        mine = _answer("datastore_search first page", target)["result"]
        theirs = _answer("datasette first page", target)
        assert mine["total"] == 1000
        assert len(mine["records"]) == len(theirs["rows"]) == 100
        cols = ("区", "分類", "件数", "金額")
        assert [tuple(r[c] for c in cols) for r in mine["records"]] == [
            tuple(r[c] for c in cols) for r in theirs["rows"]
        ]
        # the filtered page: the same filter (the same seed) gives the same total and rows
        mine = _answer("datastore_search filtered", target)["result"]
        theirs = _answer("datasette filtered", target)
        assert mine["total"] == theirs["filtered_table_rows_count"] > 0
        assert all(r["区"] in WARDS and r["分類"] in KINDS for r in mine["records"])
        assert [tuple(r[c] for c in cols) for r in mine["records"]] == [
            tuple(r[c] for c in cols) for r in theirs["rows"]
        ]
        # the grouped query: the same groups and sums from the public SQL, the API and Datasette
        sql = _answer("datastore_search_sql GROUP BY", target)["result"]["records"]
        body = _answer("/api/v1/query group_by", target)
        names = [c["name"] if isinstance(c, dict) else c for c in body["columns"]]
        api = [dict(zip(names, row, strict=True)) if isinstance(row, list) else row for row in body["rows"]]
        dset = _answer("datasette GROUP BY", target)["rows"]

        def groups(rows: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
            return sorted((r["区"], r["分類"], int(r["n"]), int(r["total"])) for r in rows)

        assert groups(sql) == groups(api) == groups(dset)
        assert sum(g[2] for g in groups(dset)) == 1000
        # the cache-defeating grouping: a date range, another one on every request, within the groups
        ranged = _answer("datastore_search_sql GROUP BY, no cache", target)["result"]
        assert "BETWEEN" in ranged["sql"]
        full = {(g[0], g[1]): g[2] for g in groups(dset)}
        assert ranged["records"]
        assert all(int(r["n"]) <= full[(r["区"], r["分類"])] for r in ranged["records"])
        assert _answer("datastore_search_sql GROUP BY, no cache", target)["result"]["sql"] != ranged["sql"]
        # one facet: Datasette's counts per ward are the grouped counts added up
        facet = _answer("datasette one facet", target)["facet_results"]
        items = facet["results"]["区"]["results"] if "results" in facet else facet["区"]["results"]
        by_ward: dict[str, int] = {}
        for g in groups(dset):
            by_ward[g[0]] = by_ward.get(g[0], 0) + g[2]
        assert {i["value"]: i["count"] for i in items} == by_ward


def free_port() -> int:
    from bench.live import free_port as port

    return port()
