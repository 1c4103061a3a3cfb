"""Issue 14 point 3: scheduled folder imports (room collect) must not read outside the import root.

Staff drop files into a shared folder that machidata checks on a schedule. Whoever can write there
must not make machidata ingest a file from elsewhere on the server (another 課's data in the lake,
the secret key) into a table they may read: not by naming a folder with ``..`` (refused when the
import is set up) and not by placing a symbolic link in the folder, or swapping the folder for one,
after it was set up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from machidata.access.models import Classification
from machidata.access.policy import actor_for
from machidata.catalog.tests.table_fixtures import make_table
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors, make_dataset

SECRET = "区,人口\n秘密の中身,1\n"


def _setup(actors: Actors, home: Path) -> tuple[Any, Any, Path]:
    from machidata.collect.imports import import_root, import_source_create

    d = make_dataset(actors.org.health_div, classification=Classification.INTERNAL)
    table = make_table(d, name="t")
    (import_root() / "kenkou").mkdir(parents=True)
    source = import_source_create(actor=actor_for(actors.users["owner_editor"]), table=table, folder="kenkou")
    outside = home / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(SECRET, encoding="utf-8")
    old = time.time() - 3600  # settled long ago
    os.utime(outside / "secret.csv", (old, old))
    return table, source, outside


@pytest.mark.django_db
@pytest.mark.parametrize("folder", ["..", "../outside", "kenkou/../../outside", "~/x", "/etc", "..\\outside"])
def test_a_folder_outside_the_root_is_refused(
    actors: Actors, settings: Any, tmp_path: Path, folder: str
) -> None:
    from machidata.collect.imports import import_source_create

    settings.MACHIDATA_HOME = tmp_path
    d = make_dataset(actors.org.health_div, classification=Classification.INTERNAL)
    with pytest.raises(InvalidInput):
        import_source_create(
            actor=actor_for(actors.users["owner_editor"]), table=make_table(d, name="t"), folder=folder
        )


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["file link", "folder swapped for a link"])
def test_a_link_in_the_folder_does_not_import_files_from_elsewhere(
    actors: Actors, settings: Any, tmp_path: Path, how: str
) -> None:
    from machidata.collect.imports import import_root, import_source_scan

    settings.MACHIDATA_HOME = tmp_path
    table, source, outside = _setup(actors, tmp_path)
    folder = import_root() / "kenkou"
    if how == "file link":
        (folder / "leak.csv").symlink_to(outside / "secret.csv")
        os.utime(folder / "leak.csv", (time.time() - 3600,) * 2, follow_symlinks=False)
    else:
        folder.rmdir()
        folder.symlink_to(outside, target_is_directory=True)
    result = import_source_scan(source=source)
    table.refresh_from_db()
    assert table.current_version is None, f"imported from outside the root: {result.ingested}"
    if how == "folder swapped for a link":
        assert "取り込み用フォルダの外を指しています" in result.error
    else:
        assert result.error == ""  # the link is skipped quietly; real files in the folder still import
