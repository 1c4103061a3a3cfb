"""A year of synthetic, labelled consultation and training activity for the demo.

Everything made here is invented (「デモ用の合成データです。」 in each description or note,
``is_synthetic`` where the model has it, people named 「合成 職員…」). It is generated from a fixed seed
over the 365 days before the load, and only when no synthetic course exists yet, so loading the demo
twice writes nothing the second time. Rows are created directly (not through the services) because
the demo load is one transaction audited once as ``demo.load``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any, Final

from django.utils import timezone

from machidata.access.models import Membership, StaffRank, Unit, UnitKind
from machidata.support.demo_help import load_help_demo
from machidata.support.models import (
    Attendance,
    AttendanceSource,
    Choice,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    CoreStaff,
    Course,
    Headcount,
    Question,
    Rank,
    Session,
    SupportEntry,
    TestAttempt,
    Urgency,
)

NOTE: Final = "デモ用の合成データです。"
SEED: Final = 13  # issue 13

# (title, rank, description, [(question, [choices], index of the correct one)])
COURSES: Final[list[tuple[str, str, str, list[tuple[str, list[str], int]]]]] = [
    (
        "データに基づく組織マネジメント",
        Rank.MANAGER,
        "管理職がデータの重要性を理解し、所管部署のデータ利活用を促すための研修。",
        [
            ("EBPM の「E」が指すものは？", ["エビデンス（根拠）", "エンジニアリング", "エフィシェンシー"], 0),
            (
                "所管部署でデータ利活用を進めるとき、管理職がまず行うとよいことは？",
                ["目的と問いを示す", "分析ツールを購入する", "全データを公開する"],
                0,
            ),
            (
                "ロジックモデルで「アウトカム」に当たるものは？",
                ["事業によって生じる変化", "投入した予算", "実施した回数"],
                0,
            ),
        ],
    ),
    (
        "EBPM と管理職の役割",
        Rank.MANAGER,
        "予算編成と事業評価にデータを使う判断のポイント。",
        [
            (
                "効果検証で比較対象（対照群）が必要な理由は？",
                ["事業がなくても起きた変化と区別するため", "件数を増やすため", "予算を減らすため"],
                0,
            ),
            (
                "指標（KPI）の目標値を決めるときに確認することは？",
                ["基準値と測定方法", "前任者の好み", "ほかの課の予算"],
                0,
            ),
            (
                "相関関係について正しいものは？",
                ["因果関係とは限らない", "必ず因果関係がある", "グラフにすれば因果関係になる"],
                0,
            ),
        ],
    ),
    (
        "データ活用基礎（集計とグラフ）",
        Rank.GENERAL,
        "所管事業に必要なデータを理解し、集計・グラフ化できるようになるための研修。",
        [
            (
                "「令和5年度」はいつからいつまで？",
                ["2023年4月1日～2024年3月31日", "2023年1月1日～12月31日", "2022年4月1日～2023年3月31日"],
                0,
            ),
            (
                "割合の推移を示すのに向いたグラフは？",
                ["折れ線グラフ", "円グラフを年ごとに並べる", "3D棒グラフ"],
                0,
            ),
            (
                "表の「合計」行をデータとして集計するとどうなる？",
                ["二重に数えてしまう", "正しく集計される", "自動で除かれる"],
                0,
            ),
            (
                "平均値が外れ値の影響を受けるときに併せて見るとよい値は？",
                ["中央値", "最大値だけ", "件数だけ"],
                0,
            ),
        ],
    ),
    (
        "まちデータの使い方",
        Rank.GENERAL,
        "データカタログでの検索、取り込み、項目定義、ダウンロードの操作研修。",
        [
            (
                "ほかの課のデータの中身を見たいときは？",
                ["データ所有者（所管課）に利用申請する", "共有フォルダを探す", "画面を撮影する"],
                0,
            ),
            ("「項目定義」とは？", ["表の各列の名前・型・説明", "データの更新頻度", "担当者の連絡先"], 0),
            ("新しい版を取り込んだ後、過去の版は？", ["更新履歴から見られる", "消える", "上書きされる"], 0),
        ],
    ),
    (
        "オープンデータ入門",
        Rank.GENERAL,
        "公開区分、個人情報の扱い、推奨データセットの形式。",
        [
            (
                "オープンデータとして公開できないものは？",
                ["個人が特定できる情報", "施設の所在地", "統計の集計値"],
                0,
            ),
            ("機械判読に適した形式は？", ["CSV", "PDF", "画像"], 0),
            (
                "CC BY 4.0 で公開したデータを使う人に求められることは？",
                ["出典を表示する", "市に使用料を払う", "使う前に申請する"],
                0,
            ),
        ],
    ),
    (
        "実践データ分析（ロジックモデルと効果検証）",
        Rank.CORE,
        "具体的な事例を通じてロジックモデルを作り、効果検証まで行う実践型の研修。",
        [
            (
                "差の差分析（DID）で仮定するのは？",
                ["処置がなければ両群の推移は平行", "両群の人数が同じ", "処置群のほうが大きい"],
                0,
            ),
            ("アンケートの回答率が低いとき注意することは？", ["回答者の偏り", "設問の数", "回答の文字数"], 0),
            (
                "ロジックモデルを作る最初の一歩は？",
                ["最終的に目指す成果を決める", "使えるデータを全部集める", "予算額を決める"],
                0,
            ),
            ("季節性のある月次データの前年比較で使うのは？", ["前年同月", "前月", "年度の初月"], 0),
        ],
    ),
]

PLACES: Final = ["本庁舎 14階 大会議室", "本庁舎 研修室", "中央区役所 会議室"]
TOPICS: Final[dict[str, list[str]]] = {
    ConsultationKind.QUESTION: [
        "アンケート結果の集計方法について",
        "Excel の表をまちデータに取り込みたい",
        "オープンデータとして公開できるか確認したい",
        "年度別の推移をグラフにしたい",
        "統計データの出典と使い方",
        "個人情報を含むデータの扱い",
        "ほかの課のデータを使いたい（利用申請）",
        "地図に施設を表示したい",
    ],
    ConsultationKind.SUPPORT: [
        "事業評価のためのロジックモデル作成",
        "利用者数の要因分析",
        "施策の効果検証（比較群の設定）",
        "ダッシュボードの設計と定期更新",
    ],
}
OUTCOMES: Final = [
    "集計例を共有し、課で集計できるようになった。",
    "手順を説明し、取り込みが完了した。",
    "公開区分を整理し、公開申請に進むことになった。",
    "分析結果を事業評価シートに反映した。",
]
FIELDS: Final = ["統計分析", "GIS（地図）", "BIツール", "アンケート設計", "Excel 集計", "オープンデータ"]
FAMILY: Final = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "森",
]


def _when(day: dt.date, rng: random.Random) -> dt.datetime:
    """A working-hours moment of ``day`` in Japan."""
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))), tzinfo=tz)


def _name(rng: random.Random, n: int) -> str:
    return f"合成 {rng.choice(FAMILY)}{n:03d}"


def _courses(rng: random.Random, made: Counter[str]) -> list[Course]:
    courses = []
    for order, (title, rank, description, questions) in enumerate(COURSES, start=1):
        course = Course.objects.create(
            title=title, rank=rank, description=f"{description}{NOTE}", order=order, is_synthetic=True
        )
        courses.append(course)
        made["course"] += 1
        for i, (text, choices, right) in enumerate(questions):
            q = Question.objects.create(
                course=course, text=text, order=i, explanation=f"正解は「{choices[right]}」。"
            )
            made["question"] += 1
            shuffled = list(enumerate(choices))
            rng.shuffle(shuffled)
            for j, (k, label) in enumerate(shuffled):
                Choice.objects.create(question=q, text=label, is_correct=k == right, order=j)
    return courses


def _attendee_rank(rng: random.Random, course: Course) -> str:
    """Mostly 管理職 at 管理職 courses, mostly 一般職 elsewhere; a few sheets carried no 職位."""
    draw = rng.random()
    if draw < 0.05:
        return ""
    manager = draw < 0.9 if course.rank == Rank.MANAGER else draw < 0.12
    return StaffRank.MANAGER if manager else StaffRank.GENERAL


def _sessions(
    rng: random.Random, courses: list[Course], divisions: list[Unit], start: dt.date, made: Counter[str]
) -> None:
    person = 0
    ranks = random.Random(SEED + 1)  # noqa: S311 - its own stream, so the rest of the demo stays as it was
    for course in courses:
        for _ in range(2):
            day = start + dt.timedelta(days=rng.randint(20, 340))
            online = rng.random() < 0.4
            session = Session.objects.create(
                course=course,
                on_date=day,
                start_time=dt.time(rng.choice((9, 13, 15)), 30),
                place="Teams" if online else rng.choice(PLACES),
                online=online,
                capacity=100 if online else 30,
                note=NOTE,
            )
            made["session"] += 1
            for _ in range(rng.randint(12, 26)):
                person += 1
                scored = rng.random() < 0.7
                Attendance.objects.create(
                    session=session,
                    staff_name=_name(rng, person),
                    unit=rng.choice(divisions),
                    rank=_attendee_rank(ranks, course),
                    score=min(100, max(30, round(rng.gauss(76, 12)))) if scored else None,
                    source=AttendanceSource.IMPORTED,
                )
                made["attendance"] += 1


def _tests(
    rng: random.Random, courses: list[Course], users: dict[str, Any], start: dt.date, made: Counter[str]
) -> None:
    """The demo accounts took some tests, so 「あなたの研修」 and the KPI have rows from machidata too."""
    from machidata.support.services import home_unit

    general = [c for c in courses if c.rank == Rank.GENERAL]
    for username in ("staff", "steward", "steward2"):
        user = users.get(username)
        if user is None:
            continue
        for course in rng.sample(general, 2):
            total = course.questions.count()
            correct = sum(1 for _ in range(total) if rng.random() < 0.8)
            score = round(100 * correct / total)
            TestAttempt.objects.create(
                course=course,
                user=user,
                unit=home_unit(user.pk),
                answers={},
                correct=correct,
                total=total,
                score=score,
                passed=score >= course.pass_mark,
                taken_at=_when(start + dt.timedelta(days=rng.randint(30, 360)), rng),
            )
            made["testattempt"] += 1


def _status(rng: random.Random, age: int) -> str:
    """Recent requests are still open or in progress; older ones are mostly closed."""
    if age < 7 and rng.random() < 0.6:
        return ConsultationStatus.OPEN
    if age < 40 and rng.random() < 0.5:
        return ConsultationStatus.IN_PROGRESS
    return ConsultationStatus.WITHDRAWN if rng.random() < 0.05 else ConsultationStatus.CLOSED


def _consultations(  # noqa: PLR0917 - private; one call site
    rng: random.Random, divisions: list[Unit], admin: Any, start: dt.date, today: dt.date, made: Counter[str]
) -> None:
    for _ in range(rng.randint(55, 70)):
        kind = ConsultationKind.SUPPORT if rng.random() < 0.15 else ConsultationKind.QUESTION
        day = start + dt.timedelta(days=rng.randint(0, 364))
        status = _status(rng, (today - day).days)
        c = Consultation.objects.create(
            kind=kind,
            topic=rng.choice(TOPICS[kind]),
            description=f"{NOTE}（合成した相談の例）",
            urgency=rng.choices(Urgency.values, weights=(2, 6, 1))[0],
            unit=rng.choice(divisions),
            status=status,
            assignee=admin if status != ConsultationStatus.OPEN else None,
            opened_at=_when(day, rng),
            is_synthetic=True,
        )
        made["consultation"] += 1
        if status == ConsultationStatus.OPEN:
            continue
        support = kind == ConsultationKind.SUPPORT
        last = day
        for _ in range(rng.randint(3, 8) if support else rng.randint(1, 3)):
            last = min(today, last + dt.timedelta(days=rng.randint(0, 10 if support else 3)))
            SupportEntry.objects.create(
                consultation=c,
                on_date=last,
                minutes=rng.choice((15, 30, 45, 60, 90, 120)),
                note=f"{NOTE}（ヒアリング・資料作成・打合せなど）",
                staff=admin,
            )
            made["supportentry"] += 1
        if status in {ConsultationStatus.CLOSED, ConsultationStatus.WITHDRAWN}:
            c.closed_at = _when(last, rng)
            c.outcome = (
                rng.choice(OUTCOMES) if status == ConsultationStatus.CLOSED else "取り下げ: 課内で解決した"
            )
            c.save(update_fields=["closed_at", "outcome"])


# Invented monthly figures per 局 (SyntheticUsage): how many of each, at full adoption, in one month.
USAGE_SCALE: Final = {
    "active_users": 40,
    "datasets": 4,
    "versions": 25,
    "searches": 160,
    "downloads": 60,
    "charts": 12,
}


def _usage(rng: random.Random, today: dt.date, made: Counter[str]) -> None:
    """A year of invented usage by 局 and month: adoption spreads over the year, some 局 start late.

    Each 局 gets a start month (a few never start) and a share of the full figures that rises month by
    month; 0件の検索 is a falling share of the searches, as the catalog fills. Nothing is written to
    the audit log: the rows are labelled synthetic and the pages say so.
    """
    from machidata.access.models import TOP_LEVEL_KINDS
    from machidata.support.models import SyntheticUsage

    if SyntheticUsage.objects.exists():
        return
    index = today.year * 12 + today.month - 1  # the 12 months up to and including this one
    months = [dt.date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(11, -1, -1)]
    bureaus = Unit.objects.active_on(today).filter(parent__isnull=True, kind__in=TOP_LEVEL_KINDS)
    rows = []
    for bureau in bureaus.order_by("code"):
        start = rng.choice([0, 0, 1, 2, 3, 5, 7, 9, 12])  # 12: not yet started this year
        size = rng.uniform(0.3, 1.5)  # bigger and smaller 局
        for i, month in enumerate(months):
            if i < start:
                continue
            adoption = min(1.0, 0.25 + 0.1 * (i - start)) * size
            counts = {k: round(v * adoption * rng.uniform(0.7, 1.3)) for k, v in USAGE_SCALE.items()}
            if rng.random() < 0.3:
                counts["charts"] = 0  # not every 局 makes charts every month
            counts["searches_empty"] = round(counts["searches"] * max(0.05, 0.3 - 0.02 * i))
            rows += [
                SyntheticUsage(month=month, bureau=bureau, metric=k, count=n) for k, n in counts.items() if n
            ]
    SyntheticUsage.objects.bulk_create(rows)
    made["synthetic_usage"] += len(rows)


def _manager_rank(users: dict[str, Any], made: Counter[str]) -> None:
    """The demo's 健康づくり推進課 data owner is its 管理職, so the 局's usage page has a reader."""
    steward = users.get("steward")
    if steward is not None:
        made["manager_rank"] += (
            Membership.objects.active_on()
            .filter(user=steward)
            .exclude(rank=StaffRank.MANAGER)
            .update(rank=StaffRank.MANAGER)
        )


def load_support_demo(*, users: dict[str, Any], today: dt.date | None = None) -> Counter[str]:
    """Create a year of synthetic consultations, courses, sessions, attendance and tests (once)."""
    made: Counter[str] = load_help_demo(users=users)  # guides, forum, cases: each part once
    _manager_rank(users, made)
    if Course.objects.filter(is_synthetic=True).exists():
        return made
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=365)
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo content, not a secret
    divisions = list(Unit.objects.active_on(today).filter(kind=UnitKind.DIVISION).order_by("code"))
    if not divisions:
        return made
    courses = _courses(rng, made)
    _sessions(rng, courses, divisions, start, made)
    _tests(rng, courses, users, start, made)
    _consultations(rng, divisions, users.get("admin"), start, today, made)
    # コア人材 are people who took the コア人材 courses (so coverage counts them among the trained)
    pick = random.Random(SEED + 2)  # noqa: S311 - its own stream, as above
    trained = list(Attendance.objects.filter(session__course__rank=Rank.CORE).order_by("id"))
    people = pick.sample(trained, min(8, len(trained)))
    for i in range(8):
        name, unit = _name(rng, 900 + i), rng.choice(divisions)  # drawn always, so later draws stay put
        person = people[i] if i < len(people) else None
        CoreStaff.objects.create(
            staff_name=person.staff_name if person else name,
            unit=person.unit if person else unit,
            since=start + dt.timedelta(days=rng.randint(0, 200)),
            field=rng.choice(FIELDS),
            note=NOTE,
            is_synthetic=True,
        )
        made["corestaff"] += 1
    _usage(rng, today, made)
    # Headcounts are invented too (the demo has no staff register); 管理 edits them in the admin.
    for unit in rng.sample(divisions, min(12, len(divisions))):
        Headcount.objects.get_or_create(unit=unit, defaults={"staff": rng.randint(12, 60), "as_of": start})
        made["headcount"] += 1
    return made
