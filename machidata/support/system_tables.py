"""System tables of the support room: 相談 and 研修, feeding the strategy's KPIs.

「データ利活用に関する相談件数」 counts the 相談 rows (by month, kind and 課) and
「研修受講者の理解度」 is the mean of the 研修 rows' 点数 where 理解度に数える is true (the same rule as
the course pages: each person's first test in machidata, else the score imported with attendance).

The system dataset is 庁内 (every member of staff reads it), so the rows carry no topics,
descriptions, names or account ids: only dates, kinds, the 課 and figures.
The lead registers these specs with ``register_system_table`` in catalog/system_datasets.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pyarrow as pa
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from machidata.catalog.models import Dataset
from machidata.catalog.system_datasets import Column, SystemTable
from machidata.support.models import Attendance, Consultation, TestAttempt


def _local_date(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value is not None else None


CONSULTATION_COLUMNS: Final = (
    Column("受付日", pa.date32(), "date", "相談を受け付けた日（日本時間）"),
    Column("受付月", pa.string(), "string", "受け付けた月（YYYY-MM）"),
    Column("種別", pa.string(), "string", "相談 か 伴走支援"),
    Column("所属コード", pa.string(), "string", "相談した課の所属コード"),
    Column("所属", pa.string(), "string", "相談した課の名称"),
    Column("緊急度", pa.string(), "string", "急がない・通常・至急"),
    Column("状態", pa.string(), "string", "受付・対応中・完了・取り下げ"),
    Column("対応時間（分）", pa.int64(), "integer", "データ戦略課が対応に使った時間の合計"),
    Column("完了日", pa.date32(), "date", "完了または取り下げの日（日本時間、終わっていなければ空欄）"),
    Column("合成データ", pa.bool_(), "boolean", "デモ用の合成データか"),
)


def _consultation_rows(own: Dataset) -> list[tuple[Any, ...]]:
    rows = []
    consultations = (
        Consultation.objects.select_related("unit")
        .annotate(spent=Coalesce(Sum("entries__minutes"), 0))
        .order_by("opened_at", "id")
    )
    for c in consultations:
        opened = _local_date(c.opened_at)
        rows.append(
            (
                opened,
                f"{opened:%Y-%m}" if opened else None,
                c.get_kind_display(),
                c.unit.code,
                c.unit.name,
                c.get_urgency_display(),
                c.get_status_display(),
                int(c.spent),
                _local_date(c.closed_at),
                c.is_synthetic,
            )
        )
    return rows


TRAINING_COLUMNS: Final = (
    Column("日付", pa.date32(), "date", "受講日または受験日（日本時間）"),
    Column("月", pa.string(), "string", "日付の月（YYYY-MM）"),
    Column("区分", pa.string(), "string", "受講（出席の記録）か 理解度テスト（まちデータで受験）"),
    Column("研修", pa.string(), "string", "研修名"),
    Column("対象", pa.string(), "string", "管理職・一般職・コア人材"),
    Column("所属コード", pa.string(), "string", "受講者の課の所属コード"),
    Column("所属", pa.string(), "string", "受講者の課の名称"),
    Column(
        "点数",
        pa.int64(),
        "integer",
        "理解度テストの点数（100点満点。受講の行は名簿から取り込んだ点数、なければ空欄）",
    ),
    Column("合格", pa.bool_(), "boolean", "合格点以上か（点数がなければ空欄）"),
    Column(
        "理解度に数える",
        pa.bool_(),
        "boolean",
        "KPI の理解度に数える点数か（まちデータでの受験は各人の初回だけ。名簿の点数は、同じ人の受験がなければ数える）",
    ),
    Column("合成データ", pa.bool_(), "boolean", "デモ用の合成データか"),
)


def _training_rows(own: Dataset) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    tested: set[tuple[int, int]] = set(TestAttempt.objects.values_list("course_id", "user_id"))
    for a in Attendance.objects.select_related("session__course", "unit").order_by("session__on_date", "id"):
        course = a.session.course
        rows.append(
            (
                a.session.on_date,
                f"{a.session.on_date:%Y-%m}",
                "受講",
                course.title,
                course.get_rank_display(),
                a.unit.code,
                a.unit.name,
                a.score,
                None if a.score is None else a.score >= course.pass_mark,
                a.score is not None and (a.user_id is None or (course.pk, a.user_id) not in tested),
                course.is_synthetic,
            )
        )
    first: set[tuple[int, int]] = set()
    for t in TestAttempt.objects.select_related("course", "unit").order_by("taken_at", "id"):
        day = _local_date(t.taken_at)
        counted = (t.course_id, t.user_id) not in first
        first.add((t.course_id, t.user_id))
        rows.append(
            (
                day,
                f"{day:%Y-%m}" if day else None,
                "理解度テスト",
                t.course.title,
                t.course.get_rank_display(),
                t.unit.code if t.unit else None,
                t.unit.name if t.unit else None,
                t.score,
                t.passed,
                counted,
                t.course.is_synthetic,
            )
        )
    return rows


CONSULTATIONS: Final = SystemTable(
    "consultations",
    "相談",
    "データ戦略課への相談・伴走支援1件につき1行（件名や内容は含みません）。KPI「データ利活用に関する相談件数」のもとです。",
    CONSULTATION_COLUMNS,
    _consultation_rows,
)

TRAINING: Final = SystemTable(
    "training",
    "研修",
    "研修の受講1回、理解度テストの受験1回につき1行（氏名は含みません）。KPI「研修受講者の理解度」のもとです。",
    TRAINING_COLUMNS,
    _training_rows,
)

TABLES: Final[tuple[SystemTable, ...]] = (CONSULTATIONS, TRAINING)
