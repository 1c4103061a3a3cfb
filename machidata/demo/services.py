"""Loading the demo content: idempotent upserts in one transaction, audited as the system actor.

Then :func:`load_demo_data` fills the catalog entries with data: the real files of
``../shared/data/real/`` and the generated 救急出動記録, each ingested as a new version only when its
sha256 differs from the current version's, and finally the system datasets are refreshed.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone

from machidata.access.models import ApproverDesignation, DesignationKind, Membership, Role, Unit
from machidata.access.policy import system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import (
    Category,
    DataFormat,
    Dataset,
    Licence,
    TableVersion,
    ValidationPolicy,
)
from machidata.collect.demo import load_collect_demo_for
from machidata.core.errors import MachidataError
from machidata.demo import content
from machidata.support.demo import load_support_demo
from machidata.surveys.demo import load_surveys_demo

# Jobs, imports and the demo loader act as "system": no user behind them, but still in the audit trail.
SYSTEM: Final = system_actor("demo")
VALID_FROM: Final = dt.date(2000, 4, 1)  # the organisation's "since ever" (as Unit's default)

_ROLE_LABELS: Final = {"admin": "管理", "editor": "編集", "viewer": "閲覧"}
_DATASET_FIELDS: Final = (
    "slug", "title", "description", "classification", "discoverable", "personal_data", "location",
    "location_detail", "frequency", "source", "source_detail", "keywords", "spatial", "lg_code",
    "is_synthetic", "temporal_start", "temporal_end",
)  # fmt: skip


@dataclass
class DemoSummary:
    """What a load did: counts of created and updated rows per kind (both empty when nothing changed)."""

    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        """Whether the load wrote anything."""
        return bool(+self.created or +self.updated)


def _upsert(
    model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], summary: DemoSummary
) -> Any:
    """Create the row, or update only the fields that differ (so a second load writes nothing)."""
    kind = model._meta.model_name or model.__name__
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model._default_manager.create(**lookup, **values)
        summary.created[kind] += 1
        return obj
    dirty = [name for name, value in values.items() if getattr(obj, name) != value]
    if dirty:
        for name in dirty:
            setattr(obj, name, values[name])
        if isinstance(obj, Dataset):
            obj.lock_version += 1  # an editor holding the old version must reload (optimistic locking)
            dirty.append("lock_version")
        obj.save(update_fields=[*dirty, *(["updated_at"] if isinstance(obj, Dataset) else [])])
        summary.updated[kind] += 1
    return obj


def _load_units(summary: DemoSummary) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for code, name, kind, parent_code in content.UNITS:  # parents come before their children
        parent = units[parent_code] if parent_code else None
        units[code] = _upsert(
            Unit,
            {"code": code, "valid_from": VALID_FROM},
            {"name": name, "kind": kind, "parent_id": parent.pk if parent else None, "valid_to": None},
            summary,
        )
    return units


def _load_accounts(units: dict[str, Unit], summary: DemoSummary) -> dict[str, Any]:
    user_model = get_user_model()
    users: dict[str, Any] = {}
    for username, display, unit_code, role, is_staff, password in content.ACCOUNTS:
        existed = user_model.objects.filter(username=username).exists()
        user = _upsert(
            user_model,
            {"username": username},
            {"first_name": display, "is_staff": is_staff, "is_superuser": False, "is_active": True},
            summary,
        )
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            if existed:
                summary.updated["password"] += 1
        membership = Membership.objects.active_on().filter(user=user, unit=units[unit_code], role=role)
        if not membership.exists():
            Membership.objects.create(
                user=user, unit=units[unit_code], role=Role(role), valid_from=VALID_FROM
            )
            summary.created["membership"] += 1
        users[username] = user
    return users


def _load_heads(units: dict[str, Unit], summary: DemoSummary) -> None:
    """The 課長 of every 課 owning a dataset: a 閲覧 member of the 課, designated its 課長 (決裁権者)."""
    user_model = get_user_model()
    hashes: dict[str, str] = {}  # one hash per distinct password: hashing is slow on purpose (~0.3–3 s)
    for username, display, unit_code, password in content.HEADS:
        new = not user_model.objects.filter(username=username).exists()
        user = _upsert(
            user_model, {"username": username}, {"first_name": display, "is_active": True}, summary
        )
        if new or not user.has_usable_password():  # an existing 課長 keeps the password they have
            if password not in hashes:
                hashes[password] = make_password(password)
            user.password = hashes[password]
            user.save(update_fields=["password"])
        unit = units[unit_code]
        if not Membership.objects.active_on().filter(user=user, unit=unit).exists():
            Membership.objects.create(user=user, unit=unit, role=Role.VIEWER, valid_from=VALID_FROM)
            summary.created["membership"] += 1
        if not ApproverDesignation.objects.filter(unit=unit, user=user, kind=DesignationKind.HEAD).exists():
            ApproverDesignation.objects.create(unit=unit, user=user, kind=DesignationKind.HEAD)
            summary.created["approverdesignation"] += 1


def _dataset_values(entry: dict[str, Any], refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values = {name: entry[name] for name in _DATASET_FIELDS if name in entry}
    for name in ("temporal_start", "temporal_end"):
        raw = entry.get(name)
        values[name] = dt.date.fromisoformat(raw) if raw else None
    values["owner_id"] = refs["unit"][entry["owner"]].pk
    values["category_id"] = refs["category"][entry["category"]].pk
    values["licence_id"] = refs["licence"][entry["licence"]].pk if entry.get("licence") else None
    return values


def _load_datasets(refs: dict[str, dict[str, Any]], created_by: Any, summary: DemoSummary) -> None:
    for entry in content.DATASETS:
        values = _dataset_values(entry, refs)
        existed = Dataset.objects.filter(identifier=entry["identifier"]).exists()
        dataset = _upsert(Dataset, {"identifier": entry["identifier"]}, values, summary)
        if not existed:
            Dataset.objects.filter(pk=dataset.pk).update(created_by=created_by)
        wanted = {refs["format"][code].pk for code in entry["formats"]}
        if set(dataset.formats.values_list("pk", flat=True)) != wanted:
            dataset.formats.set(wanted)
            if existed:
                summary.updated["dataset.formats"] += 1


def _load_data_requests(users: dict[str, Any], units: dict[str, Unit], summary: DemoSummary) -> None:
    """File, route and answer the demo's data requests through their services (skipped when already there)."""
    from machidata.access.policy import actor_for
    from machidata.datarequests import services as requests
    from machidata.datarequests.models import DataRequest

    admin = actor_for(users["admin"])
    for entry in content.DATA_REQUESTS:
        requester = users[entry["requester"]]
        if DataRequest.objects.filter(requested_by=requester, title=entry["title"]).exists():
            continue
        req = requests.data_request_create(
            actor=actor_for(requester),
            title=entry["title"],
            description=entry["description"],
            purpose=entry["purpose"],
            period=entry["period"],
            search_query=entry["query"],
        )
        summary.created["datarequest"] += 1
        if entry["route"]:
            requests.data_request_route(actor=admin, request=req, unit_id=units[entry["route"]].pk)
        if entry["answer"]:
            by, kind, text, slug, days = entry["answer"]
            requests.data_request_answer(
                actor=actor_for(users[by]),
                request=req,
                kind=kind,
                text=text,
                dataset=slug,
                expected_on=timezone.localdate() + dt.timedelta(days=days) if kind == "will_create" else None,
            )
        if entry.get("comment"):
            by, body = entry["comment"]
            requests.data_request_comment(actor=actor_for(users[by]), request=req, body=body)


def load_demo(*, home: Path) -> DemoSummary:
    """Load (or bring back to its published state) the demo organisation, vocabularies, accounts and catalog.

    ``home`` is MACHIDATA_HOME; it is created if missing (later loaders put the demo files' tables there).
    Running it twice changes nothing: rows are matched by code, username or identifier and only
    differing fields are written; the load is one transaction and is audited only when it wrote something.
    """
    Path(home).mkdir(parents=True, exist_ok=True)
    summary = DemoSummary()
    with transaction.atomic():
        refs: dict[str, dict[str, Any]] = {"unit": _load_units(summary)}
        refs["category"] = {
            code: _upsert(Category, {"code": code}, {"name": name, "order": i}, summary)
            for i, (code, name) in enumerate(content.CATEGORIES, start=1)
        }
        refs["licence"] = {
            code: _upsert(Licence, {"code": code}, {"name": name, "url": url, "is_open": is_open}, summary)
            for code, name, url, is_open in content.LICENCES
        }
        refs["format"] = {
            code: _upsert(DataFormat, {"code": code}, {"name": name}, summary)
            for code, name in content.FORMATS
        }
        users = _load_accounts(refs["unit"], summary)
        _load_heads(refs["unit"], summary)
        _load_datasets(refs, users["admin"], summary)
        summary.created.update(load_support_demo(users=users))
        summary.created.update(load_surveys_demo(users=users))
        _load_data_requests(users, refs["unit"], summary)
        if summary.changed:
            audit_record(
                actor=SYSTEM,
                action="demo.load",
                object_type="demo",
                object_repr="デモ用の内容（熊本市）",
                changes={"created": dict(summary.created), "updated": dict(summary.updated)},
            )
    return summary


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table() -> str:
    """The demo accounts as a Japanese text table (user name, password, 所属, 役割). Demo only."""
    parents = {code: (name, parent) for code, name, _, parent in content.UNITS}

    def full_name(code: str | None) -> str:
        names: list[str] = []
        while code:
            name, code = parents[code]
            names.append(name)
        return " ".join(reversed(names))

    header = ("ユーザー名", "パスワード", "所属", "役割")
    rows = [
        (username, password, full_name(unit_code), _ROLE_LABELS[role])
        for username, _display, unit_code, role, _staff, password in content.ACCOUNTS
    ]
    rows += [(u, password, full_name(code), "閲覧＋課長（決裁）") for u, _d, code, password in content.HEADS]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(_pad(h, w) for h, w in zip(header, widths, strict=True)) + " |", line]
    out += ["| " + " | ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    out.append(line)
    return "\n".join(out)


# ---- data: the real files and the generated ambulance table -----------------------------------------

# machidata/demo/services.py → parents[2] is the repository, parents[3] the folder holding it and
# ../shared (CI clones the repository with shared/ beside it).
SHARED_REAL: Final = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
AMBULANCE_SLUG: Final = "ambulance-dispatch-records"
AMBULANCE_TABLE: Final = ("dispatches", "救急出動記録（令和4〜6年度、合成）")
DEMO_NOTE: Final = "デモ用の内容として取り込み"

Say = Callable[..., None]  # say(text, end="\n"): one progress line (or its start) in Japanese


def _quiet(text: str, end: str = "\n") -> None:
    return None


@dataclass
class DataSummary:
    """What a data load did, by file name: ingested (rows), skipped (unchanged), missing, failed (message)."""

    ingested: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    system: Any = None  # the system datasets' RefreshSummary, when refreshed


def _sheets_of(path: Path) -> list[str] | None:
    """Every sheet of a workbook with several sheets (combined into one table), else None (the reader picks)."""
    if path.suffix.lower() not in {".xlsx", ".xlsm", ".xls", ".ods"}:
        return None
    from python_calamine import CalamineWorkbook  # the ingest readers' Excel library; names only, no cells

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        names = list(workbook.sheet_names)
    finally:
        workbook.close()
    return names if len(names) > 1 else None


def ingest_demo_file(
    *,
    dataset: Dataset,
    path: Path,
    table_name: str,
    title: str,
    label: str,
    summary: DataSummary,
    say: Say = _quiet,
) -> TableVersion | None:
    """Ingest ``path`` into ``dataset``'s table ``table_name`` unless its current version came from the same bytes.

    Acts as the CLI operator (a superuser account: the demo's system actor cannot edit). A new table
    accepts versions with warnings, since the real files are messy on purpose. Returns the new version,
    or None when skipped or failed (recorded in ``summary``; the demo goes on with the next file).
    """
    from machidata.access.services import cli_operator_actor
    from machidata.catalog.table_services import table_update_schema
    from machidata.ingest.services import ingest_file, sha256_of, table_get_or_create

    name = path.name
    started = time.monotonic()
    announced = False
    try:
        actor = cli_operator_actor()
        table = table_get_or_create(actor=actor, dataset=dataset, name=table_name, title=title)
        current = table.current_version
        if current is not None and current.source_sha256 == sha256_of(path):
            summary.skipped.append(name)
            say(f"取り込み済みです: {name}（第{current.number}版と同じファイル、{current.rows or 0:,}行）")
            return None
        say(f"{label}: {name} … ", end="")
        announced = True
        if current is None and table.validation_policy != ValidationPolicy.WARN:
            table = table_update_schema(actor=actor, table=table, validation_policy=ValidationPolicy.WARN)
        sheets = _sheets_of(path)
        version = ingest_file(
            actor=actor,
            table=table,
            path=path,
            source_name=name,
            mode="replace",
            options={"sheets": sheets} if sheets else {},
            note=DEMO_NOTE + (f"（{len(sheets)}シートを結合）" if sheets else ""),
        )
    except MachidataError as exc:
        summary.failed[name] = exc.message
        say(("" if announced else f"{label}: {name} … ") + f"取り込めませんでした（{exc.message}）")
        return None
    summary.ingested[name] = int(version.rows or 0)
    say(f"{version.rows or 0:,}行（第{version.number}版、{time.monotonic() - started:.1f}秒）")
    return version


def load_demo_data(  # noqa: PLR0915 - one short step per room of the demo, each delegating to its loader
    *,
    home: Path,
    real_dir: Path = SHARED_REAL,
    files: Iterable[str] | None = None,
    ambulance: bool = True,
    system: bool = True,
    say: Say = _quiet,
) -> DataSummary:
    """Ingest the real files and the generated 救急出動記録 into their catalog entries, then refresh the system datasets.

    Call after :func:`load_demo` and outside any transaction (the lake commits on its own). ``files``
    limits the real files (by file name; default: all of them). Unchanged files are skipped by sha256,
    so a second run writes nothing; a missing ``real_dir`` is reported and skipped.
    """
    from machidata.demo.ambulance import write_ambulance
    from machidata.ingest.services import table_name_from

    summary = DataSummary()
    wanted = set(files) if files is not None else None
    entries = [e for e in content.DATASETS if e["real_file"] and (wanted is None or e["real_file"] in wanted)]
    if entries and not real_dir.is_dir():
        say(f"実データのフォルダ（{real_dir}）が見つからないため、実データの取り込みを省略します。")
        summary.missing.extend(e["real_file"] for e in entries)
        entries = []
    for entry in entries:
        path = real_dir / entry["real_file"]
        dataset = Dataset.objects.filter(identifier=entry["identifier"]).first()
        if dataset is None or not path.is_file():
            say(f"実データ「{entry['real_file']}」（またはそのカタログ項目）が見つからないため省略します。")
            summary.missing.append(entry["real_file"])
            continue
        ingest_demo_file(
            dataset=dataset,
            path=path,
            table_name=table_name_from(entry["real_file"]),
            title=dataset.title,
            label="実データを取り込んでいます",
            summary=summary,
            say=say,
        )
    if ambulance:
        dataset = Dataset.objects.filter(slug=AMBULANCE_SLUG).first()
        if dataset is None:
            say("救急出動記録のカタログ項目がないため、合成データの取り込みを省略します。")
        else:
            say("合成データを作っています: 救急出動記録 … ", end="")
            started = time.monotonic()
            path = write_ambulance(Path(home) / "demo")
            say(f"{time.monotonic() - started:.1f}秒")
            ingest_demo_file(
                dataset=dataset,
                path=path,
                table_name=AMBULANCE_TABLE[0],
                title=AMBULANCE_TABLE[1],
                label="合成データを取り込んでいます",
                summary=summary,
                say=say,
            )
    if files is None and real_dir.is_dir():  # the full demo: one dataset published via the route, one pending
        from machidata.publish.demo import load_publication_demo

        say("公開申請の例を作っています … ", end="")
        made = load_publication_demo(home=Path(home), real_dir=real_dir)
        say(f"公開 {made['published']} 件、申請中 {made['pending']} 件")
        from machidata.publish.demo import publish_real_files

        say("実データの公開申請（データ所有者 → 課長 → データ戦略課） … ", end="")
        real = publish_real_files(identifiers=list(content.REAL_FILES))
        say(
            f"公開 {len(real['published'])} 件、公開済み {len(real['already'])} 件、庁内のまま {len(real['internal'])} 件"
        )
        for title, reason in real["internal"].items():
            say(f"  庁内のまま: {title} — {reason}")
        from machidata.standards.demo import load_standards_demo

        say("標準データセットの例（病院一覧 → 医療機関一覧） … ", end="")
        say(load_standards_demo(home=Path(home), real_dir=real_dir))
        from machidata.privacy.demo import load_privacy_demo

        say("利用申請の例: 許可 {granted} 件、申請中 {pending} 件".format(**load_privacy_demo()))
    if ambulance:
        from machidata.prep.demo import load_prep_demo

        say("加工の手順のデモ（救急出動率）を作っています … ", end="")
        prep = load_prep_demo(real_dir=real_dir)
        say(prep.skipped or (f"第{prep.rate_version}版を作りました" if prep.rate_version else "作成済み"))
        load_collect_demo_for(home=Path(home), say=say, full=files is None)
        from machidata.demo.analyses import load_analysis_demo

        load_analysis_demo(home=Path(home), say=say)
    if system:
        from machidata.catalog.system_datasets import system_datasets_refresh

        say("システムデータ（まちデータの利用状況）を更新しています … ", end="")
        refreshed = system_datasets_refresh()
        summary.system = refreshed
        if refreshed.skipped:
            say(refreshed.skipped)
        else:
            say(f"新しい版 {len(refreshed.written)} 表、変更なし {len(refreshed.unchanged)} 表")
    from machidata.charts.demo import load_charts_demo

    load_charts_demo(say=say)
    from machidata.ebpm.demo import load_ebpm_demo_reporting

    load_ebpm_demo_reporting(say=say)
    return summary
