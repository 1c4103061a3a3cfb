"""Publication services: bad input refused in Japanese with nothing half-published, gates, overrides,
the 統計表 declaration and the suppression tool writing a new version through ingest."""

from __future__ import annotations

import pytest

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors, make_dataset
from machidata.publish import selectors
from machidata.publish.models import ApprovalAction, PublishedVersion, RequestStatus
from machidata.publish.services import (
    aggregate_spec_set,
    gate_override,
    publication_act,
    publication_recheck,
    publication_request_create,
    suppression_run,
)
from machidata.publish.tests.conftest import FACILITIES_V2, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)

# A small 統計表 (hand-made): 区 × 性別 counts of a health check-up, with a 計 column and a 合計 row.
STATS = "区,男,女,計\n合計,96,109,205\n中央区,40,52,92\n東区,3,30,33\n西区,28,21,49\n南区,25,6,31\n"


def _file(cast: Actors, dataset: Dataset, versions: list[TableVersion], **kw: object) -> object:
    values: dict[str, object] = {"licence_code": "cc-by-4.0", "attribution": "熊本市オープンデータ"}
    values.update(kw)
    return publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v.pk for v in versions], **values
    )  # type: ignore[arg-type]


def _nothing_public(dataset: Dataset) -> None:
    dataset.refresh_from_db()
    assert dataset.classification != "public"
    assert not PublishedVersion.objects.filter(table__dataset=dataset).exists()


def test_own_request_cannot_be_approved(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    # The requester is also designated 課長: still refused.
    from machidata.access.models import ApproverDesignation, DesignationKind

    ApproverDesignation.objects.create(
        unit=cast.org.health_div, user=cast.users["owner_editor"], kind=DesignationKind.HEAD
    )
    req = _file(cast, dataset, [v1])
    with pytest.raises(PermissionDenied, match="自分の申請は決裁できません"):
        publication_act(actor=as_actor(cast, "owner_editor"), request=req, decision="approve")
    assert not ApprovalAction.objects.exists()
    _nothing_public(dataset)


def test_one_person_cannot_approve_two_steps(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    from machidata.access.models import ApproverDesignation, DesignationKind

    ApproverDesignation.objects.create(
        unit=cast.org.health_div, user=cast.users["admin"], kind=DesignationKind.DEPUTY
    )
    req = _file(cast, dataset, [v1])
    req = publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")  # as 代決者
    with pytest.raises(PermissionDenied, match="2人以上"):
        publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    _nothing_public(dataset)


def test_wrong_person_is_told_who_decides(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    req = _file(cast, dataset, [v1])
    with pytest.raises(PermissionDenied, match=r"所管課長の決裁.*課長"):
        publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")


def test_version_changed_after_the_check_is_refused_until_rechecked(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    req = _file(cast, dataset, [v1])
    req = publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")
    # The pinned version's reports change after the check (e.g. the screen is re-run and flags a column).
    TableVersion.objects.filter(pk=v1.pk).update(
        reports={**v1.reports, "screen": {"flags": [{"column": "施設名", "kind": "person_name"}]}}
    )
    with pytest.raises(Conflict, match="確認した後で版または設定が変わりました"):
        publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    _nothing_public(dataset)
    req = publication_recheck(actor=as_actor(cast, "owner_editor"), request=req)
    with pytest.raises(InvalidInput, match="個人情報と思われる列"):
        publication_act(actor=as_actor(cast, "admin"), request=req, decision="approve")
    _nothing_public(dataset)


def test_stale_fingerprint_from_the_page_is_refused(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    req = _file(cast, dataset, [v1])
    with pytest.raises(Conflict):
        publication_act(actor=as_actor(cast, "head"), request=req, decision="approve", fingerprint="0" * 64)


def test_override_needs_a_reason_and_is_recorded(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    v2 = ingest_text(cast, dataset, "facilities", FACILITIES_V2)
    req = _file(cast, dataset, [v2])
    with pytest.raises(InvalidInput, match="例外承認の理由を入力してください"):
        gate_override(
            actor=as_actor(cast, "admin"), request=req, gate="screen", table_name="facilities", reason="  "
        )
    with pytest.raises(PermissionDenied):
        gate_override(
            actor=as_actor(cast, "head"), request=req, gate="screen", table_name="facilities", reason="誤検知"
        )
    with pytest.raises(InvalidInput, match="例外承認できません"):
        gate_override(actor=as_actor(cast, "admin"), request=req, gate="licence", reason="後で決める")
    req = gate_override(
        actor=as_actor(cast, "admin"), request=req, gate="screen", table_name="facilities",
        reason="担当者は公開を了承した職員の職名表記であり、個人の氏名ではない（個人情報担当と協議済み）",
    )  # fmt: skip
    (screen,) = [r for r in req.gate_results if r["gate"] == "screen"]
    assert screen["override"]["by"] == cast.users["admin"].username
    assert AuditEvent.objects.filter(action="publication.gate_override").exists()
    for who in ("head", "admin2", "privacy"):  # the screen flag brings the privacy consult into the route
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")
    assert req.status == RequestStatus.APPROVED
    assert selectors.public_version_for(v2.table) == v2


def test_licence_gate_is_not_overridable_and_blocks(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    req = _file(cast, dataset, [v1], licence_code="internal-only", attribution="")
    assert any(r["gate"] == "licence" and not r["passed"] for r in req.gate_results)
    with pytest.raises(InvalidInput, match="ライセンスと出典の表記"):
        publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")


def test_personal_data_class_blocks(cast: Actors) -> None:
    ds = make_dataset(
        cast.org.health_div, title="健診受診者名簿", classification="restricted", personal_data="personal"
    )
    v = ingest_text(cast, ds, "roster", "区,件数\n中央区,12\n")
    req = _file(cast, ds, [v])
    assert [s["key"] for s in req.steps] == ["head", "strategy", "privacy"]
    (cls,) = [r for r in req.gate_results if r["gate"] == "classification"]
    assert not cls["passed"]
    assert not cls["overridable"]
    with pytest.raises(InvalidInput, match="公開区分と個人情報の区分"):
        publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")


def test_return_needs_a_comment_and_ends_the_request(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    req = _file(cast, dataset, [v1])
    with pytest.raises(InvalidInput, match="コメントを入力してください"):
        publication_act(actor=as_actor(cast, "head"), request=req, decision="return")
    req = publication_act(
        actor=as_actor(cast, "head"), request=req, decision="return", comment="出典の表記を直してください"
    )
    assert req.status == RequestStatus.RETURNED
    assert selectors.publication_state(dataset) == selectors.STATE_NONE


def test_second_open_request_is_refused(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    _file(cast, dataset, [v1])
    with pytest.raises(Conflict, match="決裁中の申請"):
        _file(cast, dataset, [v1])


def test_viewer_cannot_file(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    with pytest.raises(PermissionDenied):
        publication_request_create(
            actor=as_actor(cast, "owner_viewer"),
            dataset=dataset,
            version_ids=[v1.pk],
            licence_code="cc-by-4.0",
            attribution="x",
        )


# ---- 統計表: declaration, small-count gate, suppression through ingest ------------------------------------


@pytest.fixture
def stats(cast: Actors) -> TableVersion:
    ds = make_dataset(
        cast.org.health_div, title="区別・性別 健診受診者数", classification="internal", slug="kenshin"
    )
    return ingest_text(cast, ds, "kenshin", STATS)


def test_spec_refusals(cast: Actors, stats: TableVersion) -> None:
    editor = as_actor(cast, "owner_editor")
    table = Table.objects.get(pk=stats.table_id)
    with pytest.raises(InvalidInput, match="1以上"):
        aggregate_spec_set(
            actor=editor,
            table=table,
            dimension="区",
            count_columns=["男", "女"],
            total_column="計",
            threshold=0,
        )
    with pytest.raises(InvalidInput, match="合計の列か合計の行"):
        aggregate_spec_set(actor=editor, table=table, dimension="区", count_columns=["男", "女"])
    with pytest.raises(InvalidInput, match="表にない列"):
        aggregate_spec_set(
            actor=editor, table=table, dimension="区", count_columns=["男", "子ども"], total_column="計"
        )


def test_small_count_gate_then_suppression_writes_a_new_version_that_passes(
    cast: Actors, stats: TableVersion
) -> None:
    editor = as_actor(cast, "owner_editor")
    table = Table.objects.get(pk=stats.table_id)
    aggregate_spec_set(
        actor=editor,
        table=table,
        dimension="区",
        count_columns=["男", "女"],
        total_column="計",
        total_row_label="合計",
    )
    req = _file(cast, table.dataset, [stats])
    (small,) = [r for r in req.gate_results if r["gate"] == "small_counts"]
    assert not small["passed"]
    assert "東区／男" in small["detail"]
    assert "南区／女" in small["detail"]
    from machidata.publish.services import publication_cancel

    publication_cancel(actor=editor, request=req)

    run = suppression_run(actor=editor, table=table)
    assert run.report["cells_exposed"] == 0
    assert run.report["primary"] == 2
    assert run.report["cells_checked"] >= 4  # each small cell needs a partner in its row and its column
    new = run.result_version
    assert new is not None
    assert new.number == stats.number + 1
    # The reason is kept in the schema the way ingest keeps every missing-value marker.
    table.refresh_from_db()
    fields = {f["name"]: f for f in table.schema["fields"]}
    assert fields["男"]["machidata"]["missing"]["x"] == "suppressed"
    assert "x" in fields["男"]["missingValues"]
    req = _file(cast, table.dataset, [new])
    (small,) = [r for r in req.gate_results if r["gate"] == "small_counts"]
    assert small["passed"], small["detail"]
    assert AuditEvent.objects.filter(action="publication.suppress").exists()
