"""A campaign to 10 synthetic facilities end to end, and the rules of returns (identity, header, errors, duplicates)."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pyarrow.compute as pc
import pytest

from machidata.audit.models import AuditEvent
from machidata.catalog.models import Table, TableVersion
from machidata.collect import returns, services
from machidata.collect.models import (
    CAMPAIGN_COLUMN,
    SENDER_COLUMN,
    Recipient,
    RecipientStatus,
    SubmissionStatus,
)
from machidata.collect.tests.conftest import FACILITIES, as_actor, as_file, fill, table_rows
from machidata.collect.workbook import read_identity
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.core.testing import Actors

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2025, 4, 10)


def start(actors: Actors, table: Table, **kw: object) -> object:
    return services.campaign_create(
        actor=as_actor(actors, "owner_editor"),
        table=table,
        title="4月の施設利用者数",
        deadline=TODAY + dt.timedelta(days=10),
        instructions="日ごとに午前と午後を分けて書いてください。",
        facilities=kw.pop("facilities", FACILITIES),  # type: ignore[arg-type]
        today=TODAY,
        **kw,  # type: ignore[arg-type]
    )


def template_of(actors: Actors, recipient: Recipient) -> bytes:
    return services.recipient_template(actor=as_actor(actors, "owner_editor"), recipient=recipient)[1]


def submit(actors: Actors, tmp_path: Path, recipient: Recipient, data: bytes, name: str = "r.xlsx") -> object:
    return returns.return_submit_file(
        actor=as_actor(actors, "owner_editor"),
        recipient=recipient,
        upload=as_file(tmp_path, data, name),
        source_name=name,
    )


def good_rows(n: int, day: int = 1) -> list[list[object]]:
    return [[dt.date(2025, 4, day + i // 2), "午前" if i % 2 == 0 else "午後", 10 + i, ""] for i in range(n)]


def test_campaign_to_ten_facilities_end_to_end(actors: Actors, visitors: Table, tmp_path: Path) -> None:
    before = table_rows(visitors).num_rows
    campaign = start(actors, visitors)
    recipients = list(Recipient.objects.filter(campaign=campaign).order_by("pk"))
    assert [r.name for r in recipients] == FACILITIES
    expected: dict[str, int] = {}
    for i, r in enumerate(recipients[:8], start=1):
        template = template_of(actors, r)
        identity = read_identity(as_file(tmp_path, template, "t.xlsx"))
        assert (identity.campaign_id, identity.recipient_id) == (campaign.pk, r.pk)  # type: ignore[attr-defined]
        submission = submit(actors, tmp_path, r, fill(template, good_rows(i)))
        assert submission.status == SubmissionStatus.ACCEPTED, submission.message  # type: ignore[attr-defined]
        expected[r.name] = i
    # One with errors: nothing written, the recipient must fix; the report is ingestion's.
    bad = recipients[8]
    version_before = Table.objects.get(pk=visitors.pk).current_version_id
    rejected = submit(
        actors,
        tmp_path,
        bad,
        fill(
            template_of(actors, bad),
            [
                [dt.date(2025, 4, 1), "夜", 3, ""],
                [dt.date(2025, 4, 1), "午前", -5, ""],
                [dt.date(2025, 4, 2), "午後", None, ""],
            ],
        ),
    )
    assert rejected.status == SubmissionStatus.REJECTED  # type: ignore[attr-defined]
    kinds = Counter((i["column"], i["kind"]) for i in rejected.report["issues"])  # type: ignore[attr-defined]
    assert kinds == Counter({("区分", "enum"): 1, ("利用者数", "minimum"): 1, ("利用者数", "required"): 1})
    assert [i["row"] for i in rejected.report["issues"]] == [2, 3, 4]  # type: ignore[attr-defined]
    assert "選択肢" in rejected.message  # type: ignore[attr-defined]
    assert "何も書き込んでいません" in rejected.message  # type: ignore[attr-defined]
    assert Table.objects.get(pk=visitors.pk).current_version_id == version_before
    bad.refresh_from_db()
    assert bad.status == RecipientStatus.NEEDS_FIX
    # Fixed and sent again: accepted.
    fixed = submit(actors, tmp_path, bad, fill(template_of(actors, bad), good_rows(2)))
    assert fixed.status == SubmissionStatus.ACCEPTED  # type: ignore[attr-defined]
    expected[bad.name] = 2

    rows = table_rows(visitors)
    assert rows.num_rows == before + sum(expected.values())
    senders = Counter(v for v in rows.column(SENDER_COLUMN).to_pylist() if v is not None)
    assert senders == Counter(expected)
    assert set(rows.column(CAMPAIGN_COLUMN).drop_null().to_pylist()) == {campaign.pk}  # type: ignore[attr-defined]
    assert rows.column(SENDER_COLUMN).null_count == before  # the sample rows have no sender
    visitors.refresh_from_db()
    assert {SENDER_COLUMN, CAMPAIGN_COLUMN} <= {f["name"] for f in visitors.schema["fields"]}
    modes = Counter(TableVersion.objects.filter(table=visitors).values_list("mode", flat=True))
    assert modes == Counter({"replace": 2, "append": 8})  # sample, first return (adds 回答元), then appends
    statuses = Counter(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == Counter({RecipientStatus.ANSWERED: 9, RecipientStatus.WAITING: 1})
    assert AuditEvent.objects.filter(action="collect.return_accept").count() == 9
    assert AuditEvent.objects.filter(action="collect.return_reject").count() == 1


def test_second_return_replaces_the_recipients_earlier_rows(
    actors: Actors, visitors: Table, tmp_path: Path
) -> None:
    before = table_rows(visitors).num_rows
    campaign = start(actors, visitors, facilities=FACILITIES[:2])
    first, other = Recipient.objects.filter(campaign=campaign).order_by("pk")
    submit(actors, tmp_path, first, fill(template_of(actors, first), good_rows(3)))
    submit(actors, tmp_path, other, fill(template_of(actors, other), good_rows(2)))
    again = submit(actors, tmp_path, first, fill(template_of(actors, first), good_rows(1, day=5)))
    assert again.status == SubmissionStatus.ACCEPTED  # type: ignore[attr-defined]
    assert again.replaced_rows == 3  # type: ignore[attr-defined]
    rows = table_rows(visitors)
    assert rows.num_rows == before + 1 + 2
    mine = rows.filter(pc.equal(rows.column(SENDER_COLUMN), first.name))
    assert mine.column("日付").to_pylist() == [dt.date(2025, 4, 5)]


def test_wrong_recipient_and_wrong_campaign_are_refused(
    actors: Actors, visitors: Table, tmp_path: Path
) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:2])
    a, b = Recipient.objects.filter(campaign=campaign).order_by("pk")
    wrong = submit(actors, tmp_path, b, fill(template_of(actors, a), good_rows(1)))
    assert wrong.status == SubmissionStatus.REJECTED  # type: ignore[attr-defined]
    assert f"「{a.name}」あての様式" in wrong.message  # type: ignore[attr-defined]
    second = start(actors, visitors, facilities=FACILITIES[:1])
    (c,) = Recipient.objects.filter(campaign=second)
    other = submit(actors, tmp_path, c, fill(template_of(actors, a), good_rows(1)))
    assert "別の照会（「4月の施設利用者数」）" in other.message  # type: ignore[attr-defined]
    plain = io.BytesIO()
    openpyxl.Workbook().save(plain)
    foreign = submit(actors, tmp_path, a, plain.getvalue())
    assert "照会の様式ではありません" in foreign.message  # type: ignore[attr-defined]
    assert not Recipient.objects.filter(status=RecipientStatus.ANSWERED).exists()


def test_altered_header_names_the_column(actors: Actors, visitors: Table, tmp_path: Path) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:1])
    (r,) = Recipient.objects.filter(campaign=campaign)
    data = fill(template_of(actors, r), good_rows(1), header=["日付", "区分", "来館者数", "備考"])
    result = submit(actors, tmp_path, r, data)
    assert result.status == SubmissionStatus.REJECTED  # type: ignore[attr-defined]
    assert "C列の見出しが「利用者数」から「来館者数」に変わっています" in result.message  # type: ignore[attr-defined]


def test_empty_return_and_closed_campaign(actors: Actors, visitors: Table, tmp_path: Path) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:1])
    (r,) = Recipient.objects.filter(campaign=campaign)
    empty = submit(actors, tmp_path, r, template_of(actors, r))
    assert empty.status == SubmissionStatus.REJECTED  # type: ignore[attr-defined]
    assert "回答の行がありません" in empty.message  # type: ignore[attr-defined]
    services.campaign_close(actor=as_actor(actors, "owner_editor"), campaign=campaign)  # type: ignore[arg-type]
    r.refresh_from_db()
    with pytest.raises(Conflict):
        submit(actors, tmp_path, r, fill(template_of(actors, r), good_rows(1)))


def test_web_form_rows_use_the_same_checks(actors: Actors, visitors: Table) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:1])
    (r,) = Recipient.objects.filter(campaign=campaign)
    editor = as_actor(actors, "owner_editor")
    bad = returns.return_submit_rows(
        actor=editor, recipient=r, rows=[{"日付": "R7.4.1", "区分": "午前", "利用者数": "abc"}]
    )
    assert bad.status == SubmissionStatus.REJECTED
    assert bad.report["issues"][0]["column"] == "利用者数"
    ok = returns.return_submit_rows(
        actor=editor, recipient=r, rows=[{"日付": "令和7年4月1日", "区分": "午前", "利用者数": "１２"}]
    )
    assert ok.status == SubmissionStatus.ACCEPTED, ok.message
    rows = table_rows(visitors)
    mine = rows.filter(pc.equal(rows.column(SENDER_COLUMN), r.name))
    assert mine.column("利用者数").to_pylist() == [12]
    assert mine.column("日付").to_pylist() == [dt.date(2025, 4, 1)]
    with pytest.raises(InvalidInput):
        returns.return_submit_rows(actor=editor, recipient=r, rows=[{"人数": "1"}])


def test_only_the_data_owner_starts_and_recipients_answer_for_themselves(
    actors: Actors, visitors: Table, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_create(
            actor=as_actor(actors, "owner_viewer"),
            table=visitors,
            title="x",
            deadline=TODAY,
            facilities=["a"],
            today=TODAY,
        )
    fire = actors.org.fire_div
    campaign = start(actors, visitors, facilities=["第1合成小学校"], unit_ids=[fire.pk])
    unit_r = Recipient.objects.get(campaign=campaign, unit=fire)
    facility = Recipient.objects.get(campaign=campaign, unit__isnull=True)
    staff = as_actor(actors, "staff")  # a member of 警防課
    name, data = services.recipient_template(actor=staff, recipient=unit_r)
    assert name.endswith(".xlsx")
    accepted = returns.return_submit_file(
        actor=staff,
        recipient=unit_r,
        upload=as_file(tmp_path, fill(data, good_rows(1))),
        source_name="r.xlsx",
    )
    assert accepted.status == SubmissionStatus.ACCEPTED
    with pytest.raises(PermissionDenied):
        services.recipient_template(actor=staff, recipient=facility)


def test_campaign_input_errors_are_japanese(actors: Actors, visitors: Table) -> None:
    editor = as_actor(actors, "owner_editor")
    with pytest.raises(InvalidInput) as exc:
        services.campaign_create(
            actor=editor,
            table=visitors,
            title="",
            deadline=TODAY - dt.timedelta(days=1),
            facilities=["a", "a"],
            today=TODAY,
        )
    assert set(exc.value.details) == {"title", "deadline", "facilities"}
    empty = Table.objects.create(dataset=visitors.dataset, name="empty", title="空", storage_key="k-empty")
    with pytest.raises(InvalidInput, match="項目定義がありません"):
        services.campaign_create(
            actor=editor, table=empty, title="x", deadline=TODAY, facilities=["a"], today=TODAY
        )


def test_a_schema_that_cannot_check_values_is_refused_plainly(actors: Actors, visitors: Table) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:1])
    (r,) = Recipient.objects.filter(campaign=campaign)
    schema = dict(visitors.schema)
    for f in schema["fields"]:
        if f["name"] == "利用者数":
            f["constraints"] = {"enum": ["たくさん"]}  # text choices on a number column
    Table.objects.filter(pk=visitors.pk).update(schema=schema)
    version = Table.objects.get(pk=visitors.pk).current_version_id
    result = returns.return_submit_rows(
        actor=as_actor(actors, "owner_editor"),
        recipient=r,
        rows=[{"日付": "2025-04-01", "区分": "午前", "利用者数": "3"}],
    )
    assert result.status == SubmissionStatus.REJECTED
    assert "項目定義" in result.message
    assert Table.objects.get(pk=visitors.pk).current_version_id == version


def test_a_table_reshaped_after_the_start_refuses_returns(
    actors: Actors, visitors: Table, tmp_path: Path
) -> None:
    campaign = start(actors, visitors, facilities=FACILITIES[:1])
    (r,) = Recipient.objects.filter(campaign=campaign)
    template = template_of(actors, r)
    schema = dict(visitors.schema)
    schema["fields"] = [
        f for f in schema["fields"] if f["name"] != "備考"
    ]  # the owner re-ingested without 備考
    Table.objects.filter(pk=visitors.pk).update(schema=schema)
    result = submit(actors, tmp_path, r, fill(template, good_rows(1)))
    assert result.status == SubmissionStatus.REJECTED  # type: ignore[attr-defined]
    assert "表の列が変わった" in result.message  # type: ignore[attr-defined]
