"""Text a person typed into a form or an API field, checked the same way in every room."""

from __future__ import annotations

from typing import Any, Final

from machidata.core.errors import InvalidInput

TEXT_MAX: Final = 2000  # a reason, a note, a comment: a few paragraphs


def typed_text(
    value: Any, label: str, field: str | None = None, *, required: bool = False, limit: int = TEXT_MAX
) -> str:
    """``value`` as stripped text, refused in plain Japanese naming ``label`` when it is missing (``required``)
    or longer than ``limit`` characters; ``details`` maps ``field`` (or the label) to what is wrong."""
    text = str(value or "").strip()
    key = field or label
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。", details={key: "必須です。"})
    if len(text) > limit:
        raise InvalidInput(f"{label}は{limit}文字以内で入力してください。", details={key: "長すぎます。"})
    return text
