"""The one-way publication bundle: export on the internal side, import on the public side.

Both sides share one test database, so after exporting, the internal entries are moved aside (their
identifier and URL name changed, their publication withdrawn) before importing: the portal's view
then shows only what the import made, and it is compared with what the internal side published.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from machidata.catalog.models import Dataset, Table, TableVersion
from machidata.core.errors import InvalidInput
from machidata.core.testing import Actors, make_dataset
from machidata.lake import readers
from machidata.lake.storage import ID_COLUMN
from machidata.publish import bundle as b
from machidata.publish import selectors
from machidata.publish.models import PublishedVersion
from machidata.publish.services import (
    publication_act,
    publication_request_create,
    publication_withdraw_request,
)
from machidata.publish.tests.conftest import FACILITIES_V1, FACILITIES_V2, as_actor, ingest_text

pytestmark = pytest.mark.django_db(transaction=True)
SHOPS = "店名,区,席数\n花屋,中央区,4\n本屋,東区,12\n"


@pytest.fixture
def keys(cast: Actors, settings: Any, tmp_path: Path) -> Path:
    """A key pair in the home and the unit imported entries belong to."""
    b.keygen(private=b.signing_key_path(), public=b.verify_key_path())
    settings.MACHIDATA_PUBLISH_IMPORT_UNIT = cast.org.data_strategy.code
    return tmp_path


def _publish(cast: Actors, dataset: Dataset, versions: list[TableVersion]) -> None:
    req = publication_request_create(
        actor=as_actor(cast, "owner_editor"), dataset=dataset, version_ids=[v.pk for v in versions],
        licence_code="cc-by-4.0", attribution="熊本市オープンデータ（健康づくり推進課）",
    )  # fmt: skip
    while req.status == "pending":  # the full route (課長, then 管理) or the routine one (管理 only)
        who = "admin" if req.steps[req.current_step]["who"] == "admin" else "head"
        req = publication_act(actor=as_actor(cast, who), request=req, decision="approve")


def _withdraw(cast: Actors, dataset: Dataset) -> None:
    req = publication_withdraw_request(actor=as_actor(cast, "owner_editor"), dataset=dataset, note="誤り")
    publication_act(actor=as_actor(cast, "head"), request=req, decision="approve")


def _rows(version: TableVersion) -> list[dict[str, Any]]:
    """The version's rows in ``_id`` order, without the ``_id`` itself (each lake numbers its own)."""
    parts = [pq.read_table(p) for p in readers.files_for(version)]
    data = pa.concat_tables(parts).sort_by(ID_COLUMN)
    return data.drop_columns([ID_COLUMN]).to_pylist()


def _portal_view() -> dict[str, Any]:
    """What the public surfaces see: dataset identifier → (title, licence, attribution, tables → rows)."""
    out: dict[str, Any] = {}
    attributions = selectors.public_attributions()
    for t in selectors.public_tables().order_by("name"):
        version = selectors.public_version_for(t)
        assert version is not None
        ds = t.dataset
        entry = out.setdefault(ds.identifier, {
            "slug": ds.slug, "title": ds.title, "classification": ds.classification,
            "licence": ds.licence.code if ds.licence else None,
            "attribution": attributions[ds.pk]["attribution"], "tables": {},
        })  # fmt: skip
        entry["tables"][t.name] = {"title": t.title, "rows": _rows(version)}
    return out


def _move_aside() -> None:
    """Make the internal entries invisible and free their identifiers, as if on another instance."""
    PublishedVersion.objects.update(withdrawn_at="2026-01-01T00:00:00+09:00")
    for ds in Dataset.objects.all():
        Dataset.objects.filter(pk=ds.pk).update(identifier=f"moved-{ds.pk}", slug=f"moved-{ds.pk}")


def _counts() -> tuple[int, int, int, int]:
    return (Dataset.objects.count(), Table.objects.count(), TableVersion.objects.count(),
            PublishedVersion.objects.count())  # fmt: skip


def test_export_then_import_gives_the_same_public_tables_and_data(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    before = _portal_view()
    assert list(before) == [dataset.identifier]
    out = b.export_bundle(keys / "b1.tar")
    assert (out.sequence, out.versions, out.datasets, out.tombstones) == (1, 1, 1, 0)
    # nothing changed since: no second file, the sequence does not move
    assert b.export_bundle(keys / "b2.tar").sequence is None
    assert not (keys / "b2.tar").exists()

    _move_aside()
    assert _portal_view() == {}
    res = b.import_bundle(keys / "b1.tar")
    assert (res.applied, res.versions) == (True, 1)
    assert _portal_view() == before
    imported = Dataset.objects.get(identifier=dataset.identifier)
    assert imported.pk != dataset.pk
    assert imported.owner_id == cast.org.health_div.pk  # the 所管課 travels by its 所属コード

    # re-applying the same bundle changes nothing
    counts = _counts()
    again = b.import_bundle(keys / "b1.tar")
    assert again.applied is False
    assert _counts() == counts
    assert _portal_view() == before


def test_metadata_change_and_a_new_version_travel_in_the_next_bundle(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    b.export_bundle(keys / "b1.tar")
    Dataset.objects.filter(pk=dataset.pk).update(title="保健センター一覧（改訂）")
    m = b.export_bundle(keys / "b2.tar")
    assert (m.sequence, m.versions, m.datasets) == (2, 0, 1)
    v2 = ingest_text(cast, dataset, "facilities", "施設名,区,定員\n南保健センター,南区,25\n", mode="append")
    _publish(cast, dataset, [v2])
    n = b.export_bundle(keys / "b3.tar")
    # the new version is sent, and the older one is withdrawn (the portal shows the newest anyway)
    assert (n.sequence, n.versions, n.tombstones) == (3, 1, 1)
    before = _portal_view()
    assert before[dataset.identifier]["title"] == "保健センター一覧（改訂）"
    assert len(before[dataset.identifier]["tables"]["facilities"]["rows"]) == 4

    _move_aside()
    for name in ("b1.tar", "b2.tar", "b3.tar"):
        assert b.import_bundle(keys / name).applied
    assert _portal_view() == before


def _assert_refused(path: Path, message: str) -> None:
    counts = _counts()
    with pytest.raises(InvalidInput, match=message):
        b.import_bundle(path)
    assert _counts() == counts
    assert not b.import_state_path().exists()


def _data_offset(path: Path) -> int:
    with tarfile.open(path) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("data/"))
        return member.offset_data + member.size // 2


@pytest.mark.parametrize("where", ["data", "manifest"])
def test_a_tampered_bundle_is_refused_before_anything_is_written(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path, where: str
) -> None:
    _publish(cast, dataset, [v1])
    path = keys / "b1.tar"
    b.export_bundle(path)
    _move_aside()
    raw = bytearray(path.read_bytes())
    # one byte inside a data file, or inside the signed manifest
    at = _data_offset(path) if where == "data" else raw.index(b'"title"') + 12
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))
    _assert_refused(path, "壊れている|署名を確認できません")


def test_a_truncated_bundle_is_refused(cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path) -> None:
    _publish(cast, dataset, [v1])
    path = keys / "b1.tar"
    b.export_bundle(path)
    _move_aside()
    raw = path.read_bytes()
    path.write_bytes(raw[: _data_offset(path)])
    _assert_refused(path, "壊れている")


def test_a_bundle_signed_with_another_key_is_refused(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path, settings: Any
) -> None:
    _publish(cast, dataset, [v1])
    path = keys / "b1.tar"
    b.export_bundle(path)
    _move_aside()
    b.keygen(private=keys / "other.key", public=keys / "other.pub")
    settings.MACHIDATA_PUBLISH_VERIFY_KEY = str(keys / "other.pub")
    _assert_refused(path, "署名を確認できません")


def test_bundles_apply_in_order_only(cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path) -> None:
    _publish(cast, dataset, [v1])
    b.export_bundle(keys / "b1.tar")
    shops = make_dataset(cast.org.health_div, title="店舗一覧", classification="internal", slug="shops")
    _publish(cast, shops, [ingest_text(cast, shops, "shops", SHOPS)])
    assert b.export_bundle(keys / "b2.tar").sequence == 2
    before = _portal_view()
    _move_aside()

    _assert_refused(keys / "b2.tar", "#1 が取り込まれていません")
    assert b.import_bundle(keys / "b1.tar").applied
    assert set(_portal_view()) == {dataset.identifier}
    assert b.import_bundle(keys / "b2.tar").applied
    counts = _counts()
    with pytest.raises(InvalidInput, match="#2 より古い"):
        b.import_bundle(keys / "b1.tar")
    assert b.import_bundle(keys / "b2.tar").applied is False
    assert _counts() == counts
    assert _portal_view() == before


def test_a_withdrawal_removes_the_entry_from_the_public_view(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    b.export_bundle(keys / "b1.tar")
    _withdraw(cast, dataset)
    out = b.export_bundle(keys / "b2.tar")
    assert (out.sequence, out.versions, out.tombstones) == (2, 0, 1)
    _move_aside()
    b.import_bundle(keys / "b1.tar")
    assert set(_portal_view()) == {dataset.identifier}
    res = b.import_bundle(keys / "b2.tar")
    assert res.tombstones == 1
    assert _portal_view() == {}
    assert Dataset.objects.get(identifier=dataset.identifier).classification == "internal"


def test_export_without_a_key_says_how_to_make_one(cast: Actors, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="publish-keygen"):
        b.export_bundle(tmp_path / "b.tar")


def test_importing_into_the_internal_instance_itself_is_refused(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    b.export_bundle(keys / "b1.tar")
    before = _portal_view()
    _assert_refused(keys / "b1.tar", "この環境で作られたもの")
    assert _portal_view() == before
    assert TableVersion.objects.filter(source_name__startswith="bundle:").count() == 0


def test_only_approved_versions_of_public_datasets_cross(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    ingest_text(cast, dataset, "facilities", FACILITIES_V1 + "南保健センター,南区,25\n")  # not approved
    internal = make_dataset(cast.org.health_div, title="庁内だけ", classification="internal", slug="naibu")
    ingest_text(cast, internal, "shops", SHOPS)
    b.export_bundle(keys / "b1.tar")
    with tarfile.open(keys / "b1.tar") as tar:
        names = tar.getnames()
        fh = tar.extractfile("manifest.json")
        assert fh is not None
        manifest = __import__("json").loads(fh.read())
    assert [v["key"] for v in manifest["versions"]] == [f"{dataset.identifier}/facilities@{v1.number}"]
    assert list(manifest["datasets"]) == [dataset.identifier]
    assert len([n for n in names if n.startswith("data/")]) == len(readers.files_for(v1))


def test_a_later_version_with_a_personal_column_stays_out_of_the_bundle(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    """Issue 5 point 2: v2 adds 担当者氏名 after v1's approval; the bundle carries v1's files only."""
    _publish(cast, dataset, [v1])
    v2 = ingest_text(cast, dataset, "facilities", FACILITIES_V2)
    assert "担当者氏名" in {f["column"] for f in v2.reports["screen"]["flags"]}
    b.export_bundle(keys / "b1.tar")
    with tarfile.open(keys / "b1.tar") as tar:
        manifest = __import__("json").loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        data = [pq.read_table(tar.extractfile(m)) for m in tar.getmembers() if m.name.startswith("data/")]  # type: ignore[arg-type]
        meta = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith(".json"))  # type: ignore[union-attr]
    assert [v["key"] for v in manifest["versions"]] == [f"{dataset.identifier}/facilities@{v1.number}"]
    assert len(data) == len(readers.files_for(v1))
    rows = pa.concat_tables(data, promote_options="default")
    assert "担当者氏名" not in rows.column_names
    assert "南保健センター" not in rows.column("施設名").to_pylist()  # a row only v2 has
    assert "担当者氏名".encode() not in meta  # nor in the schema or metadata that travel


def test_commands_keygen_export_import(cast: Actors, dataset: Dataset, v1: TableVersion, tmp_path: Path,
                                       settings: Any) -> None:  # fmt: skip
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.MACHIDATA_PUBLISH_IMPORT_UNIT = cast.org.data_strategy.code
    out = StringIO()
    call_command("publish_keygen", stdout=out)
    assert "鍵の指紋" in out.getvalue()
    assert b.signing_key_path().stat().st_mode & 0o077 == 0  # the private key is its owner's only
    with pytest.raises(CommandError, match="--force"):
        call_command("publish_keygen", stdout=StringIO())
    _publish(cast, dataset, [v1])
    call_command("publish_export", str(tmp_path / "b1.tar"), stdout=out)
    assert "#1" in out.getvalue()
    _move_aside()
    call_command("publish_import", str(tmp_path / "b1.tar"), stdout=out)
    assert set(_portal_view()) == {dataset.identifier}
    call_command("publish_import", str(tmp_path / "b1.tar"), stdout=out)
    assert "取り込み済み" in out.getvalue()
    with pytest.raises(CommandError, match="見つかりません"):
        call_command("publish_import", str(tmp_path / "missing.tar"), stdout=StringIO())


def test_a_different_bundle_with_a_used_number_is_refused(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    b.export_bundle(keys / "b1.tar")
    b.export_state_path().unlink()  # the internal side lost its record and numbers from 1 again
    Dataset.objects.filter(pk=dataset.pk).update(title="別の題名")
    assert b.export_bundle(keys / "other1.tar").sequence == 1
    _move_aside()
    b.import_bundle(keys / "b1.tar")
    counts = _counts()
    with pytest.raises(InvalidInput, match="中身が取り込んだものと違います"):
        b.import_bundle(keys / "other1.tar")
    assert _counts() == counts
    assert Dataset.objects.get(identifier=dataset.identifier).title == "保健センター一覧"


def test_a_second_export_while_one_runs_is_refused(
    cast: Actors, dataset: Dataset, v1: TableVersion, keys: Path
) -> None:
    _publish(cast, dataset, [v1])
    with b._exclusive("書き出し"), pytest.raises(InvalidInput, match="実行中"):
        b.export_bundle(keys / "b1.tar")
    assert not (keys / "b1.tar").exists()
    assert b.export_bundle(keys / "b1.tar").sequence == 1  # released afterwards
