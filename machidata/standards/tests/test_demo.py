"""The demo: Kumamoto City's real 病院一覧 declared as 医療機関一覧 and published through the route."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client

from machidata.publish.demo import load_publication_demo
from machidata.publish.tests.conftest import REAL
from machidata.standards.demo import SLUG, SOURCE_FILE, load_standards_demo

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (REAL / SOURCE_FILE).exists(), reason="../shared is not beside the repository"),
]


def test_demo_declares_and_publishes_the_hospital_list(
    settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from machidata.demo.services import load_demo

    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    load_demo(home=tmp_path)
    load_publication_demo(home=tmp_path, real_dir=REAL)
    assert "公開しました（90行）" in load_standards_demo(home=tmp_path, real_dir=REAL)
    client = Client()
    pkg = client.get("/api/3/action/package_show", {"id": SLUG}).json()["result"]
    assert {"自治体標準ODS", "医療機関一覧"} <= {t["name"] for t in pkg["tags"]}
    standard = pkg["resources"][-1]
    assert standard["url"].endswith("/431001_hospital.csv")
    r = client.get(standard["url"].removeprefix("http://testserver"))
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))  # type: ignore[attr-defined]
    assert len(rows) == 91
    assert rows[0][:5] == [
        "都道府県コード又は市区町村コード",
        "NO",
        "都道府県名",
        "市区町村名",
        "名称",
    ]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["都道府県コード又は市区町村コード"] == "431001"
    assert first["医療機関の種類"] == "病院"
    assert first["名称"]
    assert first["住所"] == ""  # left out of the demo (the screen would send it to the privacy unit)
    assert int(first["病床数"]) > 0
    assert ";" in first["診療科目"]
    assert load_standards_demo(home=tmp_path, real_dir=REAL) == "作成済み"
