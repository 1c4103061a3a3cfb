"""Errors raised by the engine, each carrying a Japanese message that can be shown to staff as is."""

from __future__ import annotations


class EngineError(Exception):
    """Something went wrong while reading or querying data files (message in Japanese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EngineQueryError(EngineError, ValueError):
    """A query that does not fit the table: unknown column, wrong value type, bad limit (message names the column)."""


class EngineTimeout(EngineError):  # noqa: N818 — the name the issue gives this error
    """A query was interrupted because it ran longer than its time limit."""
