"""A synthetic (合成) Microsoft Forms export shaped like the city's 2023 staff survey, and its demo load.

Everything here is invented from a fixed seed: the bureaus, positions and obstacles follow the
strategy's 「職員アンケートの結果」 (業務繁忙, 知識や活用スキル, 必要とするデータがどこにあるのか分からない…,
with 財政局・健康福祉局・こども局 leaning to skills and 総務局・都市建設局・環境局・経済観光局 to not
knowing where data is), but no answer is real. The sheet and the survey title say 合成. Two rounds are
made: 2023年度 and 2024年度, the later one with an added question (as later Forms exports do).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from typing import Any, Final

from openpyxl import Workbook

from machidata.access.models import Unit
from machidata.access.policy import actor_for
from machidata.surveys.models import Survey

SEED: Final = 10  # issue 10
TITLE: Final = "データ利活用に係る職員アンケート（合成データ）"
OWNER_CODE: Final = "10102000"  # データ戦略課
NOTE: Final = "デモ用の合成データです。実際の回答ではありません。"

BUREAU_Q: Final = "所属局"
POSITION_Q: Final = "職位"
NEED_Q: Final = "業務でデータを活用する必要性を感じますか"
USE_Q: Final = "業務でデータを活用していますか"
OBSTACLE_Q: Final = "データを活用するうえでの課題を選んでください（複数選択可）"
FREE_Q: Final = "データ活用について、ご意見・ご要望があればご記入ください"
CATALOG_Q: Final = "庁内のデータカタログ（まちデータ）を知っていますか"  # asked from 2024 on

# (bureau, staff count for post-stratification (invented), leaning: "skill" / "where" / "")
BUREAUS: Final = [
    ("政策局", 180, ""),
    ("総務局", 420, "where"),
    ("財政局", 260, "skill"),
    ("健康福祉局", 900, "skill"),
    ("こども局", 520, "skill"),
    ("環境局", 380, "where"),
    ("経済観光局", 240, "where"),
    ("都市建設局", 640, "where"),
    ("消防局", 700, ""),
    ("区役所", 1100, ""),
]
POSITIONS: Final = [("部長級", 0.03), ("課長級", 0.09), ("係長級", 0.25), ("主任・主事等", 0.63)]
NEEDS: Final = ["感じる", "ある程度感じる", "あまり感じない", "感じない"]
USES: Final = ["活用している", "ある程度活用している", "あまり活用していない", "活用していない"]
# The strategy's obstacles with its published shares (of 1,544 respondents to the question).
OBSTACLES: Final = [
    ("業務繁忙", 0.356),
    ("知識や活用スキル", 0.294),
    ("収集に人的・予算的にコスト", 0.272),
    ("必要とするデータがどこにあるのか分からない", 0.244),
    ("収集する手段がない", 0.204),
    ("データが電子化されていない", 0.159),
    ("データの提供を受けるまでの依頼や手続", 0.151),
    ("庁内の理解や風土", 0.098),
    ("対外的なニーズ", 0.080),
    ("機密性が高い", 0.054),
]
NONE_OPTION: Final = "思い当たる課題はない"
CATALOG: Final = ["知っていて使ったことがある", "知っているが使ったことはない", "知らない"]
FREE_TEXTS: Final = [
    "業務が忙しく、データを分析する時間がない。",
    "どこにどんなデータがあるのか分からないので、一覧があると助かる。",
    "研修を増やしてほしい。エクセルの集計から学びたい。",
    "データの提供を受けるまでの手続きが多く、時間がかかる。",
    "他の課のデータを使いたいが、誰に聞けばよいか分からない。",
    "統計の知識が足りないので、相談できる窓口がほしい。",
    "紙の台帳が多く、データが電子化されていない。",
    "分析の結果を事業の見直しにつなげる仕組みが必要だと思う。",
    "個人情報を含むデータの扱いが不安で、活用に踏み切れない。",
    "データカタログで必要なデータを探せるようになってほしい。",
]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def generate_staff_survey(*, year: int = 2023, respondents: int = 800, seed: int = SEED) -> bytes:
    """The bytes of a synthetic Forms export (.xlsx) of the staff survey of fiscal ``year``."""
    rng = random.Random(seed * 10_000 + year)  # noqa: S311 - reproducible demo content, not a secret
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "合成データ"
    book.properties.title = f"{TITLE} {year}年度"
    book.properties.description = NOTE
    questions = [BUREAU_Q, POSITION_Q, NEED_Q, USE_Q, OBSTACLE_Q, FREE_Q]
    if year >= 2024:  # a later export adds a column
        questions.insert(5, CATALOG_Q)
    sheet.append(["ID", "開始時刻", "完了時刻", "メール", "名前", *questions])
    bureau_weights = [(b, float(n)) for b, n, _ in BUREAUS]
    leaning = {b: lean for b, _, lean in BUREAUS}
    start = dt.datetime(year, 7, 7, 8, 30)
    for i in range(1, respondents + 1):
        bureau = _pick(rng, bureau_weights)
        position = _pick(rng, list(POSITIONS))
        senior = position in {"部長級", "課長級"}
        need = _pick(rng, list(zip(NEEDS, (0.45 if senior else 0.32, 0.42, 0.17, 0.06), strict=True)))
        use = _pick(rng, list(zip(USES, (0.14, 0.36, 0.33, 0.17), strict=True)))
        chosen = []
        for option, share in OBSTACLES:
            p = share * (1.0 + 0.1 * (year - 2023) * (option == "必要とするデータがどこにあるのか分からない"))
            if option == "知識や活用スキル" and leaning[bureau] == "skill":
                p *= 1.5
            if option == "必要とするデータがどこにあるのか分からない" and leaning[bureau] == "where":
                p *= 1.6
            if rng.random() < min(p, 0.95):
                chosen.append(option)
        if not chosen and rng.random() < 0.12:
            chosen.append(NONE_OPTION)
        if rng.random() < 0.03:
            chosen.append("会議が多い")  # typed into その他: not an option, read as その他
        obstacle = "".join(f"{c};" for c in chosen) if chosen and rng.random() > 0.35 else None
        free = rng.choice(FREE_TEXTS) if rng.random() < 0.18 else None
        began = start + dt.timedelta(minutes=rng.randint(0, 14 * 24 * 60))
        row: list[Any] = [i, began, began + dt.timedelta(minutes=rng.randint(2, 15)), "anonymous", "", bureau]
        row += [position, need, use, obstacle]
        if year >= 2024:
            row.append(_pick(rng, list(zip(CATALOG, (0.2, 0.3, 0.5), strict=True))))
        row.append(free)
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def load_surveys_demo(*, users: dict[str, Any]) -> Counter[str]:
    """Import the two synthetic rounds for データ戦略課 (once: nothing when the synthetic survey exists)."""
    from machidata.surveys.services import (
        round_import,
        round_questions_confirm,
        round_targets_set,
        survey_create,
    )

    made: Counter[str] = Counter()
    owner = Unit.objects.filter(code=OWNER_CODE).first()
    admin = users.get("admin")
    if owner is None or admin is None or Survey.objects.filter(is_synthetic=True, title=TITLE).exists():
        return made
    actor = actor_for(admin)
    survey = survey_create(actor=actor, title=TITLE, unit_id=owner.pk, description=NOTE, is_synthetic=True)
    made["survey"] += 1
    options = {
        BUREAU_Q: [b for b, _, _ in BUREAUS],
        POSITION_Q: [p for p, _ in POSITIONS],
        NEED_Q: NEEDS,
        USE_Q: USES,
        OBSTACLE_Q: [o for o, _ in OBSTACLES] + [NONE_OPTION],
        CATALOG_Q: CATALOG,
    }
    for year in (2023, 2024):
        round_ = round_import(
            actor=actor,
            survey=survey,
            label=f"{year}年度",
            data=generate_staff_survey(year=year),
            filename=f"staff-survey-{year}-synthetic.xlsx",
            fielded_on=dt.date(year, 7, 7),
        )
        declarations = [
            {
                "position": q.position,
                "kind": "multi" if q.text == OBSTACLE_Q else q.kind,
                "options": options[q.text],
            }
            for q in round_.questions.all()
            if q.text in options
        ]
        round_questions_confirm(actor=actor, round_=round_, declarations=declarations)
        bureau = round_.questions.get(text=BUREAU_Q)
        round_targets_set(
            actor=actor, round_=round_, targets={bureau.position: {b: n for b, n, _ in BUREAUS}}
        )
        made["survey_round"] += 1
        made["survey_response"] += round_.respondents
    return made
