"""The full demo seen from the portal: the one dataset the demo publishes through the route (高松市
オープンデータ「地域・年齢別人口」, CC BY, suppressed first) is on the site and in the CKAN API; the
pending one is not."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client

from machidata.publish.demo import ATTRIBUTION, PENDING_SLUG, PUBLISHED_SLUG, load_publication_demo
from machidata.publish.tests.conftest import REAL, TAKAMATSU

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not TAKAMATSU.exists(), reason="../shared is not beside the repository"),
]


def test_demo_publication_is_on_the_portal(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    from machidata.demo.services import load_demo

    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    load_demo(home=tmp_path)
    load_publication_demo(home=tmp_path, real_dir=REAL)
    client = Client()
    names = client.get("/api/3/action/package_list").json()["result"]
    assert PUBLISHED_SLUG in names
    assert PENDING_SLUG not in names
    pkg = client.get("/api/3/action/package_show", {"id": PUBLISHED_SLUG}).json()["result"]
    assert {e["key"]: e["value"] for e in pkg["extras"]}["attribution"] == ATTRIBUTION
    html = client.get(f"/open/datasets/{PUBLISHED_SLUG}/").content.decode()
    assert ATTRIBUTION in html
    (res,) = pkg["resources"]
    r = client.get(res["url"].removeprefix("http://testserver"))
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    assert len(rows) - 1 == res["machidata_rows"]
    assert client.get(f"/open/datasets/{PENDING_SLUG}/").status_code == 404
