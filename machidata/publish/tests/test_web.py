"""Publication pages and API for every role: file from the dataset page, act, see state, candidates."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from machidata.catalog.models import Dataset, TableVersion
from machidata.core.testing import Actors, make_dataset
from machidata.publish import selectors
from machidata.publish.models import PublicationRequest, RequestStatus
from machidata.publish.tests.conftest import as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1/publication"


def _post_json(client: object, url: str, body: dict[str, object]) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")  # type: ignore[attr-defined]


def test_dataset_page_shows_state_and_request_button_only_to_the_owner_editor(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    url = reverse("catalog:detail", args=[dataset.slug])
    page = cast.client("owner_editor").get(url).content.decode()
    assert "公開状態: 未申請" in page
    assert reverse("publish:new", args=[dataset.slug]) in page
    page = cast.client("staff").get(url).content.decode()
    assert "公開状態: 未申請" in page
    assert reverse("publish:new", args=[dataset.slug]) not in page


def test_browser_route_end_to_end(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    editor = cast.client("owner_editor")
    form = editor.get(reverse("publish:new", args=[dataset.slug]))
    assert form.status_code == 200
    assert "第1版" in form.content.decode()
    resp = editor.post(
        reverse("publish:new", args=[dataset.slug]),
        {f"version_{v1.table_id}": v1.pk, "licence": "cc-by-4.0", "attribution": "熊本市オープンデータ"},
    )
    req = PublicationRequest.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("publish:detail", args=[req.pk])
    detail = editor.get(resp["Location"]).content.decode()
    assert "所管課長の決裁" in detail
    assert "課長" in detail  # who must act
    assert 'value="approve"' not in detail  # not the requester's turn
    head = cast.client("head")
    assert req.pk in [r.pk for r in selectors.request_list(actor=as_actor(cast, "head"), scope="awaiting")]
    assert 'value="approve"' in head.get(resp["Location"]).content.decode()
    head.post(reverse("publish:act", args=[req.pk]), {"decision": "approve", "fingerprint": req.fingerprint})
    cast.client("admin").post(
        reverse("publish:act", args=[req.pk]), {"decision": "approve", "fingerprint": req.fingerprint}
    )
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert "公開状態: 公開中" in editor.get(reverse("catalog:detail", args=[dataset.slug])).content.decode()


def test_refusal_is_shown_as_a_japanese_message(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    resp = cast.client("owner_editor").post(
        reverse("publish:new", args=[dataset.slug]), {f"version_{v1.table_id}": v1.pk, "licence": ""}
    )
    assert resp.status_code == 400
    assert "ライセンスを一覧から選んでください" in resp.content.decode()
    assert not PublicationRequest.objects.exists()


def test_request_pages_hide_from_those_who_cannot_discover(cast: Actors, v1: TableVersion) -> None:
    secret = make_dataset(
        cast.org.health_div, title="機密の統計", classification="confidential", slug="himitsu"
    )
    v = ingest_text(cast, secret, "t", "区,件数\n中央区,12\n")
    from machidata.publish.services import publication_request_create

    req = publication_request_create(
        actor=as_actor(cast, "owner_editor"),
        dataset=secret,
        version_ids=[v.pk],
        licence_code="cc-by-4.0",
        attribution="x",
    )
    assert cast.client("staff").get(reverse("publish:detail", args=[req.pk])).status_code == 404
    assert cast.client("owner_viewer").get(reverse("publish:detail", args=[req.pk])).status_code == 200
    assert (
        cast.client("anonymous").get(reverse("publish:detail", args=[req.pk])).status_code == 302
    )  # sign in


def test_api_route_state_and_refusals(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    editor = cast.client("owner_editor")
    resp = _post_json(editor, f"{API}/requests", {"dataset": dataset.slug, "version_ids": [v1.pk], "licence": "cc-by-4.0",
                                                  "attribution": "熊本市オープンデータ"})  # fmt: skip
    assert resp.status_code == 201, resp.content
    body = resp.json()
    rid = body["id"]
    assert [s["key"] for s in body["steps"]] == ["head", "strategy"]
    assert body["steps"][0]["state"] == "現在"
    own = _post_json(editor, f"{API}/requests/{rid}/act", {"decision": "approve"})
    assert own.status_code == 403
    assert "自分の申請" in own.json()["detail"]
    awaiting = cast.client("head").get(f"{API}/requests", {"scope": "awaiting"}).json()
    assert [r["id"] for r in awaiting] == [rid]
    ok = _post_json(
        cast.client("head"),
        f"{API}/requests/{rid}/act",
        {"decision": "approve", "fingerprint": body["fingerprint"]},
    )
    assert ok.status_code == 200
    assert ok.json()["current_step"] == 1
    _post_json(cast.client("admin"), f"{API}/requests/{rid}/act", {"decision": "approve"})
    state = editor.get(f"{API}/datasets/{dataset.slug}").json()
    assert state["state"] == "公開中"
    assert state["tables"] == [{"table": "facilities", "public_version": 1, "versions": {"1": "公開中"}}]
    assert cast.client("anonymous").get(f"{API}/requests").status_code == 401
    assert (
        cast.client("staff").get(f"{API}/requests/{rid}").status_code == 200
    )  # 庁内 now public: discoverable
    withdraw = _post_json(editor, f"{API}/withdrawals", {"dataset": dataset.slug, "note": ""})
    assert withdraw.status_code == 400
    assert "非公開化の理由" in withdraw.json()["detail"]


def test_candidates_for_strategy_only(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    personal = make_dataset(
        cast.org.health_div, title="名簿", classification="internal", personal_data="personal"
    )
    ingest_text(cast, personal, "t", "区,件数\n中央区,12\n")
    rows = cast.client("admin").get(f"{API}/candidates").json()
    assert [r["dataset"] for r in rows] == [dataset.slug]
    assert cast.client("owner_editor").get(f"{API}/candidates").status_code == 404
    page = cast.client("admin").get(reverse("publish:candidates")).content.decode()
    assert "保健センター一覧" in page
    assert "名簿" not in page


def test_statistical_table_page_and_api(cast: Actors) -> None:
    from machidata.publish.tests.test_services import STATS

    ds = make_dataset(
        cast.org.health_div, title="区別・性別 健診受診者数", classification="internal", slug="kenshin"
    )
    v = ingest_text(cast, ds, "kenshin", STATS)
    url = reverse("publish:table_aggregate", args=[ds.slug, "kenshin"])
    assert cast.client("staff").get(url).status_code == 403  # may discover the 庁内 table, may not edit it
    editor = cast.client("owner_editor")
    assert editor.get(url).status_code == 200
    bad = editor.put(f"{API}/tables/{ds.slug}/kenshin/aggregate", data=json.dumps(
        {"dimension": "区", "count_columns": ["男", "女"], "threshold": 0, "total_column": "計"}), content_type="application/json")  # fmt: skip
    assert bad.status_code == 400
    assert "1以上" in bad.json()["detail"]
    ok = editor.put(f"{API}/tables/{ds.slug}/kenshin/aggregate", data=json.dumps(
        {"dimension": "区", "count_columns": ["男", "女"], "total_column": "計", "total_row_label": "合計"}), content_type="application/json")  # fmt: skip
    assert ok.status_code == 200, ok.content
    resp = editor.post(url, {"action": "suppress"})
    assert resp.status_code == 302
    page = editor.get(url).content.decode()
    assert f"第{v.number}版から第{v.number + 1}版を作成" in page
    assert "分かってしまうセル 0" in page


def test_table_history_shows_each_versions_publication_state(
    cast: Actors, dataset: Dataset, v1: TableVersion
) -> None:
    from machidata.publish.services import publication_act, publication_request_create

    req = publication_request_create(actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v1.pk],
                                     licence_code="cc-by-4.0", attribution="熊本市")  # fmt: skip
    url = reverse("catalog:table_detail", args=[dataset.slug, "facilities"])
    assert "申請中" in cast.client("owner_editor").get(url).content.decode()
    for who in ("head", "admin"):
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")
    ingest_text(cast, dataset, "facilities", "施設名,区,定員\n中央保健センター,中央区,45\n")
    page = cast.client("owner_editor").get(url).content.decode()
    assert page.count('badge--publication">公開中') == 1  # v1 only; v2 is not public


def test_api_permission_matrix(cast: Actors, dataset: Dataset, v1: TableVersion) -> None:
    from machidata.core.testing import check_statuses
    from machidata.publish.services import publication_request_create

    req = publication_request_create(actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v1.pk],
                                     licence_code="cc-by-4.0", attribution="熊本市")  # fmt: skip
    everyone = ("staff", "owner_viewer", "owner_editor", "other_editor", "admin", "head")
    check_statuses(cast, lambda c: c.get(f"{API}/requests/{req.pk}"),
                   {"anonymous": 401, **dict.fromkeys(everyone, 200)}, label="read")  # fmt: skip
    check_statuses(
        cast, lambda c: _post_json(c, f"{API}/requests/{req.pk}/act", {"decision": "approve"}),
        {"anonymous": 401, "staff": 403, "owner_viewer": 403, "owner_editor": 403, "other_editor": 403, "admin": 403,
         "head": 200},
        label="act at the 課長 step",
    )  # fmt: skip
    check_statuses(
        cast, lambda c: _post_json(c, f"{API}/requests/{req.pk}/overrides", {"gate": "screen", "reason": "x"}),
        {"anonymous": 401, "staff": 403, "owner_editor": 403, "head": 403, "admin": 400},  # admin: nothing failing
        label="override",
    )  # fmt: skip
    check_statuses(cast, lambda c: c.get(f"{API}/candidates"),
                   {"anonymous": 401, "staff": 404, "owner_editor": 404, "head": 404, "admin": 200}, label="candidates")  # fmt: skip


def test_admin_designation_is_audited_and_requests_are_read_only(cast: Actors) -> None:
    from machidata.audit.models import AuditEvent

    for name in ("admin", "staff"):  # Django's is_staff flag: only 管理 must get in anyway
        cast.users[name].is_staff = True
        cast.users[name].save()
    admin = cast.client("admin")
    resp = admin.post(reverse("admin:access_approverdesignation_add"), {
        "unit": cast.org.fire_div.pk, "user": cast.users["other_editor"].pk, "kind": "head", "valid_from": "2024-04-01",
    })  # fmt: skip
    assert resp.status_code == 302, resp.content.decode()[:500]
    assert AuditEvent.objects.filter(action="approverdesignation.create").exists()
    assert admin.get(reverse("admin:publish_publicationrequest_add")).status_code == 403
    assert cast.client("staff").get(reverse("admin:access_approverdesignation_changelist")).status_code == 302


def test_nested_subtotals_through_the_suppression_tool_page(cast: Actors) -> None:
    """区 → 町 → 丁目 written on the form, one 小計 a line: the gate, the tool and its audit use the nesting."""
    from machidata.publish.gates import run_gates
    from machidata.publish.models import SuppressionRun
    from machidata.publish.tests.test_suppression import _TOWNS, _WARDS, _nested_table

    table = _nested_table()
    text = "\n".join(",".join(str(v) for v in row.values()) for row in table.to_pylist())
    ds = make_dataset(
        cast.org.health_div, title="区・町・丁目別 人数", classification="internal", slug="chome"
    )
    v = ingest_text(cast, ds, "chome", ",".join(table.column_names) + "\n" + text + "\n")
    url = reverse("publish:table_aggregate", args=[ds.slug, "chome"])
    editor = cast.client("owner_editor")
    subtotals = "\n".join(f"{k}: {'、'.join(m)}" for k, m in (*_WARDS.items(), *_TOWNS.items()))
    form = {
        "dimension": "地域",
        "count_columns": ["男", "女"],
        "total_column": "計",
        "total_row_label": "合計",
    }
    editor.post(url, {**form, "row_subtotals": subtotals})
    assert "統計表の設定を保存しました" in editor.get(url).content.decode()
    (gate,) = [
        r
        for r in run_gates(ds, [v], licence=None, attribution="", check_licence=False)
        if r.gate == "small_counts"
    ]
    assert not gate.passed
    assert "c丁目／男" in gate.detail
    # A 丁目 put under both its 町 and its 区 is refused on the page, and the saved nesting is kept.
    editor.post(url, {**form, "row_subtotals": subtotals + "\n中央区: A町、a丁目"})
    page = editor.get(url).content.decode()
    assert "両方の内訳" in page
    editor.post(url, {"action": "suppress"})
    run = SuppressionRun.objects.get(table__dataset=ds)
    assert run.report["cells_exposed"] == 0
    assert run.report["primary"] == 4
    assert run.result_version is not None
    (after,) = [
        r
        for r in run_gates(ds, [run.result_version], licence=None, attribution="", check_licence=False)
        if r.gate == "small_counts"
    ]
    assert after.passed, after.detail
