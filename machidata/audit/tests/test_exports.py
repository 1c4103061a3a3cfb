"""CSV for Excel: BOM, CP932 with replacement, and the formula-injection guard."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction

from machidata.access.policy import Actor
from machidata.audit.exports import events_to_csv, safe_cell
from machidata.audit.models import AuditEvent
from machidata.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+81-96", "'+81-96"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("熊本市", "熊本市"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(raw: object, expected: str) -> None:
    assert safe_cell(raw) == expected


def _event(repr_: str) -> AuditEvent:
    with transaction.atomic():
        return audit_record(actor=Actor(username="職員"), action="test.csv", object_repr=repr_)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_utf8_has_bom_and_crlf() -> None:
    _event("熊本城")
    body = events_to_csv(AuditEvent.objects.order_by("id"))
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    rows = _rows(body[3:].decode("utf-8"))
    assert rows[0][0] == "ID"
    assert rows[1][6] == "熊本城"
    assert rows[1][2] == "職員"


def test_cp932_encodes_and_replaces_what_it_cannot_hold() -> None:
    _event("熊本市〜中央区 😀 髙")
    body = events_to_csv(AuditEvent.objects.order_by("id"), encoding="cp932")
    assert not body.startswith(b"\xef\xbb\xbf")
    text = body.decode("cp932")
    rows = _rows(text)
    # 〜 (WAVE DASH) is carried over as CP932's ～, the emoji becomes "?", 髙 exists in CP932.
    assert rows[1][6] == "熊本市～中央区 ? 髙"


def test_injection_guard_applies_in_the_file() -> None:
    _event('=HYPERLINK("http://evil")')
    rows = _rows(events_to_csv(AuditEvent.objects.order_by("id"))[3:].decode("utf-8"))
    assert rows[1][6] == '\'=HYPERLINK("http://evil")'


def test_unknown_encoding_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="latin"):
        events_to_csv([], encoding="latin-1")
