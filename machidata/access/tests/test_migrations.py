"""The 課長・代決者 designations moved from ``publish`` to ``access`` with their rows.

The old migrations really run: the database is taken back to the state before the move (the table is
``publish_approverdesignation`` again, the model ``publish.ApproverDesignation``), a designation is
written there through the historical model, and the database is migrated forward again. CI runs this
on SQLite and on PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from machidata.access import routes
from machidata.access.models import ApproverDesignation, DesignationKind
from machidata.access.policy import actor_for
from machidata.core.testing import make_unit, make_user

BEFORE_MOVE = [("access", "0002_unit_history"), ("publish", "0001_initial")]
MODEL = "approverdesignation"


def _migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    """Migrate the test database to ``targets`` (default: the latest migrations); the historical apps there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


@pytest.mark.django_db(transaction=True)
def test_designations_survive_the_move_from_publish_to_access() -> None:
    unit = make_unit("健康づくり推進課", code="310100")
    head = make_user("kacho", first_name="課長")
    try:
        old_apps = _migrate(BEFORE_MOVE)
        assert "publish_approverdesignation" in _tables()
        assert "access_approverdesignation" not in _tables()
        with pytest.raises(LookupError):
            old_apps.get_model("access", "ApproverDesignation")
        old_model = old_apps.get_model("publish", "ApproverDesignation")
        old_row = old_model.objects.create(
            unit_id=unit.pk, user_id=head.pk, kind="head", valid_from=dt.date(2024, 4, 1)
        )
        # The content type (what permissions and admin log entries point at) is publication's before the move.
        ContentType.objects.filter(app_label="access", model=MODEL).delete()
        old_type = ContentType.objects.get_or_create(app_label="publish", model=MODEL)[0]

        _migrate()

        assert "publish_approverdesignation" not in _tables()
        assert "access_approverdesignation" in _tables()
        moved = ApproverDesignation.objects.get()
        assert (moved.pk, moved.unit_id, moved.user_id, moved.kind, moved.valid_from, moved.valid_to) == (
            old_row.pk, unit.pk, head.pk, DesignationKind.HEAD, dt.date(2024, 4, 1), None,
        )  # fmt: skip
        ContentType.objects.clear_cache()
        assert ContentType.objects.get(app_label="access", model=MODEL).pk == old_type.pk
        assert not ContentType.objects.filter(app_label="publish", model=MODEL).exists()
        # The routes read the moved row: the 課長 decides the owning 課's step, and is its candidate.
        step = {"who": "unit_head", "unit_id": unit.pk, "label": "所管課長の決裁"}
        assert routes.may_act(actor_for(head), step) == (True, None)
        assert routes.candidates(step) == ["課長"]
        # A new designation after the move takes the next id (PostgreSQL's identity sequence moved along).
        later = ApproverDesignation.objects.create(unit=unit, user=head, kind=DesignationKind.DEPUTY)
        assert later.pk > old_row.pk

        # And back: unapplying the move gives the rows to publish again.
        old_model = _migrate(BEFORE_MOVE).get_model("publish", "ApproverDesignation")
        assert sorted(old_model.objects.values_list("pk", "kind")) == [
            (old_row.pk, "head"),
            (later.pk, "deputy"),
        ]
        assert ContentType.objects.filter(app_label="publish", model=MODEL).exists()
    finally:
        _migrate()
        ContentType.objects.clear_cache()
