"""Fixtures for the lake tests: a private MACHIDATA_HOME and a table to write to."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from machidata.catalog.models import Table
from machidata.core.testing import Org, make_dataset


@pytest.fixture
def lake_home(settings: Any, tmp_path: Path) -> Path:
    """Point MACHIDATA_HOME (and so the lake) at a fresh folder."""
    settings.MACHIDATA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def table(org: Org, lake_home: Path) -> Table:
    """An empty table of a test dataset."""
    dataset = make_dataset(org.health_div)
    return Table.objects.create(dataset=dataset, name="t", title="表", storage_key=uuid.uuid4().hex)
