"""Test helpers shared by every room: an organisation, actors of every role, datasets, and the
reusable permission suite (actors × expected status) every endpoint test uses.

Kept in the package (not under tests/) so any app's tests can import it; it has no effect at run time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from machidata.access.models import (
    ApiToken,
    Classification,
    Membership,
    PersonalData,
    Role,
    Unit,
    UnitKind,
    hash_token,
)

User = get_user_model()
_counter = itertools.count(1)

D0 = dt.date(2000, 4, 1)


def make_unit(
    name: str, kind: str = UnitKind.DIVISION, *, parent: Unit | None = None, code: str = ""
) -> Unit:
    """A unit valid since 2000."""
    return Unit.objects.create(
        code=code or f"U{next(_counter):05d}", name=name, kind=kind, parent=parent, valid_from=D0
    )


@dataclass
class Org:
    """A small organisation: two bureaus, the data strategy division, two 課 with a 係 each."""

    policy_bureau: Unit
    data_strategy: Unit
    health_bureau: Unit
    health_div: Unit
    health_sec: Unit
    fire_bureau: Unit
    fire_div: Unit


def make_org() -> Org:
    """Create the test organisation."""
    policy = make_unit("政策局", UnitKind.BUREAU, code="100000")
    ds = make_unit("データ戦略課", UnitKind.DIVISION, parent=policy, code="100100")
    health = make_unit("健康福祉局", UnitKind.BUREAU, code="200000")
    hdiv = make_unit("健康づくり推進課", UnitKind.DIVISION, parent=health, code="200100")
    hsec = make_unit("母子保健係", UnitKind.SECTION, parent=hdiv, code="200101")
    fire = make_unit("消防局", UnitKind.BUREAU, code="300000")
    fdiv = make_unit("警防課", UnitKind.DIVISION, parent=fire, code="300100")
    return Org(policy, ds, health, hdiv, hsec, fire, fdiv)


def make_user(
    username: str | None = None, *, unit: Unit | None = None, role: str = Role.VIEWER, **extra: Any
) -> Any:
    """A member of staff with one membership (none when ``unit`` is None)."""
    username = username or f"user{next(_counter)}"
    user = User.objects.create_user(username=username, password="pw-" + username + "-long-enough", **extra)
    if unit is not None:
        Membership.objects.create(user=user, unit=unit, role=role, valid_from=D0)
    return user


def make_token(user: Any, name: str = "test") -> str:
    """Create an API token for ``user`` and return its raw value."""
    raw = ApiToken.generate()
    ApiToken.objects.create(user=user, name=name, token_hash=hash_token(raw), prefix=raw[:8])
    return raw


def make_dataset(owner: Unit, **fields: Any) -> Any:
    """A catalog entry owned by ``owner`` (defaults: 所属限定, no personal data)."""
    from machidata.catalog.models import Dataset

    n = next(_counter)
    fields.setdefault("title", f"テストデータ{n}")
    fields.setdefault("classification", Classification.RESTRICTED)
    fields.setdefault("personal_data", PersonalData.NONE)
    fields.setdefault("identifier", f"T-{n:06d}")
    fields.setdefault("slug", f"test-{n}")
    return Dataset.objects.create(owner=owner, **fields)


# ---- the reusable permission suite -------------------------------------------------------------

ACTOR_NAMES = ("anonymous", "staff", "owner_viewer", "owner_editor", "other_editor", "admin")


@dataclass
class Actors:
    """One user per kind of actor, against ``org.health_div`` as the owning 課."""

    org: Org
    users: dict[str, Any]

    def client(self, name: str) -> Client:
        """A test client signed in as the named actor (anonymous: not signed in)."""
        client = Client()
        if name != "anonymous":
            client.force_login(self.users[name])
        return client


def make_actors(org: Org | None = None) -> Actors:
    """The standard cast: anonymous, staff (other 課), owner viewer/editor, another 課's editor, 管理."""
    org = org or make_org()
    users = {
        "staff": make_user(unit=org.fire_div, role=Role.VIEWER),
        "owner_viewer": make_user(unit=org.health_sec, role=Role.VIEWER),
        "owner_editor": make_user(unit=org.health_div, role=Role.EDITOR),
        "other_editor": make_user(unit=org.fire_div, role=Role.EDITOR),
        "admin": make_user(unit=org.data_strategy, role=Role.ADMIN),
    }
    return Actors(org, users)


def check_statuses(
    actors: Actors,
    request: Callable[[Client], Any],
    expected: Mapping[str, int | Iterable[int]],
    *,
    label: str = "",
) -> None:
    """Run ``request`` as every actor in ``expected`` and assert the status code each gets.

    ``expected`` maps actor names to a status (or several acceptable ones). All mismatches are
    reported together so one run shows the whole matrix.
    """
    failures = []
    for name, want in expected.items():
        response = request(actors.client(name))
        wanted = {want} if isinstance(want, int) else set(want)
        if response.status_code not in wanted:
            failures.append(f"{label} {name}: got {response.status_code}, expected {sorted(wanted)}")
    assert not failures, "permission mismatches:\n" + "\n".join(failures)
