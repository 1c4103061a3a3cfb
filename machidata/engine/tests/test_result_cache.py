"""The result cache: kept in the process and in files another process reads; bounded; never answers from
a damaged or foreign file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from machidata.engine.result_cache import ResultCache, digest

ROOT = Path(__file__).resolve().parents[3]  # the checkout: ``-c`` code imports machidata from here


def test_a_key_names_every_part() -> None:
    one = digest("sql", "SELECT 1", [["t", "abc", 1, 1, 0]], 100)
    assert len(one) == 64
    assert one == digest("sql", "SELECT 1", [["t", "abc", 1, 1, 0]], 100)
    assert one != digest("sql", "SELECT 1", [["t", "abc", 2, 2, 1]], 100)  # another version
    assert one != digest("sql", "SELECT 1", [["t", "abc", 1, 1, 0]], 99)  # another row limit
    assert one != digest("sql", "SELECT 2", [["t", "abc", 1, 1, 0]], 100)


def test_kept_here_and_in_the_shared_folder(tmp_path: Path) -> None:
    key = digest("x", 1)
    mine = ResultCache(tmp_path)
    assert mine.get(key) is None
    assert mine.put(key, {"rows": [[1, "東区"]], "total": 1})
    assert mine.get(key) == {"rows": [[1, "東区"]], "total": 1}
    assert mine.hits == 1
    other = ResultCache(tmp_path)  # another server process with the same home
    assert other.get(key) == {"rows": [[1, "東区"]], "total": 1}
    assert other.shared_hits == 1
    assert other.get(key) is not None
    assert other.hits == 1  # the second look is answered from its own memory


def test_another_process_reads_what_one_wrote(tmp_path: Path) -> None:
    key = digest("y", 2)
    ResultCache(tmp_path).put(key, [[1, 2], 3])
    code = (
        "import sys, json; from pathlib import Path; from machidata.engine.result_cache import ResultCache;"
        f"print(json.dumps(ResultCache(Path(sys.argv[1])).get({key!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout) == [[1, 2], 3]


def test_too_large_or_not_plain_json_is_not_kept(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, entry_bytes=200)
    big = digest("big")
    assert not cache.put(big, ["x" * 500])
    assert cache.get(big) is None
    assert not cache.put(digest("nan"), [float("nan")])
    assert not cache.put(digest("obj"), [object()])
    assert not any(tmp_path.rglob("*.json"))


def test_a_damaged_or_foreign_file_is_never_an_answer(tmp_path: Path) -> None:
    key, other = digest("a"), digest("b")
    ResultCache(tmp_path).put(key, [1])
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text("{not json", encoding="utf-8")
    assert ResultCache(tmp_path).get(key) is None
    assert not path.exists()  # removed
    # a file under the wrong name (another key's entry) is not taken for this key
    ResultCache(tmp_path).put(other, [2])
    moved = next(tmp_path.rglob(f"{other}.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(moved.read_bytes())
    assert ResultCache(tmp_path).get(key) is None
    assert ResultCache(tmp_path).get("../../etc/passwd") is None  # not a key: never a path


def test_memory_and_folder_are_bounded(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, memory_bytes=2_000, disk_bytes=4_000, entry_bytes=1_000)
    keys = [digest("k", i) for i in range(40)]
    for k in keys:
        assert cache.put(k, ["v" * 300])
    assert cache._used <= 2_000
    assert len(cache._memory) < 40
    cache.prune()
    held = sum(p.stat().st_size for p in tmp_path.rglob("*.json"))
    assert 0 < held <= 4_000
    assert ResultCache(tmp_path).get(keys[-1]) == ["v" * 300]  # the newest stay


def test_without_a_folder_it_is_this_process_only(tmp_path: Path) -> None:
    cache = ResultCache(None)
    key = digest("z")
    cache.put(key, [1])
    assert cache.get(key) == [1]
    cache.clear()
    assert cache.get(key) is None
