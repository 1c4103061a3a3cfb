"""仮名加工・匿名加工 services: plans, runs of an extract, and the refusal of linkage with a 仮名加工 table.

:func:`extract_run` reads the extract with the ingest readers, processes it in memory
(:mod:`machidata.deid.pipeline`) and only then hands the processed rows to ``ingest_file``, so the lake
never holds an identifier, a birth date or a full address. An extract whose declared column is
missing, whose k is below the plan's, or (匿名加工) that misses a criterion of 施行規則第62条 is
refused whole: nothing reaches the lake, no key is kept, the refusal is audited (``deid.refused``) and
recorded as a refused run without any value.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
from django.conf import settings
from django.db import transaction

from machidata.access.models import PersonalData
from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.models import Dataset, Table
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.deid import keys, pipeline
from machidata.deid.models import DeidPlan, DeidRun, Kind, RunStatus

MAX_COLUMNS: Final = 200
MIN_K: Final = 2
MAX_K: Final = 1000
KINDS: Final = {
    PersonalData.PSEUDONYMISED.value: Kind.PSEUDONYMISED,
    PersonalData.ANONYMISED.value: Kind.ANONYMISED,
}
LINK_PERSONAL: Final = frozenset({PersonalData.PERSONAL, PersonalData.SENSITIVE})


class ExtractRefused(InvalidInput):
    """The whole extract was refused; ``details["run"]`` is the refused run's id."""


class LinkageRefused(InvalidInput):
    """A recipe or statement would combine a 仮名加工 table with what could re-identify it."""


# ---- plans ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """Text without control characters (PostgreSQL refuses NUL in text and JSON)."""
    return "".join(ch for ch in str(value or "") if ch >= " " or ch == "\n").strip()


def _names(values: Iterable[Any], label: str) -> list[str]:
    out = []
    for v in values:
        name = _text(v)
        if not name:
            continue
        if len(name) > 200:
            raise InvalidInput(f"{label}の列名が長すぎます（200字まで）。", details={label: name[:50]})
        out.append(name)
    if len(out) > MAX_COLUMNS:
        raise InvalidInput(f"{label}は {MAX_COLUMNS} 列までです。")
    return list(dict.fromkeys(out))


def _check_plan(  # noqa: PLR0912 - the plan's fields, validated together
    *,
    kind: str,
    identifiers: list[str],
    quasi: list[dict[str, Any]],
    drop: list[str],
    top_code: list[dict[str, Any]],
    k: int,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    if not identifiers:
        raise InvalidInput(
            "直接の識別子（氏名・宛名番号など）の列を1つ以上指定してください。", details={"identifiers": ""}
        )
    q_out: list[dict[str, str]] = []
    for q in quasi:
        column = _text((q or {}).get("column", ""))
        method = _text((q or {}).get("method", ""))
        if not column:
            continue
        if method not in pipeline.METHODS:
            raise InvalidInput(
                f"列「{column[:50]}」の粗くする方法「{method[:20]}」は選べません"
                f"（{'、'.join(pipeline.METHODS)}）。",
                details={"quasi": column[:50]},
            )
        q_out.append({"column": column[:200], "method": method})
    if not q_out:
        raise InvalidInput(
            "準識別子（生年月日・住所など）の列を1つ以上指定してください。", details={"quasi": ""}
        )
    if len(q_out) > MAX_COLUMNS:
        raise InvalidInput(f"準識別子は {MAX_COLUMNS} 列までです。")
    t_out: list[dict[str, Any]] = []
    for t in top_code:
        column = _text((t or {}).get("column", ""))
        if not column:
            continue
        try:
            cap = float((t or {}).get("cap"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput(
                f"列「{column[:50]}」の上限は数で書いてください。", details={"top_code": column[:50]}
            ) from None
        if not math.isfinite(cap) or abs(cap) > 1e15:
            raise InvalidInput(
                f"列「{column[:50]}」の上限が正しくありません。", details={"top_code": column[:50]}
            )
        t_out.append({"column": column[:200], "cap": cap})
    if kind == Kind.PSEUDONYMISED and t_out:
        raise InvalidInput("上限でまとめる処理は匿名加工の設定でだけ使えます。", details={"top_code": ""})
    if not MIN_K <= k <= MAX_K:
        raise InvalidInput(f"k は {MIN_K} 以上 {MAX_K} 以下で指定してください。", details={"k": k})
    seen: dict[str, str] = {}
    roles: list[tuple[str, list[str]]] = [
        ("識別子", identifiers),
        ("準識別子", [q["column"] for q in q_out]),
        ("削除する列", drop),
        ("上限でまとめる列", [str(t["column"]) for t in t_out]),
    ]
    for role, cols in roles:
        for c in cols:
            if c in seen:
                raise InvalidInput(
                    f"列「{c[:50]}」が「{seen[c]}」と「{role}」の両方にあります。1つにしてください。"
                )
            seen[c] = role
    return q_out, t_out


@transaction.atomic
def plan_create(
    *,
    actor: Actor,
    dataset: Dataset,
    title: str,
    table_name: str,
    identifiers: Sequence[str],
    quasi: Sequence[dict[str, Any]],
    drop: Sequence[str] = (),
    top_code: Sequence[dict[str, Any]] = (),
    unusual_note: str = "",
    k: int = 5,
    source_dataset: Dataset | None = None,
) -> DeidPlan:
    """A new plan writing into ``dataset`` (EDIT), whose class (仮名加工情報 / 匿名加工情報) sets the kind."""
    from machidata.ingest.services import table_name_from

    if not can(actor, Action.EDIT, dataset):
        raise PermissionDenied("このデータセットに加工の設定を作る権限がありません。")
    kind = KINDS.get(dataset.personal_data)
    if kind is None:
        raise InvalidInput(
            "保存先のデータセットの「個人情報の区分」を「仮名加工情報」か「匿名加工情報」にしてください。",
            details={"dataset": dataset.slug},
        )
    title = _text(title)[:200]
    if not title:
        raise InvalidInput("加工の名前を入力してください。", details={"title": ""})
    name = table_name_from(_text(table_name) or title)
    if DeidPlan.objects.filter(dataset=dataset, table_name=name).exists():
        raise InvalidInput(f"表「{name}」の加工の設定はすでにあります。", details={"table_name": name})
    ids = _names(identifiers, "識別子")
    drops = _names(drop, "削除する列")
    q_out, t_out = _check_plan(
        kind=kind, identifiers=ids, quasi=list(quasi), drop=drops, top_code=list(top_code), k=int(k)
    )
    if source_dataset is not None and source_dataset.pk == dataset.pk:
        raise InvalidInput(
            "元データには保存先と別のデータセットを指定してください。", details={"source_dataset": ""}
        )
    plan = DeidPlan.objects.create(
        dataset=dataset, table_name=name, title=title, kind=kind, source_dataset=source_dataset,
        identifiers=ids, quasi=q_out, drop=drops, top_code=t_out, unusual_note=_text(unusual_note)[:2000],
        k=int(k), created_by_id=actor.user_id,
    )  # fmt: skip
    audit_record(
        actor=actor,
        action="deid.plan_create",
        obj=plan,
        changes={"dataset": dataset.slug, "table": name, "kind": kind, "k": plan.k,
                 "identifiers": ids, "quasi": q_out, "drop": drops, "top_code": t_out},
    )  # fmt: skip
    return plan


def spec_of(plan: DeidPlan, as_of: dt.date) -> pipeline.Spec:
    """The pipeline's view of a plan on a reference date."""
    return pipeline.Spec(
        kind=plan.kind,
        identifiers=tuple(plan.identifiers),
        quasi=tuple((q["column"], q["method"]) for q in plan.quasi),
        as_of=as_of,
        k=plan.k,
        drop=tuple(plan.drop),
        top_code=tuple((t["column"], float(t["cap"])) for t in plan.top_code),
        unusual_note=plan.unusual_note,
    )


# ---- runs -----------------------------------------------------------------------------------------------


def _read_extract(path: Path, options: dict[str, Any] | None) -> tuple[pa.Table, str]:
    """The whole extract as text columns (the ingest readers: encodings, Excel, header detection)."""
    from machidata.ingest.readers import ReadOptions, read_source
    from machidata.ingest.services import sha256_of

    opts = ReadOptions(**(options or {}))
    if opts.max_bytes is None:
        opts.max_bytes = settings.MACHIDATA_MAX_UPLOAD_BYTES
    source = read_source(path, opts)
    limit = int(getattr(settings, "MACHIDATA_DEID_MAX_ROWS", 2_000_000))
    batches, rows = [], 0
    for batch in source.batches:
        rows += batch.num_rows
        if rows > limit:
            raise InvalidInput(f"抽出ファイルが {limit:,} 行を超えています。分けて取り込んでください。")
        batches.append(batch)
    table = (
        pa.Table.from_batches(batches)
        if batches
        else pa.table({c: pa.array([], pa.string()) for c in source.columns})
    )
    return table, sha256_of(path)


def _refuse(
    *, actor: Actor, plan: DeidPlan, as_of: dt.date, source_name: str, sha: str, rows: int,
    message: str, checks: list[dict[str, Any]] | None = None, k_found: int | None = None,
) -> ExtractRefused:  # fmt: skip
    """Record and audit a refused run (no value of the extract is kept) and return the error to raise."""
    with transaction.atomic():
        run = DeidRun.objects.create(
            plan=plan, status=RunStatus.REFUSED, as_of=as_of, source_name=source_name[:300], source_sha256=sha,
            rows_in=rows, k_found=k_found, checks=checks or [], message=message, created_by_id=actor.user_id,
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="deid.refused",
            obj=run,
            changes={"plan": plan.pk, "dataset": plan.dataset.slug, "table": plan.table_name,
                     "source": source_name[:300], "rows": rows, "k_found": k_found, "reason": message},
        )  # fmt: skip
    return ExtractRefused(message, details={"run": run.pk})


def extract_run(
    *,
    actor: Actor,
    plan: DeidPlan,
    path: Path,
    source_name: str,
    as_of: dt.date | None = None,
    options: dict[str, Any] | None = None,
) -> DeidRun:
    """Process one extract through ``plan`` and commit it as the next version of the plan's table.

    The caller's file at ``path`` is deleted afterwards whatever happens (it holds the raw extract).
    Raises :class:`ExtractRefused` (Japanese, audited, nothing stored) when a rule is not met.
    """
    from machidata.ingest.services import ingest_file, table_get_or_create

    try:
        dataset = plan.dataset
        if not can(actor, Action.EDIT, dataset):
            raise PermissionDenied("このデータセットに取り込む権限がありません。")
        if KINDS.get(dataset.personal_data) != plan.kind:
            raise InvalidInput(
                f"保存先のデータセットの個人情報の区分が「{dataset.get_personal_data_display()}」に変わっているため、"
                f"この{plan.get_kind_display()}の設定では取り込めません。"
            )
        as_of = as_of or dt.date.today()
        source_name = str(source_name or path.name)[:300]
        try:
            extract, sha = _read_extract(path, options)
        except InvalidInput as exc:
            raise _refuse(actor=actor, plan=plan, as_of=as_of, source_name=source_name, sha="", rows=0,
                          message=f"ファイルを読めません: {exc.message}（何も保存していません）。") from None  # fmt: skip
        key = keys.key_new() if plan.kind == Kind.PSEUDONYMISED else None
        outcome = pipeline.process(extract, spec_of(plan, as_of), key)
        if outcome.refusal:
            raise _refuse(actor=actor, plan=plan, as_of=as_of, source_name=source_name, sha=sha,
                          rows=extract.num_rows, message=outcome.refusal, checks=outcome.checks,
                          k_found=outcome.k_found)  # fmt: skip
        return _commit(actor=actor, plan=plan, outcome=outcome, key=key, as_of=as_of,
                       source_name=source_name, sha=sha, rows_in=extract.num_rows,
                       ingest=ingest_file, table_for=table_get_or_create)  # fmt: skip
    finally:
        path.unlink(missing_ok=True)


def _commit(
    *, actor: Actor, plan: DeidPlan, outcome: pipeline.Outcome, key: bytes | None, as_of: dt.date,
    source_name: str, sha: str, rows_in: int, ingest: Any, table_for: Any,
) -> DeidRun:  # fmt: skip
    """Write the processed rows through ingest (a private temporary CSV), keep the key, record the run."""
    key_id = keys.key_store(key) if key is not None else ""
    work = Path(settings.MACHIDATA_HOME) / "tmp" / "deid"
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.NamedTemporaryFile(dir=work, suffix=".csv", delete=False) as fh:
        tmp = Path(fh.name)
    try:
        pacsv.write_csv(outcome.table, tmp)
        table: Table = table_for(actor=actor, dataset=plan.dataset, name=plan.table_name, title=plan.title)
        label = "仮名加工" if plan.kind == Kind.PSEUDONYMISED else "匿名加工"
        version = ingest(
            actor=actor, table=table, path=tmp, source_name=f"{source_name}（{label}済み）",
            options={"encoding": "utf-8", "format": "csv", "header_row": 1}, note=f"{plan.title}（基準日 {as_of:%Y-%m-%d}）",
        )  # fmt: skip
    except InvalidInput as exc:
        if key_id:
            keys.key_discard(key_id)
        raise _refuse(actor=actor, plan=plan, as_of=as_of, source_name=source_name, sha=sha, rows=rows_in,
                      message=f"取り込めませんでした: {exc.message}", checks=outcome.checks,
                      k_found=outcome.k_found) from None  # fmt: skip
    except BaseException:
        if key_id:
            keys.key_discard(key_id)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    record = {**outcome.record, "source_sha256": sha}
    if key_id:
        record.update({"key_id": key_id, "algorithm": "HMAC-SHA256（先頭128ビットを16進で）",
                       "key_location": "MACHIDATA_DEID_KEY_DIR（既定: MACHIDATA_HOME/keys/deid）", "normalisation": "NFKC・前後の空白を除く"})  # fmt: skip
    with transaction.atomic():
        run = DeidRun.objects.create(
            plan=plan, status=RunStatus.DONE, as_of=as_of, source_name=source_name, source_sha256=sha,
            rows_in=rows_in, rows_out=outcome.table.num_rows, k_found=outcome.k_found, key_id=key_id,
            version=version, checks=outcome.checks, record=record, created_by_id=actor.user_id,
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="deid.run",
            obj=run,
            changes={"plan": plan.pk, "dataset": plan.dataset.slug, "table": plan.table_name, "kind": plan.kind,
                     "version": version.number, "rows": run.rows_out, "k_found": run.k_found, "key_id": key_id},
        )  # fmt: skip
    return run


# ---- linkage ----------------------------------------------------------------------------------------------


def linkage_problem(tables: Sequence[Table], *, output: Dataset | None = None) -> str:
    """Why these tables may not be read together (or written into ``output``), or "" when they may.

    A 仮名加工 table may not meet a table holding 個人情報 or 要配慮個人情報 (which is where the direct
    identifiers — the key back to the person — live), nor any table of its plan's declared source
    dataset; what is made from it must stay in a 仮名加工情報 dataset (個人情報保護法第73条).
    """
    pseudo = [t for t in tables if t.dataset.personal_data == PersonalData.PSEUDONYMISED]
    if not pseudo:
        return ""
    names = "、".join(dict.fromkeys(f"「{t.title}」" for t in pseudo))
    sources = set(
        DeidPlan.objects.filter(
            dataset_id__in={t.dataset_id for t in pseudo}, source_dataset__isnull=False
        ).values_list("source_dataset_id", flat=True)
    )
    for t in tables:
        if t.dataset_id in sources:
            return (
                f"仮名加工情報の表{names}は、その元データ「{t.title}」と結合できません"
                "（個人情報保護法第73条: 本人を識別するための照合の禁止）。"
            )
        if t.dataset.personal_data in LINK_PERSONAL:
            return (
                f"仮名加工情報の表{names}は、個人情報を含む表「{t.title}」と一緒に使えません"
                "（識別子と照合できてしまうため。個人情報保護法第73条）。"
            )
    if output is not None and output.personal_data != PersonalData.PSEUDONYMISED:
        return (
            f"仮名加工情報の表{names}から作る表は、個人情報の区分が「仮名加工情報」のデータセットにしか"
            "保存できません（庁外に出さないため）。"
        )
    return ""


def refuse_linkage(
    actor: Actor, tables: Sequence[Table], *, where: str, output: Dataset | None = None
) -> None:
    """Raise :class:`LinkageRefused` (audited as ``deid.linkage_refused``) when :func:`linkage_problem` says no."""
    problem = linkage_problem(tables, output=output)
    if not problem:
        return
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="deid.linkage_refused",
            object_type="deid.linkage",
            object_repr="仮名加工情報の結合",
            changes={"where": where, "tables": [f"{t.dataset.slug}/{t.name}" for t in tables],
                     "output": output.slug if output is not None else "", "reason": problem},
        )  # fmt: skip
    raise LinkageRefused(problem)
