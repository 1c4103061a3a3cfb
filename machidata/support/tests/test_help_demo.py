"""The demo loads the five guides, the forum topics and the strategy's reference cases, once."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from machidata.demo.services import load_demo
from machidata.support.help_content import CASES, GUIDES
from machidata.support.models import Case, CaseStatus, DatasetQuestion, ForumThread, Guide

pytestmark = pytest.mark.django_db
SEED = Path(__file__).resolve().parents[4] / "shared" / "seed" / "kumamoto-data-strategy.txt"
STRATEGY_CITIES = {
    "大阪府豊中市",
    "東京都足立区",
    "千葉県船橋市",
    "宮城県仙台市",
    "富山県富山市",
    "滋賀県",
    "広島県",
    "兵庫県神戸市",
    "埼玉県さいたま市",
    "東京都渋谷区",
    "茨城県つくば市",
    "福岡県",
    "兵庫県尼崎市",
}


def test_demo_loads_guides_and_reference_cases_once(tmp_path: Path) -> None:
    summary = load_demo(home=tmp_path)
    assert summary.created["guide"] == 5
    assert [g.slug for g in Guide.objects.order_by("order")] == [
        "ebpm-basics",
        "data-management",
        "data-shaping",
        "open-data",
        "bi-tools",
    ]
    assert all(g.current and g.current.checklist for g in Guide.objects.all())
    assert Case.objects.filter(is_reference=True, status=CaseStatus.PUBLISHED).count() == 14
    assert set(Case.objects.values_list("municipality", flat=True)) == STRATEGY_CITIES
    assert all(
        "データに基づく事業立案等推進戦略" in s for s in Case.objects.values_list("source_title", flat=True)
    )
    assert all(c.folded for c in Case.objects.all())
    # invented posts are labelled
    assert ForumThread.objects.exists()
    assert all("デモ用の合成データ" in b for b in ForumThread.objects.values_list("body", flat=True))
    assert all("デモ用の合成データ" in b for b in DatasetQuestion.objects.values_list("body", flat=True))
    again = load_demo(home=tmp_path)
    assert not again.changed
    assert Case.objects.count() == 14


@pytest.mark.skipif(not SEED.exists(), reason="the strategy text is beside the checkout only")
def test_reference_cases_follow_the_strategy_text() -> None:
    text = unicodedata.normalize("NFKC", SEED.read_text(encoding="utf-8"))
    for case in CASES:
        city = re.sub(r"^(東京都|大阪府|千葉県|宮城県|富山県|兵庫県|埼玉県|茨城県)", "", case["municipality"])
        assert city in text, case["municipality"]
        if case["source_url"]:
            assert case["source_url"] in text, case["source_url"]
    assert len(GUIDES) == 5
