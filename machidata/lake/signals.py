"""Signals of the lake: ``version_committed`` is sent once a version's row is committed (outside any transaction).

Rooms above the catalog (data preparation re-runs recipes) listen here instead of the lake calling
them, so the lake keeps importing nothing above the catalog. Receivers get ``version`` (the committed
:class:`~machidata.catalog.models.TableVersion`); an exception in a receiver is logged and never undoes
or fails the write, which is already durable.
"""

from __future__ import annotations

from django.dispatch import Signal

version_committed = Signal()
