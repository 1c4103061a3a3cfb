"""Demo content for guidebooks, Q&A and the case library, loaded once (idempotent).

The five guides and the strategy's reference cases are real starter content (see help_content);
the forum threads and dataset questions are invented and labelled 「デモ用の合成データです。」.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.utils import timezone

from machidata.search.normalise import fold
from machidata.support.help_content import CASES, GUIDES, TOPICS
from machidata.support.models import (
    Case,
    CaseStatus,
    DatasetQuestion,
    ForumReply,
    ForumThread,
    ForumTopic,
    Guide,
    GuideVersion,
)
from machidata.support.services_cases import refold

NOTE = "デモ用の合成データです。"

# (topic slug, title, body, [replies])
THREADS: list[tuple[str, str, str, list[str]]] = [
    (
        "data-shaping",
        "横に年度が並んだ Excel を取り込むには？",
        "列が 令和3年度・令和4年度… と横に並んだ集計表があります。このまま取り込んでよいでしょうか。",
        [
            "「年度」の列を作って縦に並べ直すと、年度での絞り込みやグラフが作りやすくなります。ガイドブック「データ整形」も参考にしてください。"
        ],
    ),
    (
        "analysis",
        "区別の受診率を比べるときの分母は？",
        "区ごとの健診受診率を出したいのですが、分母は対象者数と人口のどちらがよいですか。",
        ["受診率なら分母は対象者数です。人口を分母にすると、対象者の年齢構成の違いが混ざってしまいます。"],
    ),
    ("ebpm", "ロジックモデルの書き方の相談先", "初めてロジックモデルを書きます。どこに相談できますか。", []),
]


def load_help_demo(*, users: dict[str, Any], today: dt.date | None = None) -> Counter[str]:
    """Create the starter guides, forum topics, reference cases and a few labelled synthetic posts (once)."""
    made: Counter[str] = Counter()
    admin = users.get("admin")
    for order, (slug, title, body, checklist) in enumerate(GUIDES, start=1):
        if Guide.objects.filter(slug=slug).exists():
            continue
        guide = Guide.objects.create(slug=slug, title=title, order=order, current_version=1)
        GuideVersion.objects.create(
            guide=guide, number=1, title=title, body=body, checklist=checklist, note="初版", edited_by=admin
        )
        made["guide"] += 1
    topics: dict[str, ForumTopic] = {}
    for order, (slug, name, description) in enumerate(TOPICS, start=1):
        topic, created = ForumTopic.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "order": order}
        )
        topics[slug] = topic
        made["forumtopic"] += int(created)
    if not Case.objects.filter(is_reference=True).exists():
        for values in CASES:
            case = Case(**values, is_reference=True, status=CaseStatus.PUBLISHED, created_by=admin)
            refold(case)
            case.save()
            made["case"] += 1
    if not ForumThread.objects.filter(is_synthetic=True).exists():
        now = timezone.now()
        for i, (slug, title, body, replies) in enumerate(THREADS):
            at = now - dt.timedelta(days=30 - i * 7)
            author = users.get("staff" if i % 2 else "steward")
            thread = ForumThread.objects.create(
                topic=topics[slug],
                title=title,
                body=f"{body}\n\n{NOTE}",
                created_by=author,
                created_at=at,
                last_post_at=at,
                is_synthetic=True,
            )
            for reply in replies:
                ForumReply.objects.create(
                    thread=thread, body=reply, created_by=admin, created_at=at + dt.timedelta(hours=3)
                )
                thread.last_post_at = at + dt.timedelta(hours=3)
            thread.is_faq = bool(replies) and i == 0
            thread.folded = fold("\n".join([title, thread.body, *replies]))
            thread.save()
            made["forumthread"] += 1
    if not DatasetQuestion.objects.filter(is_synthetic=True).exists() and users.get("steward") is not None:
        from machidata.catalog.models import Dataset

        dataset = Dataset.objects.filter(owner__memberships__user=users["steward"]).order_by("id").first()
        if dataset is not None:
            at = timezone.now() - dt.timedelta(days=10)
            DatasetQuestion.objects.create(
                dataset=dataset,
                body=f"このデータは何年度から揃っていますか。\n\n{NOTE}",
                asked_by=users.get("staff"),
                asked_at=at,
                answer="掲載している対象期間のとおりです。それより前は紙の台帳のみです。",
                answered_by=users["steward"],
                answered_at=at + dt.timedelta(days=1),
                is_faq=True,
                is_synthetic=True,
            )
            DatasetQuestion.objects.create(
                dataset=dataset,
                body=f"区別の内訳は取り込む予定がありますか。\n\n{NOTE}",
                asked_by=users.get("staff"),
                asked_at=at + dt.timedelta(days=2),
                is_synthetic=True,
            )
            made["datasetquestion"] += 2
    return made
