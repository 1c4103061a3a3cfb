"""Hostile files through every reader of uploaded files: each is refused in Japanese, nothing crashes,
no version is left behind (issue 14 point 4).

Sinks: the ingest path (``ingest_file``: read, check, write a version), the Microsoft Forms reader of
the surveys room, and the 照会 return reader of the collect room. A *crash* is any exception other
than machidata's own domain errors (which the pages show as Japanese messages); a *partial version* is
any table version row that is not abandoned after a refused file. The tally is written to
``MACHIDATA_SECURITY_REPORT`` when that is set (``make security-report``).
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from machidata.access.policy import actor_for
from machidata.catalog.models import Table, TableVersion, VersionStatus
from machidata.core.errors import MachidataError
from machidata.core.testing import Actors, make_dataset

pytestmark = pytest.mark.django_db(transaction=True)

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "回答"
    ws.append(["ID", "開始時刻", "完了時刻", "メール", "名前", "所属"])
    ws.append([1, "2024-06-01 09:00:00", "2024-06-01 09:05:00", "a@example.jp", "山田", "東区"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _replace_part(data: bytes, name: str, change: Callable[[str], str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == name:
                body = change(body.decode("utf-8")).encode("utf-8")
            zout.writestr(item, body)
    return out.getvalue()


def _with_doctype(doctype: str, entity: str) -> Callable[[str], str]:
    def change(xml: str) -> str:
        body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
        return doctype + body.replace("山田", entity, 1).replace("<v>1</v>", f"<v>{entity}</v>", 1)

    return change


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_workbook())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/media/padding.bin", b"\0" * (150 * 1024 * 1024))
    return out.getvalue()


def _nested_json(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


# name → (file name, bytes)
def corpus() -> dict[str, tuple[str, bytes]]:
    book = _workbook()
    sheet = "xl/worksheets/sheet1.xml"
    return {
        "billion laughs in the sheet": (
            "laughs.xlsx",
            _replace_part(book, sheet, _with_doctype(LAUGHS, "&lol9;")),
        ),
        "external entity (XXE) in the sheet": (
            "xxe.xlsx",
            _replace_part(book, sheet, _with_doctype(XXE, "&xxe;")),
        ),
        "entity bomb in the workbook part": (
            "wb-laughs.xlsx",
            _replace_part(book, "xl/workbook.xml", lambda x: LAUGHS + x.split("?>", 1)[-1]),
        ),
        "zip bomb (150 MB of zeros)": ("bomb.xlsx", _zip_bomb()),
        "truncated workbook": ("cut.xlsx", book[: len(book) // 2]),
        "a program renamed .xlsx": ("setup.xlsx", b"MZ\x90\x00" + os.urandom(4000)),
        "a program renamed .csv": ("setup.csv", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 20),
        "a PDF renamed .csv": ("r.csv", b"%PDF-1.7\n" + b"\x00\x01" * 100),
        "an empty file": ("empty.csv", b""),
        "an empty workbook part list": ("hollow.xlsx", b"PK\x05\x06" + b"\0" * 18),
        "OLE header, garbage body (.xls)": ("old.xls", bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(3000)),
        "deeply nested JSON": ("deep.json", _nested_json(200_000)),
        "a number too large for any type (JSON)": (
            "big.json",
            b'[{"n": 1e999999, "m": 99999999999999999999999999999}]',
        ),
        "a 5 MB single cell": ("wide.csv", b"a,b\n" + b"x" * (5 * 1024 * 1024) + b",1\n"),
        "20,000 columns": (
            "cols.csv",
            (",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("1" * 20_000) + "\n").encode(),
        ),
        "unterminated quote to the end": ("quote.csv", b'a,b\n"1,2\n3,4\n' + b"5,6\n" * 1000),
        "NUL bytes inside text": ("nul.csv", b"a,b\n1\x00,2\n"),
        "invalid UTF-16 (odd length, BOM)": ("u16.csv", b"\xff\xfea\x00,\x00b\x00\n"),
        "Parquet magic, garbage body": ("fake.parquet", b"PAR1" + os.urandom(2000) + b"PAR1"),
        "GeoJSON with a broken geometry": (
            "g.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Polygon", "coordinates": [[[0]]]},
                            "properties": {"a": 1},
                        }
                    ],
                }
            ).encode(),
        ),
    }


def _tally(sink: str, name: str, outcome: str) -> None:
    report = os.environ.get("MACHIDATA_SECURITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    {"suite": "hostile-files", "sink": sink, "file": name, "outcome": outcome},
                    ensure_ascii=False,
                )
                + "\n"
            )


def _judge(run: Callable[[], Any]) -> str:
    """'refused' (a Japanese domain error), 'accepted' (read without harm), or the crash."""
    message = ""
    try:
        run()
    except MachidataError as exc:
        message = exc.message
    except Exception as exc:  # noqa: BLE001 - anything else is a crash, reported with its type
        return f"CRASH {type(exc).__name__}: {str(exc)[:200]}"
    else:
        return "accepted"
    if not any("\u3040" <= ch <= "\u9fff" for ch in message):
        return f"CRASH a refusal without a Japanese message: {message!r}"
    return "refused"


def _text_of(version: TableVersion) -> str:
    import pyarrow.dataset as pads

    from machidata.lake.readers import files_for

    data = pads.dataset(files_for(version), format="parquet").to_table()
    return json.dumps(data.to_pylist(), ensure_ascii=False, default=str)


@pytest.fixture(scope="module")
def files() -> dict[str, tuple[str, bytes]]:
    return corpus()


def test_ingest_refuses_every_hostile_file_and_leaves_no_version(
    actors: Actors, files: dict[str, tuple[str, bytes]], settings: Any, tmp_path: Path
) -> None:
    from machidata.ingest.services import ingest_file, table_get_or_create

    settings.MACHIDATA_HOME = tmp_path
    actor = actor_for(actors.users["owner_editor"])
    dataset = make_dataset(actors.org.health_div, slug="hostile")
    crashes, partial = [], []
    for name, (filename, data) in files.items():
        table = table_get_or_create(actor=actor, dataset=dataset, name=f"t{uuid.uuid4().hex[:8]}", title=name)
        path = tmp_path / filename
        path.write_bytes(data)
        outcome = _judge(
            lambda t=table.pk, p=path, f=filename: ingest_file(
                actor=actor, table=Table.objects.get(pk=t), path=p, source_name=f
            )
        )
        _tally("ingest", name, outcome)
        if outcome.startswith("CRASH"):
            crashes.append(f"{name}: {outcome}")
        left = TableVersion.objects.filter(table=table).exclude(status=VersionStatus.ABANDONED)
        if outcome != "accepted" and left.exists():
            partial.append(f"{name}: {[v.status for v in left]}")
        if outcome == "accepted":  # harmless content: then it must be one whole committed version
            assert [v.status for v in left] == [VersionStatus.COMMITTED], name
            if "entity" in name or "laughs" in name:  # read, but never expanded or resolved
                text = _text_of(left[0])
                assert "root:" not in text, name
                assert "lollollol" not in text, name
    assert crashes == []
    assert partial == []


def test_forms_reader_refuses_hostile_workbooks(files: dict[str, tuple[str, bytes]]) -> None:
    from machidata.surveys.forms_excel import read_export

    crashes = []
    for name, (filename, data) in files.items():
        if not filename.endswith((".xlsx", ".xls")):
            continue
        outcome = _judge(lambda: read_export(data))  # noqa: B023
        _tally("surveys.forms", name, outcome)
        if outcome.startswith("CRASH"):
            crashes.append(f"{name}: {outcome}")
    assert crashes == []


def test_campaign_return_reader_refuses_hostile_workbooks(
    files: dict[str, tuple[str, bytes]], tmp_path: Path
) -> None:
    from machidata.collect.workbook import read_identity

    crashes = []
    for name, (filename, data) in files.items():
        if not filename.endswith((".xlsx", ".xls")):
            continue
        path = tmp_path / filename
        path.write_bytes(data)
        outcome = _judge(lambda: read_identity(path))  # noqa: B023
        _tally("collect.return", name, outcome)
        if outcome.startswith("CRASH"):
            crashes.append(f"{name}: {outcome}")
    assert crashes == []


def test_the_entity_bombs_are_refused_not_expanded(files: dict[str, tuple[str, bytes]]) -> None:
    """defusedxml is what openpyxl parses with: the bomb and the external entity never expand."""
    import openpyxl.xml

    from machidata.surveys.forms_excel import read_export

    assert openpyxl.xml.DEFUSEDXML
    for key in ("billion laughs in the sheet", "external entity (XXE) in the sheet"):
        with pytest.raises(MachidataError):
            read_export(files[key][1])
