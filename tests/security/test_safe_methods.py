"""Issue 14 point 3: CSRF protection covers unsafe methods only, so no GET may change anything.

Every GET route of the authorization matrix is fetched as 管理 and as an 編集 of the owning 課 (the
API with their tokens); each may leave at most the record of a read (a download, an export, a
search) in the audit log, since every service audits what it changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.security.matrix import MATRIX
from tests.security.test_csrf import _session
from tests.security.world import World, build_world

# What a read may leave in the audit log: the record that data left (downloads, exports, searches) or
# that a page was read for the usage figures (dashboard views).
READ_EVENTS = frozenset({"export", "download", "search", "query", "view"})


@pytest.mark.slow
@pytest.mark.django_db
def test_no_read_changes_anything(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSRF protects unsafe methods only, so no GET may change state: every GET route of the matrix,
    fetched as 管理 and as an 編集 (the API with their tokens), leaves at most a record of a read."""
    from machidata.audit.models import AuditEvent

    settings.MACHIDATA_HOME = tmp_path
    world = build_world()
    with monkeypatch.context() as m:
        m.setattr(World, "allowed", lambda self, action, dataset: frozenset())
        urls = {k: r.probes(world)[0].url for k, r in MATRIX.items() if r.method == "GET"}
    changes = []
    for name in ("admin", "owner_editor"):
        session = _session(world, name)
        bearer = Client(HTTP_AUTHORIZATION=f"Bearer {world.tokens[name]}")
        for key, url in sorted(urls.items()):
            last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            response = (bearer if url.startswith("/api/") else session).get(url)
            assert response.status_code < 500, f"{key}: GET {url} → {response.status_code}"
            actions = AuditEvent.objects.filter(id__gt=last).values_list("action", flat=True)
            changes += [
                f"{key} as {name}: GET {url} → {a}"
                for a in actions
                if a.rsplit(".", 1)[-1] not in READ_EVENTS
            ]
    assert len(urls) > 150
    assert not changes, "reads that changed something:\n" + "\n".join(changes)
