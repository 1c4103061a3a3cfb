"""Fixtures of the publication tests: a 課長 and a 代決者 of 健康づくり推進課, a privacy unit, and
tables ingested through the real ingest path (so the personal-data screen and readability report run).

Cast (on top of the standard actors): ``head`` (課長 of 健康づくり推進課), ``deputy`` (its 代決者),
``admin2`` (a second member of データ戦略課), ``privacy`` (個人情報保護課, the consulted unit).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from machidata.access.models import ApproverDesignation, DesignationKind, Role, UnitKind
from machidata.access.policy import Actor, actor_for
from machidata.catalog.models import Dataset, Licence, Table, TableVersion
from machidata.core.testing import Actors, make_dataset, make_unit, make_user

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "real"
TAKAMATSU = REAL / "372013_takamatsu_population_by_town_age_202303.csv"


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


@pytest.fixture
def cast(actors: Actors, settings: pytest.FixtureRequest, tmp_path: Path) -> Actors:
    """The standard actors plus 課長, 代決者, a second 管理 and the privacy unit's member."""
    settings.MACHIDATA_HOME = tmp_path  # type: ignore[attr-defined]
    privacy_unit = make_unit(
        "個人情報保護課", UnitKind.DIVISION, parent=actors.org.policy_bureau, code="100200"
    )
    settings.MACHIDATA_PRIVACY_UNIT_CODE = privacy_unit.code  # type: ignore[attr-defined]
    hdiv = actors.org.health_div
    actors.users["head"] = make_user("head", unit=hdiv, role=Role.VIEWER, first_name="課長")
    actors.users["deputy"] = make_user("deputy", unit=hdiv, role=Role.VIEWER, first_name="課長補佐")
    actors.users["admin2"] = make_user("admin2", unit=actors.org.data_strategy, role=Role.ADMIN)
    actors.users["privacy"] = make_user("privacy", unit=privacy_unit, role=Role.VIEWER)
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["head"], kind=DesignationKind.HEAD)
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["deputy"], kind=DesignationKind.DEPUTY)
    Licence.objects.create(code="cc-by-4.0", name="CC BY 4.0", is_open=True)
    Licence.objects.create(code="internal-only", name="庁内利用のみ", is_open=False)
    return actors


def ingest_text(
    actors: Actors, dataset: Dataset, name: str, text: str, *, mode: str = "replace"
) -> TableVersion:
    """Ingest ``text`` (UTF-8 CSV) into table ``name`` of ``dataset`` through the real ingest service."""
    from machidata.ingest.services import ingest_file, table_get_or_create

    editor = as_actor(actors, "owner_editor")
    table = table_get_or_create(actor=editor, dataset=dataset, name=name, title=name)
    home = Path(str(__import__("django.conf").conf.settings.MACHIDATA_HOME))
    path = home / f"{name}-{mode}.csv"
    path.write_text(text, encoding="utf-8")
    return ingest_file(
        actor=editor, table=Table.objects.get(pk=table.pk), path=path, source_name=path.name, mode=mode
    )


FACILITIES_V1 = "施設名,区,定員\n中央保健センター,中央区,40\n東保健センター,東区,35\n西保健センター,西区,30\n"
# v2 appends rows and a new column of people's names, which the ingestion screen flags.
FACILITIES_V2 = (
    "施設名,区,定員,担当者氏名\n"
    "中央保健センター,中央区,40,山田 太郎\n東保健センター,東区,35,佐藤 花子\n西保健センター,西区,30,鈴木 一郎\n"
    "南保健センター,南区,25,高橋 次郎\n北保健センター,北区,20,田中 三郎\n"
)


@pytest.fixture
def dataset(cast: Actors) -> Dataset:
    """A 庁内 dataset of 健康づくり推進課 with no personal data."""
    return make_dataset(
        cast.org.health_div, title="保健センター一覧", classification="internal", slug="hoken-center"
    )


@pytest.fixture
def v1(cast: Actors, dataset: Dataset) -> TableVersion:
    """Version 1 of the facilities table (clean)."""
    return ingest_text(cast, dataset, "facilities", FACILITIES_V1)
