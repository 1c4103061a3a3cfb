"""Two real instances, each with its own home and database, in separate processes: the internal one
exports with ``machidata publish-export``, only the public key and the bundle file reach the public one,
which imports with ``machidata publish-import``. The public one's view must equal the internal one's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from machidata.publish.tests.bundle_script import FIRST, PAGE_NAME, SECOND

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
CLI = "from machidata.cli import main; raise SystemExit(main())"


def _run(
    args: list[str], home: Path, *, check: bool = True, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(MACHIDATA_HOME=str(home), DJANGO_SETTINGS_MODULE="machidata.config.settings",
               PYTHONPATH=str(ROOT), **env_extra)  # fmt: skip
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _script(command: str, home: Path) -> dict[str, object]:
    out = _run(["-m", "machidata.publish.tests.bundle_script", command], home)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_bundle_carries_the_public_view_from_one_instance_to_another(tmp_path: Path) -> None:
    internal, public, carried = tmp_path / "internal", tmp_path / "public", tmp_path / "carried"
    for d in (internal, public, carried):
        d.mkdir()
    _script("internal", internal)
    _run(["-c", CLI, "publish-keygen"], internal)
    _run(["-c", CLI, "publish-export", str(carried / "b1.tar")], internal)
    view = _script("view", internal)
    ids = _script("ids", internal)
    assert list(ids) == ["two-homes"]
    assert [t["tables"] for t in view.values()] == [{"t": FIRST + SECOND}]  # type: ignore[index]

    # only the bundle and the public key cross; the public home never sees the internal one
    (public / "publish").mkdir()
    shutil.copy(internal / "publish" / "verify.key", public / "publish" / "verify.key")
    code = str(_script("public", public)["org"])
    _run(["-c", CLI, "publish-import", str(carried / "b1.tar")], public, MACHIDATA_PUBLISH_IMPORT_UNIT=code)
    assert _script("view", public) == view
    # CKAN ids (package, resource, organisation, group) are the same on both instances, although every
    # database key differs (the public one never had the 所管課 before the bundle named it)
    assert _script("ids", public) == ids
    again = _run(["-c", CLI, "publish-import", str(carried / "b1.tar")], public,
                 MACHIDATA_PUBLISH_IMPORT_UNIT=code)  # fmt: skip
    assert "取り込み済み" in again.stdout
    assert not (public / "publish" / "signing.key").exists()


def test_ebpm_pages_and_standard_declarations_cross_and_tombstones_remove_them(tmp_path: Path) -> None:
    internal, public, carried = tmp_path / "internal", tmp_path / "public", tmp_path / "carried"
    for d in (internal, public, carried):
        d.mkdir()
    _script("internal", internal)
    _run(["-c", CLI, "publish-keygen"], internal)
    _run(["-c", CLI, "publish-export", str(carried / "b1.tar")], internal)
    inside = _script("extras", internal)
    assert inside["list_status"] == 200
    page = inside["pages"][PAGE_NAME]  # type: ignore[index]
    assert (page["status"], page["listed"], page["named"]) == (200, True, True)
    (pkg,) = inside["packages"].values()  # type: ignore[attr-defined]
    assert "自治体標準ODS" in pkg["tags"]
    ((status, header),) = pkg["standard_csv"].values()
    assert status == 200
    assert header  # the standard-format CSV's header row

    (public / "publish").mkdir()
    shutil.copy(internal / "publish" / "verify.key", public / "publish" / "verify.key")
    code = str(_script("public", public)["org"])
    _run(["-c", CLI, "publish-import", str(carried / "b1.tar")], public, MACHIDATA_PUBLISH_IMPORT_UNIT=code)
    assert _script("extras", public) == inside  # the same page, tags and standard CSV on the public side
    assert _script("ids", public) == _script("ids", internal)  # the standard resource keeps its id
    again = _run(["-c", CLI, "publish-import", str(carried / "b1.tar")], public,
                 MACHIDATA_PUBLISH_IMPORT_UNIT=code)  # fmt: skip
    assert "取り込み済み" in again.stdout
    assert _script("extras", public) == inside

    # 非公開化 inside: the next bundle carries tombstones and the public side serves neither any more
    _script("withdraw", internal)
    out = _run(["-c", CLI, "publish-export", str(carried / "b2.tar")], internal)
    assert "事業のページ 0 件（非公開化 1 件）" in out.stdout
    _run(["-c", CLI, "publish-import", str(carried / "b2.tar")], public, MACHIDATA_PUBLISH_IMPORT_UNIT=code)
    gone = _script("extras", public)
    assert gone == {"list_status": 200, "pages": {}, "packages": {}}
    assert _script("view", public) == {}
