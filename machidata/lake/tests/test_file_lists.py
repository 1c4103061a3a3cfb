"""A version's file list (what the engines read, DuckDB and Spark alike) holds exactly the Delta version's rows.

The engines never read a Delta table: the lake resolves a version to its Parquet files
(:func:`machidata.lake.readers.files_for`) and DuckDB reads them with ``union_by_name``, Spark with
``mergeSchema``. Here every version of a table with a history like a real one — replace, appends
(several files per version), a replace that adds a column, an append to it, a restore of an old
version and an append after the restore — is read both ways: the files as a dataset (schemas merged
as the engines merge them) and Delta's own reader at that version; the rows must be the same.
No Spark needed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from deltalake import DeltaTable

from machidata.catalog.models import Table, TableVersion
from machidata.engine import TableQuery, run_query
from machidata.lake.protocol import restore_version, write_version
from machidata.lake.readers import files_for
from machidata.lake.storage import table_uri
from machidata.lake.tests.data import SCHEMA, batches

pytestmark = pytest.mark.django_db

WIDER = pa.schema([("name", pa.string()), ("amount", pa.int64()), ("ward", pa.string())])


def _wider(tag: str, n: int) -> Iterator[pa.RecordBatch]:
    for b in batches(tag, n):
        wards = pa.array([None if i % 3 == 0 else f"区{i % 5}" for i in range(b.num_rows)], pa.string())
        yield pa.record_batch([*b.columns, wards], schema=WIDER)


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by("_id")


def _from_files(version: TableVersion) -> pa.Table:
    files = files_for(version)
    schemas = [pads.dataset(f, format="parquet").schema for f in files]
    merged = pa.unify_schemas(schemas)  # as union_by_name / mergeSchema do
    return _sorted(pads.dataset(files, format="parquet", schema=merged).to_table())


def _from_delta(table: Table, version: TableVersion) -> pa.Table:
    return _sorted(DeltaTable(table_uri(table), version=version.delta_version).to_pyarrow_table())


def test_every_version_reads_the_same_from_its_file_list_as_from_delta(table: Table) -> None:
    def write(tag: str, n: int, mode: str, schema: pa.Schema = SCHEMA) -> TableVersion:
        source = _wider(tag, n) if schema == WIDER else batches(tag, n)
        return write_version(
            table=table, batches=source, schema=schema, mode=mode, job_id=f"job-{tag}", target_file_size=256
        )  # type: ignore[arg-type]

    v1 = write("a", 7, "replace")
    v2 = write("b", 5, "append")
    v3 = write("c", 6, "replace", WIDER)  # a column appended to the table's schema
    v4 = write("d", 4, "append", WIDER)
    v5 = restore_version(table=table, version=v2, job_id="job-restore")
    v6 = write("e", 3, "append")
    versions = [v1, v2, v3, v4, v5, v6]
    assert [v.number for v in versions] == [1, 2, 3, 4, 5, 6]
    assert any(len(files_for(v)) > 1 for v in versions)  # versions spread over several files
    for v in versions:
        from_delta = _from_delta(table, v)
        from_files = _from_files(v)
        assert from_files.num_rows == v.rows, v.number
        assert from_files.schema == from_delta.schema, v.number
        assert from_files.equals(from_delta), v.number
        # …and the engine reading the same list (DuckDB here; Spark in the cross-backend lane) agrees.
        q = TableQuery.from_dict({"sort": [["_id", "asc"]], "limit": 1000})
        engine = run_query(files_for(v), q).table
        assert engine.column_names == from_delta.column_names, v.number
        assert engine.to_pylist() == from_delta.to_pylist(), v.number
    assert "ward" in _from_files(v4).column_names
    assert "ward" not in _from_files(v5).column_names  # the restore brings back v2's columns
    assert _from_files(v5).equals(_from_files(v2))  # …and its rows, with the same _ids
