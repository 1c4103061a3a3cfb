"""The per-table writer lease, kept in the metadata DB so every process (web, job runner, CLI) sees it.

Taking the lease is one conditional UPDATE (free, expired, already ours, or held by a process of
this host that no longer exists), so two writers can never both hold it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time

from django.db.models import Q
from django.utils import timezone

from machidata.catalog.models import Table
from machidata.core.errors import Conflict

DEFAULT_TTL = dt.timedelta(minutes=10)
LEASE_TAKEN_MESSAGE = "この表はほかの処理が更新中です。しばらく待ってからもう一度お試しください。"
_HOLDER_MAX = 100  # Table.lease_holder max_length


def make_holder(label: str) -> str:
    """A lease holder name that says which process holds it: ``host:pid:label``."""
    return f"{socket.gethostname()}:{os.getpid()}:{label}"[:_HOLDER_MAX]


def _as_delta(ttl: dt.timedelta | float) -> dt.timedelta:
    return ttl if isinstance(ttl, dt.timedelta) else dt.timedelta(seconds=ttl)


def holder_is_dead(holder: str) -> bool:
    """Whether the holder is a process of this host that has exited (its lease need not expire first)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def acquire_lease(table: Table, holder: str, ttl: dt.timedelta | float = DEFAULT_TTL) -> None:
    """Take (or renew) the table's writer lease for ``ttl``; Conflict when another live writer has it."""
    now = timezone.now()
    free = Q(lease_holder="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    expires = now + _as_delta(ttl)
    taken = (
        Table.objects.filter(pk=table.pk)
        .filter(free | Q(lease_holder=holder))
        .update(lease_holder=holder, lease_expires_at=expires)
    )
    if not taken:
        current = Table.objects.filter(pk=table.pk).values_list("lease_holder", flat=True).first()
        if current and holder_is_dead(current):
            # A crashed writer on this host: take over at once, but only from that exact holder.
            taken = Table.objects.filter(pk=table.pk, lease_holder=current).update(
                lease_holder=holder, lease_expires_at=expires
            )
    if not taken:
        raise Conflict(LEASE_TAKEN_MESSAGE, details={"table": table.pk})
    table.lease_holder, table.lease_expires_at = holder, expires


def acquire_lease_waiting(
    table: Table, holder: str, ttl: dt.timedelta | float = DEFAULT_TTL, *, wait: float = 0.0
) -> None:
    """:func:`acquire_lease`, trying again every half second for up to ``wait`` seconds while another live
    writer holds the table (an import queued behind another waits its turn instead of failing); 0: once."""
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            acquire_lease(table, holder, ttl)
            return
        except Conflict:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            time.sleep(min(0.5, left))


def renew_lease(table: Table, holder: str, ttl: dt.timedelta | float = DEFAULT_TTL) -> bool:
    """Extend a lease we hold; False when it is no longer ours (expired and taken by someone else)."""
    expires = timezone.now() + _as_delta(ttl)
    return bool(Table.objects.filter(pk=table.pk, lease_holder=holder).update(lease_expires_at=expires))


def holds_lease(table: Table, holder: str) -> bool:
    """Whether ``holder`` still holds the table's lease."""
    return Table.objects.filter(pk=table.pk, lease_holder=holder).exists()


def release_lease(table: Table, holder: str) -> None:
    """Give the lease back; does nothing if it is no longer ours."""
    Table.objects.filter(pk=table.pk, lease_holder=holder).update(lease_holder="", lease_expires_at=None)
    table.lease_holder, table.lease_expires_at = "", None
