"""Domain errors shared by every room; views and the API turn them into 404/403/400 responses."""

from __future__ import annotations

from typing import Any


class MachidataError(Exception):
    """Base class of domain errors; ``message`` is shown to the user (Japanese)."""

    status = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(MachidataError):  # noqa: N818 - reads better at call sites than NotFoundError
    """Missing or hidden: both answer the same 404 so existence never leaks."""

    status = 404

    def __init__(self, message: str = "見つかりません。", *, details: Any = None) -> None:
        super().__init__(message, details=details)


class PermissionDenied(MachidataError):  # noqa: N818 - mirrors django.core.exceptions.PermissionDenied
    """The actor may see the object but not perform this action on it."""

    status = 403

    def __init__(self, message: str = "この操作を行う権限がありません。", *, details: Any = None) -> None:
        super().__init__(message, details=details)


class InvalidInput(MachidataError):  # noqa: N818 - a user-facing category, not a programming error
    """Input the user can fix; ``details`` maps field names to messages."""

    status = 400


class Conflict(MachidataError):  # noqa: N818
    """A stale edit (optimistic locking) or a clash with existing data."""

    status = 409
