"""`machidata purge-orphans`: stray files are removed and audited, versions stay readable."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table
from machidata.core.testing import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def test_purge_removes_unreferenced_files_only(org, settings, tmp_path, capsys):
    from machidata.lake.protocol import write_version
    from machidata.lake.readers import files_for
    from machidata.lake.storage import table_uri

    settings.MACHIDATA_HOME = tmp_path
    table = Table.objects.create(
        dataset=make_dataset(org.health_div), name="t", title="表", storage_key=uuid.uuid4().hex
    )
    schema = pa.schema([("区", pa.string()), ("人口", pa.int64())])
    batch = pa.record_batch([pa.array(["中央区", "東区"]), pa.array([186000, 191000])], schema=schema)
    version = write_version(
        table=table, batches=[batch], schema=schema, mode="replace", job_id="j1", actor_user_id=None,
        source_name="pop.csv", source_sha256="0" * 64, note="", reports={},
    )  # fmt: skip
    stray = f"{table_uri(table)}/part-stray-{uuid.uuid4().hex}.parquet"
    pq.write_table(pa.table({"x": [1]}), stray)

    call_command("purge_orphans")
    out = capsys.readouterr().out
    assert "part-stray" in out
    assert "1 件のファイルを削除しました" in out
    assert all(not f.endswith("stray.parquet") for f in files_for(version))
    assert pq.read_table(files_for(version)[0]).num_rows == 2
    assert AuditEvent.objects.filter(action="lake.purge").exists()
