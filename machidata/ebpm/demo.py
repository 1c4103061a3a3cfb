"""Demo content of EBPM: three invented 事業 (each labelled 【架空・デモ】) with logic models and indicators.

* 救急課「救急車の適正利用啓発事業」: its outcome indicator 「救急出動件数（年度別）」 is computed from the
  demo table 救急出動記録 (synthetic) by a TableQuery grouped by fiscal year, as the 救急課 steward of the
  prep demo (who may read that table); it is recomputed whenever the table gets a new version.
* 健康づくり推進課「特定健診受診勧奨事業」: hand-entered actuals with evidence, a revised target.
* データ戦略課「データ利活用推進事業」: the strategy's own 検証指標 (目標未設定, direction only).

Every figure is invented. Loading twice changes nothing (items are matched by their code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction

from machidata.access.models import Unit
from machidata.access.policy import actor_for
from machidata.catalog.models import Table
from machidata.core.errors import MachidataError
from machidata.ebpm import services, services_evaluations, services_indicators
from machidata.ebpm.models import Evaluation, Indicator, PlanItem

LABEL: Final = "【架空・デモ】"
AMBULANCE: Final = ("ambulance-dispatch-records", "dispatches")
HEALTH, KYUKYU, STRATEGY = "30201000", "70102000", "10102000"


@dataclass
class EbpmDemoSummary:
    """What the EBPM demo loaded."""

    items: int = 0
    indicators: int = 0
    evaluations: int = 0
    public_pages: int = 0
    computed: str = ""
    skipped: list[str] = field(default_factory=list)


def _item(
    code: str, level: str, name: str, unit: Unit, parent: PlanItem | None = None, **extra: Any
) -> tuple[PlanItem, bool]:
    found = PlanItem.objects.filter(code=code).first()
    if found is not None:
        return found, False
    return (
        services.plan_item_create(
            actor=services.SYSTEM, level=level, name=f"{name}{LABEL}", unit_id=unit.pk,
            parent_id=parent.pk if parent else None, code=code, **extra,
        ),
        True,
    )  # fmt: skip


AMBULANCE_MODEL: Final[dict[str, Any]] = {
    "stage_set": "six",
    "nodes": [
        {"id": "n1", "stage": "input", "number": "1", "statement": "啓発予算・救急救命士による講師"},
        {
            "id": "n2",
            "stage": "activity",
            "number": "2",
            "statement": "出前講座の開催、救急車利用ガイドの全戸配布",
        },
        {
            "id": "n3",
            "stage": "output",
            "number": "3",
            "statement": "講座の受講者・ガイドを読んだ市民が増える",
        },
        {
            "id": "n4",
            "stage": "short",
            "number": "4",
            "statement": "救急車を呼ぶべき場面と相談窓口（#7119）の理解が進む",
        },
        {"id": "n5", "stage": "mid", "number": "5", "statement": "軽症での救急要請が減る"},
        {"id": "n6", "stage": "long", "number": "6", "statement": "重症の人のもとへ救急車が早く着く"},
    ],
    "links": [
        {"from": "n1", "to": "n2", "rationale": "講師と予算があれば講座と配布ができる"},
        {"from": "n2", "to": "n3", "rationale": "講座・配布の数だけ受け手が増える"},
        {
            "from": "n3",
            "to": "n4",
            "rationale": "知識を得た人は行動を選び直せる",
            "assumptions": "ガイドが読まれること",
            "evidence": [
                {"kind": "dataset", "ref": "ambulance-dispatch-records", "label": "救急出動記録（合成）"}
            ],
        },
        {"from": "n4", "to": "n5", "rationale": "相談窓口を使えば、救急車が要らない場合に別の手段を選べる"},
        {"from": "n5", "to": "n6", "rationale": ""},
    ],
    "external_factors": ["高齢化の進行による救急需要の増加", "感染症の流行", "猛暑（熱中症）"],
}
HEALTH_MODEL: Final[dict[str, Any]] = {
    "stage_set": "four",
    "nodes": [
        {
            "id": "n1",
            "stage": "activity",
            "number": "1",
            "statement": "未受診者に個別の受診案内（はがき・SMS）を送る",
        },
        {"id": "n2", "stage": "output", "number": "2", "statement": "案内を受け取った未受診者の数"},
        {"id": "n3", "stage": "short", "number": "3", "statement": "特定健診の受診率が上がる"},
        {"id": "n4", "stage": "long", "number": "4", "statement": "生活習慣病の重症化が防がれる"},
    ],
    "links": [
        {"from": "n1", "to": "n2", "rationale": "送付数がそのまま受け取った人の数になる"},
        {
            "from": "n2",
            "to": "n3",
            "rationale": "個別の案内（ナッジ）は受診を促すという先行研究がある",
            "evidence": [
                {"kind": "url", "ref": "https://www.mhlw.go.jp/", "label": "厚生労働省（受診勧奨の手引き）"}
            ],
        },
        {"from": "n3", "to": "n4", "rationale": "早期に見つかれば保健指導につなげられる"},
    ],
    "external_factors": ["国民健康保険の加入者数の変化"],
}
STRATEGY_MODEL: Final[dict[str, Any]] = {
    "stage_set": "six",
    "nodes": [
        {
            "id": "n1",
            "stage": "activity",
            "number": "1",
            "statement": "研修・相談（伴走支援）、ルール整備、データカタログの整備",
        },
        {
            "id": "n2",
            "stage": "output",
            "number": "2",
            "statement": "研修の受講者、相談件数、カタログのデータ数",
        },
        {
            "id": "n3",
            "stage": "short",
            "number": "3",
            "statement": "職員がデータの所在を知り、使い方が分かる",
        },
        {"id": "n4", "stage": "long", "number": "4", "statement": "データに基づく事業立案が定着する"},
    ],
    "links": [
        {"from": "n1", "to": "n2", "rationale": "取り組みの量"},
        {"from": "n2", "to": "n3", "rationale": "知る機会と学ぶ機会が増える"},
        {"from": "n3", "to": "n4", "rationale": "知識・スキル・所在の課題が解消される"},
    ],
    "external_factors": ["人事異動による経験の入れ替わり"],
}


def load_ebpm_demo() -> EbpmDemoSummary:
    """Load the three demo 事業 (once) and compute the ambulance indicator when the table exists."""
    summary = EbpmDemoSummary()
    units = {u.code: u for u in Unit.objects.filter(code__in=[HEALTH, KYUKYU, STRATEGY])}
    if len(units) < 3:
        summary.skipped.append(
            "デモの組織（健康づくり推進課・救急課・データ戦略課）がないため、EBPMのデモを省略しました。"
        )
        return summary
    system = services.SYSTEM
    with transaction.atomic():
        safety, _ = _item("D-1", "policy", "安全で安心して暮らせるまち", units[KYUKYU])
        rescue, _ = _item("D-1-1", "measure", "救急体制の充実", units[KYUKYU], safety)
        ambulance, new_a = _item(
            "D-1-1-1", "project", "救急車の適正利用啓発事業", units[KYUKYU], rescue,
            plan_reference="熊本市第7次総合計画（デモ） 基本方針6 施策6-2", description="救急車の適正利用を啓発する架空の事業です。",
        )  # fmt: skip
        health, _ = _item("D-2", "policy", "健康で長生きできるまち", units[HEALTH])
        promote, _ = _item("D-2-1", "measure", "健康づくりの推進", units[HEALTH], health)
        kenshin, new_k = _item(
            "D-2-1-1",
            "project",
            "特定健診受診勧奨事業",
            units[HEALTH],
            promote,
            plan_reference="熊本市第7次総合計画（デモ） 施策3-2",
        )
        data, _ = _item("D-3", "policy", "データ利活用の推進（熊本市データ利活用推進計画）", units[STRATEGY])
        data_measure, _ = _item("D-3-1", "measure", "データ利活用人材の育成", units[STRATEGY], data)
        strategy, new_s = _item("D-3-1-1", "project", "データ利活用推進事業", units[STRATEGY], data_measure)
        summary.items = PlanItem.objects.filter(code__startswith="D-").count()
        if new_a:
            services.logic_model_save(actor=system, item=ambulance, document=AMBULANCE_MODEL, note="デモ")
            for stage in ("request", "budgeted", "running"):
                services.plan_item_move(actor=system, item=ambulance, stage=stage, note="デモ")
            for year, kind, amount in (
                (2024, "initial", 4_800_000),
                (2024, "settlement", 4_512_300),
                (2025, "initial", 5_000_000),
            ):
                services.budget_line_set(
                    actor=system, item=ambulance, fiscal_year=year, kind=kind, amount_yen=amount
                )
            lectures = services_indicators.indicator_create(
                actor=system, item=ambulance, node_id="n2", name="出前講座の開催回数", kind="activity", unit_label="回",
                responsible_unit_id=units[KYUKYU].pk, data_source="救急課の実施記録（架空）", data_month=4,
            )  # fmt: skip
            services_indicators.indicator_target_set(
                actor=system, indicator=lectures, fiscal_year=2024, value=40
            )
            services_indicators.indicator_actual_record(
                actor=system,
                indicator=lectures,
                fiscal_year=2024,
                value=36,
                status="final",
                evidence="令和6年度 実施記録（架空）",
            )
        if new_k:
            services.logic_model_save(actor=system, item=kenshin, document=HEALTH_MODEL, note="デモ")
            services.plan_item_move(actor=system, item=kenshin, stage="request", note="デモ")
            services.budget_line_set(
                actor=system, item=kenshin, fiscal_year=2025, kind="initial", amount_yen=2_300_000
            )
            rate = services_indicators.indicator_create(
                actor=system, item=kenshin, node_id="n3", name="特定健診受診率", kind="outcome", unit_label="%",
                responsible_unit_id=units[HEALTH].pk, baseline_value="33.5", baseline_year=2022, rate_rule="progress",
                definition="特定健診の受診者数 ÷ 対象者数（法定報告）", data_source="法定報告（架空の値）", data_month=11,
            )  # fmt: skip
            services_indicators.indicator_target_set(
                actor=system, indicator=rate, fiscal_year=2024, value="38", kind="interim"
            )
            services_indicators.indicator_target_set(
                actor=system,
                indicator=rate,
                fiscal_year=2024,
                value="37",
                revise=True,
                note="国の目標見直しに合わせて変更（デモ）",
            )
            services_indicators.indicator_target_set(
                actor=system, indicator=rate, fiscal_year=2027, value="45", kind="final"
            )
            services_indicators.indicator_actual_record(
                actor=system,
                indicator=rate,
                fiscal_year=2023,
                value="34.8",
                status="final",
                evidence="令和5年度 法定報告（架空）",
            )
            services_indicators.indicator_actual_record(
                actor=system,
                indicator=rate,
                fiscal_year=2024,
                value="36.1",
                status="preliminary",
                final_on="2025-11-30",
                evidence="令和6年度 速報（架空）",
            )
        if new_s:
            services.logic_model_save(actor=system, item=strategy, document=STRATEGY_MODEL, note="デモ")
            services.plan_item_move(actor=system, item=strategy, stage="request", note="デモ")
            for year in (2024, 2025):
                services.plan_item_move(
                    actor=system, item=strategy, stage="budgeted" if year == 2024 else "running", note="デモ"
                )
            for node, name, kind, unit, direction in (
                ("n2", "データ利活用に関する相談件数", "activity", "件", "up"),
                ("n2", "データカタログにおけるデータ数（データタイトル数）", "activity", "件", "up"),
                ("n3", "「知識や活用スキル」を課題と回答した職員の割合", "outcome", "%", "down"),
                (
                    "n3",
                    "「必要とするデータがどこにあるのか分からない」と回答した職員の割合",
                    "outcome",
                    "%",
                    "down",
                ),
                ("n4", "事業等の立案において、データ利活用を意識している職員の割合", "outcome", "%", "up"),
            ):
                ind = services_indicators.indicator_create(
                    actor=system, item=strategy, node_id=node, name=name, kind=kind, unit_label=unit, direction=direction,
                    responsible_unit_id=units[STRATEGY].pk, data_source="熊本市データ利活用推進計画の検証指標",
                    data_month=7 if kind == "outcome" else 4,
                )  # fmt: skip
                services_indicators.indicator_target_set(
                    actor=system,
                    indicator=ind,
                    fiscal_year=2027,
                    value="",
                    kind="final",
                    note="目標未設定（方向のみ）",
                )
    _ambulance_indicator(ambulance, units[KYUKYU], summary)
    _evaluations(ambulance, kenshin, strategy, summary)
    _public_page(kenshin, summary)
    _survey_links(summary)
    summary.indicators = Indicator.objects.filter(logic_model__item__code__startswith="D-").count()
    return summary


def load_ebpm_demo_reporting(*, say: Callable[..., None]) -> EbpmDemoSummary:
    """:func:`load_ebpm_demo`, telling the demo command what it did."""
    say("EBPMのデモ（架空の事業・ロジックモデル・検証指標）を作っています … ", end="")
    summary = load_ebpm_demo()
    said = [
        f"事業など {summary.items} 件、指標 {summary.indicators} 件、評価 {summary.evaluations} 件、"
        f"市民向けページ {summary.public_pages} 件",
        *filter(None, [summary.computed]),
        *summary.skipped,
    ]
    say("、".join(said))
    return summary


def _ambulance_indicator(item: PlanItem, unit: Unit, summary: EbpmDemoSummary) -> None:
    """The indicator over the demo ambulance table, computed as the 救急課 steward (who may read it)."""
    if Indicator.objects.filter(logic_model__item=item, source_kind="query").exists():
        return
    table = Table.objects.filter(
        dataset__slug=AMBULANCE[0], name=AMBULANCE[1], current_version__isnull=False
    ).first()
    if table is None:
        summary.skipped.append("救急出動記録の表がないため、表から集計する指標のデモを省略しました。")
        return
    from machidata.prep.demo import demo_steward

    with transaction.atomic():  # demo_steward audits the account it creates
        steward = actor_for(demo_steward(unit))
    query = {
        "query": {
            "group_by": [{"column": "覚知日時", "grain": "fiscal_year", "as": "年度"}],
            "measures": [{"op": "count", "as": "出動件数"}],
        },
        "year_column": "年度",
        "value_column": "出動件数",
    }
    try:
        with transaction.atomic():
            ind = services_indicators.indicator_create(
                actor=steward, item=item, node_id="n5", name="救急出動件数（年度別）", kind="outcome", unit_label="件",
                direction="down", responsible_unit_id=unit.pk, definition="救急出動記録の覚知日時を年度ごとに数えた件数",
                data_source="救急出動記録（合成データ）", source_kind="query", table_id=table.pk, query=query, data_month=4,
            )  # fmt: skip
            first = min(ind.actuals.values_list("fiscal_year", flat=True), default=None)
            if first is not None:
                base = ind.actuals.get(fiscal_year=first).value
                ind.baseline_value, ind.baseline_year = base, first
                ind.save(update_fields=["baseline_value", "baseline_year"])
                services_indicators.indicator_target_set(
                    actor=steward,
                    indicator=ind,
                    fiscal_year=2027,
                    value=int(base * 95 / 100),
                    kind="final",
                    note="基準年度から5%減（デモ）",
                )
        summary.computed = f"救急出動件数を{ind.actuals.count()}年度分集計しました"
    except MachidataError as exc:
        summary.skipped.append(f"救急出動件数の指標を作れませんでした: {exc.message}")


def _evaluations(
    ambulance: PlanItem, kenshin: PlanItem, strategy: PlanItem, summary: EbpmDemoSummary
) -> None:
    """Evaluation plans fixed at 立案 and the FY2024 evaluations of the demo 事業 (once; every word invented)."""
    system = services.SYSTEM

    def indicator(item: PlanItem, name: str) -> Indicator | None:
        return Indicator.objects.filter(logic_model__item=item, name=name).first()

    with transaction.atomic():
        lectures = indicator(ambulance, "出前講座の開催回数")
        dispatches = indicator(ambulance, "救急出動件数（年度別）")
        if not ambulance.evaluation_plans.exists() and dispatches is not None:
            services_evaluations.evaluation_plan_add(
                actor=system, item=ambulance, indicator_id=dispatches.pk, design="its", fiscal_year=2026,
                timing="各年度の4月（前年度分の出動記録がそろった後）",
                note=f"{LABEL}啓発開始前の月別出動件数の傾向・季節と比べる",
            )  # fmt: skip
        if lectures is not None and not Evaluation.objects.filter(item=ambulance, fiscal_year=2024).exists():
            services_evaluations.evaluation_create(
                actor=system, item=ambulance, fiscal_year=2024, direction="continue",
                self_assessment=f"{LABEL}出前講座は目標40回に対し36回。会場の確保が課題。出動件数の変化は、"
                "啓発の効果を見るには期間が短く、まだ判断できない。",
                output_indicator_id=lectures.pk, evidence_level=None,
                evidence_note="効果検証は2026年度に中断時系列分析で行う計画（上の「効果検証の計画」）",
                next_request_note=f"{LABEL}講座の回数は据え置き、ガイドの配布を高齢者世帯に絞って継続する。",
                next_request_amount_yen=4_600_000,
            )  # fmt: skip
        rate = indicator(kenshin, "特定健診受診率")
        if rate is not None and not kenshin.evaluation_plans.exists():
            services_evaluations.evaluation_plan_add(
                actor=system, item=kenshin, indicator_id=rate.pk, design="did", fiscal_year=2025,
                timing="法定報告の確定後（翌年度11月）",
                note=f"{LABEL}個別案内を先に始める区と、翌年度から始める区を比べる",
            )  # fmt: skip
        if rate is not None and not Evaluation.objects.filter(item=kenshin, fiscal_year=2024).exists():
            services_evaluations.evaluation_create(
                actor=system, item=kenshin, fiscal_year=2024, direction="improve",
                self_assessment=f"{LABEL}受診率は36.1%（速報）で、目標37%に届かなかった。基準値（33.5%）からは上がっている。",
                outcome_indicator_id=rate.pk, evidence_level=2,
                evidence_note="基準年度との単純な前後比較のみ（比較対象なし）",
                next_request_note=f"{LABEL}SMSでの案内を加え、差の差分析ができるよう区ごとに開始時期をずらす。",
                next_request_amount_yen=2_500_000,
            )  # fmt: skip
        consult = indicator(strategy, "データ利活用に関する相談件数")
        if consult is not None and not Evaluation.objects.filter(item=strategy, fiscal_year=2024).exists():
            services_evaluations.evaluation_create(
                actor=system, item=strategy, fiscal_year=2024, direction="expand",
                self_assessment=f"{LABEL}研修と相談窓口を始めた。検証指標の多くは目標未設定（方向のみ）のため、"
                "職員アンケートの結果で方向を確かめる。",
                output_indicator_id=consult.pk, evidence_level=None,
                next_request_note=f"{LABEL}伴走支援の対象課を増やす。",
            )  # fmt: skip
    summary.evaluations = Evaluation.objects.filter(item__code__startswith="D-").count()


def _public_page(kenshin: PlanItem, summary: EbpmDemoSummary) -> None:
    """Publish the 特定健診 事業's citizen page through the route (once): steward files, 課長 then 管理 approve.

    Needs the full demo's accounts and the 課長 the publication demo designates; otherwise it says why not.
    """
    from django.contrib.auth import get_user_model

    from machidata.access.policy import actor_for
    from machidata.access.routes import head_of
    from machidata.core.errors import MachidataError
    from machidata.ebpm import services_pages
    from machidata.ebpm.models import PageRequest
    from machidata.ebpm.selectors_pages import public_pages

    if not PageRequest.objects.filter(item=kenshin).exists():
        users = get_user_model().objects
        requester, admin = users.filter(username="steward").first(), users.filter(username="admin").first()
        head = head_of(kenshin.unit_id)
        # without the full demo's accounts and 課長 (publication demo) there is no one to decide: no example
        if requester is not None and admin is not None and head is not None:
            try:
                req = services_pages.page_request_create(
                    actor=actor_for(requester), item=kenshin,
                    evaluation_ids=list(kenshin.evaluations.values_list("pk", flat=True)),
                    reason=f"{LABEL}市民向けページの例",
                )  # fmt: skip
                for user in (head, admin):
                    req = services_pages.page_request_act(
                        actor=actor_for(user), request=req, decision="approve"
                    )
            except MachidataError as exc:
                summary.skipped.append(f"市民向けページの例を作れませんでした: {exc.message}")
    summary.public_pages = public_pages().filter(item__code__startswith="D-").count()


def _survey_links(summary: EbpmDemoSummary) -> None:
    """Map the KPI board's two obstacle indicators to the synthetic staff survey (when the surveys demo ran),
    as a 管理 member of データ戦略課 would."""
    from machidata.access.models import Membership, Role
    from machidata.ebpm import services_board
    from machidata.ebpm.models import BoardSurveyLink
    from machidata.surveys.demo import OBSTACLE_Q, TITLE
    from machidata.surveys.models import Survey

    survey = Survey.objects.filter(is_synthetic=True, title=TITLE).first()
    if survey is None or BoardSurveyLink.objects.exists():
        return
    membership = (
        Membership.objects.filter(unit__code=STRATEGY, role=Role.ADMIN, user__is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    if membership is None:
        summary.skipped.append(
            "データ戦略課の管理担当がいないため、KPIボードとアンケートの対応を省略しました。"
        )
        return
    actor = actor_for(membership.user)
    for key, option in (
        ("skill", "知識や活用スキル"),
        ("where", "必要とするデータがどこにあるのか分からない"),
    ):
        try:
            services_board.board_survey_link_set(
                actor=actor, key=key, survey_id=survey.pk, question=OBSTACLE_Q, option=option
            )
        except MachidataError as exc:
            summary.skipped.append(f"KPIボードとアンケートの対応を省略しました: {exc.message}")
