"""Regenerate the screenshots of docs/guide/data-upload.md (データの取り込み・版・項目定義・ダウンロード).

Run it against a fresh demo instance, because it creates a practice dataset and imports files into it:

    export MACHIDATA_HOME=/tmp/guide-home; rm -rf $MACHIDATA_HOME
    .venv/bin/machidata demo --load-only
    .venv/bin/machidata serve --port 8790 &
    .venv/bin/python docs/guide/screenshots.py            # writes docs/guide/img/*.png
    kill %1

The pages are taken as the demo data owner ``steward`` (健康づくり推進課, 編集) at a 1280×800 viewport and
cropped to the part each step of the guide talks about. Files come from ../shared/data/real/ (the real
open-data files); the マイナンバー example is a small generated CSV whose numbers are random (not real people).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

BASE = os.environ.get("MACHIDATA_GUIDE_URL", "http://127.0.0.1:8790")
REAL = Path(os.environ.get("MACHIDATA_REAL_DATA", "/work/shared/data/real"))
OUT = Path(__file__).resolve().parent / "img"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1280, 800


def shot(
    page: Page, name: str, *, selector: str | None = None, top: float | None = None, height: int = HEIGHT
) -> None:
    """Save one PNG: an element, or a band of the page starting at ``top`` (page coordinates)."""
    path = OUT / name
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        y = 0.0 if top is None else max(top - 16, 0)
        page_height = page.evaluate("document.documentElement.scrollHeight")
        h = min(height, page_height - y)
        page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": y, "width": WIDTH, "height": h})
    sys.stdout.write(f"{name}: {path.stat().st_size // 1024} KB\n")


def top_of(page: Page, selector: str) -> float:
    """The page y of an element's top edge."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"]) + float(page.evaluate("window.scrollY"))


def login(page: Page, username: str, password: str) -> None:
    """Sign in through the login page."""
    page.goto(f"{BASE}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def create_dataset(page: Page) -> str:
    """Register the practice dataset of 健康づくり推進課 and return its slug (its identifier)."""
    page.goto(f"{BASE}/catalog/new/")
    page.fill("input[name=title]", "観光施設・薬局の一覧（取り込みの練習）")
    page.select_option("select[name=owner]", label="健康福祉局 保健衛生部 健康づくり推進課")
    page.select_option("select[name=classification]", "internal")
    page.click("main button.button--primary")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def choose_file(
    page: Page, slug: str, file: Path, *, title: str = "", table: str = "", mode: str = "", note: str = ""
) -> None:
    """Step 1 of the import: fill the upload form (without sending it)."""
    page.goto(f"{BASE}/catalog/{slug}/ingest/")
    page.set_input_files("input[name=file]", str(file))
    if table:
        page.select_option("select[name=table]", label=table)
    if title:
        page.fill("input[name=new_table_title]", title)
    if mode:
        page.check(f"input[name=mode][value={mode}]")
    if note:
        page.fill("input[name=note]", note)


def to_preview(page: Page) -> None:
    """Send the upload form: 読み取り結果の確認."""
    page.click("main button:has-text('読み取り結果を確認')")
    page.wait_for_url("**/ingest/preview/")


def start_and_wait(page: Page) -> str:
    """Press 取り込む and wait on the job page until the job has ended; returns its final state."""
    page.click("main button[name=start]")
    page.wait_for_url("**/jobs/*/")
    for _ in range(120):
        text = page.inner_text("main")
        for state in ("完了", "失敗", "取り消し"):
            if f"状態：{state}" in text:
                return state
        time.sleep(1)
        page.reload()
    raise RuntimeError("取り込みが終わりませんでした")


def mynumber_csv(folder: Path) -> Path:
    """A small CP932 CSV whose 個人番号 column holds random 12-digit numbers with valid check digits."""
    rng = random.Random(7)  # noqa: S311 — fixed fake numbers for a picture, not secrets

    def check_digit(d11: str) -> str:
        total = sum(int(d11[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
        rest = total % 11
        return "0" if rest <= 1 else str(11 - rest)

    wards = ["中央区", "東区", "西区", "南区", "北区"]
    lines = ["受付番号,受付日,区,個人番号,金額"]
    for i in range(1, 31):
        d11 = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(10))
        lines.append(
            f'{i},令和6年4月{i}日,{wards[i % 5]},{d11}{check_digit(d11)},"{rng.randint(1, 90) * 1000:,}"'
        )
    path = folder / "kyufukin_uketsuke.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


def main() -> int:  # noqa: PLR0915 — one linear walk through the guide reads best as one function
    """Walk through the guide as the data owner and save each screenshot."""
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="machidata-guide-"))
    tourism = REAL / "350001_yamaguchi_tourism.csv"
    pharmacies = REAL / "431001_kumamoto_yakkyoku_list.xlsx"
    monthly = REAL / "431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="ja-JP")
        page = context.new_page()
        login(page, "steward", "demo-steward-2024")
        slug = create_dataset(page)

        # 1. ファイルを選ぶ（Shift_JIS の CSV）
        shot(page, "01-dataset-import-button.png", top=0, height=330)
        choose_file(
            page,
            slug,
            tourism,
            title="観光施設一覧（山口県）",
            note="山口県の観光施設一覧（元ファイルのまま）",
        )
        shot(page, "02-upload.png")

        # 2. 読み取り結果の確認
        to_preview(page)
        shot(page, "03-preview.png")
        shot(page, "04-personal-data-flags.png", selector="section[aria-labelledby=pii-h]")
        shot(page, "05-readability.png", top=top_of(page, "section[aria-labelledby=mr-h]"), height=560)

        # 項目定義を取り込む前に直す: 電話番号の項目名、記号の意味
        fields = page.locator("section[aria-labelledby=fields-h] tbody tr")
        row = fields.filter(has=page.locator("th", has_text="電話番号")).first
        row.locator("input[name$=_title]").fill("電話番号（代表）")
        with page.expect_navigation():
            page.click("main button[name=reread]")
        shot(page, "18-overrides.png", top=top_of(page, "section[aria-labelledby=fields-h]"), height=640)

        # 3. 取り込み → 処理の進み具合
        state = start_and_wait(page)
        assert state == "完了", state
        shot(page, "06-job.png", top=0, height=800)
        page.click("main a:has-text('取り込んだ表を見る')")
        table_url = page.url.split("?")[0]
        sys.stdout.write(f"表: {table_url}\n")

        # 表のページ
        page.goto(table_url)
        shot(page, "07-table-top.png", top=0, height=620)
        page.select_option("#fc", "住所")
        page.select_option("#fo", label="含む")
        page.fill("#fv", "萩市")
        page.click("#preview form button:has-text('条件を追加')")
        page.wait_for_selector("#active-h")
        page.click("#preview th a:has-text('名称_カナ')")
        page.wait_for_selector("#preview th[aria-sort]")
        shot(page, "08-filter.png", top=top_of(page, "#preview"), height=660)
        page.goto(table_url)
        shot(
            page,
            "09-profile.png",
            selector="section[aria-labelledby=profile-h] > section:has(h3:has-text('開始時間（時刻）'))",
        )
        shot(page, "19-table-reports.png", top=top_of(page, "section[aria-labelledby=reports-h]"), height=700)
        shot(page, "10-download.png", selector="section[aria-labelledby=download-h]")

        # Excel: 薬局一覧（和暦の期間が1つのセルに）
        choose_file(page, slug, pharmacies, title="熊本市内薬局一覧")
        to_preview(page)
        shot(page, "11-excel-preview.png", top=top_of(page, "section[aria-labelledby=det-h]"), height=620)

        # 月ごとのシートをまとめる（個人名が写らないよう、設定の部分だけ）
        choose_file(page, slug, monthly, title="新規飲食店営業許可")
        to_preview(page)
        for box in page.query_selector_all("input[name=sheets]"):
            box.check()
        with page.expect_navigation():
            page.click("main button[name=reread]")
        shot(page, "12-sheets.png", selector="main form.form fieldset:has(legend:has-text('読み取りの設定'))")

        # マイナンバーは取り込めない
        choose_file(page, slug, mynumber_csv(tmp), title="給付金の受付")
        to_preview(page)
        shot(page, "13-mynumber-refused.png", top=0, height=420)

        # 置き換え（第2版）
        choose_file(
            page,
            slug,
            tourism,
            table="観光施設一覧（山口県）",
            mode="replace",
            note="最新のファイルで置き換え",
        )
        to_preview(page)
        assert start_and_wait(page) == "完了"

        # 合わないファイルの追加 → 失敗、第2版のまま
        choose_file(
            page,
            slug,
            pharmacies,
            table="観光施設一覧（山口県）",
            mode="append",
            note="薬局一覧を追加（誤り）",
        )
        to_preview(page)
        assert start_and_wait(page) == "失敗"
        shot(page, "14-job-failed.png", top=0, height=760)

        # 更新履歴・過去の版・この版に戻す
        page.goto(table_url)
        with page.expect_navigation():
            page.click("section[aria-labelledby=history-h] button:has-text('この版に戻す')")
        sys.stdout.write(f"この版に戻す → {page.url}\n")
        for _ in range(60):  # the restore job's page links back to the table when it is done
            if "状態：完了" in page.inner_text("main"):
                break
            time.sleep(1)
            page.reload()
        shot(page, "20-restore-job.png", top=0, height=560)
        for _ in range(60):  # the restore is written by a job: wait until 第3版 is no longer 書き込み中
            page.goto(table_url)
            history = page.inner_text("section[aria-labelledby=history-h]")
            if "過去の版に戻す" in history and "書き込み中" not in history:
                break
            time.sleep(1)
        shot(page, "15-history.png", selector="section[aria-labelledby=history-h]")
        page.goto(table_url + "?v=1")
        shot(page, "16-past-version.png", top=0, height=520)

        # 項目定義の編集
        page.goto(table_url + "schema/")
        page.fill(
            "textarea[name=description], input[name=description]",
            "山口県の観光施設。緯度・経度は世界測地系。",
        )
        shot(page, "17-schema.png", top=0, height=800)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
