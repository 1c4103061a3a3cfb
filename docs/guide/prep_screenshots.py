"""Regenerate the screenshots of docs/guide/prep.md (データの加工): a join and an unpivot.

Run it against a demo instance. The prep demo makes the recipe 「歩行者通行量に天気を結合する（合成データ）」
and 「高松市の人口を縦持ちにする」 owned by データ戦略課 (demo account ``admin``):

    export MACHIDATA_HOME=/tmp/guide-home; rm -rf $MACHIDATA_HOME
    .venv/bin/machidata demo --load-only
    .venv/bin/machidata serve --port 8791 &
    .venv/bin/python docs/guide/prep_screenshots.py     # writes docs/guide/img/prep-*.png
    kill %1
"""

from __future__ import annotations

from typing import Any

from guide_browser import BASE, admin_page, shot


def main() -> None:
    """Sign in as 管理, open the join recipe (steps with counts, unmatched keys) and the unpivot recipe."""
    with admin_page() as page:
        page.goto(f"{BASE}/prep/")
        shot(page, "prep-01-list.png")
        page.click("text=歩行者通行量に天気を結合する（合成データ）")
        page.wait_for_selector("#steps-h")
        shot(page, "prep-02-join-steps.png", "section:has(#steps-h)")
        page.click("summary:has-text('別の表を結合する')")
        shot(page, "prep-03-join-form.png", "details:has(#j-src)")
        shot(page, "prep-04-join-result.png", "section:has(#result-h)")
        page.goto(f"{BASE}/prep/")
        page.click("text=高松市の人口を縦持ちにする（男女・5歳階級）")
        page.wait_for_selector("#steps-h")
        shot(page, "prep-05-unpivot-steps.png", "section:has(#steps-h)")
        shot(page, "prep-06-unpivot-result.png", "section:has(#result-h)")
        page.goto(f"{BASE}/prep/starters/rate/")
        # The starter as staff use it: pick the two tables, 「列を読み込む」, and the column lists appear.
        page.select_option("#pick-source", label=_option(page, "#pick-source", "救急出動率"))
        page.select_option("#pick-other", label=_option(page, "#pick-other", "区別人口（デモ用"))
        with page.expect_navigation():
            page.click("button:has-text('列を読み込む')")
        page.wait_for_selector("#starter-key")
        shot(page, "prep-07-starter.png")


def _option(page: Any, select: str, word: str) -> str:
    """The label of the first option of ``select`` that contains ``word``."""
    labels = [str(t) for t in page.locator(f"{select} option").all_inner_texts()]
    return next(label for label in labels if word in label)


if __name__ == "__main__":
    main()
