"""typed_text: the one check of typed text (stripped, required, bounded) shared by the rooms' services."""

from __future__ import annotations

import pytest

from machidata.core.errors import InvalidInput
from machidata.core.text import TEXT_MAX, typed_text


def test_text_is_stripped_and_blank_is_empty() -> None:
    assert typed_text("  市民向けに\n", "理由") == "市民向けに"
    assert typed_text(None, "理由") == ""
    assert typed_text(12, "番号") == "12"


def test_required_text_names_the_field_in_japanese() -> None:
    with pytest.raises(InvalidInput) as exc:
        typed_text("   ", "利用目的", "purpose", required=True)
    assert exc.value.message == "利用目的を入力してください。"
    assert exc.value.details == {"purpose": "必須です。"}


def test_the_limit_counts_characters_not_bytes() -> None:
    assert typed_text("あ" * TEXT_MAX, "コメント") == "あ" * TEXT_MAX
    with pytest.raises(InvalidInput) as exc:
        typed_text("あ" * 11, "氏名", limit=10)
    assert exc.value.message == "氏名は10文字以内で入力してください。"
    assert exc.value.details == {"氏名": "長すぎます。"}
