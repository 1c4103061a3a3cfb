"""The demo's data: real files and the generated 救急出動記録 ingested into their entries, once (by sha256)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model

from machidata.catalog.models import Dataset, TableVersion, ValidationPolicy
from machidata.demo import content
from machidata.demo.ambulance import generate_ambulance
from machidata.demo.services import SHARED_REAL, load_demo, load_demo_data
from machidata.lake.readers import files_for

pytestmark = pytest.mark.django_db(transaction=True)  # the lake commits outside any transaction

EVACUATION = "372013_takamatsu_evacuation_space.csv"
PERMITS_WORKBOOK = "431001_kumamoto_shinki_inshokuten_eigyo_kyoka.xlsx"
needs_shared = pytest.mark.skipif(not SHARED_REAL.is_dir(), reason=f"no shared data folder at {SHARED_REAL}")


@pytest.fixture
def home(settings: Any, tmp_path: Path) -> Path:
    """A fresh MACHIDATA_HOME with the demo catalog loaded."""
    settings.MACHIDATA_HOME = tmp_path / "home"
    load_demo(home=settings.MACHIDATA_HOME)
    return Path(settings.MACHIDATA_HOME)


class Lines:
    """Collects what ``say`` prints, joining a started line with its end."""

    def __init__(self) -> None:
        self.text = ""

    def __call__(self, text: str, end: str = "\n") -> None:
        self.text += text + end


def _entry(real_file: str) -> Dataset:
    identifier = next(i for i, name in content.REAL_FILES.items() if name == real_file)
    return Dataset.objects.get(identifier=identifier)


def _read(version: TableVersion) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in files_for(version)])


def _only(**kw: Any) -> dict[str, Any]:
    return {"ambulance": False, "system": False, **kw}


@needs_shared
def test_real_file_goes_into_its_entry_once(home: Path) -> None:
    say = Lines()
    summary = load_demo_data(home=home, files=[EVACUATION], say=say, **_only())
    assert summary.ingested == {EVACUATION: 193}
    assert summary.failed == {}
    assert f"実データを取り込んでいます: {EVACUATION} … 193行（第1版、" in say.text
    dataset = _entry(EVACUATION)
    [table] = dataset.tables.all()
    assert table.validation_policy == ValidationPolicy.WARN  # real files are messy: warnings, not refusal
    version = table.current_version
    assert version is not None
    assert (version.number, version.rows, version.source_name) == (1, 193, EVACUATION)
    assert version.source_sha256 == hashlib.sha256((SHARED_REAL / EVACUATION).read_bytes()).hexdigest()
    assert version.created_by == get_user_model().objects.get(is_superuser=True)  # the CLI operator
    data = _read(version)
    assert data.num_rows == 193
    assert "日新小学校跡施設" in data.column("name").to_pylist()

    # Idempotent: the same bytes are skipped by sha256, nothing is written.
    say = Lines()
    again = load_demo_data(home=home, files=[EVACUATION], say=say, **_only())
    assert again.ingested == {}
    assert again.skipped == [EVACUATION]
    assert f"取り込み済みです: {EVACUATION}（第1版と同じファイル、193行）" in say.text
    assert TableVersion.objects.filter(table=table).count() == 1


@needs_shared
def test_a_changed_file_makes_a_new_version(home: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    shutil.copy(SHARED_REAL / EVACUATION, real / EVACUATION)
    load_demo_data(home=home, real_dir=real, files=[EVACUATION], **_only())
    lines = (real / EVACUATION).read_bytes().splitlines(keepends=True)
    (real / EVACUATION).write_bytes(b"".join(lines[:19]))  # 9 metadata/header lines + 10 rows
    summary = load_demo_data(home=home, real_dir=real, files=[EVACUATION], **_only())
    assert summary.ingested == {EVACUATION: 10}
    table = _entry(EVACUATION).tables.get()
    assert table.current_version is not None
    assert (table.current_version.number, table.current_version.rows) == (2, 10)


@needs_shared
def test_workbook_sheets_are_combined_into_one_table(home: Path) -> None:
    summary = load_demo_data(home=home, files=[PERMITS_WORKBOOK], **_only())
    assert summary.failed == {}
    [table] = _entry(PERMITS_WORKBOOK).tables.all()
    assert table.current_version is not None
    data = _read(table.current_version)
    # The sheet-name column is kept as the text of the sheet names (not read as a number of months).
    sheets = set(data.column("シート名").to_pylist())
    assert sheets == {"４月", "５月", "6月", "7月", "8月", "9月", "10月", "11月", "12月", "1月", "2月"}
    assert data.num_rows == summary.ingested[PERMITS_WORKBOOK] > 700


def test_missing_shared_folder_is_a_note_not_a_failure(home: Path, tmp_path: Path) -> None:
    say = Lines()
    summary = load_demo_data(home=home, real_dir=tmp_path / "nowhere", say=say, **_only())
    assert sorted(summary.missing) == sorted(content.REAL_FILES.values())
    assert summary.ingested == {}
    assert summary.failed == {}
    assert "見つからないため、実データの取り込みを省略します" in say.text
    assert not TableVersion.objects.exists()


@pytest.mark.slow
def test_ambulance_table_goes_into_the_synthetic_entry_once(home: Path, tmp_path: Path) -> None:
    summary = load_demo_data(home=home, real_dir=tmp_path / "nowhere", system=False)
    expected = generate_ambulance()
    dataset = Dataset.objects.get(slug="ambulance-dispatch-records")
    assert dataset.is_synthetic
    assert "デモ用の合成データ" in dataset.description
    [table] = dataset.tables.all()
    version = table.current_version
    assert version is not None
    assert summary.ingested == {version.source_name: expected.num_rows}
    assert version.rows == expected.num_rows >= 200_000
    data = _read(version)
    assert data.schema.field("覚知日時").type == pa.timestamp("us")
    assert data.column("覚知日時").to_pylist()[:100] == expected.column("覚知日時").to_pylist()[:100]
    assert (home / "demo" / version.source_name).is_file()
    again = load_demo_data(home=home, real_dir=tmp_path / "nowhere", system=False)
    assert again.skipped == [version.source_name]
    assert TableVersion.objects.filter(table=table).count() == 1


def test_system_datasets_refreshed_at_the_end(home: Path, tmp_path: Path) -> None:
    say = Lines()
    summary = load_demo_data(home=home, real_dir=tmp_path / "nowhere", ambulance=False, say=say)
    assert summary.system is not None
    assert sorted(summary.system.written) == [
        "access_requests",
        "alerts",
        "campaign_returns",
        "catalog",
        "consultations",
        "data_requests",
        "downloads",
        "freshness",
        "scheduled_imports",
        "searches",
        "training",
        "versions",
    ]
    entry = Dataset.objects.get(slug="machidata-usage")
    assert entry.owner.name == "データ戦略課"
    assert (
        f"システムデータ（まちデータの利用状況）を更新しています … 新しい版 {len(summary.system.written)} 表"
        in say.text
    )
