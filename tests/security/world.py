"""The world the authorization matrix probes: one dataset of every kind and one object of every other kind.

Actors are the standard cast of :func:`machidata.core.testing.make_actors` (the owning 課 is
健康づくり推進課) plus ``granted`` / ``granted_editor`` (警防課 viewers holding a read / edit grant
on every dataset) and ``partner`` (an 外部協力者 of a university, scoped to an approved use that covers
every dataset but the 機密 仮名加工 ones: the policy lets it read the use's de-identified datasets). Every dataset has one table with one committed version, so read routes have
rows to leak.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from machidata.access import policy
from machidata.access.models import Classification, Membership, PersonalData, Role, StaffRank
from machidata.access.policy import Action, actor_for
from machidata.catalog.models import DatasetGrant, GrantLevel
from machidata.catalog.tests.table_fixtures import ROWS, make_table, write
from machidata.core.testing import Actors, make_actors, make_dataset, make_token, make_user

ACTORS = (
    "anonymous",
    "staff",
    "owner_viewer",
    "owner_editor",
    "other_editor",
    "admin",
    "granted",
    "granted_editor",
    "partner",
)
# Signed-in staff. The 外部協力者 is signed in but not staff: it is refused wherever staff get through
# unless an entry lets it through (``matrix.PARTNER_REACHES``).
SIGNED_IN = frozenset(ACTORS) - {"anonymous", "partner"}

# Every valid subject (a 公開 dataset never holds personal data: the publication gates see to that).
SUBJECTS = [
    s
    for s in policy.all_subjects()
    if not (s.classification == Classification.PUBLIC and s.personal_data != PersonalData.NONE)
]


@dataclass
class World:
    """Actors, their API tokens, the datasets (each with table ``t``) and the other objects."""

    actors: Actors
    datasets: list[Any]
    tokens: dict[str, str]
    objects: dict[str, Any] = field(default_factory=dict)

    def allowed(self, action: Action, dataset: Any) -> frozenset[str]:
        """The actors the policy table lets do ``action`` on ``dataset`` (computed from ``decide``)."""
        out = set()
        for name in ACTORS:
            actor = actor_for(self.actors.users.get(name))
            subject = policy.subject_of(dataset)
            if any(policy.decide(s, action, subject) for s in policy.standings_of(actor, dataset)):
                out.add(name)
        return frozenset(out)

    def distinct(self) -> list[Any]:
        """One dataset per distinct row of the policy table (who may discover, read, edit, administer).

        Routes other than the core read paths are probed on these: two datasets with the same row
        are treated alike by the policy, so a second one finds nothing the first does not.
        """
        seen: dict[tuple[frozenset[str], ...], Any] = {}
        for d in self.datasets:
            signature = tuple(self.allowed(a, d) for a in Action)
            seen.setdefault(signature, d)
        return list(seen.values())

    def sample(self) -> list[Any]:
        """A few datasets of different kinds, for routes that change things (probed for refusals only)."""
        wanted = {
            (Classification.INTERNAL, PersonalData.NONE),
            (Classification.RESTRICTED, PersonalData.PERSONAL),
            (Classification.CONFIDENTIAL, PersonalData.NONE),
            (Classification.PUBLIC, PersonalData.NONE),
        }
        return [d for d in self.datasets if (d.classification, d.personal_data) in wanted]


def _partner(actors: Actors, datasets: list[Any]) -> Any:
    """An 外部協力者 (access.Partner) on an approved use of every dataset but the 機密 仮名加工 ones."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from machidata.access.models import Partner
    from machidata.privacy.use_records import ApprovedUse

    today = timezone.localdate()
    use = ApprovedUse.objects.create(
        title="熊本大学との共同研究（外部協力者）", purpose="匿名加工・仮名加工データの分析", legal_basis="other_purpose",
        legal_ground="第69条第2項第4号", starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=365),
        created_by=actors.users["admin"],
    )  # fmt: skip
    use.datasets.set(
        [d for d in datasets if not (d.classification == Classification.CONFIDENTIAL
                                     and d.personal_data == PersonalData.PSEUDONYMISED)]
    )  # fmt: skip
    user = get_user_model().objects.create_user(username="partner", password=None)
    Partner.objects.create(user=user, organisation="熊本大学", use=use, starts_on=use.starts_on,
                           ends_on=use.ends_on, created_by=actors.users["admin"])  # fmt: skip
    return user


def build_world() -> World:
    """Create the world (call inside a test with database access and a private MACHIDATA_HOME)."""
    from machidata.audit.models import AuditEvent
    from machidata.catalog.models import Licence
    from machidata.datarequests.services import data_request_create, data_request_route
    from machidata.jobs.models import Job
    from machidata.publish.services import publication_request_create
    from machidata.standards.models import StandardDeclaration
    from machidata.support import services as support
    from machidata.support.models import ForumTopic
    from machidata.support.services_cases import case_create
    from machidata.support.services_guides import guide_create
    from machidata.support.services_qa import question_ask, thread_start
    from machidata.support.tests.conftest import make_course

    actors = make_actors()
    org = actors.org
    users = actors.users
    users["granted"] = make_user("granted", unit=org.fire_div, role=Role.VIEWER)
    users["granted_editor"] = make_user("granted_editor", unit=org.fire_div, role=Role.VIEWER)
    # 管理 uses the Django admin too (the admin site needs is_staff as well as the 管理 role).
    users["admin"].is_staff = True
    users["admin"].save(update_fields=["is_staff"])
    # owner_editor is the owning 課's 管理職 (職位), so the 局's usage page has one 管理職 to let in
    Membership.objects.filter(user=users["owner_editor"]).update(rank=StaffRank.MANAGER)
    datasets = []
    for i, s in enumerate(SUBJECTS):
        d = make_dataset(
            org.health_div,
            title=f"M{i:02d} {s.classification}/{s.personal_data}/{int(s.discoverable)}",
            classification=s.classification,
            personal_data=s.personal_data,
            discoverable=s.discoverable,
        )
        DatasetGrant.objects.create(dataset=d, user=users["granted"], level=GrantLevel.READ)
        DatasetGrant.objects.create(dataset=d, user=users["granted_editor"], level=GrantLevel.EDIT)
        table = make_table(d, name="t", title="区別人口")
        write(table, ROWS[:5])
        # every table is declared a standard dataset, so the standard-format CSV routes have data to leak
        StandardDeclaration.objects.create(table=table, standard="fire_hydrant", mapping={"種別": "名前"})
        datasets.append(d)
    users["partner"] = _partner(actors, datasets)
    tokens = {name: make_token(users[name]) for name in ACTORS if name != "anonymous"}
    world = World(actors, datasets, tokens)

    def as_(name: str) -> policy.Actor:
        return actor_for(users[name])

    internal = next(
        d
        for d in datasets
        if d.classification == Classification.INTERNAL and d.personal_data == PersonalData.NONE
    )
    o = world.objects
    o["internal"] = internal
    o["partner"] = users["partner"].partner  # its account (access.Partner), for the keepers' routes
    o["token_id"] = users["owner_editor"].api_tokens.first().pk
    o["job"] = Job.objects.create(kind="test", title="テスト処理", created_by=users["owner_editor"])
    o["consultation"] = support.consultation_open(
        actor=as_("owner_viewer"), kind="question", topic="健診データの集計", description="年齢階級別に"
    )
    course = make_course()
    o["course"] = course
    session = course.sessions.create(on_date=dt.date(2024, 6, 3), place="本庁舎", capacity=30)
    o["session"] = session
    o["attendance"] = support.attendance_record(
        actor=as_("admin"), session=session, user_id=users["staff"].pk
    )
    o["core"] = support.core_staff_add(
        actor=as_("admin"), field_name="保健", since=dt.date(2024, 4, 1), user_id=users["owner_editor"].pk
    )
    o["guide"] = guide_create(actor=as_("admin"), slug="basics", title="基本", body="本文")
    o["question"] = question_ask(actor=as_("staff"), dataset=internal, body="更新頻度は？")
    topic = ForumTopic.objects.create(slug="general", name="全般")
    o["thread"] = thread_start(actor=as_("staff"), topic=topic, title="集計の質問", body="教えてください")
    o["case_draft"] = case_create(
        actor=as_("owner_editor"),
        values={
            "title": "健診の受診率分析",
            "summary": "下書き",
            "data_used": "健診データ",
            "insight": "受診率の差",
            "municipality": "熊本市",
            "field": "health",
            "evidence_level": "descriptive",
        },
    )
    request = data_request_create(
        actor=as_("staff"),
        title="町丁別の空き家の件数",
        description="町丁別・年度別",
        purpose="計画の見直し",
        period="令和3年度～令和5年度",
        search_query="空き家",
    )
    o["data_request"] = data_request_route(
        actor=as_("admin"), request=request, unit_id=org.health_div.pk, note="ご確認ください"
    )
    o["bureau"] = org.health_bureau
    o["audit_event"] = AuditEvent.objects.order_by("id").first()  # ids are not 1-based on PostgreSQL
    # 公開申請: one on a 庁内 entry every member of staff may discover, one on a hidden 機密 entry.
    Licence.objects.get_or_create(code="cc-by-4.0", defaults={"name": "CC BY 4.0", "is_open": True})
    hidden = next(
        d for d in datasets if d.classification == Classification.CONFIDENTIAL and not d.discoverable
    )
    o["hidden"] = hidden
    for key, d in (("publication", internal), ("publication_hidden", hidden)):
        o[key] = publication_request_create(
            actor=as_("owner_editor"),
            dataset=d,
            version_ids=[d.tables.get().current_version.pk],
            licence_code="cc-by-4.0",
            attribution="熊本市（テスト）",
        )
    _charts_and_recipes(world, as_)
    _public_charts(world, as_)
    _ebpm(world, as_)
    # ---- privacy: a pending 利用申請 by ``staff`` on a 所属限定 entry (first step: staff's 課長, whom
    # none of the cast is, so nobody may act yet; 代決者・課長 are designated in the privacy tests).
    from machidata.privacy.services import access_request_create

    today = dt.date.today()
    o["access_request"] = access_request_create(
        actor=as_("staff"),
        dataset=next(
            d
            for d in datasets
            if d.classification == Classification.RESTRICTED and d.personal_data == PersonalData.NONE
        ),
        purpose="救急出動と健診受診の地域差を比べるため",
        starts_on=today,
        ends_on=today + dt.timedelta(days=30),
        legal_basis="internal",
    )
    # ---- privacy: the 個人情報ファイル簿 entry of a 個人情報 entry of the owning 課 (room privacy, issue 12)
    world.objects["register_dataset"] = next(
        d
        for d in datasets
        if d.personal_data == PersonalData.PERSONAL and d.owner_id == world.actors.org.health_div.pk
    )
    # ---- privacy: an approved use of the owning 課 on that entry, with its decision document
    from machidata.privacy.uses import use_attach_document, use_create

    use = use_create(
        actor=as_("admin"),
        data={"title": "熊本大学との共同研究", "purpose": "健診と救急搬送の関係の研究", "legal_basis": "other_purpose",
              "legal_ground": "第69条第2項第4号", "starts_on": today, "ends_on": today + dt.timedelta(days=365),
              "decision_body": "熊本市研究倫理審査委員会", "unit_id": world.actors.org.health_div.pk},
        datasets=[world.objects["register_dataset"].slug],
    )  # fmt: skip
    o["approved_use"] = use_attach_document(
        actor=as_("admin"), use=use, name="kettei.pdf", content=b"%PDF-1.4"
    )
    _survey(world, as_)
    _campaign(world, as_)
    _alerts(world, as_)
    _deid(world, as_)
    return world


def _deid(world: World, as_: Any) -> None:
    """A 加工の設定 on the 所属限定 仮名加工情報 entry and one refused run of it (room deid, issue 12)."""
    import tempfile
    from pathlib import Path

    from machidata.deid.models import DeidRun
    from machidata.deid.services import ExtractRefused, extract_run, plan_create

    dataset = next(
        d
        for d in world.datasets
        if d.classification == Classification.RESTRICTED and d.personal_data == PersonalData.PSEUDONYMISED
    )
    plan = plan_create(
        actor=as_("owner_editor"), dataset=dataset, title="住民記録（仮名加工）", table_name="jumin",
        identifiers=["宛名番号"], quasi=[{"column": "住所", "method": "ward"}], k=5,
    )  # fmt: skip
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as fh:
        fh.write("番号,住所\n1,熊本市中央区手取本町1-1\n".encode())  # no 宛名番号 column: refused
    with contextlib.suppress(ExtractRefused):
        extract_run(actor=as_("owner_editor"), plan=plan, path=Path(fh.name), source_name="x.csv")
    world.objects["deid_dataset"] = dataset
    world.objects["deid_plan"] = plan
    world.objects["deid_run"] = DeidRun.objects.get(plan=plan)


def _alerts(world: World, as_: Any) -> None:
    """An alert rule of ``staff`` on the EBPM indicator (its own; nobody else reaches it)."""
    from machidata.collect.alerts import alert_rule_create

    world.objects["alert_rule"] = alert_rule_create(
        actor=as_("staff"), indicator_id=world.objects["ebpm_indicator"].pk, condition="updated"
    )


def _survey(world: World, as_: Any) -> None:
    """A survey of 健康づくり推進課 with one confirmed round (room surveys, issue 10)."""
    from machidata.surveys.services import round_import, survey_create
    from machidata.surveys.tests.conftest import ROWS, declare, forms_xlsx

    editor = as_("owner_editor")
    survey = survey_create(actor=editor, title="職員アンケート", unit_id=world.actors.org.health_div.pk)
    round_ = round_import(
        actor=editor,
        survey=survey,
        label="2023年度",
        data=forms_xlsx(["所属局", "職位", "課題（複数選択可）", "ご意見"], ROWS),
    )
    world.objects["survey"] = survey
    world.objects["survey_round"] = declare(round_, editor)


def _campaign(world: World, as_: Any) -> None:
    """A 照会 on the 庁内 entry's table to 警防課 (staff, other_editor and the granted users are its members) and a facility."""
    from machidata.collect.services import campaign_create

    o = world.objects
    fire = world.actors.org.fire_div
    campaign = campaign_create(
        actor=as_("owner_editor"),
        table=o["internal"].tables.get(name="t"),
        title="区別人口の照会",
        deadline=dt.date.today() + dt.timedelta(days=14),
        unit_ids=[fire.pk],
        facilities=["第1合成小学校"],
    )
    o["campaign"] = campaign
    o["campaign_unit"] = campaign.recipients.get(unit=fire)
    o["campaign_facility"] = campaign.recipients.get(unit__isnull=True)
    from machidata.collect.imports import import_root, import_source_create

    (import_root() / "kenkou").mkdir(parents=True, exist_ok=True)
    o["import_source"] = import_source_create(
        actor=as_("owner_editor"), table=o["internal"].tables.get(name="t"), folder="kenkou"
    )
    from machidata.collect.opendata import opendata_preview

    # An open-data import previewed by 管理 (nothing imported): a list with one page-only dataset.
    o["opendata_run"] = opendata_preview(
        actor=as_("admin"),
        origin="list",
        owner=fire,
        content="NO,データ名称,データ形式,URL\n1,合成データ一覧,PDF,https://www.city.example.lg.jp/od.html\n".encode(),
        file_name="list.csv",
    )


def _charts_and_recipes(world: World, as_: Any) -> None:
    """Charts at every sharing level, dashboards, and a recipe (rooms of issues 7 and 8)."""
    from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_create
    from machidata.prep.codes import load_shipped_codes
    from machidata.prep.services import recipe_create

    o = world.objects
    internal = o["internal"]
    restricted = next(
        d
        for d in world.datasets
        if d.classification == Classification.RESTRICTED and d.personal_data == PersonalData.NONE
    )

    def document(d: Any) -> dict[str, Any]:
        return {
            "query": {
                "table": {"dataset": d.slug, "name": "t"},
                "filters": [],
                "group_by": [{"column": "区"}],
                "measures": [{"op": "count"}],
            },
            "visual": {"type": "bar", "x": "区", "y": "件数", "options": {}},
            "meta": {},
        }

    charts = {}
    for key, d, sharing in (
        ("chart_private", internal, "private"),
        ("chart_department", internal, "department"),
        ("chart_staff", internal, "staff"),
        ("chart_restricted", restricted, "staff"),  # shared with all, but its table is 所属限定
    ):
        charts[key] = chart_create(
            actor=as_("owner_editor"), title=key, document=document(d), source="テスト", sharing=sharing
        )
        o[key] = charts[key]
    for key, sharing in (("dashboard_private", "private"), ("dashboard_staff", "staff")):
        board = dashboard_create(actor=as_("owner_editor"), title=key, sharing=sharing)
        o[key] = dashboard_add_chart(
            actor=as_("owner_editor"),
            dashboard=board,
            lock_version=board.lock_version,
            chart_uuid=str(charts["chart_restricted"].uuid),
        )
    load_shipped_codes()
    o["recipe"] = recipe_create(
        actor=as_("owner_editor"),
        title="区別の件数",
        dataset=internal,
        table_name="derived",
        source=internal.tables.get(name="t"),
    )


def _public_charts(world: World, as_: Any) -> None:
    """Public sharing (issue 7 point 5): a chart and a dashboard made public through the route, on a 公開
    table of its own (outside ``world.datasets``) whose version is published, and a pending 公開申請."""
    from django.test import override_settings

    from machidata.catalog.models import Licence
    from machidata.charts.services import chart_create, dashboard_add_chart, dashboard_create
    from machidata.charts.services_public import share_request_act, share_request_create
    from machidata.publish.models import PublicationRequest, PublishedVersion

    o = world.objects
    dataset = make_dataset(world.actors.org.health_div, title="公開グラフの元データ",
                           classification=Classification.PUBLIC, personal_data=PersonalData.NONE)  # fmt: skip
    table = make_table(dataset, name="t", title="区別人口")
    version = write(table, ROWS[:5])
    approved = PublicationRequest.objects.create(
        dataset=dataset, route_name="full", steps=[], status="approved", requested_by=world.actors.users["admin"],
        licence=Licence.objects.get(code="cc-by-4.0"), attribution="熊本市（テスト）",
    )  # fmt: skip
    PublishedVersion.objects.create(table=table, version=version, request=approved)
    document = {
        "query": {"table": {"dataset": dataset.slug, "name": "t"}, "filters": [],
                  "group_by": [{"column": "区"}], "measures": [{"op": "count"}]},
        "visual": {"type": "bar", "x": "区", "y": "件数", "options": {}}, "meta": {},
    }  # fmt: skip
    editor = as_("owner_editor")
    chart = chart_create(actor=editor, title="公開グラフ", document=document, sharing="staff")
    # its filters are offered on the public page too (the matrix probes them with bad values)
    filters = [{"column": "区", "kind": "value"}, {"column": "日付", "kind": "date_range"},
               {"column": "時刻", "kind": "fiscal_year"}]  # fmt: skip
    board = dashboard_create(actor=editor, title="公開ダッシュボード", sharing="staff", filters=filters)
    board = dashboard_add_chart(actor=editor, dashboard=board, lock_version=board.lock_version,
                                chart_uuid=str(chart.uuid))  # fmt: skip
    # The world has no 課長: a one-step route (データ戦略課) publishes them.
    one_step = {"chart_public": [{"key": "strategy", "label": "データ戦略課の確認", "who": "admin"}]}
    with override_settings(MACHIDATA_PUBLICATION_ROUTES=one_step):
        for obj in (chart, board):
            req = share_request_create(actor=editor, obj=obj)
            share_request_act(actor=as_("admin"), request=req, decision="approve")
    o["public_chart"], o["public_dashboard"] = chart, board
    # A chart under decision (課長 → データ戦略課; nobody in the world may decide its first step).
    pending = chart_create(actor=editor, title="申請中のグラフ", document=document, sharing="staff")
    o["pending_public_chart"] = pending
    o["chart_share_request"] = share_request_create(actor=editor, obj=pending)


def _ebpm(world: World, as_: Any) -> None:
    """A 事業 of the owning 課 with a logic model and a hand-entered indicator (issue 9)."""
    from machidata.ebpm import services as ebpm
    from machidata.ebpm import services_indicators as ebpm_indicators

    o = world.objects
    unit = world.actors.org.health_div.pk
    item = ebpm.plan_item_create(
        actor=as_("owner_editor"), level="project", name="特定健診受診勧奨事業", unit_id=unit
    )
    ebpm.logic_model_save(
        actor=as_("owner_editor"),
        item=item,
        document={"nodes": [{"id": "n1", "stage": "activity", "statement": "案内を送る"},
                            {"id": "n2", "stage": "short", "statement": "受診率が上がる"}],
                  "links": [{"from": "n1", "to": "n2", "rationale": "案内は受診を促す"}]},
    )  # fmt: skip
    o["ebpm_item"] = item
    o["ebpm_indicator"] = ebpm_indicators.indicator_create(
        actor=as_("owner_editor"),
        item=item,
        node_id="n2",
        name="受診率",
        kind="outcome",
        responsible_unit_id=unit,
    )
    from machidata.ebpm import services_evaluations as ebpm_evaluations

    o["ebpm_evaluation"] = ebpm_evaluations.evaluation_create(
        actor=as_("owner_editor"), item=item, fiscal_year=2024, self_assessment="順調", direction="continue"
    )
    o["ebpm_plan"] = ebpm_evaluations.evaluation_plan_add(
        actor=as_("owner_editor"),
        item=item,
        indicator_id=o["ebpm_indicator"].pk,
        design="did",
        fiscal_year=2026,
    )
    _ebpm_pages(world, as_)


def _ebpm_pages(world: World, as_: Any) -> None:
    """A pending request for the 事業's public page, and a second 事業 whose page is published (point 7)."""
    from django.test import override_settings

    from machidata.ebpm import services as ebpm
    from machidata.ebpm import services_pages as pages

    o = world.objects
    o["ebpm_page_request"] = pages.page_request_create(actor=as_("owner_editor"), item=o["ebpm_item"])
    public = ebpm.plan_item_create(
        actor=as_("owner_editor"), level="project", name="がん検診の案内事業", unit_id=o["ebpm_item"].unit_id
    )
    ebpm.logic_model_save(
        actor=as_("owner_editor"), item=public,
        document={"nodes": [{"id": "n1", "stage": "activity", "statement": "案内を送る"}], "links": []},
    )  # fmt: skip
    # The world has no 課長: a one-step route (データ戦略課) publishes it.
    one_step = {"ebpm_page": [{"key": "strategy", "label": "データ戦略課の確認", "who": "admin"}]}
    with override_settings(MACHIDATA_PUBLICATION_ROUTES=one_step):
        req = pages.page_request_create(actor=as_("owner_editor"), item=public)
    pages.page_request_act(actor=as_("admin"), request=req, decision="approve")
    o["ebpm_public_item"] = public
