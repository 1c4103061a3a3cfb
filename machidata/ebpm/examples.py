"""A starter library of logic models (ひな形): common shapes of city projects, to start from and adapt.

Each is a plain document (see :mod:`machidata.ebpm.logic`); statements are generic, with 〇〇 where the
project's own words go. A test validates every example.
"""

from __future__ import annotations

from typing import Any, Final


def _links(*pairs: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"id": f"l{i}", "from": a, "to": b, "rationale": why, "assumptions": "", "evidence": []}
            for i, (a, b, why) in enumerate(pairs, start=1)]  # fmt: skip


EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "nudge": {
        "title": "受診・申請の勧奨（個別通知・ナッジ）",
        "description": "健診・検診の受診勧奨、制度の申請勧奨など、対象者に個別に知らせて行動を促す事業。",
        "document": {
            "stage_set": "six",
            "nodes": [
                {
                    "id": "n1",
                    "stage": "input",
                    "number": "1",
                    "statement": "対象者名簿、通知の予算（郵送・SMS）",
                },
                {
                    "id": "n2",
                    "stage": "activity",
                    "number": "2",
                    "statement": "未受診（未申請）の人に、個別の通知を送る",
                },
                {"id": "n3", "stage": "output", "number": "3", "statement": "通知を受け取った対象者の数"},
                {"id": "n4", "stage": "short", "number": "4", "statement": "受診（申請）する人が増える"},
                {
                    "id": "n5",
                    "stage": "mid",
                    "number": "5",
                    "statement": "〇〇が早く見つかる（必要な支援が届く）",
                },
                {
                    "id": "n6",
                    "stage": "long",
                    "number": "6",
                    "statement": "〇〇の重症化が防がれる（生活が安定する）",
                },
            ],
            "links": _links(
                ("n1", "n2", "名簿と予算があれば通知できる"),
                ("n2", "n3", "送った数だけ届く（宛先不明を除く）"),
                ("n3", "n4", "個別の通知は行動を促す（ナッジの研究）"),
                ("n4", "n5", "受診・申請が早期発見・支援の入口になる"),
                ("n5", "n6", "早期の対応で悪化を防げる"),
            ),
            "external_factors": ["制度の変更", "感染症の流行などによる受診控え"],
        },
    },
    "awareness": {
        "title": "啓発・講座",
        "description": "出前講座、広報、イベントなどで市民の理解を深め、行動を変えてもらう事業。",
        "document": {
            "stage_set": "six",
            "nodes": [
                {"id": "n1", "stage": "input", "number": "1", "statement": "講師、教材、広報の予算"},
                {"id": "n2", "stage": "activity", "number": "2", "statement": "講座を開く、広報物を配る"},
                {
                    "id": "n3",
                    "stage": "output",
                    "number": "3",
                    "statement": "講座の参加者・広報物が届いた人の数",
                },
                {"id": "n4", "stage": "short", "number": "4", "statement": "〇〇についての理解が深まる"},
                {"id": "n5", "stage": "mid", "number": "5", "statement": "〇〇の行動をとる人が増える"},
                {"id": "n6", "stage": "long", "number": "6", "statement": "〇〇の状態が良くなる"},
            ],
            "links": _links(
                ("n1", "n2", "講師と教材がそろえば開ける"),
                ("n2", "n3", "開催・配布の数だけ届く"),
                ("n3", "n4", "知る機会があれば理解が進む"),
                ("n4", "n5", "理解した人は行動を選び直せる"),
                ("n5", "n6", "行動の変化が積み重なって状態が変わる"),
            ),
            "external_factors": ["報道や社会の関心の高まり・低下"],
        },
    },
    "subsidy": {
        "title": "補助金・助成",
        "description": "設備の導入や取り組みに補助金を出して、市民・事業者の行動を後押しする事業。",
        "document": {
            "stage_set": "four",
            "nodes": [
                {"id": "n1", "stage": "activity", "number": "1", "statement": "〇〇の導入に補助金を交付する"},
                {"id": "n2", "stage": "output", "number": "2", "statement": "補助金の交付件数・交付額"},
                {
                    "id": "n3",
                    "stage": "short",
                    "number": "3",
                    "statement": "〇〇を導入した世帯・事業者が増える",
                },
                {
                    "id": "n4",
                    "stage": "long",
                    "number": "4",
                    "statement": "〇〇（CO2排出量、空き家数など）が減る",
                },
            ],
            "links": _links(
                ("n1", "n2", "申請があれば交付する"),
                (
                    "n2",
                    "n3",
                    "費用の一部を補えば導入に踏み切れる（補助がなくても導入した人の分は効果ではない）",
                ),
                ("n3", "n4", "導入した分だけ〇〇が減る"),
            ),
            "external_factors": ["物価・金利の変化", "国・県の補助制度"],
        },
    },
    "training": {
        "title": "職員の人材育成（研修・伴走支援）",
        "description": "研修や相談で職員のスキルを高め、業務の進め方を変える事業（データ利活用推進計画の施策1の形）。",
        "document": {
            "stage_set": "six",
            "nodes": [
                {"id": "n1", "stage": "input", "number": "1", "statement": "研修講師、相談窓口の担当者"},
                {
                    "id": "n2",
                    "stage": "activity",
                    "number": "2",
                    "statement": "階層別の研修、相談（伴走支援）",
                },
                {"id": "n3", "stage": "output", "number": "3", "statement": "研修の受講者数、相談件数"},
                {
                    "id": "n4",
                    "stage": "short",
                    "number": "4",
                    "statement": "職員の知識・スキルが高まる（理解度テスト）",
                },
                {"id": "n5", "stage": "mid", "number": "5", "statement": "業務で〇〇を活用する職員が増える"},
                {"id": "n6", "stage": "long", "number": "6", "statement": "〇〇に基づく事業立案が定着する"},
            ],
            "links": _links(
                ("n1", "n2", "講師と担当者がいれば開ける"),
                ("n2", "n3", "開催・受付の数だけ参加がある"),
                ("n3", "n4", "学ぶ機会があればスキルが上がる"),
                ("n4", "n5", "できると分かった人は業務で使う"),
                ("n5", "n6", "使う人が増えると組織の進め方が変わる"),
            ),
            "external_factors": ["人事異動による経験の入れ替わり"],
        },
    },
}
