"""The demo's publishing: the real files whose licence is open and whose gates pass are published through
the route (データ所有者 → 課長 → データ戦略課); files with personal names stay internal."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Dataset
from machidata.demo.services import SHARED_REAL as REAL
from machidata.demo.services import DataSummary
from machidata.publish import selectors
from machidata.publish.demo import PUBLISHED_SLUG, load_publication_demo
from machidata.publish.models import ApprovalAction, PublishedVersion, RequestStatus

TAKAMATSU = REAL / "372013_takamatsu_population_by_town_age_202303.csv"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not TAKAMATSU.exists(), reason="../shared is not beside the repository"),
]


HOSPITALS = "431001_kumamoto_byouin_list.xlsx"  # 管理者氏名: the names of the hospitals' 管理者
TAKAMATSU_EVACUATION = "372013_takamatsu_evacuation_space.csv"  # address, telephoneNumber flagged
YAMAGUCHI = "350001_yamaguchi_tourism.csv"  # licence not verified (SOURCE.md)


def test_demo_publishes_real_open_files_through_the_route_and_keeps_personal_names_internal(
    settings: pytest.FixtureRequest, tmp_path: Path, client: Client
) -> None:
    """What ``make demo`` publishes: every public dataset came through an approved, audited route."""
    from machidata.demo import content
    from machidata.demo.services import ingest_demo_file, load_demo
    from machidata.publish.demo import publish_real_files
    from machidata.standards.demo import load_standards_demo

    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    load_demo(home=tmp_path)
    # A 課長 designated for every 課 that owns a dataset, signing in with the published password.
    from machidata.access.models import Unit
    from machidata.access.routes import head_of

    owners = {e["owner"] for e in content.DATASETS}
    assert {code for _u, _d, code, _p in content.HEADS} == owners
    for username, _display, code, password in content.HEADS:
        head = head_of(Unit.objects.get(code=code).pk)
        assert head is not None
        assert head.username == username
        assert head.check_password(password)
    by_file = {e["real_file"]: e for e in content.DATASETS if e["real_file"]}
    summary = DataSummary()
    for name in (TAKAMATSU.name, HOSPITALS, TAKAMATSU_EVACUATION, YAMAGUCHI):
        ds = Dataset.objects.get(identifier=by_file[name]["identifier"])
        ingest_demo_file(
            dataset=ds, path=REAL / name, table_name="t", title=ds.title, label="", summary=summary
        )
    assert load_publication_demo(home=tmp_path, real_dir=REAL)["published"] == 1
    load_standards_demo(home=tmp_path, real_dir=REAL)
    made = publish_real_files(identifiers=list(content.REAL_FILES))
    takamatsu = Dataset.objects.get(identifier=by_file[TAKAMATSU.name]["identifier"])
    hospitals = Dataset.objects.get(identifier=by_file[HOSPITALS]["identifier"])
    evacuation = Dataset.objects.get(identifier=by_file[TAKAMATSU_EVACUATION]["identifier"])
    assert made["published"] == [takamatsu.title]
    assert "管理者氏名" in made["internal"][hospitals.title]  # the screen's personal-name column stops it
    assert "telephoneNumber" in made["internal"][evacuation.title]
    yamaguchi = Dataset.objects.get(identifier=by_file[YAMAGUCHI]["identifier"])
    assert "オープンライセンスではありません" in made["internal"][yamaguchi.title]  # licence not verified

    # The CKAN API lists real content, and only what an approved route published.
    listed = client.get("/api/3/action/package_list").json()["result"]
    assert takamatsu.slug in listed
    assert hospitals.slug not in listed
    assert evacuation.slug not in listed
    public = selectors.public_datasets()
    assert {d.slug for d in public} == set(listed)
    assert {takamatsu.slug, PUBLISHED_SLUG, "kumamoto-hospitals-standard"} <= set(listed)
    for dataset in public:
        for pv in PublishedVersion.objects.filter(table__dataset=dataset, withdrawn_at__isnull=True):
            req = pv.request
            assert req.status == RequestStatus.APPROVED
            keys = [s["key"] for s in req.steps]
            acts = list(ApprovalAction.objects.filter(request=req).order_by("id"))
            assert [a.step_key for a in acts] == keys
            assert {a.decision for a in acts} == {"approve"}
            deciders = {a.actor_id for a in acts} | {req.requested_by_id}
            assert len(deciders) == len(keys) + 1  # the requester and one person per step, all different
            audited = AuditEvent.objects.filter(
                object_type="publish.publicationrequest", object_id=str(req.pk)
            )
            assert audited.filter(action="publication.approve").count() == len(keys)
            assert audited.filter(action="publication.publish").exists()
    # A file with personal names is on no public surface: not public, no download, not in DCAT.
    assert selectors.publication_state(hospitals) == selectors.STATE_NONE
    assert not selectors.public_tables().filter(dataset=hospitals).exists()
    assert client.get("/api/3/action/package_show", {"id": hospitals.slug}).status_code == 404
    assert f"/datasets/{hospitals.slug}/" not in client.get("/catalog.ttl").content.decode()
    # Idempotent: a second run files nothing.
    again = publish_real_files(identifiers=list(content.REAL_FILES))
    assert again["published"] == []
    assert again["already"] == [takamatsu.title]
