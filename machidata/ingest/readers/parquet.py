"""Parquet: passed through with its native types (``detection["typed"] = True``).

Parquet already carries types, so casting every column to text would only lose them; inference
skips text parsing for typed sources and takes the Arrow types as they are. The batches stream
with ``ParquetFile.iter_batches``; ``Source.schema`` is the file's Arrow schema. Column names must be
non-empty and unique, as for every other format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from machidata.core.errors import InvalidInput
from machidata.ingest.readers.base import ReadOptions, Source, check_columns


def read_parquet(path: Path, options: ReadOptions) -> Source:
    """Stream a Parquet file in its own types."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"「{path.name}」は Parquet ファイルとして読めません（壊れているか、別の形式です）。"
        ) from exc
    schema = pf.schema_arrow
    columns = list(schema.names)
    check_columns(columns)
    if any(not c.strip() for c in columns) or len(set(columns)) != len(columns):
        raise InvalidInput("Parquet ファイルの列名に空のものか重複があります。")
    detection: dict[str, Any] = {
        "format": "parquet",
        "typed": True,
        "types": {f.name: str(f.type) for f in schema},
        "rows_total": pf.metadata.num_rows,
        "row_groups": pf.metadata.num_row_groups,
        "warnings": [],
    }

    def batches() -> Any:
        try:
            yield from pf.iter_batches(batch_size=options.batch_rows)
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"Parquet ファイルの途中が壊れていて読めません（{exc}）。") from exc
        finally:
            pf.close()

    return Source(format="parquet", columns=columns, batches=batches(), detection=detection, schema=schema)
