"""The strategy's own KPI board: every 検証指標 of 熊本市「データに基づく事業立案等推進戦略」 for FY2024–2027.

The indicators are those of the strategy text (``../shared/seed/kumamoto-data-strategy.txt``: 施策1–3 and
the ones it plans to add). Those machidata knows are computed live, each by a plain function reading
another room's public functions (nothing here writes, and no other room imports this module):

* catalog titles and datasets in the database — the catalog's ``Dataset``/``TableVersion`` records, as
  of the end of each 年度 (today for the current one);
* open-data titles — ``publish.selectors.public_datasets`` (published now; it keeps no history, so only
  the current 年度 is filled);
* consultations — ``support.usage.compute_usage(fy)`` (the city's count per 年度, as on the usage page);
* training comprehension — ``support.selectors.course_understanding`` (the mean first-attempt score
  over every course, weighted by the people scored; not split by 年度, so the current 年度 only);
* survey shares — ``surveys.results.share_choosing`` over the confirmed rounds of surveys the reader
  may read (the survey's 課 and 管理), the latest round of each 年度;
* 事業 whose effect was verified with data — this room's evaluations with a saved analysis attached.

For the rest (and alongside the live figures), an EBPM indicator of the same name — the demo's
「データ利活用推進事業」 carries them — gives the baseline, targets and hand-entered actuals.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.utils import timezone

from machidata.access.policy import Actor
from machidata.catalog.models import Dataset
from machidata.core.errors import MachidataError
from machidata.ebpm import selectors
from machidata.ebpm.models import BoardSurveyLink, Evaluation, Indicator
from machidata.jp.fiscal import fiscal_year as fiscal_year_of
from machidata.jp.fiscal import fiscal_year_range

logger = logging.getLogger(__name__)
YEARS: Final = (2024, 2025, 2026, 2027)
TOKYO: Final = ZoneInfo("Asia/Tokyo")
SKILL: Final = "知識や活用スキル"
WHERE: Final = "必要とするデータがどこにあるのか分からない"
CONSCIOUS: Final = "データ利活用を意識"

Values = dict[int, Decimal | None]


@dataclass(frozen=True)
class Definition:
    """One 検証指標 as the strategy states it."""

    key: str
    measure: str
    name: str
    unit: str
    direction: str  # "up", "down" or "" (a status)
    baseline: str = ""  # as the strategy reports it (e.g. the 2023 staff survey)
    note: str = ""
    aliases: tuple[str, ...] = ()  # other names an EBPM indicator may carry (the demo's shorter ones)


DEFINITIONS: Final[tuple[Definition, ...]] = (
    Definition(
        "skill", "施策1 データ利活用人材の育成",
        "データを活用する上での課題として「知識や活用スキル」と回答した職員の割合", "%", "down",
        baseline="29.4%（令和5年度 職員アンケート）", aliases=("「知識や活用スキル」を課題と回答した職員の割合",),
    ),
    Definition("comprehension", "施策1 データ利活用人材の育成", "研修受講者の理解度（研修別理解度テスト）", "点", "up"),
    Definition("consultations", "施策1 データ利活用人材の育成", "データ利活用に関する相談件数", "件", "up"),
    Definition(
        "conscious", "施策2 データを活用するルール整備",
        "事業等の立案において、データ利活用を意識している職員の割合", "%", "up",
    ),
    Definition("rules", "施策2 データを活用するルール整備", "ルール化の状況（整備済（定義済）又は未整備（定義未））", "", ""),
    Definition(
        "verified", "施策2 データを活用するルール整備", "事業の効果を実証するためにデータを利活用した事業数", "件", "up",
        note="戦略で「追加を検討」とされた指標",
    ),
    Definition(
        "where", "施策3 データ・ハード・ツールの環境整備",
        "データを活用するうえでの課題として、「必要とするデータがどこにあるのか分からない」と回答した職員の割合", "%",
        "down", baseline="24.4%（令和5年度 職員アンケート）",
        aliases=("「必要とするデータがどこにあるのか分からない」と回答した職員の割合",),
    ),
    Definition("catalog", "施策3 データ・ハード・ツールの環境整備", "データカタログにおけるデータ数（データタイトル数）", "件", "up"),
    Definition(
        "database", "施策3 データ・ハード・ツールの環境整備", "データベースにおけるデータ数", "件", "up",
        note="戦略で「段階的に追加」とされた指標",
    ),
    Definition(
        "opendata", "施策3 データ・ハード・ツールの環境整備", "公開オープンデータタイトル数", "件", "up",
        note="戦略で「段階的に追加」とされた指標",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Live:
    """Figures computed from machidata by 年度, with how (``source``) and what could not be (``gaps``)."""

    values: Values
    source: str
    gaps: str = ""
    rounds: dict[int, tuple[str, int]] = field(default_factory=dict)  # survey figures: (round, n) by 年度


def _end(fy: int) -> dt.datetime:
    """The first moment after 年度 ``fy`` (Tokyo)."""
    return dt.datetime.combine(fiscal_year_range(fy)[1] + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO)


def _past_and_current(current: int) -> list[int]:
    return [y for y in YEARS if y <= current]


def catalog_titles(current: int) -> Live:
    """Catalog entries (titles) registered and not retired at the end of each 年度 (now for the current one)."""
    values: Values = {}
    for fy in _past_and_current(current):
        cut = timezone.now() if fy == current else _end(fy)
        alive = Dataset.objects.filter(created_at__lt=cut).exclude(retired_at__lt=cut)
        values[fy] = Decimal(alive.count())
    return Live(values, "データカタログの登録件数（年度末時点、今年度は現在。廃止したものを除く）")


def database_datasets(current: int) -> Live:
    """Datasets with at least one table version committed in machidata by the end of each 年度."""
    values: Values = {}
    for fy in _past_and_current(current):
        cut = timezone.now() if fy == current else _end(fy)
        with_data = Dataset.objects.filter(
            tables__versions__committed_at__lt=cut, tables__versions__status="committed"
        ).exclude(retired_at__lt=cut)
        values[fy] = Decimal(with_data.distinct().count())
    return Live(values, "まちデータに表（データ）があるデータセットの数（年度末時点）")


def open_data_titles(current: int) -> Live:
    """Datasets published as open data now (the publication room keeps no history by 年度)."""
    from machidata.publish.selectors import public_datasets

    return Live(
        {current: Decimal(public_datasets().count())} if current in YEARS else {},
        "オープンデータとして公開中のデータセットの数（現在）",
        "過去の年度末の公開数は記録がないため出せません。",
    )


def consultations(current: int) -> Live:
    """Consultations opened in each 年度 (the support room's usage figures, the whole city)."""
    from machidata.support.usage import compute_usage

    values: Values = {
        fy: Decimal(compute_usage(fy).city_year.get("consultations", 0)) for fy in _past_and_current(current)
    }
    return Live(values, "相談窓口で受け付けた相談・伴走支援の件数（年度内）")


def comprehension(current: int) -> Live:
    """The mean first-attempt test score over every course, weighted by the people scored (current 年度)."""
    from machidata.support.selectors import course_list, course_understanding

    scored = [
        u for u in course_understanding(courses=course_list(active_only=False)).values() if u.mean is not None
    ]
    people = sum(u.scored for u in scored)
    if not people or current not in YEARS:
        return Live({}, "研修の理解度テスト（各人の初回）", "理解度テストの点数がまだありません。")
    mean = sum((Decimal(str(u.mean)) * u.scored for u in scored), Decimal(0)) / people
    return Live(
        {current: mean.quantize(Decimal("0.1"))},
        f"研修の理解度テストの平均点（各人の初回、{people}人分、研修ごとの平均を人数で重み付け）",
        "年度別の点数は研修の記録から分けていないため、今年度の欄に全期間の値を出します。",
    )


def verified_projects(current: int) -> Live:
    """事業 whose evaluation of the 年度 names a saved analysis (効果の実証にデータを使った事業)."""
    values: Values = {}
    for fy in _past_and_current(current):
        n = (
            Evaluation.objects.filter(fiscal_year=fy, analysis__isnull=False)
            .values("item_id")
            .distinct()
            .count()
        )
        values[fy] = Decimal(n)
    return Live(values, "その年度の事業評価に、分析（効果の推定）を根拠として付けた事業の数")


def survey_share(actor: Actor, option: str) -> Live | None:
    """The share choosing ``option`` in the latest confirmed round of each 年度, of surveys the actor may read.

    None when no readable survey offers the option. The survey's 課 and 管理 read surveys; others are told.
    """
    from machidata.surveys.results import share_choosing
    from machidata.surveys.selectors import survey_list

    found: dict[int, tuple[Any, Decimal]] = {}
    for survey in survey_list(actor=actor):
        for round_ in survey.rounds.filter(status="confirmed").order_by("fielded_on", "id"):
            fy = _round_year(round_)
            if fy is None:
                continue
            question = next((q for q in round_.questions.all() if option in (q.options or [])), None)
            if question is None:
                continue
            try:
                share = share_choosing(round_, question.text, option)
            except MachidataError as exc:
                logger.info("survey share skipped: %s", exc)
                continue
            if share is not None:
                found[fy] = (round_, Decimal(str(share)) * 100)  # share_choosing answers a fraction
    if not found:
        return None
    titles = sorted({r.survey.title for r, _ in found.values()})
    return Live(
        {fy: v.quantize(Decimal("0.1")) for fy, (_, v) in found.items() if fy in YEARS},
        f"アンケート「{'」「'.join(titles)}」で「{option}」を選んだ人の割合（質問に答えた人に占める割合）",
    )


def mapped_survey_share(actor: Actor, link: BoardSurveyLink) -> tuple[Live | None, str]:
    """The share choosing the mapped option in the latest confirmed round of each 年度 that asks the question.

    Answers (None, reason) when the reader may not read the survey or no confirmed round answers it.
    """
    from machidata.surveys.results import frequency_tables, load_round
    from machidata.surveys.selectors import survey_list

    survey = survey_list(actor=actor).filter(pk=link.survey_id).first()
    if survey is None:
        return None, (
            "対応するアンケートを読めるのは、その所管課とデータ戦略課（管理）です。ほかの方には未測定と表示します。"
        )
    found: dict[int, tuple[str, int, Decimal]] = {}
    for round_ in survey.rounds.filter(status="confirmed").order_by("fielded_on", "id"):
        fy = _round_year(round_)
        if fy is None or not round_.questions.filter(text=link.question).exists():
            continue
        try:
            tables = frequency_tables(load_round(round_))
        except MachidataError as exc:
            logger.info("survey share skipped: %s", exc)
            continue
        table = next((t for q, t in tables if q.text == link.question), None)
        row = next((r for r in table.rows if r.option == link.option), None) if table else None
        if table is None or row is None or row.share is None or not table.n:
            continue
        found[fy] = (str(round_.label), table.n, Decimal(str(row.share)) * 100)
    if not found:
        return None, (
            f"アンケート「{survey.title}」に、質問「{link.question[:40]}」に答えた確定済みの回がまだありません。"
        )
    return Live(
        {fy: v.quantize(Decimal("0.1")) for fy, (_, _, v) in found.items() if fy in YEARS},
        f"アンケート「{survey.title}」の質問「{link.question[:60]}」で「{link.option}」を選んだ人の割合"
        "（質問に答えた人に占める割合）",
        rounds={fy: (label, n) for fy, (label, n, _) in found.items() if fy in YEARS},
    ), ""


def _round_year(round_: Any) -> int | None:
    if round_.fielded_on is not None:
        return fiscal_year_of(round_.fielded_on)
    from machidata.jp.fiscal import parse_fiscal_year

    try:
        return parse_fiscal_year(str(round_.label))
    except ValueError:
        return None


@dataclass
class BoardRow:
    """One 検証指標 on the board: live figures, the EBPM indicator's targets and actuals, and notes."""

    definition: Definition
    live: Live | None
    indicator: Indicator | None
    targets: dict[int, str] = field(default_factory=dict)
    actuals: Values = field(default_factory=dict)
    withheld: bool = False
    notes: list[str] = field(default_factory=list)
    current: int | None = None  # the current 年度 (later ones are not yet measured, 「—」)

    @property
    def cells(self) -> list[dict[str, Any]]:
        """Per 年度: the figure to show (live first, else the indicator's actual) and where it came from."""
        out = []
        for fy in YEARS:
            live = self.live.values.get(fy) if self.live else None
            actual = self.actuals.get(fy)
            value, origin = (
                (live, "live")
                if live is not None
                else (actual, "manual")
                if actual is not None
                else (None, "")
            )
            label, n = self.live.rounds.get(fy, ("", None)) if self.live and origin == "live" else ("", None)
            out.append({"year": fy, "value": value, "origin": origin, "target": self.targets.get(fy, ""),
                        "round": label, "n": n, "shown": self._shown(fy, value)})  # fmt: skip
        return out

    def _shown(self, fy: int, value: Decimal | None) -> str:
        if value is not None:
            return f"{value.normalize():f}"
        if self.withheld:
            return "表示できません"
        return "—" if self.current is not None and fy > self.current else "未測定"

    @property
    def is_live(self) -> bool:
        """Whether machidata computes this indicator itself."""
        return self.live is not None


def _indicator_for(d: Definition) -> Indicator | None:
    names = [d.name, *d.aliases]
    return Indicator.objects.filter(name__in=names).select_related("logic_model__item").order_by("id").first()


LIVE: Final[dict[str, Callable[[int], Live]]] = {
    "catalog": catalog_titles,
    "database": database_datasets,
    "opendata": open_data_titles,
    "consultations": consultations,
    "comprehension": comprehension,
    "verified": verified_projects,
}
SURVEY: Final = {"skill": SKILL, "where": WHERE, "conscious": CONSCIOUS}


def strategy_board(*, actor: Actor, today: dt.date | None = None) -> list[BoardRow]:
    """Every 検証指標 of the strategy with what machidata knows of it, for FY2024–2027."""
    current = fiscal_year_of(today or timezone.localdate())
    links = {link.key: link for link in BoardSurveyLink.objects.all()}
    rows = []
    for d in DEFINITIONS:
        notes: list[str] = []
        live: Live | None = None
        if d.key in links:
            live, reason = mapped_survey_share(actor, links[d.key])
            if live is None:
                notes.append(f"未測定: {reason}")
        elif d.key in LIVE:
            live = LIVE[d.key](current)
        elif d.key in SURVEY:
            live = survey_share(actor, SURVEY[d.key])
            if live is None:
                notes.append(
                    "未測定: 職員アンケートの結果から計算します。データ戦略課（管理）がアンケートの質問と選択肢を"
                    "この指標に対応づけていないうえ、読めるアンケートにこの選択肢がありません"
                    "（アンケートを読めるのは所管課と管理です）。手入力の実績があれば表示します。"
                )
        else:
            notes.append("まちデータは把握していません。データ戦略課が手入力した実績を表示します。")
        if live is not None and live.gaps:
            notes.append(live.gaps)
        indicator = _indicator_for(d)
        row = BoardRow(d, live, indicator, notes=notes, current=current)
        if indicator is not None:
            row.targets = {
                t.fiscal_year: ("目標未設定" if t.value is None else f"{t.value.normalize():f}")
                for t in indicator.targets.filter(superseded_at__isnull=True)
            }
            if selectors.figures_visible(actor, indicator):
                row.actuals = {a.fiscal_year: a.value for a in indicator.actuals.all()}
            else:
                row.withheld = True
        rows.append(row)
    return rows


def board_survey_links() -> list[BoardSurveyLink]:
    """The current mappings of survey questions to board indicators, with their surveys."""
    return list(BoardSurveyLink.objects.select_related("survey").order_by("key"))


CHOICES_MAX: Final = 500


def board_survey_choices(*, actor: Actor) -> list[tuple[int, str, str, str]]:
    """(survey id, question, option, survey title) of every choice question in confirmed rounds the actor reads."""
    from machidata.surveys.models import Question
    from machidata.surveys.selectors import survey_list

    seen: dict[tuple[int, str, str], str] = {}
    questions = (
        Question.objects.filter(
            round__survey__in=survey_list(actor=actor),
            round__status="confirmed",
            kind__in=("single", "multi"),
        )
        .select_related("round__survey")
        .order_by("round__survey_id", "position", "id")
    )
    for q in questions:
        for option in q.options or []:
            seen.setdefault((q.round.survey_id, q.text, str(option)), q.round.survey.title)
            if len(seen) >= CHOICES_MAX:
                break
    return [(sid, text, option, title) for (sid, text, option), title in seen.items()]
