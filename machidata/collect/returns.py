"""Returns of a campaign (照会の回答): an uploaded template or a few rows from the web form, checked and written.

A return goes through the same steps as an ingestion (``machidata.ingest``): the Excel reader reads
the 回答 sheet as text, ``normalise_batch`` and ``validate_batch`` check it against the table's
項目定義 and give the same Japanese report. A return with any problem writes nothing: it is
recorded as 差し戻し with its report, and the recipient shows as 要修正. A clean return becomes one
new version of the table through ``lake.write_version`` (outside any transaction, as the lake requires):

* every row carries ``回答元`` (the recipient's name) and ``照会番号`` (the campaign id); the two
  columns are added to the table's 項目定義 on the first return if it lacks them;
* a first return is an *append* when the table already has both columns; otherwise (first campaign
  on the table, or a recipient sending again) the version is the union of the current version and
  the new rows (*replace*);
* **sending again replaces**: the rows of the same recipient in the same campaign (same 回答元 and
  照会番号) are dropped from the union, so the table holds each recipient's latest accepted return.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from machidata.access.policy import Actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Table, TableVersion
from machidata.collect import selectors
from machidata.collect.models import (
    CAMPAIGN_COLUMN,
    SENDER_COLUMN,
    SYSTEM_COLUMNS,
    Campaign,
    CampaignStatus,
    Recipient,
    RecipientStatus,
    Submission,
    SubmissionStatus,
)
from machidata.collect.workbook import DATA_SHEET, check_header, read_identity
from machidata.core.errors import Conflict, InvalidInput, PermissionDenied
from machidata.notify.services import notify

logger = logging.getLogger("machidata.collect")

MAX_RETURN_ROWS: Final = 50_000  # a return is a few hundred rows; bigger files go through ingestion
MAX_FORM_ROWS: Final = 20


def _check_can_submit(actor: Actor, recipient: Recipient) -> None:
    if not selectors.may_answer(actor, recipient):
        raise PermissionDenied("この回答先として提出する権限がありません。")
    if recipient.campaign.status != CampaignStatus.OPEN:
        raise Conflict(
            "この照会は締め切られたため、回答を受け付けていません。照会した課にお問い合わせください。"
        )


def return_submit_file(*, actor: Actor, recipient: Recipient, upload: Any, source_name: str) -> Submission:
    """Take an uploaded template (path or Django UploadedFile): accepted as a new version, or rejected with reasons."""
    from machidata.ingest.readers import ReadOptions, read_source
    from machidata.ingest.services import store_upload

    _check_can_submit(actor, recipient)
    campaign = recipient.campaign
    path = store_upload(upload, name=source_name or "return.xlsx")
    try:
        try:
            identity = read_identity(path)
            if identity.campaign_id != campaign.pk:
                other = (
                    Campaign.objects.filter(pk=identity.campaign_id).values_list("title", flat=True).first()
                )
                raise InvalidInput(
                    f"このファイルは別の照会（{'「' + other + '」' if other else '番号 ' + str(identity.campaign_id)}）"
                    f"の様式です。照会「{campaign.title}」の様式をダウンロードして入力してください。"
                )
            if identity.recipient_id != recipient.pk:
                meant = Recipient.objects.filter(pk=identity.recipient_id, campaign=campaign).first()
                who = f"「{meant.name}」" if meant else "ほかの回答先"
                raise InvalidInput(
                    f"このファイルは{who}あての様式です。「{recipient.name}」の回答には「{recipient.name}」の様式を使ってください。"
                )
            source = read_source(path, ReadOptions(sheets=[DATA_SHEET], header_row=1, format="xlsx"))
            check_header(source.columns, [c["header"] for c in campaign.columns])
            batches = list(source.batches)
        except InvalidInput as exc:
            message = exc.message
            if "表が見つかりません" in message:
                message = f"「{DATA_SHEET}」シートに回答の行がありません。2行目から入力してください。"
            return _reject(actor=actor, recipient=recipient, source_name=source_name, message=message)
        table = pa.Table.from_batches(batches, schema=source.schema) if batches else None
        first_row = int(source.detection.get("data_start_row", 2) or 2)
        return _accept_or_reject(
            actor=actor, recipient=recipient, raw=table, first_row=first_row, source_name=source_name
        )
    finally:
        path.unlink(missing_ok=True)


def return_submit_rows(*, actor: Actor, recipient: Recipient, rows: Sequence[dict[str, Any]]) -> Submission:
    """Take a few rows typed in the web form (header → text); same checks and write as a file."""
    _check_can_submit(actor, recipient)
    headers = [c["header"] for c in recipient.campaign.columns]
    unknown = sorted({k for r in rows for k in r if k not in headers})
    if unknown:
        raise InvalidInput("様式にない列が指定されました: " + "、".join(unknown), details={"rows": unknown})
    kept = [r for r in rows if any(str(r.get(h) or "").strip() for h in headers)]
    if len(kept) > MAX_FORM_ROWS:
        raise InvalidInput(
            f"画面からの入力は{MAX_FORM_ROWS}行までです。それより多い場合は様式で提出してください。"
        )
    if not kept:
        return _reject(
            actor=actor,
            recipient=recipient,
            source_name="画面から入力",
            message="入力された行がありません。1行以上入力してください。",
        )
    data = {
        h: [(str(r.get(h)).strip() or None) if r.get(h) is not None else None for r in kept] for h in headers
    }
    table = pa.table({h: pa.array(v, pa.string()) for h, v in data.items()})
    return _accept_or_reject(
        actor=actor, recipient=recipient, raw=table, first_row=1, source_name="画面から入力"
    )


def _collect_schema(table: Table) -> Any:
    """The table's 項目定義 with 回答元 and 照会番号 added when missing (every field naming its source column)."""
    from machidata.ingest.schema import Field, TableSchema

    schema = TableSchema.from_dict(table.schema)
    names = set(schema.names)
    if SENDER_COLUMN not in names:
        schema.fields.append(
            Field(
                name=SENDER_COLUMN,
                type="string",
                title=SENDER_COLUMN,
                description="照会でこの行を回答した課・施設",
            )
        )
    if CAMPAIGN_COLUMN not in names:
        schema.fields.append(
            Field(
                name=CAMPAIGN_COLUMN,
                type="integer",
                title=CAMPAIGN_COLUMN,
                description="この行を集めた照会の番号",
            )
        )
    for f in schema.fields:
        f.source = f.source_column
    return schema


def _reject(
    *,
    actor: Actor,
    recipient: Recipient,
    source_name: str,
    message: str,
    report: dict[str, Any] | None = None,
) -> Submission:
    with transaction.atomic():
        submission = Submission.objects.create(
            recipient=recipient,
            status=SubmissionStatus.REJECTED,
            source_name=source_name[:300],
            message=message,
            report=report or {},
            submitted_by_id=actor.user_id,
        )
        if recipient.status != RecipientStatus.ANSWERED:
            Recipient.objects.filter(pk=recipient.pk).update(status=RecipientStatus.NEEDS_FIX)
            recipient.status = RecipientStatus.NEEDS_FIX
        audit_record(
            actor=actor,
            action="collect.return_reject",
            obj=submission,
            changes={
                "campaign": recipient.campaign_id,
                "recipient": recipient.name,
                "message": message[:500],
            },
        )
    return submission


class _Refused(Exception):  # noqa: N818 - internal signal carried to one place that records it
    """A return that cannot be taken: the Japanese message and, for value problems, ingestion's report."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.report = report


def _checked(
    *, campaign: Campaign, table: Table, schema: Any, raw: pa.Table | None, first_row: int, sender: str
) -> tuple[Any, Any]:
    """Normalise and validate a return's text rows against the table's 項目定義: (NormaliseResult, report)."""
    from machidata.ingest import normalise, validate

    n = raw.num_rows if raw is not None else 0
    if raw is None or n == 0:
        raise _Refused(f"「{DATA_SHEET}」シートに回答の行がありません。2行目から入力してください。")
    if n > MAX_RETURN_ROWS:
        raise _Refused(f"回答は{MAX_RETURN_ROWS:,}行までです（{n:,}行ありました）。")
    ask = f"{campaign.unit.name}（照会した課）にお問い合わせください。"
    if {f.source_column for f in schema.fields if f.name not in SYSTEM_COLUMNS} != set(raw.column_names):
        # The table was replaced by one of another shape after the campaign started.
        raise _Refused("照会を始めたあとで表の列が変わったため、この様式の回答を表に加えられません。" + ask)
    batch = raw.combine_chunks().to_batches()[0]
    batch = batch.append_column(SENDER_COLUMN, pa.array([sender] * n, pa.string()))
    batch = batch.append_column(CAMPAIGN_COLUMN, pa.array([str(campaign.pk)] * n, pa.string()))
    try:
        result = normalise.normalise_batch(batch, schema, row_offset=first_row)
        issues = validate.validate_batch(result.batch, schema, row_offset=first_row)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        # e.g. an enum whose values are not of the column's type: the 項目定義 itself must be fixed
        logger.exception("validating a return against table %s failed", table.pk)
        raise _Refused(
            "表の項目定義（選択肢や範囲）と列の型が合わないため、回答を確認できませんでした。" + ask
        ) from exc
    report = validate.ValidationReport(limit=200)
    report.add(result.issues + issues, extra_counts=result.failures)
    report.rows_checked = n
    if not report.ok:
        raise _Refused(
            f"{report.summary_ja()}。受け付けていません（表には何も書き込んでいません）。直して提出し直してください。",
            report.to_dict(),
        )
    return result, report


def _accept_or_reject(
    *, actor: Actor, recipient: Recipient, raw: pa.Table | None, first_row: int, source_name: str
) -> Submission:
    campaign = recipient.campaign
    table = Table.objects.select_related("dataset", "current_version").get(pk=campaign.table_id)
    schema = _collect_schema(table)
    try:
        result, report = _checked(
            campaign=campaign, table=table, schema=schema, raw=raw, first_row=first_row, sender=recipient.name
        )
        version, replaced = _write(
            table=table,
            schema=schema,
            batch=result.with_raw(),
            actor=actor,
            recipient=recipient,
            source_name=source_name,
            report=report,
        )
    except _Refused as exc:
        return _reject(
            actor=actor, recipient=recipient, source_name=source_name, message=exc.message, report=exc.report
        )
    except InvalidInput as exc:  # the lake refused the write (nothing was committed)
        return _reject(actor=actor, recipient=recipient, source_name=source_name, message=exc.message)
    rows = raw.num_rows if raw is not None else 0
    submission = _record_accept(
        actor=actor,
        recipient=recipient,
        table=table,
        schema=schema,
        version=version,
        rows=rows,
        replaced=replaced,
        source_name=source_name,
    )
    from machidata.collect.followups import follow_up_close  # a data request this campaign answers

    follow_up_close(campaign=recipient.campaign)
    return submission


def _conform(old: pa.Table, target: pa.Schema) -> pa.Table:
    """The current version's rows in the target layout: new columns empty, same types; unknown data columns refused."""
    arrays = []
    for f in target:
        if f.name in old.column_names:
            try:
                arrays.append(old.column(f.name).cast(f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"今の表の列「{f.name}」の型が項目定義と合わないため、回答を加えられません。データ戦略課にご相談ください。"
                ) from exc
        else:
            arrays.append(pa.nulls(old.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=target)


def _write(
    *,
    table: Table,
    schema: Any,
    batch: pa.RecordBatch,
    actor: Actor,
    recipient: Recipient,
    source_name: str,
    report: Any,
) -> tuple[TableVersion, int]:
    """One new version with the return's rows: append when possible, else the union (replacing earlier rows)."""
    import pyarrow.dataset as pads

    from machidata.ingest.normalise import arrow_schema_with_raw
    from machidata.lake.protocol import write_version
    from machidata.lake.readers import files_for

    campaign = recipient.campaign
    target = arrow_schema_with_raw(schema)
    current = table.current_version
    had_columns = bool(table.schema) and all(
        any(f.get("name") == c for f in table.schema.get("fields", [])) for c in SYSTEM_COLUMNS
    )
    again = Submission.objects.filter(recipient=recipient, status=SubmissionStatus.ACCEPTED).exists()
    common: dict[str, Any] = {
        "table": table,
        "job_id": f"collect-{campaign.pk}-{recipient.pk}-{uuid.uuid4().hex[:8]}",
        "actor_user_id": actor.user_id,
        "source_name": source_name[:300],
        "note": f"照会「{campaign.title}」: {recipient.name}の回答",
        "reports": {
            "validation": report.to_dict(),
            "collect": {"campaign": campaign.pk, "recipient": recipient.name},
        },
    }
    new = pa.Table.from_batches([batch]).select(target.names).cast(target)
    if current is not None and had_columns and not again:
        try:
            return write_version(batches=new.to_batches(), schema=target, mode="append", **common), 0
        except InvalidInput:
            logger.info("append refused for table %s; writing the union instead", table.pk)
    replaced = 0
    if current is not None:
        files = files_for(current)
        old = pads.dataset(files, format="parquet").to_table() if files else pa.table({})
        old = old.drop_columns([c for c in old.column_names if c == "_id"])
        extra = [c for c in old.column_names if c not in target.names and not c.endswith("__raw")]
        if extra:
            raise InvalidInput(
                "今の表に項目定義にない列（" + "、".join(extra) + "）があるため、回答を加えられません。"
                "データ戦略課にご相談ください。"
            )
        for c in old.column_names:  # raw text columns of the current version are kept as they are
            if c not in target.names:
                target = target.append(pa.field(c, pa.string()))
        new = _conform(new, target)
        if SENDER_COLUMN in old.column_names and CAMPAIGN_COLUMN in old.column_names:
            mine = pc.and_(
                pc.equal(old.column(SENDER_COLUMN), recipient.name),
                pc.equal(old.column(CAMPAIGN_COLUMN).cast(pa.int64()), campaign.pk),
            )
            mine = pc.fill_null(mine, False)
            replaced = int(pc.sum(pc.cast(mine, pa.int64())).as_py() or 0)
            old = old.filter(pc.invert(mine))
        union = pa.concat_tables([_conform(old, target), new])
    else:
        union = new
    version = write_version(batches=union.to_batches(), schema=target, mode="replace", **common)
    return version, replaced


def _record_accept(
    *,
    actor: Actor,
    recipient: Recipient,
    table: Table,
    schema: Any,
    version: TableVersion,
    rows: int,
    replaced: int,
    source_name: str,
) -> Submission:
    campaign = recipient.campaign
    with transaction.atomic():
        stored = Table.objects.select_for_update().get(pk=table.pk)
        names = {f.get("name") for f in (stored.schema or {}).get("fields", [])}
        if not set(SYSTEM_COLUMNS) <= names:
            fields = list((stored.schema or {}).get("fields", []))
            fields += [f.to_dict() for f in schema.fields if f.name in SYSTEM_COLUMNS and f.name not in names]
            stored.schema = {**(stored.schema or {}), "fields": fields}
            stored.save(update_fields=["schema", "updated_at"])
        submission = Submission.objects.create(
            recipient=recipient,
            status=SubmissionStatus.ACCEPTED,
            source_name=source_name[:300],
            rows=rows,
            replaced_rows=replaced,
            message=(
                f"{rows:,}行を受け付けました（表の第{version.number}版）。"
                + (f"前回の回答{replaced:,}行と置き換えました。" if replaced else "")
            ),
            version=version,
            submitted_by_id=actor.user_id,
        )
        now = timezone.now()
        Recipient.objects.filter(pk=recipient.pk).update(
            status=RecipientStatus.ANSWERED, rows=rows, answered_at=now
        )
        recipient.status, recipient.rows, recipient.answered_at = RecipientStatus.ANSWERED, rows, now
        audit_record(
            actor=actor,
            action="collect.return_accept",
            obj=submission,
            changes={
                "campaign": campaign.pk,
                "recipient": recipient.name,
                "rows": rows,
                "replaced_rows": replaced,
                "version": version.number,
            },
        )
        notify(
            users=[campaign.created_by_id] if campaign.created_by_id else [],
            message=f"照会「{campaign.title}」に{recipient.name}から回答がありました（{rows:,}行）。",
            link=reverse("collect:detail", args=[campaign.pk]),
            exclude=actor,
        )
    return submission
