"""The user guide of uploads (docs/guide/data-upload.md): every picture it shows exists and is made by screenshots.py."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "guide"


def test_every_picture_of_the_upload_guide_exists_and_is_regenerated():
    text = (GUIDE / "data-upload.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]+\]\(img/([^)]+\.png)\)", text)
    assert len(pictures) >= 20
    script = (GUIDE / "screenshots.py").read_text(encoding="utf-8")
    for name in pictures:
        assert (GUIDE / "img" / name).is_file(), name
        assert f'"{name}"' in script, name


def test_guide_explains_overrides_reports_and_the_cli_options():
    text = (GUIDE / "data-upload.md").read_text(encoding="utf-8")
    for words in (
        "取り込む前に項目定義を直す",
        "取り込み時の確認結果",
        "--type 列名=型",
        "--missing 記号=意味",
        "エラー: ",
    ):
        assert words in text, words
    assert "CommandError" not in text
