"""Reading the privacy forms' and APIs' values (shared by 利用申請 and the partner accounts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from machidata.core.errors import InvalidInput


def parse_date(value: Any, label: str, field: str) -> dt.date:
    """A date given as a date or as ``YYYY-MM-DD`` text; otherwise a Japanese refusal naming ``label``."""
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        reason = "日付の形が違います。" if text else "必須です。"
        raise InvalidInput(
            f"{label}を入力してください（例: 2026-04-01）。", details={field: reason}
        ) from None
