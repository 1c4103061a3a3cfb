"""Bringing in what is already published: an オープンデータ一覧 or a CKAN portal → catalog entries with their files.

``opendata_preview`` reads the source (the list file, or the portal's ``package_search`` page by page),
keeps what it read on an :class:`OpenDataRun` and plans every dataset without writing anything: 作成・
更新（どの項目）・変更なし・取り込まない (with the reason), and for each file whether it becomes a table,
stays a link (PDF, a page, a host not allowed) or is unchanged. ``opendata_start`` runs the same plan as a
job (``collect.opendata_import``) with progress, one dataset at a time:

1. the dataset's files are fetched through the allowed-host rule (:mod:`machidata.collect.remote`) and
   read through ingestion's readers and personal-number screen, **before anything is written**: a file
   that cannot be fetched or read fails the dataset, and nothing of it is written (metadata included);
2. the catalog entry is created or updated (``dataset_create`` / ``dataset_update``, so the catalog's
   rules and audit apply), its :class:`OpenDataEntry` and file records, in one transaction;
3. each new or changed file becomes the next version of its table through ``ingest.services.ingest_file``
   (the normal path; the lake commits on its own, outside any transaction).

Entries are matched on the source's stable key (the CKAN package id; the list's 団体コード and NO, else its
URL), never on titles. A re-run changes only what the source changed since the last run: metadata is
compared with what was last taken from the source (so an edit made in machidata is not undone by an
unchanged list), files by CKAN's ``url|last_modified`` or ``hash``, the ETag and the SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from machidata.access.models import Classification, PersonalData, Unit
from machidata.access.policy import Action, Actor, can
from machidata.audit.services import audit_record
from machidata.catalog.inventory.values import CellError, Resolver, frequency_value
from machidata.catalog.models import Dataset, Licence, Location, Source, Table, ValidationPolicy
from machidata.collect.models import (
    ImportKind,
    ImportMode,
    ImportSource,
    OpenDataEntry,
    OpenDataOrigin,
    OpenDataResource,
    OpenDataRun,
)
from machidata.collect.opendata_sources import Listed, ListedFile, listed_from_ckan, portal_origin
from machidata.core.errors import Conflict, InvalidInput, MachidataError, NotFound, PermissionDenied

logger = logging.getLogger("machidata.collect")

CREATE, UPDATE, UNCHANGED, SKIP, FAILED = "create", "update", "unchanged", "skip", "failed"
STATUS_LABELS = {
    CREATE: "作成",
    UPDATE: "更新",
    UNCHANGED: "変更なし",
    SKIP: "取り込まない",
    FAILED: "エラー",
}
# What happens to one file.
INGEST, SAME, LINK, REFUSED = "ingest", "same", "link", "refused"
FILE_LABELS = {INGEST: "表に取り込む", SAME: "変更なし", LINK: "リンクのみ", REFUSED: "取り込まない"}
MAX_LIST_BYTES = 20 * 1024 * 1024
MAX_DATASETS = 2000
# Catalog fields an import sets, with the words staff read in the preview.
FIELD_LABELS = {
    "title": "タイトル", "description": "説明", "owner": "所管課", "category": "分野", "licence": "ライセンス",
    "keywords": "キーワード", "frequency": "更新頻度", "formats": "形式", "source_detail": "元の公開ページ",
    "location": "データの所在", "location_detail": "所在の詳細", "lg_code": "全国地方公共団体コード",
}  # fmt: skip


# ---- planning ------------------------------------------------------------------------------------


@dataclass
class FilePlan:
    """One file: what will happen to it and why."""

    name: str
    url: str
    format: str
    action: str
    reason: str = ""
    table: str = ""

    @property
    def action_label(self) -> str:
        """The action in Japanese."""
        return FILE_LABELS[self.action]


@dataclass
class Plan:
    """One listed dataset: created, updated (which fields), unchanged, left out or failed, with the reasons."""

    key: str
    position: int
    title: str
    status: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    slug: str = ""
    files: list[FilePlan] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        """The status in Japanese."""
        return STATUS_LABELS[self.status]

    def as_dict(self) -> dict[str, Any]:
        """JSON for the run's preview and result."""
        return {
            "key": self.key, "position": self.position, "title": self.title, "status": self.status,
            "reasons": self.reasons, "warnings": self.warnings, "changed": self.changed, "slug": self.slug,
            "files": [f.__dict__ for f in self.files],
        }  # fmt: skip


def _loose(text: str) -> str:
    return re.sub(r"[\s・･/\-_.,、()（）]", "", unicodedata.normalize("NFKC", text or "")).lower()


def licence_for(raw: str, licences: list[Licence]) -> Licence | None:
    """The registered licence a source's words name: by code or name, or by the CC / PDL words in them."""
    key = _loose(raw)
    if not key:
        return None
    for licence in licences:
        if key in {_loose(licence.code), _loose(licence.name)}:
            return licence
    for licence in licences:  # 「…（CC BY 4.0）」: the abbreviation in the name's brackets
        for inner in re.findall(r"[（(]([^（）()]+)[）)]", licence.name):
            if _loose(inner) == key:
                return licence
    cc_by = (
        "ccby" in key
        or "creativecommonsattribution" in key
        or ("クリエイティブコモンズ" in key and "表示" in key)
    )
    words = unicodedata.normalize("NFKC", raw).lower()
    derived = bool(
        re.search(
            r"(?<![a-z])(sa|nd|nc)(?![a-z])|sharealike|noderiv|noncommercial|継承|改変禁止|非営利", words
        )
    )
    wanted = ""
    if cc_by and not derived:
        wanted = "ccby"
    elif "pdl" in key or "公共データ利用規約" in key:
        wanted = "pdl"
    if wanted:
        for licence in licences:
            if _loose(licence.code).startswith(wanted) or wanted in _loose(licence.name):
                return licence
    return None


class _Context:
    """What one plan or run looks up once: units, vocabularies, licences and the existing entries."""

    def __init__(self, run: OpenDataRun) -> None:
        self.run = run
        self.resolver = Resolver()
        self.licences = list(Licence.objects.all())
        self.origin = _origin(run)
        self.entries = {
            e.key: e
            for e in OpenDataEntry.objects.filter(origin=self.origin).select_related(
                "dataset", "dataset__owner"
            )
        }


def _origin(run: OpenDataRun) -> str:
    if run.origin == OpenDataOrigin.CKAN:
        return portal_origin(run.source)
    # Keys of list entries carry their own 団体コード (``431001/no:1``); the origin is this instance's lists.
    return f"list:{settings.MACHIDATA_LG_CODE}"


def _data_for(listed: Listed, ctx: _Context, *, has_tables: bool) -> tuple[dict[str, Any], list[str]]:
    """The catalog fields of one listed dataset, as codes (JSON), and warnings about words not understood."""
    warnings: list[str] = []
    owner = ctx.run.owner
    if listed.department:
        try:
            owner = ctx.resolver.owner(listed.department)
        except CellError:
            warnings.append(
                f"所管課「{listed.department}」が組織にないため、{ctx.run.owner.name}の所管として登録します。"
            )
    data: dict[str, Any] = {
        "title": listed.title[:200],
        "description": listed.description,
        "owner": owner.code,
        "keywords": [w[:50] for w in listed.keywords][:30],
        "classification": Classification.PUBLIC,
        "personal_data": PersonalData.NONE,
        "source": Source.CITY,
        "source_detail": listed.page_url[:500],
        "location": Location.MACHIDATA if has_tables else Location.EXTERNAL_URL,
        "location_detail": "" if has_tables else listed.page_url[:500],
    }
    if listed.lg_code:
        data["lg_code"] = listed.lg_code
    _vocabularies(listed, ctx, data, warnings)
    return data, warnings


def _vocabularies(listed: Listed, ctx: _Context, data: dict[str, Any], warnings: list[str]) -> None:
    """分野, ライセンス, 更新頻度 and 形式 from the source's words (words not registered are warnings)."""
    data["category"] = None
    if listed.category:
        for word in re.split(r"[、,／/]", listed.category):
            try:
                data["category"] = ctx.resolver.category(word.strip()).code
                break
            except CellError:
                continue
        else:
            warnings.append(
                f"分類「{listed.category}」に当たる分野が登録されていないため、分野は空にします。"
            )
    data["licence"] = None
    if listed.licence:
        licence = licence_for(listed.licence, ctx.licences)
        if licence is None:
            warnings.append(f"ライセンス「{listed.licence}」が登録されていないため、ライセンスは空にします。")
        else:
            data["licence"] = licence.code
    if listed.frequency:
        try:
            data["frequency"] = frequency_value(listed.frequency)
        except CellError:
            warnings.append(f"更新頻度「{listed.frequency}」を読み取れないため、「不定期」とします。")
    data["formats"] = _format_codes(listed, ctx)


def _format_codes(listed: Listed, ctx: _Context) -> list[str]:
    """The registered 形式 the list's データ形式 and the files' formats name (others are left out)."""
    codes: list[str] = []
    for word in [listed.formats, *(f.format for f in listed.files)]:
        for token in re.split(r"[、,，/／・\s]+", word or ""):
            if not token.strip():
                continue
            try:
                codes += [c for c in ctx.resolver.format_codes(token) if c not in codes]
            except CellError:
                continue
    return sorted(codes)


def _file_plans(listed: Listed, ctx: _Context, entry: OpenDataEntry | None) -> list[FilePlan]:
    from machidata.collect.remote import host_allowed

    records = {r.key: r for r in entry.resources.select_related("table")} if entry is not None else {}
    plans: list[FilePlan] = []
    for f in listed.files:
        plan = FilePlan(name=f.name, url=f.url, format=f.format, action=LINK)
        record = records.get(f.key)
        if not f.is_table:
            plan.reason = f"形式（{f.format.upper() or '不明'}）は表にできないため、リンクとして記録します。"
        elif not ctx.run.fetch_files:
            plan.reason = "「ファイルも取り込む」を選んでいないため、リンクとして記録します。"
        elif not host_allowed(f.url):
            plan.action = REFUSED
            plan.reason = (
                "取り込みを許されたサーバーではないため、ファイルは取り込みません（リンクとして記録します）。"
            )
        elif record is not None and record.table is not None and _unchanged_by_portal(f, record):
            plan.action, plan.reason, plan.table = (
                SAME,
                "ポータルの更新日時（またはハッシュ）が前回と同じです。",
                record.table.name,
            )
        else:
            plan.action = INGEST
            plan.table = record.table.name if record is not None and record.table is not None else ""
            plan.reason = "前回と同じ内容なら新しい版は作りません。" if plan.table else "新しい表を作ります。"
        plans.append(plan)
    return plans


def _remote_version(f: ListedFile) -> str:
    return f"{f.url}|{f.last_modified}"[:1200] if f.last_modified else ""


def _unchanged_by_portal(f: ListedFile, record: OpenDataResource) -> bool:
    if record.table is None or record.table.current_version_id is None:
        return False
    if f.hash and record.sha256 and f.hash.lower().removeprefix("sha256:") == record.sha256:
        return True
    return bool(_remote_version(f)) and _remote_version(f) == record.remote_version


def _as_objects(data: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    out = dict(data)
    owner = next((u for u in ctx.resolver.units if u.code == data["owner"]), None)
    if owner is None:
        raise InvalidInput("所管課が現在の組織にありません。取り込みを読み込み直してください。")
    out["owner"] = owner
    out["category"] = next((c for c in ctx.resolver.categories if c.code == data.get("category")), None)
    out["licence"] = next((lc for lc in ctx.licences if lc.code == data.get("licence")), None)
    return out


def _plan_one(
    listed: Listed, ctx: _Context, actor: Actor
) -> tuple[Plan, dict[str, Any], OpenDataEntry | None]:
    entry = ctx.entries.get(listed.key)
    plan = Plan(key=listed.key, position=listed.position, title=listed.title, status=CREATE)
    plan.files = _file_plans(listed, ctx, entry)
    has_tables = any(f.action in {INGEST, SAME} for f in plan.files) or (
        entry is not None and entry.resources.filter(table__isnull=False).exists()
    )
    data, plan.warnings = _data_for(listed, ctx, has_tables=has_tables)
    plan.warnings += [f"「{f.name}」: {f.reason}" for f in plan.files if f.action == REFUSED]
    if entry is None:
        return plan, data, None
    dataset = entry.dataset
    plan.slug = dataset.slug
    if dataset.is_retired:
        plan.status = SKIP
        plan.reasons.append("このデータセットは machidata で廃止されているため、取り込みません。")
        return plan, data, entry
    if not can(actor, Action.EDIT, dataset):
        plan.status = SKIP
        plan.reasons.append("このデータセットを編集する権限がないため、取り込みません。")
        return plan, data, entry
    changed = [name for name, value in data.items() if entry.imported.get(name) != value]
    plan.changed = [FIELD_LABELS.get(n, n) for n in changed if n in FIELD_LABELS]
    files_change = any(f.action == INGEST for f in plan.files) or {f.key for f in listed.files} != set(
        entry.resources.values_list("key", flat=True)
    )
    plan.status = UPDATE if (changed or files_change) else UNCHANGED
    return plan, data, entry


def _check_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("オープンデータの取り込みは、データ戦略課（管理）だけが行えます。")


def _listed(run: OpenDataRun) -> list[Listed]:
    return [Listed.from_dict(d) for d in run.listed or []]


def opendata_plan(*, actor: Actor, run: OpenDataRun) -> list[Plan]:
    """What the run would do to every listed dataset (reads only)."""
    _check_admin(actor)
    ctx = _Context(run)
    return [_plan_one(listed, ctx, actor)[0] for listed in _listed(run)]


def _counts(plans: list[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(STATUS_LABELS, 0)
    for p in plans:
        out[p["status"]] += 1
    return out


def opendata_preview(
    *,
    actor: Actor,
    origin: str,
    owner: Unit,
    content: bytes = b"",
    file_name: str = "",
    url: str = "",
    organization: str = "",
    fetch_files: bool = True,
    schedule: bool = False,
) -> OpenDataRun:
    """Read an オープンデータ一覧 (``content``) or a CKAN portal (``url``) and save the run with its preview.

    Nothing is written to the catalog. Refused in Japanese: a file that is not a list, a portal on a host
    not allowed (``MACHIDATA_IMPORT_URL_HOSTS``), a portal that does not answer as CKAN does.
    """
    from machidata.collect.opendata_sources import read_open_data_list
    from machidata.collect.remote import FetchError, check_url, ckan_packages

    _check_admin(actor)
    if not Unit.objects.active_on().filter(pk=owner.pk).exists():
        raise InvalidInput(
            "所管課が現在の組織にありません。", details={"owner": ["現在の組織にありません。"]}
        )
    scope, skipped, mapping, header_row = "", [], {}, 0
    headers: list[str] = []
    rows: list[list[str]] = []
    if origin == OpenDataOrigin.LIST:
        if len(content) > MAX_LIST_BYTES:
            raise InvalidInput("ファイルが大きすぎます（20MBまで）。", details={"file": ["大きすぎます。"]})
        reading = read_open_data_list(
            content, file_name=file_name, default_lg_code=settings.MACHIDATA_LG_CODE
        )
        listed = reading.datasets
        codes = {d.lg_code for d in listed if d.lg_code}
        scope = codes.pop() if len(codes) == 1 else settings.MACHIDATA_LG_CODE
        skipped = [{"position": n, "reason": r} for n, r in reading.skipped]
        mapping, header_row, source = reading.mapping, reading.header_row, file_name[:1000]
        headers, rows = reading.headers, reading.rows
    elif origin == OpenDataOrigin.CKAN:
        base = check_url(url).rstrip("/")
        organization = (organization or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_\-]{0,100}", organization):
            raise InvalidInput(
                "組織名は、CKANポータルの組織のURL名（半角英数字とハイフン）で書いてください。",
                details={"organization": ["半角英数字とハイフンで書いてください。"]},
            )
        try:
            packages = ckan_packages(base, organization=organization)
        except FetchError as exc:
            raise InvalidInput(
                f"CKANポータルを読めませんでした: {exc.message}", details={"url": [exc.message]}
            ) from None
        listed = [listed_from_ckan(p, base=base, position=i) for i, p in enumerate(packages, start=1)]
        source, scope = base, organization
    else:
        raise InvalidInput(
            "取り込み元は「オープンデータ一覧」か「CKANポータル」を選んでください。",
            details={"origin": ["選べない値です。"]},
        )
    if not listed:
        raise InvalidInput(
            "取り込めるデータセットが1件もありません。", details={"file": ["データセットがありません。"]}
        )
    if len(listed) > MAX_DATASETS:
        raise InvalidInput(
            f"一度に取り込めるのは {MAX_DATASETS} 件までです。", details={"file": ["多すぎます。"]}
        )
    with transaction.atomic():
        run = OpenDataRun.objects.create(
            origin=origin,
            source=source,
            scope=scope,
            owner=owner,
            fetch_files=fetch_files,
            schedule=schedule,
            listed=[d.to_dict() for d in listed],
            created_by_id=actor.user_id,
        )
        run.preview = _preview(actor, run, skipped=skipped, mapping=mapping, header_row=header_row,
                               headers=headers, rows=rows)  # fmt: skip
        run.save(update_fields=["preview"])
        audit_record(
            actor=actor,
            action="collect.opendata_preview",
            obj=run,
            changes={"origin": origin, "source": source, "scope": scope, "datasets": len(listed),
                     "counts": run.preview["counts"]},
        )  # fmt: skip
    return run


KEPT_LIST_ROWS = (
    5000  # a list up to this many rows is kept with its preview, so its columns can be mapped by hand
)


def _preview(
    actor: Actor,
    run: OpenDataRun,
    *,
    skipped: list[dict[str, Any]],
    mapping: dict[str, str],
    header_row: int,
    headers: list[str],
    rows: list[list[str]],
) -> dict[str, Any]:
    """The preview saved on a run: the plans, the counts, the rows left out and how the list's columns were read."""
    plans = [p.as_dict() for p in opendata_plan(actor=actor, run=run)]
    return {
        "plans": plans, "counts": _counts(plans), "skipped": skipped, "mapping": mapping,
        "header_row": header_row, "headers": headers,
        "rows": rows if len(rows) <= KEPT_LIST_ROWS else [],
    }  # fmt: skip


def opendata_remap(*, actor: Actor, run: OpenDataRun, mapping: dict[str, str]) -> OpenDataRun:
    """Read a previewed list again with the columns mapped by hand (header → list column, "" = not used).

    For a list whose headers the automatic reading missed or took wrongly (「名称」 read as データ名称
    where the list meant something else, a 「ファイル」 column it did not know). Only before the import
    runs; the listed datasets and the preview are replaced, nothing is written to the catalog. Audited.
    """
    from machidata.collect.opendata_sources import read_list_rows

    _check_admin(actor)
    run = OpenDataRun.objects.get(pk=run.pk)
    if run.origin != OpenDataOrigin.LIST:
        raise InvalidInput("列の対応を直せるのは、オープンデータ一覧（CSV・Excel）の取り込みだけです。")
    if run.job_id or run.finished_at:
        raise Conflict("取り込みを始めた後は列の対応を直せません。もう一度一覧を選んでください。")
    preview = run.preview or {}
    rows = preview.get("rows") or []
    if not rows:
        raise InvalidInput(
            "この一覧は大きいため、列の対応を直せません。一覧の見出しを直してから選び直してください。"
        )
    reading = read_list_rows(
        rows,
        default_lg_code=settings.MACHIDATA_LG_CODE,
        mapping=mapping,
        header_row=preview.get("header_row"),
    )
    if not reading.datasets:
        raise InvalidInput(
            "この列の対応では、取り込めるデータセットが1件もありません。", details={"mapping": []}
        )
    if len(reading.datasets) > MAX_DATASETS:
        raise InvalidInput(f"一度に取り込めるのは {MAX_DATASETS} 件までです。", details={"mapping": []})
    codes = {d.lg_code for d in reading.datasets if d.lg_code}
    with transaction.atomic():
        run = OpenDataRun.objects.select_for_update().get(pk=run.pk)
        if run.job_id or run.finished_at:
            raise Conflict("取り込みを始めた後は列の対応を直せません。もう一度一覧を選んでください。")
        run.listed = [d.to_dict() for d in reading.datasets]
        run.scope = codes.pop() if len(codes) == 1 else settings.MACHIDATA_LG_CODE
        run.save(update_fields=["listed", "scope"])
        run.preview = _preview(
            actor, run, skipped=[{"position": n, "reason": r} for n, r in reading.skipped],
            mapping=reading.mapping, header_row=reading.header_row, headers=reading.headers, rows=reading.rows,
        )  # fmt: skip
        run.save(update_fields=["preview"])
        audit_record(
            actor=actor, action="collect.opendata_remap", obj=run,
            changes={"mapping": reading.mapping, "datasets": len(reading.datasets), "counts": run.preview["counts"]},
        )  # fmt: skip
    return run


def opendata_start(*, actor: Actor, run: OpenDataRun) -> Any:
    """Start the import of a previewed run as a job (once); audited. Returns the job."""
    from machidata.jobs.services import job_submit

    _check_admin(actor)
    with transaction.atomic():
        fresh = OpenDataRun.objects.select_for_update().get(pk=run.pk)
        if fresh.job_id is not None or fresh.result:
            raise Conflict("この取り込みはすでに始めています。結果は取り込みのページで確かめてください。")
        fresh.result = {"started": True}
        fresh.save(update_fields=["result"])
        audit_record(
            actor=actor, action="collect.opendata_start", obj=run, changes={"datasets": len(run.listed)}
        )
    # Outside any transaction: the job writes tables, which the lake refuses inside one (and in tests it
    # runs at once).
    job = job_submit(
        kind="collect.opendata_import",
        title=f"オープンデータの取り込み（{len(run.listed)}件）",
        params={"run_id": run.pk},
        actor=actor,
    )
    OpenDataRun.objects.filter(pk=run.pk).update(job=job)
    run.refresh_from_db()
    return job


# ---- importing -----------------------------------------------------------------------------------


@dataclass
class _Fetched:
    file: ListedFile
    path: Path
    sha256: str
    etag: str
    last_modified: str


def _precheck(path: Path, name: str) -> None:
    """Read the whole file as ingestion will, and screen its first rows for personal numbers."""
    import pyarrow as pa

    from machidata.ingest.readers import ReadOptions, read_source
    from machidata.ingest.screen import screen_sample

    source = read_source(path, ReadOptions(max_bytes=int(settings.MACHIDATA_MAX_UPLOAD_BYTES)))
    first = None
    rows = 0
    for batch in source.batches:
        first = first if first is not None else batch
        rows += batch.num_rows
    if first is None or rows == 0 or not source.columns:
        raise InvalidInput(f"「{name}」にデータの行がありません。")
    screen_sample(pa.Table.from_batches([first]).slice(0, 10_000))


def _fetch_all(
    listed: Listed, plan: Plan, records: dict[str, OpenDataResource], folder: Path
) -> tuple[list[_Fetched], list[str]]:
    """Fetch and read every file to ingest; raises MachidataError / FetchError (in Japanese) on the first failure."""
    from machidata.collect.remote import fetch

    by_url = {f.url: f for f in listed.files}
    fetched: list[_Fetched] = []
    unchanged: list[str] = []
    for index, fp in enumerate(plan.files):
        if fp.action != INGEST:
            continue
        f = by_url[fp.url]
        record = records.get(f.key)
        usable = (
            record is not None and record.table is not None and record.table.current_version_id is not None
        )
        sub = folder / str(index)
        sub.mkdir()
        got = fetch(
            f.url,
            folder=sub,
            etag=record.etag if usable and record else "",
            last_modified=record.last_modified if usable and record else "",
        )
        if got.unchanged or got.path is None or (usable and record and record.sha256 == got.sha256):
            unchanged.append(f.key)
            continue
        try:
            _precheck(got.path, f.name)
        except MachidataError as exc:
            raise InvalidInput(f"ファイル「{f.name}」を読み取れません: {exc.message}") from None
        except Exception:  # readers raise many kinds of error for a broken file; all mean the same here
            logger.info("open-data file %s could not be read", f.url, exc_info=True)
            raise InvalidInput(
                f"ファイル「{f.name}」を読み取れません（壊れているか、{f.format.upper() or '書かれた形式'}ではありません）。"
            ) from None
        fetched.append(_Fetched(f, got.path, got.sha256, got.etag, got.last_modified))
    return fetched, unchanged


def _identifier(listed: Listed, origin: str) -> str:
    if listed.name:
        base = f"ckan-{listed.name}"
    else:
        _, _, key = listed.key.partition("/")
        number = key.removeprefix("no:") if key.startswith("no:") else ""
        base = f"od-{listed.lg_code or settings.MACHIDATA_LG_CODE}-{number}" if number else ""
    base = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:60]
    if base and not Dataset.objects.filter(identifier=base).exists():
        return base
    return "od-" + hashlib.sha256(f"{origin}|{listed.key}".encode()).hexdigest()[:16]


def _table_name(dataset: Dataset, f: ListedFile) -> str:
    from machidata.ingest.services import table_name_from

    stem = table_name_from(f.name) if re.search(r"[A-Za-z0-9]", Path(f.name).stem) else ""
    base = (
        stem
        if stem and not stem.startswith("table-")
        else "file-" + hashlib.sha256(f.key.encode()).hexdigest()[:8]
    )
    name, n = base[:90], 2
    while Table.objects.filter(dataset=dataset, name=name).exists():
        name, n = f"{base[:85]}-{n}", n + 1
    return name


def _write_metadata(
    *,
    actor: Actor,
    ctx: _Context,
    listed: Listed,
    plan: Plan,
    data: dict[str, Any],
    entry: OpenDataEntry | None,
    fetched: list[_Fetched],
) -> tuple[OpenDataEntry, dict[str, Table]]:
    """Create or update the entry, its file records and the tables of new files; one transaction."""
    from machidata.catalog.services import dataset_create, dataset_update
    from machidata.ingest.services import table_get_or_create

    with transaction.atomic():
        objects = _as_objects(data, ctx)
        if entry is None:
            dataset = dataset_create(
                actor=actor, data={**objects, "identifier": _identifier(listed, ctx.origin)}
            )
            entry = OpenDataEntry.objects.create(
                origin=ctx.origin,
                key=listed.key,
                dataset=dataset,
                page_url=listed.page_url[:1000],
                imported=data,
            )
        else:
            dataset = Dataset.objects.get(pk=entry.dataset_id)
            changed = {n: objects[n] for n, v in data.items() if entry.imported.get(n) != v}
            if changed:
                dataset = dataset_update(
                    actor=actor, dataset=dataset, data=changed, lock_version=dataset.lock_version
                )
            OpenDataEntry.objects.filter(pk=entry.pk).update(
                imported=data, page_url=listed.page_url[:1000], updated_at=timezone.now()
            )
        plan.slug = dataset.slug
        records = {r.key: r for r in entry.resources.select_related("table")}
        tables: dict[str, Table] = {}
        new_files = {g.file.key for g in fetched}
        for f in listed.files:
            record = records.get(f.key) or OpenDataResource(entry=entry, key=f.key)
            record.name, record.url, record.format = f.name[:300], f.url[:1000], f.format[:40]
            if f.key in new_files and record.table is None:
                table = table_get_or_create(
                    actor=actor,
                    dataset=dataset,
                    name=_table_name(dataset, f),
                    title=(f.name or listed.title)[:200],
                )
                # Published data comes in as published: a value the inferred 項目定義 does not expect is a
                # warning on the version, not a refusal (the owner tightens the 項目定義 afterwards).
                Table.objects.filter(pk=table.pk).update(validation_policy=ValidationPolicy.WARN)
                table.refresh_from_db()
                record.table = table
            record.save()
            if record.table is not None:
                tables[f.key] = record.table
        gone = [k for k in records if k not in {f.key for f in listed.files}]
        if gone:
            # Files the source no longer lists: their records go; tables and versions stay in the catalog.
            OpenDataResource.objects.filter(entry=entry, key__in=gone).delete()
        audit_record(
            actor=actor,
            action="collect.opendata_entry",
            obj=entry,
            changes={"dataset": dataset.slug, "status": plan.status, "changed": plan.changed,
                     "files": [f.url for f in listed.files], "origin": ctx.origin, "key": listed.key},
        )  # fmt: skip
    return entry, tables


def _ingest(
    *, actor: Actor, entry: OpenDataEntry, tables: dict[str, Table], fetched: list[_Fetched], listed: Listed
) -> list[str]:
    from machidata.ingest.services import ingest_file

    done: list[str] = []
    for got in fetched:
        table = tables[got.file.key]
        version = ingest_file(
            actor=actor,
            table=table,
            path=got.path,
            source_name=got.file.name[:300],
            mode=ImportMode.REPLACE,
            note=f"オープンデータ「{listed.title}」の {got.file.url} から取り込み"[:1000],
        )
        OpenDataResource.objects.filter(entry=entry, key=got.file.key).update(
            sha256=got.sha256,
            etag=got.etag[:500],
            last_modified=got.last_modified[:100],
            remote_version=_remote_version(got.file),
        )
        done.append(
            f"「{got.file.name}」を表「{table.title}」の第{version.number}版（{version.rows or 0:,}行）にしました。"
        )
    return done


def _schedule(*, actor: Actor, run: OpenDataRun, entry: OpenDataEntry, listed: Listed, plan: Plan) -> None:
    from machidata.collect.imports import import_source_create_remote

    for record in entry.resources.select_related("table__dataset").filter(table__isnull=False):
        table = record.table
        if table is None or ImportSource.objects.filter(table=table).exists():
            continue
        try:
            if run.origin == OpenDataOrigin.CKAN:
                import_source_create_remote(
                    actor=actor, table=table, kind=ImportKind.CKAN, url=run.source,
                    ckan_dataset=listed.key, ckan_resource=record.key,
                )  # fmt: skip
            else:
                import_source_create_remote(actor=actor, table=table, kind=ImportKind.URL, url=record.url)
        except MachidataError as exc:
            plan.warnings.append(f"「{record.name}」の定期取り込みを設定できませんでした: {exc.message}")
        else:
            plan.warnings.append(f"「{record.name}」の定期取り込み（15分ごとの確認）を設定しました。")


def _apply_one(
    *,
    actor: Actor,
    ctx: _Context,
    listed: Listed,
    plan: Plan,
    data: dict[str, Any],
    entry: OpenDataEntry | None,
) -> OpenDataEntry | None:
    """Fetch and read the files, then write the entry and ingest; None when there was nothing to write."""
    records = {r.key: r for r in entry.resources.select_related("table")} if entry is not None else {}
    with tempfile.TemporaryDirectory(prefix="machidata-opendata-") as tmp:
        fetched, same = _fetch_all(listed, plan, records, Path(tmp))  # nothing written before this
        for fp in plan.files:
            key = next(f.key for f in listed.files if f.url == fp.url)
            if fp.action == INGEST and key in same:
                fp.action, fp.reason = SAME, "前回と同じ内容です。"
        if plan.status == UPDATE and not fetched and entry is not None:
            metadata_changed = any(entry.imported.get(n) != v for n, v in data.items())
            if not metadata_changed and {f.key for f in listed.files} == set(records):
                plan.status = UNCHANGED
        if plan.status == UNCHANGED:
            return None
        entry, tables = _write_metadata(
            actor=actor, ctx=ctx, listed=listed, plan=plan, data=data, entry=entry, fetched=fetched
        )
        try:
            plan.reasons += _ingest(actor=actor, entry=entry, tables=tables, fetched=fetched, listed=listed)
        except MachidataError as exc:
            plan.status = FAILED
            plan.reasons.append(
                f"データセットは登録しましたが、ファイルを表に取り込めませんでした: {exc.message}"
                "（次の取り込みでもう一度試します）"
            )
    return entry


def _import_one(*, actor: Actor, ctx: _Context, listed: Listed) -> Plan:
    from machidata.collect.remote import FetchError

    plan, data, entry = _plan_one(listed, ctx, actor)
    if plan.status == SKIP:
        return plan
    try:
        written = _apply_one(actor=actor, ctx=ctx, listed=listed, plan=plan, data=data, entry=entry)
    except FetchError as exc:
        plan.status = FAILED
        plan.reasons.append(
            f"ファイルを取得できないため、このデータセットは取り込みませんでした: {exc.message}"
        )
    except (InvalidInput, PermissionDenied, Conflict, NotFound) as exc:
        plan.status = FAILED
        plan.reasons.append(f"このデータセットは取り込みませんでした: {exc.message}")
    else:
        if written is not None and ctx.run.schedule and plan.status != FAILED:
            _schedule(actor=actor, run=ctx.run, entry=written, listed=listed, plan=plan)
    return plan


def opendata_execute(
    *, actor: Actor, run: OpenDataRun, progress: Callable[[int, int | None, str | None], None] | None = None
) -> dict[str, Any]:
    """Import every listed dataset of ``run`` (the job's body); each dataset on its own, one failing never
    stops the others. The outcome is saved on the run and audited."""
    from machidata.jobs.services import JobCancelled

    _check_admin(actor)
    listed = _listed(run)
    ctx = _Context(run)
    plans: list[dict[str, Any]] = []
    for index, item in enumerate(listed):
        if progress is not None:
            progress(index, len(listed), f"{index + 1}/{len(listed)}件目「{item.title[:60]}」")
        try:
            plan = _import_one(actor=actor, ctx=ctx, listed=item)
        except JobCancelled:
            raise
        except Exception:
            logger.exception("open-data import of %s failed", item.key)
            plan = Plan(key=item.key, position=item.position, title=item.title, status=FAILED)
            plan.reasons.append(
                "予期しないエラーで取り込めませんでした。データ戦略課（システム担当）にお問い合わせください。"
            )
        plans.append(plan.as_dict())
        ctx.entries = {
            e.key: e
            for e in OpenDataEntry.objects.filter(origin=ctx.origin).select_related(
                "dataset", "dataset__owner"
            )
        }
    result = {"plans": plans, "counts": _counts(plans)}
    with transaction.atomic():
        OpenDataRun.objects.filter(pk=run.pk).update(result=result, finished_at=timezone.now())
        audit_record(
            actor=actor, action="collect.opendata_import", obj=run, changes={"counts": result["counts"]}
        )
    if progress is not None:
        progress(len(listed), len(listed), "完了")
    return result
