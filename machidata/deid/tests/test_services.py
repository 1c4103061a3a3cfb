"""仮名加工・匿名加工 services: happy paths on a synthetic 住民記録 extract, and every refusal."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.deid import keys
from machidata.deid.models import DeidRun, RunStatus
from machidata.deid.services import ExtractRefused, extract_run, plan_create
from machidata.deid.tests.conftest import (
    ANON_PLAN,
    AS_OF,
    HEADER,
    PSEUDO_PLAN,
    as_actor,
    jumin_rows,
    to_csv,
    to_xlsx,
    write,
)
from machidata.lake.readers import files_for

pytestmark = pytest.mark.django_db


def _rows(table: Table) -> pa.Table:
    import pyarrow.parquet as pq

    version = table.current_version
    assert version is not None
    return pa.concat_tables([pq.read_table(f) for f in files_for(version)])


def _version_rows(version: Any) -> pa.Table:
    import pyarrow.parquet as pq

    return pa.concat_tables([pq.read_table(f) for f in files_for(version)])


def _all_text(t: pa.Table) -> str:
    return "\n".join(str(v) for c in t.columns for v in c.to_pylist())


def _plan(actors: Any, dataset: Any, spec: dict[str, Any], **extra: Any) -> Any:
    return plan_create(actor=as_actor(actors, "owner_editor"), dataset=dataset, **{**spec, **extra})


def test_pseudonymised_extract_is_stored_without_identifiers(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    rows = jumin_rows(per_cell=5)
    run = extract_run(actor=as_actor(actors, "owner_editor"), plan=plan, path=write(tmp_path, to_csv(rows)),
                      source_name="jumin_202604.csv", as_of=AS_OF)  # fmt: skip
    assert run.status == RunStatus.DONE
    assert run.rows_in == run.rows_out == len(rows) == 500
    assert run.k_found == 5
    assert all(c["passed"] for c in run.checks)
    stored = _rows(Table.objects.get(dataset=deid_world["pseudo"], name="jumin"))
    text = _all_text(stored)
    # No name, 宛名番号, birth date, street address, phone or insurance number reached the lake.
    for row in rows[:50]:
        for value in (row[0], row[1], row[2], row[4], row[5], row[6]):
            assert value not in text, value
    # The pseudonym is the HMAC-SHA256 of the 宛名番号 under the run's key (not a plain hash).
    key = (keys.key_dir() / f"{run.key_id}.key").read_bytes()
    expected = hmac.new(key, rows[0][0].encode(), hashlib.sha256).hexdigest()[:32]
    assert expected in stored.column("宛名番号_仮名").to_pylist()
    assert hashlib.sha256(rows[0][0].encode()).hexdigest()[:32] not in text
    # Quasi-identifiers coarsened: wards and 10-year bands only.
    assert set(stored.column("住所_区").to_pylist()) == {
        f"熊本市{w}" for w in ("中央区", "東区", "西区", "南区", "北区")
    }
    assert "90歳以上" in stored.column("生年月日_年齢階級").to_pylist()
    assert "電話番号" not in stored.column_names
    assert "被保険者番号" not in stored.column_names
    # The key is outside the lake, 0600 in a 0700 folder; the database keeps only its id.
    assert keys.key_mode(run.key_id) == 0o600
    assert keys.key_dir().stat().st_mode & 0o777 == 0o700
    assert "lake" not in str(keys.key_dir())
    assert run.record["key_id"] == run.key_id
    assert key.hex() not in str(run.record)
    assert AuditEvent.objects.filter(action="deid.run").count() == 1


def test_each_release_has_its_own_key(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    editor = as_actor(actors, "owner_editor")
    data = to_csv(jumin_rows(per_cell=5))
    first = extract_run(
        actor=editor, plan=plan, path=write(tmp_path, data, "a.csv"), source_name="a.csv", as_of=AS_OF
    )
    second = extract_run(
        actor=editor, plan=plan, path=write(tmp_path, data, "b.csv"), source_name="b.csv", as_of=AS_OF
    )
    assert first.key_id != second.key_id
    assert first.version.number + 1 == second.version.number
    p1 = set(_version_rows(first.version).column("宛名番号_仮名").to_pylist())
    p2 = set(_version_rows(second.version).column("宛名番号_仮名").to_pylist())
    assert len(p1) == len(p2) == 500
    assert p1.isdisjoint(p2)  # the same people, other pseudonyms: two releases cannot be linked
    assert not (tmp_path / "a.csv").exists()
    assert not (tmp_path / "b.csv").exists()


def test_xlsx_extract_goes_through_the_ingest_readers(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    run = extract_run(actor=as_actor(actors, "owner_editor"), plan=plan,
                      path=write(tmp_path, to_xlsx(jumin_rows(per_cell=6)), "jumin.xlsx"),
                      source_name="jumin.xlsx", as_of=AS_OF)  # fmt: skip
    assert run.status == RunStatus.DONE
    assert run.k_found == 6


def test_missing_identifier_column_refuses_the_whole_extract(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    header = ["番号", *HEADER[1:]]  # the 宛名番号 column was renamed in this month's extract
    path = write(tmp_path, to_csv(jumin_rows(per_cell=5), header))
    with pytest.raises(ExtractRefused) as err:
        extract_run(
            actor=as_actor(actors, "owner_editor"), plan=plan, path=path, source_name="x.csv", as_of=AS_OF
        )
    assert "宛名番号" in err.value.message
    assert "何も保存していません" in err.value.message
    assert not Table.objects.filter(dataset=deid_world["pseudo"]).exists()
    assert not any(keys.key_dir().iterdir())
    run = DeidRun.objects.get()
    assert run.status == RunStatus.REFUSED
    assert run.version is None
    assert not run.key_id
    event = AuditEvent.objects.get(action="deid.refused")
    assert "宛名番号" in event.changes["reason"]
    assert not path.exists()


def test_k_below_threshold_refuses_the_whole_extract(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    path = write(tmp_path, to_csv(jumin_rows(per_cell=5, lonely=2)))
    with pytest.raises(ExtractRefused) as err:
        extract_run(
            actor=as_actor(actors, "owner_editor"), plan=plan, path=path, source_name="x.csv", as_of=AS_OF
        )
    assert "k-匿名性" in err.value.message
    assert "最少 1 人" in err.value.message
    assert not Table.objects.filter(dataset=deid_world["pseudo"]).exists()
    assert not any(keys.key_dir().iterdir())
    run = DeidRun.objects.get()
    assert run.k_found == 1
    assert not next(c for c in run.checks if c["key"] == "k")["passed"]
    assert AuditEvent.objects.filter(action="deid.refused").count() == 1


def test_anonymised_run_records_every_article_62_criterion(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["anon"], ANON_PLAN)
    run = extract_run(actor=as_actor(actors, "owner_editor"), plan=plan,
                      path=write(tmp_path, to_csv(jumin_rows(per_cell=5))), source_name="x.csv", as_of=AS_OF)  # fmt: skip
    assert [c["key"] for c in run.checks] == ["art62_1", "art62_2", "art62_3", "art62_4", "art62_5"]
    assert run.complete
    assert not run.key_id  # 匿名加工 keeps no key: nothing links back
    stored = _rows(Table.objects.get(dataset=deid_world["anon"], name="jumin-anon"))
    assert not any(c.endswith("_仮名") for c in stored.column_names)
    incomes = [float(v) for v in stored.column("所得").to_pylist() if v is not None]
    assert max(incomes) == 10_000_000  # the 50,000,000 outliers were top-coded
    assert next(c for c in run.checks if c["key"] == "art62_4")["detail"].startswith("上限でまとめました")


def test_anonymised_run_refused_when_a_linking_code_is_kept(actors, deid_world, tmp_path):
    # 被保険者番号 neither dropped nor declared: its values are all different, a code linking to other records.
    plan = _plan(actors, deid_world["anon"], ANON_PLAN, drop=["備考"])
    with pytest.raises(ExtractRefused) as err:
        extract_run(actor=as_actor(actors, "owner_editor"), plan=plan,
                    path=write(tmp_path, to_csv(jumin_rows(per_cell=5))), source_name="x.csv", as_of=AS_OF)  # fmt: skip
    assert "第3号" in err.value.message
    run = DeidRun.objects.get()
    assert "被保険者番号" in next(c for c in run.checks if c["key"] == "art62_3")["detail"]
    assert not Table.objects.filter(dataset=deid_world["anon"]).exists()


def test_anonymised_plan_without_unusual_value_treatment_is_refused(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["anon"], ANON_PLAN, top_code=[], table_name="no-top")
    with pytest.raises(ExtractRefused) as err:
        extract_run(actor=as_actor(actors, "owner_editor"), plan=plan,
                    path=write(tmp_path, to_csv(jumin_rows(per_cell=5))), source_name="x.csv", as_of=AS_OF)  # fmt: skip
    assert "第4号" in err.value.message


def test_plan_needs_a_deidentified_dataset_and_edit_rights(actors, deid_world):
    with pytest.raises(InvalidInput, match="仮名加工情報"):
        _plan(actors, deid_world["source"], PSEUDO_PLAN)
    with pytest.raises(PermissionDenied):
        plan_create(actor=as_actor(actors, "other_editor"), dataset=deid_world["pseudo"], **PSEUDO_PLAN)
    with pytest.raises(InvalidInput, match="粗くする方法"):
        _plan(actors, deid_world["pseudo"], PSEUDO_PLAN, quasi=[{"column": "住所", "method": "hash"}])
    with pytest.raises(InvalidInput, match="識別子"):
        _plan(actors, deid_world["pseudo"], PSEUDO_PLAN, identifiers=[])
    with pytest.raises(InvalidInput, match="k は"):
        _plan(actors, deid_world["pseudo"], PSEUDO_PLAN, k=1)
    with pytest.raises(InvalidInput, match="両方"):
        _plan(actors, deid_world["pseudo"], PSEUDO_PLAN, drop=["氏名"])
    with pytest.raises(InvalidInput, match="匿名加工の設定でだけ"):
        _plan(actors, deid_world["pseudo"], PSEUDO_PLAN, top_code=[{"column": "所得", "cap": 1}])


def test_run_refused_when_dataset_class_changed(actors, deid_world, tmp_path):
    plan = _plan(actors, deid_world["pseudo"], PSEUDO_PLAN)
    deid_world["pseudo"].personal_data = "none"
    deid_world["pseudo"].save()
    path: Path = write(tmp_path, to_csv(jumin_rows(per_cell=5)))
    with pytest.raises(InvalidInput, match="変わっている"):
        extract_run(
            actor=as_actor(actors, "owner_editor"), plan=plan, path=path, source_name="x.csv", as_of=AS_OF
        )
    assert not path.exists()
