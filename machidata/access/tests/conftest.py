"""Fixtures of the access tests: Kumamoto City's organisation as imported on 2024-04-01, with staff and data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from machidata.access.models import ApproverDesignation, DesignationKind, Membership, Role, Unit, UnitKind
from machidata.access.policy import Actor, actor_for
from machidata.access.services import organisation_import_apply, system_actor
from machidata.access.tests.orgdata import D2024, ORG_2024, STAFF_2025, rows_2025, write_xlsx
from machidata.access.tests.slapd import (
    ADMINS_GROUP,
    EDITORS_GROUP,
    GROUP_BASE,
    PEOPLE_BASE,
    ROOT_DN,
    ROOT_PW,
    USERS_GROUP,
    Slapd,
    start_slapd,
)
from machidata.core.testing import Actors, Org, make_dataset, make_unit, make_user


@dataclass
class Kumamoto:
    """The 2024 organisation with staff, datasets, and the 2025 reorganisation workbook."""

    units: dict[str, Unit]
    users: dict[str, Any]
    datasets: dict[str, Any]
    workbook_2025: Path


def _member(username: str, name: str, unit: Unit, role: str) -> Any:
    user = make_user(username, first_name=name)
    Membership.objects.create(user=user, unit=unit, role=role, valid_from=D2024)
    return user


@pytest.fixture
def kumamoto(db: None, tmp_path: Path) -> Kumamoto:
    """Kumamoto City on 2024-04-01 (imported from the CP932 fixture) plus the 2025 workbook."""
    organisation_import_apply(actor=system_actor("test"), org_file=ORG_2024, effective_date=D2024)
    units = {u.code: u for u in Unit.objects.all()}
    users = {
        "k0001": _member("k0001", "熊本 太郎", units["110201"], Role.ADMIN),
        "k0002": _member("k0002", "肥後 花子", units["150102"], Role.EDITOR),
        "k0004": _member("k0004", "阿蘇 次郎", units["150102"], Role.VIEWER),
        "k0005": _member("k0005", "天草 三郎", units["110202"], Role.EDITOR),
    }
    datasets = {
        "care1": make_dataset(units["150102"], title="介護保険事業所一覧"),
        "care2": make_dataset(units["150102"], title="高齢者人口の推移"),
        "it": make_dataset(units["110202"], title="庁内システム台帳"),
        "data": make_dataset(units["110201"], title="オープンデータ一覧"),
    }
    workbook = write_xlsx(tmp_path / "組織改正_令和7年度.xlsx", rows_2025(), STAFF_2025)
    return Kumamoto(units, users, datasets, workbook)


# ---- the city's directory: a real slapd for the whole session ---------------------------------------


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """OpenLDAP's slapd on a free port, loaded with the people of :mod:`slapd` (fails if slapd is missing)."""
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    print(f"\nslapd answered after {server.start_seconds:.2f} s")  # noqa: T201 - the figure the report quotes
    yield server
    server.stop()


@pytest.fixture
def ldap_on(settings: Any, slapd_server: Slapd, org: Org) -> Slapd:
    """LDAP sign-in against the test slapd: members of machidata-users may sign in, editors and admins by group."""
    settings.MACHIDATA_LDAP_URL = slapd_server.url
    settings.MACHIDATA_LDAP_BIND_DN = ROOT_DN
    settings.MACHIDATA_LDAP_BIND_PASSWORD = ROOT_PW
    settings.MACHIDATA_LDAP_USER_BASE = PEOPLE_BASE
    settings.MACHIDATA_LDAP_GROUP_BASE = GROUP_BASE
    settings.MACHIDATA_LDAP_USERNAME_ATTRIBUTE = "uid"
    settings.MACHIDATA_LDAP_UNIT_ATTRIBUTE = "departmentNumber"
    settings.MACHIDATA_SSO_ALLOWED_GROUPS = [USERS_GROUP]
    settings.MACHIDATA_SSO_ROLE_GROUPS = {EDITORS_GROUP: "editor", ADMINS_GROUP: "admin"}
    return slapd_server


# ---- approval routes ---------------------------------------------------------------------------------


def as_actor(actors: Actors, name: str) -> Actor:
    """The policy actor of a named test user."""
    return actor_for(actors.users[name])


@pytest.fixture
def cast(actors: Actors, settings: pytest.FixtureRequest) -> Actors:
    """The standard actors plus the 課長 and 代決者 of 健康づくり推進課 and a member of the privacy unit."""
    privacy_unit = make_unit(
        "個人情報保護課", UnitKind.DIVISION, parent=actors.org.policy_bureau, code="100200"
    )
    settings.MACHIDATA_PRIVACY_UNIT_CODE = privacy_unit.code  # type: ignore[attr-defined]
    hdiv = actors.org.health_div
    actors.users["head"] = make_user("head", unit=hdiv, role=Role.VIEWER, first_name="課長")
    actors.users["deputy"] = make_user("deputy", unit=hdiv, role=Role.VIEWER, first_name="課長補佐")
    actors.users["privacy"] = make_user("privacy", unit=privacy_unit, role=Role.VIEWER)
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["head"], kind=DesignationKind.HEAD)
    ApproverDesignation.objects.create(unit=hdiv, user=actors.users["deputy"], kind=DesignationKind.DEPUTY)
    return actors
