"""Streaming: a 256 MB CP932 CSV is read with peak memory far below its size (in a fresh subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_cp932_100mb_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    line = '12345,熊本市中央区手取本町１－１,令和6年4月1日,"複数行の\nセル",ｶﾅ,1234.5\r\n'.encode("cp932")
    with path.open("wb") as fh:
        fh.write("番号,住所,日付,備考,カナ,金額\r\n".encode("cp932"))
        block = line * 10_000
        while fh.tell() < 256 * 1024 * 1024:
            fh.write(block)
    size = path.stat().st_size
    script = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        import machidata.ingest.readers.csv, pyarrow.compute  # imports are not the reader's memory
        from machidata.ingest.readers import read_source
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        source = read_source(Path({str(path)!r}))
        rows = 0
        for batch in source.batches:
            rows += batch.num_rows
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"rows": rows, "base_kb": base, "peak_kb": peak, "enc": source.detection["encoding"]}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True, timeout=600
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["enc"] == "cp932"
    assert result["rows"] == (size - len("番号,住所,日付,備考,カナ,金額\r\n".encode("cp932"))) // len(line)
    growth = (result["peak_kb"] - result["base_kb"]) * 1024
    # Measured: 55–105 MB whatever the file size (1 MB parse blocks + allocator slack); a reader that
    # loaded the file would need several times its size.
    assert growth < size / 2, f"peak RSS grew by {growth / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
