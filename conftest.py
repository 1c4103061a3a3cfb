"""Project-wide pytest fixtures."""

from __future__ import annotations

import pytest

from machidata.core.testing import Actors, Org, make_actors, make_org


@pytest.fixture
def org(db: None) -> Org:
    """A small organisation tree."""
    return make_org()


@pytest.fixture
def actors(org: Org) -> Actors:
    """One user per kind of actor, with the health 課 as the owner of test datasets."""
    return make_actors(org)


@pytest.fixture(autouse=True)
def _jobs_inline(settings: pytest.FixtureRequest) -> None:
    """Background jobs run inline in tests unless a test starts a real worker."""
    settings.MACHIDATA_JOBS_IMMEDIATE = True  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_public_rate_limits(settings: pytest.FixtureRequest) -> None:
    """Every test client is 127.0.0.1; the rate-limit tests turn the limits on and reset the counts."""
    settings.MACHIDATA_PUBLIC_RATE_LIMIT = "off"  # type: ignore[attr-defined]
    settings.MACHIDATA_PUBLIC_SQL_RATE_LIMIT = "off"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    """PBKDF2's deliberate slowness is for production; tests create hundreds of users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _search_index_per_test(settings: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test searches its own index folder, so no index state leaks between tests."""
    settings.MACHIDATA_SEARCH_DIR = str(tmp_path_factory.mktemp("search") / "index")  # type: ignore[attr-defined]
