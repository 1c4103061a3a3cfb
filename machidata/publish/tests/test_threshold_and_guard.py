"""The small-count threshold per dataset (default 10, ≥ 1; a table may only make it stricter) and the
guard that keeps a published dataset's 公開区分 and 個人情報の区分 until 非公開化."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.catalog.services import dataset_update
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors, make_dataset
from machidata.publish import gates, selectors
from machidata.publish.models import AggregateSpec, SmallCountSetting
from machidata.publish.services import (
    aggregate_spec_set,
    publication_act,
    publication_request_create,
    publication_withdraw_request,
    small_count_threshold_set,
)
from machidata.publish.tests.conftest import as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)

# 区 × 性別; the smallest cells are 3 (東区／男) and 6 (南区／女), then 21 (西区／女).
STATS = "区,男,女,計\n合計,96,109,205\n中央区,40,52,92\n東区,3,30,33\n西区,28,21,49\n南区,25,6,31\n"


@pytest.fixture
def stats(cast: Actors) -> TableVersion:
    ds = make_dataset(
        cast.org.health_div, title="区別・性別 健診受診者数", classification="internal", slug="kenshin"
    )
    v = ingest_text(cast, ds, "kenshin", STATS)
    aggregate_spec_set(actor=as_actor(cast, "owner_editor"), table=Table.objects.get(pk=v.table_id),
                       dimension="区", count_columns=["男", "女"], total_column="計", total_row_label="合計")  # fmt: skip
    return v


def _small(v: TableVersion) -> dict[str, object]:
    (res,) = [r for r in gates.run_gates(v.table.dataset, [v], licence=None, attribution="", check_licence=False)
              if r.gate == "small_counts"]  # fmt: skip
    return res.as_dict()


def test_default_threshold_is_ten_and_the_dataset_setting_moves_the_gate(
    cast: Actors, stats: TableVersion
) -> None:
    editor = as_actor(cast, "owner_editor")
    assert gates.dataset_threshold(stats.table.dataset_id) == 10
    assert AggregateSpec.objects.get(table_id=stats.table_id).threshold is None  # follows the dataset
    res = _small(stats)
    assert not res["passed"]
    assert "2 個" in str(res["detail"])
    small_count_threshold_set(actor=editor, dataset=stats.table.dataset, threshold=25)
    res = _small(stats)
    assert "25 未満のセルが 3 個" in str(res["detail"])  # 3, 6 and 21
    small_count_threshold_set(actor=editor, dataset=stats.table.dataset, threshold="3")
    assert _small(stats)["passed"]  # 3 is not below 3
    assert AuditEvent.objects.filter(action="publication.small_count_threshold").count() == 2


def test_threshold_below_one_is_refused_in_japanese(cast: Actors, stats: TableVersion) -> None:
    editor = as_actor(cast, "owner_editor")
    for bad in (0, -5, "0", "", "十"):
        with pytest.raises(InvalidInput, match="秘匿の基準"):
            small_count_threshold_set(actor=editor, dataset=stats.table.dataset, threshold=bad)
    assert not SmallCountSetting.objects.exists()


def test_a_table_may_only_be_stricter_than_its_dataset(cast: Actors, stats: TableVersion) -> None:
    editor = as_actor(cast, "owner_editor")
    table = Table.objects.get(pk=stats.table_id)
    small_count_threshold_set(actor=editor, dataset=table.dataset, threshold=5)
    with pytest.raises(InvalidInput, match="データセットの基準（5）より小さくできません"):
        aggregate_spec_set(actor=editor, table=table, dimension="区", count_columns=["男", "女"],
                           total_column="計", threshold=4)  # fmt: skip
    aggregate_spec_set(actor=editor, table=table, dimension="区", count_columns=["男", "女"],
                       total_column="計", total_row_label="合計", threshold=7)  # fmt: skip
    assert gates.spec_of(stats).threshold == 7  # type: ignore[union-attr]
    # Raising the dataset's threshold later wins over a table's lower one.
    small_count_threshold_set(actor=editor, dataset=table.dataset, threshold=22)
    assert gates.spec_of(stats).threshold == 22  # type: ignore[union-attr]


def test_threshold_api_and_state(cast: Actors, stats: TableVersion) -> None:
    ds = stats.table.dataset
    editor, viewer = Client(), Client()
    editor.force_login(cast.users["owner_editor"])
    viewer.force_login(cast.users["owner_viewer"])
    url = f"/api/v1/publication/datasets/{ds.slug}/threshold"
    assert (
        editor.put(url, data=json.dumps({"threshold": 0}), content_type="application/json").status_code == 422
    )
    assert viewer.put(
        url, data=json.dumps({"threshold": 12}), content_type="application/json"
    ).status_code in (403, 404)
    ok = editor.put(url, data=json.dumps({"threshold": 12}), content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["small_count_threshold"] == 12
    assert editor.get(f"/api/v1/publication/datasets/{ds.slug}").json()["small_count_threshold"] == 12


def test_threshold_form_on_the_table_page(cast: Actors, stats: TableVersion) -> None:
    c = Client()
    c.force_login(cast.users["owner_editor"])
    url = f"/publication/tables/{stats.table.dataset.slug}/kenshin/"
    page = c.get(url)
    assert "小さい数の基準（データセット全体）" in page.content.decode()
    bad = c.post(url, {"action": "threshold", "dataset_threshold": "0"}, follow=True)
    assert "1以上" in bad.content.decode()
    c.post(url, {"action": "threshold", "dataset_threshold": "15"})
    assert gates.dataset_threshold(stats.table.dataset_id) == 15


# ---- the guard: a published dataset keeps its classification until 非公開化 ---------------------------


def _publish(cast: Actors, dataset: Dataset, v: TableVersion) -> None:
    req = publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v.pk],
        licence_code="cc-by-4.0", attribution="熊本市オープンデータ",
    )  # fmt: skip
    for who in ("head", "admin"):
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")


@pytest.mark.parametrize(
    ("field", "value"),
    [("classification", "internal"), ("classification", "restricted"), ("personal_data", "personal")],
)
def test_published_dataset_classification_is_refused_until_withdrawn(
    cast: Actors, dataset: Dataset, v1: TableVersion, field: str, value: str
) -> None:
    _publish(cast, dataset, v1)
    dataset.refresh_from_db()
    assert dataset.classification == "public"
    for who in ("owner_editor", "admin"):
        fresh = Dataset.objects.get(pk=dataset.pk)
        with pytest.raises(InvalidInput, match="先に「非公開化の申請」"):
            dataset_update(actor=as_actor(cast, who), dataset=fresh, data={field: value},
                           lock_version=fresh.lock_version)  # fmt: skip
    dataset.refresh_from_db()
    assert dataset.classification == "public"
    assert dataset.personal_data == "none"
    assert selectors.public_version_for(v1.table) == v1
    # Other fields still change while public.
    fresh = Dataset.objects.get(pk=dataset.pk)
    dataset_update(actor=as_actor(cast, "owner_editor"), dataset=fresh, data={"description": "説明を直しました"},
                   lock_version=fresh.lock_version)  # fmt: skip


def test_after_withdrawal_the_classification_may_change(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    _publish(cast, dataset, v1)
    req = publication_withdraw_request(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, note="見直しのため"
    )
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    fresh = Dataset.objects.get(pk=dataset.pk)
    assert fresh.classification == "internal"
    updated = dataset_update(actor=as_actor(cast, "owner_editor"), dataset=fresh,
                             data={"personal_data": "personal"}, lock_version=fresh.lock_version)  # fmt: skip
    assert updated.personal_data == "personal"
