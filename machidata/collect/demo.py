"""Demo content of the collection room: a 照会 to ten fictional schools on 「学校別児童生徒数・学級数」, with a few returns.

Everything here is **synthetic**: the schools are fictional (「…小学校（架空）」), the figures invented,
the campaign marked 合成データ and titled so. The table starts with last year's (invented) figures of
three schools, as the owner would have them; the campaign collects this year's. Call
:func:`load_collect_demo` outside any transaction (the lake commits on its own); a second call
changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from machidata.access.policy import system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table
from machidata.collect.models import Campaign, Recipient
from machidata.core.errors import MachidataError

SLUG: Final = "pupils-by-school"
TABLE: Final = ("pupils", "学校別児童生徒数")
TITLE: Final = "令和7年度 学校別児童生徒数（5月1日現在）【デモ・合成データ】"
SCHOOLS: Final = tuple(
    f"{n}小学校（架空）"
    for n in (
        "あさひ",
        "さくら",
        "みどり",
        "ひばり",
        "わかば",
        "つばさ",
        "かえで",
        "すみれ",
        "やまびこ",
        "ひまわり",
    )
)
GRADES: Final = tuple(f"{g}年" for g in range(1, 7))
SYSTEM = system_actor("demo")


@dataclass
class CollectDemoSummary:
    """What the collection demo made."""

    campaign_id: int | None = None
    accepted: int = 0
    rejected: int = 0
    skipped: str = ""


def _pupils(school: int, grade: int, year: int) -> tuple[int, int]:
    """Invented, stable figures: (児童数, 学級数)."""
    pupils = 40 + (school * 17 + grade * 11 + year) % 70
    return pupils, max(1, -(-pupils // 35))


def _last_year_csv(home: Path) -> Path:
    path = home / "demo" / "pupils_r6_synthetic.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["年度", "学校名", "学年", "児童数", "学級数"])
    for s, school in enumerate(SCHOOLS[:3]):
        for g, grade in enumerate(GRADES, start=1):
            writer.writerow([2024, school, grade, *_pupils(s, g, 2024)])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _constrain(table: Table) -> None:
    """The 項目定義's rules the template enforces: grades from a list, counts within a range, all required."""
    schema = dict(table.schema)
    rules = {
        "年度": {"required": True, "minimum": 2000, "maximum": 2100},
        "学校名": {"required": True},
        "学年": {"required": True, "enum": list(GRADES)},
        "児童数": {"required": True, "minimum": 0, "maximum": 300},
        "学級数": {"required": True, "minimum": 0, "maximum": 10},
    }
    for f in schema.get("fields", []):
        if f.get("name") in rules:
            f["constraints"] = rules[f["name"]]
            if f["name"] == "学年" and f.get("type") != "string":  # read as a number with the unit 年
                f["constraints"] = {"required": True, "minimum": 1, "maximum": 6}
    with transaction.atomic():
        Table.objects.filter(pk=table.pk).update(schema=schema)
        audit_record(actor=SYSTEM, action="table.schema_update", obj=table, changes={"demo": "collect"})
    table.refresh_from_db()


def load_collect_demo(*, home: Path | None = None) -> CollectDemoSummary:
    """The demo campaign with 5 accepted returns, 1 to fix and 4 waiting (once)."""
    from machidata.access.services import cli_operator_actor
    from machidata.collect.returns import return_submit_rows
    from machidata.collect.services import campaign_create
    from machidata.ingest.services import ingest_file, table_get_or_create

    summary = CollectDemoSummary()
    dataset = Dataset.objects.filter(slug=SLUG).first()
    if dataset is None:
        summary.skipped = f"カタログ項目「{SLUG}」がないため省略します。"
        return summary
    existing = Campaign.objects.filter(title=TITLE, is_synthetic=True).first()
    if existing is not None:
        summary.campaign_id = existing.pk
        summary.skipped = "作成済み"
        return summary
    actor = cli_operator_actor()
    table = table_get_or_create(actor=actor, dataset=dataset, name=TABLE[0], title=TABLE[1])
    if table.current_version_id is None:
        path = _last_year_csv(Path(home or settings.MACHIDATA_HOME))
        ingest_file(
            actor=actor,
            table=table,
            path=path,
            source_name="令和6年度（合成）.csv",
            note="デモ用の合成データ",
        )
        table.refresh_from_db()
    _constrain(table)
    campaign = campaign_create(
        actor=actor,
        table=table,
        title=TITLE,
        deadline=timezone.localdate() + dt.timedelta(days=14),
        instructions="5月1日現在の学年ごとの児童数と学級数を入力してください（このデモの学校と数値は架空です）。",
        facilities=SCHOOLS,
        is_synthetic=True,
    )
    summary.campaign_id = campaign.pk
    recipients = {r.name: r for r in Recipient.objects.filter(campaign=campaign)}
    for s, school in enumerate(SCHOOLS[:5]):
        rows = [
            {"年度": "2025", "学校名": school, "学年": grade, "児童数": str(p), "学級数": str(c)}
            for g, grade in enumerate(GRADES, start=1)
            for p, c in [_pupils(s, g, 2025)]
        ]
        result = return_submit_rows(actor=actor, recipient=recipients[school], rows=rows)
        summary.accepted += result.status == "accepted"
    # One school typed a grade that is not on the list and a negative count: it must fix them.
    bad = [
        {"年度": "2025", "学校名": SCHOOLS[5], "学年": "１学年", "児童数": "52", "学級数": "2"},
        {"年度": "2025", "学校名": SCHOOLS[5], "学年": "2年", "児童数": "-3", "学級数": "2"},
    ]
    summary.rejected += (
        return_submit_rows(actor=actor, recipient=recipients[SCHOOLS[5]], rows=bad).status == "rejected"
    )
    return summary


def load_collect_demo_for(*, home: Path, say: Callable[..., None], full: bool) -> None:
    """The demo loader's step: only in the full demo (not when it loads chosen files); a failure is said, not raised."""
    if not full:
        return
    say("照会のデモ（学校別児童生徒数、合成データ）を作っています … ", end="")
    try:
        made = load_collect_demo(home=home)
    except MachidataError as exc:  # the rest of the demo goes on
        say(f"省略しました（{exc.message}）")
        return
    say(made.skipped or f"回答 {made.accepted} 件を受け付け、{made.rejected} 件が要修正です")
