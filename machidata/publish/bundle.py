"""The one-way publication bundle: the internal instance exports what is public, the public one imports it.

The internal instance sits on the closed network and the public portal on the internet side, and
nothing on the internet side may reach back. So publication crosses as a file:

* ``machidata publish-export PATH`` (internal) writes a tar of what changed since the last bundle:
  new public versions (their Parquet files, read through :mod:`machidata.lake.readers`, each with its
  SHA-256), the portal-visible metadata of the datasets and tables concerned, and tombstones for
  versions that stopped being public. What is public comes from
  :func:`machidata.publish.selectors.public_versions` and nothing else. ``manifest.json`` lists all of
  it; ``manifest.sig`` is its Ed25519 signature (the private key never leaves the internal side).
* ``machidata publish-import PATH`` (public) reads the whole tar into a scratch folder, checks the
  signature with the public key, every file's size and SHA-256 and the sequence number **before**
  writing anything, then applies it: datasets and tables are created or updated as 公開 entries owned
  by the unit with the exporting side's 所属コード (created when missing; ``MACHIDATA_PUBLISH_IMPORT_UNIT``
  for a bundle that names none), so CKAN ids derived from natural keys (識別子, table name, 所属コード,
  分野コード) are the same on both sides; versions are written through
  :func:`machidata.lake.protocol.write_version` and recorded as :class:`PublishedVersion` of an approved
  request, tombstones withdraw.

Sequence numbers: the export side keeps ``publish/export-state.json`` under ``MACHIDATA_HOME`` (the
last sequence and what it exported); the import side keeps ``publish/import-state.json`` (the last
applied sequence and its manifest's SHA-256). Bundle *n* + 1 follows bundle *n*; a gap or an older
bundle is refused; the same bundle again is a no-op. Applying is idempotent as well (each version is
keyed by ``bundle:<identifier>/<table>@<number>`` in the version's ``source_name``), so a crash in the
middle of an import is repaired by importing the same file again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from machidata.access.models import Classification, Unit, UnitKind
from machidata.access.policy import system_actor
from machidata.audit.services import audit_record
from machidata.catalog.models import Category, Dataset, Licence, Table, TableVersion
from machidata.core.errors import InvalidInput
from machidata.lake import readers
from machidata.lake.protocol import write_version
from machidata.lake.storage import ID_COLUMN
from machidata.publish import selectors
from machidata.publish.models import PublicationRequest, PublishedVersion, RequestKind, RequestStatus

FORMAT: Final = "machidata-publish-bundle"
FORMAT_VERSION: Final = 2  # 2 added EBPM pages and standard declarations; 1 is still read
READABLE_VERSIONS: Final = (1, 2)
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
MAX_MANIFEST: Final = 64 << 20  # a manifest larger than this is not one of ours
IMPORT_USERNAME: Final = "system-publish-import"
SYSTEM_ACTOR = system_actor("publish-bundle")
DATASET_FIELDS: Final = (
    "slug", "title", "title_en", "description", "description_en", "contact_email", "contact_phone",
    "keywords", "frequency", "source", "source_detail", "temporal_start", "temporal_end", "spatial",
    "lg_code", "personal_data", "is_synthetic",
)  # fmt: skip
TABLE_FIELDS: Final = ("title", "description", "schema")
Say = Callable[[str], None]


# ---- keys and state -------------------------------------------------------------------------------


def _setting(name: str) -> str:
    """A bundle setting: from Django settings, else from the environment (same name)."""
    return str(getattr(settings, name, "") or os.environ.get(name, "") or "")


def _home() -> Path:
    return Path(settings.MACHIDATA_HOME) / "publish"


def signing_key_path() -> Path:
    """Where the private key lives (internal side): ``MACHIDATA_PUBLISH_SIGNING_KEY`` or the home."""
    configured = _setting("MACHIDATA_PUBLISH_SIGNING_KEY")
    return Path(configured) if configured else _home() / "signing.key"


def verify_key_path() -> Path:
    """Where the public key lives (public side): ``MACHIDATA_PUBLISH_VERIFY_KEY`` or the home."""
    configured = _setting("MACHIDATA_PUBLISH_VERIFY_KEY")
    return Path(configured) if configured else _home() / "verify.key"


def key_id(verify_hex: str) -> str:
    """A short fingerprint of a public key (shown to people and carried in the manifest)."""
    return hashlib.sha256(bytes.fromhex(verify_hex)).hexdigest()[:16]


def keygen(*, private: Path, public: Path, force: bool = False) -> str:
    """Make an Ed25519 key pair; the private key file is readable by its owner only. Returns the key id."""
    from nacl.signing import SigningKey

    if not force and (private.exists() or public.exists()):
        raise InvalidInput(
            f"鍵のファイルがすでにあります（{private} / {public}）。作り直すときは --force を付けてください"
            "（公開側の公開鍵も入れ替える必要があります）。"
        )
    key = SigningKey.generate()
    private.parent.mkdir(parents=True, exist_ok=True)
    public.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.encode().hex() + "\n")
    os.chmod(private, 0o600)
    verify_hex = key.verify_key.encode().hex()
    public.write_text(verify_hex + "\n", encoding="ascii")
    return key_id(verify_hex)


def _read_hex(path: Path, what: str) -> bytes:
    try:
        raw = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise InvalidInput(
            f"{what}のファイル（{path}）がありません。machidata publish-keygen で作成してください。"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"{what}のファイル（{path}）を読み取れません。") from None
    if len(raw) != 32:
        raise InvalidInput(f"{what}のファイル（{path}）を読み取れません。")
    return raw


def _load_state(path: Path, empty: dict[str, Any]) -> dict[str, Any]:
    if not path.exists():
        return dict(empty)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InvalidInput(f"状態ファイル（{path}）を読み取れません。") from None
    return state if isinstance(state, dict) else dict(empty)


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(what: str) -> Iterator[None]:
    """One export or import at a time per home (a second one is refused, not queued)."""
    lock = _home() / ".lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidInput(
                f"別の公開バンドルの処理が実行中です。終わってから{what}してください。"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def export_state_path() -> Path:
    """The export side's record of the last bundle."""
    return _home() / "export-state.json"


def import_state_path() -> Path:
    """The import side's record of the last applied bundle."""
    return _home() / "import-state.json"


# ---- export ---------------------------------------------------------------------------------------


def _version_key(identifier: str, table: str, number: int) -> str:
    return f"{identifier}/{table}@{number}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _dataset_meta(ds: Dataset, attribution: dict[str, Any] | None) -> dict[str, Any]:
    lic = ds.licence
    meta: dict[str, Any] = {"identifier": ds.identifier}
    meta.update({f: _plain(getattr(ds, f)) for f in DATASET_FIELDS})
    meta["category"] = {"code": ds.category.code, "name": ds.category.name} if ds.category else None
    # The owning unit travels by its 所属コード, so the public side shows the same 所管課 (and the CKAN
    # organisation keeps its id, which is derived from the code).
    meta["owner"] = {"code": ds.owner.code, "name": ds.owner.name, "kind": ds.owner.kind}
    meta["licence"] = (
        {"code": lic.code, "name": lic.name, "url": lic.url, "is_open": lic.is_open} if lic else None
    )
    meta["attribution"] = (attribution or {}).get("attribution", "")
    tables = list(selectors.public_tables().filter(dataset=ds).order_by("name"))
    declared = _declarations([t.pk for t in tables])
    meta["tables"] = {
        t.name: {
            **{f: getattr(t, f) for f in TABLE_FIELDS},
            "schema": _public_schema(t, selectors.public_version_for(t)),
            "standard": declared.get(t.pk),
        }
        for t in tables
    }
    return meta


def _public_schema(table: Table, version: TableVersion | None) -> dict[str, Any]:
    """The table's schema cut to the columns of its public version, as the portal shows it: a later
    version's new column (say, a name) must not travel before its own approval, not even its name."""
    schema = dict(table.schema or {})
    if version is None:
        return {**schema, "fields": []}
    declared = {str(f.get("name")): f for f in schema.get("fields", []) if isinstance(f, dict)}
    public = [f for f in (version.schema or {}).get("fields", []) if isinstance(f, dict)]
    return {**schema, "fields": [declared.get(str(f.get("name")), f) for f in public]}


def _declaration_model() -> Any:
    """The standards room's declaration model, looked up by name: the standards room sits above
    publication (import-linter forbids the import), and the bundle only carries its rows as data."""
    from django.apps import apps

    return apps.get_model("standards", "StandardDeclaration")


def _declarations(table_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Table id → its standard declaration (code and item → column mapping) for public tables."""
    rows = (
        _declaration_model().objects.filter(table_id__in=table_ids).values("table_id", "standard", "mapping")
    )
    return {r["table_id"]: {"standard": r["standard"], "mapping": r["mapping"]} for r in rows}


def _page_entries() -> dict[str, dict[str, Any]]:
    """Key → the EBPM citizen page (事業の説明) the route approved and the public may see now, as the
    ebpm room froze it (``selectors_pages.public_pages``); keyed by the internal 事業 id."""
    from machidata.ebpm.selectors_pages import public_pages

    out: dict[str, dict[str, Any]] = {}
    for page in public_pages().select_related("item__unit"):
        item, unit = page.item, page.item.unit
        entry = {
            "key": f"page:{item.pk}", "level": item.level, "code": item.code, "name": item.name,
            "unit": {"code": unit.code, "name": unit.name, "kind": unit.kind},
            "published_at": page.published_at.isoformat(), "snapshot": page.snapshot,
        }  # fmt: skip
        entry["digest"] = _digest(entry)
        out[entry["key"]] = entry
    return out


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _first_id(path: str) -> tuple[int, str]:
    """Sort key of a version's files: the smallest ``_id`` it holds (so rows keep their order)."""
    with pq.ParquetFile(path) as pf:
        ids = pf.read_row_group(0, columns=[ID_COLUMN]).column(0) if pf.num_row_groups else None
    first = ids[0].as_py() if ids is not None and len(ids) else None
    return (first if first is not None else -1, path)


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


@dataclass
class ExportResult:
    """What one export wrote (``sequence`` None when nothing had changed and no file was written)."""

    sequence: int | None
    versions: int = 0
    datasets: int = 0
    tombstones: int = 0
    path: Path | None = None
    keys: list[str] = field(default_factory=list)


def export_bundle(path: Path, *, say: Say | None = None, allow_empty: bool = False) -> ExportResult:
    """Write the next bundle to ``path``; with nothing new, write nothing unless ``allow_empty``."""
    with _exclusive("書き出し"):
        return _export(Path(path), say=say, allow_empty=allow_empty)


def _export(path: Path, *, say: Say | None, allow_empty: bool) -> ExportResult:
    from nacl.signing import SigningKey

    say = say or (lambda _m: None)
    signer = SigningKey(_read_hex(signing_key_path(), "署名用の秘密鍵"))
    verify_hex = signer.verify_key.encode().hex()
    state = _load_state(export_state_path(), {"sequence": 0, "versions": {}, "datasets": {}, "pages": {}})
    exported: dict[str, str] = dict(state.get("versions", {}))  # key → version digest
    meta_sent: dict[str, str] = dict(state.get("datasets", {}))  # identifier → metadata digest

    current = selectors.public_versions()  # table id → the public version
    tables = {t.pk: t for t in Table.objects.filter(pk__in=current).select_related("dataset__licence")}
    attributions = selectors.public_attributions()
    live: dict[str, TableVersion] = {}
    for table_id, version in current.items():
        t = tables[table_id]
        live[_version_key(t.dataset.identifier, t.name, version.number)] = version
    new_keys = sorted(k for k in live if k not in exported)
    gone = sorted(k for k in exported if k not in live)

    datasets: dict[str, dict[str, Any]] = {}
    for ds in selectors.public_datasets().select_related("licence", "category").order_by("identifier"):
        meta = _dataset_meta(ds, attributions.get(ds.pk))
        touched = any(k.startswith(f"{ds.identifier}/") for k in new_keys)
        if touched or meta_sent.get(ds.identifier) != _digest(meta):
            datasets[ds.identifier] = meta
    pages_sent: dict[str, str] = dict(state.get("pages", {}))  # page key → snapshot digest
    pages = _page_entries()
    new_pages = [pages[k] for k in sorted(pages) if pages_sent.get(k) != pages[k]["digest"]]
    gone_pages = sorted(k for k in pages_sent if k not in pages)
    if not (new_keys or gone or datasets or new_pages or gone_pages) and not allow_empty:
        say("前回の書き出しから公開内容に変更はありません（ファイルは作成しませんでした）。")
        return ExportResult(sequence=None)

    sequence = int(state.get("sequence", 0)) + 1
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "sequence": sequence,
        "created_at": timezone.now().isoformat(), "key_id": key_id(verify_hex),
        "datasets": datasets, "versions": [], "tombstones": [],
        "pages": new_pages, "page_tombstones": [{"key": k} for k in gone_pages],
    }  # fmt: skip
    files: dict[str, Path] = {}
    manifest["versions"] = [_version_entry(key, live[key], files) for key in new_keys]
    for key in gone:
        identifier, rest = key.rsplit("/", 1)  # table names hold no "/"
        table_name, number = rest.rsplit("@", 1)
        manifest["tombstones"].append(
            {"key": key, "dataset": identifier, "table": table_name, "number": int(number)}
        )

    body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    signature = signer.sign(body).signature.hex().encode()
    path = Path(path)
    _write_tar(path, body, signature, files)

    for key in new_keys:
        exported[key] = next(v["digest"] for v in manifest["versions"] if v["key"] == key)
    for key in gone:
        exported.pop(key, None)
    for identifier, meta in datasets.items():
        meta_sent[identifier] = _digest(meta)
    pages_sent = {k: pages[k]["digest"] for k in pages}
    _save_state(export_state_path(), {"sequence": sequence, "versions": exported, "datasets": meta_sent,
                                      "pages": pages_sent})  # fmt: skip
    with transaction.atomic():
        audit_record(actor=SYSTEM_ACTOR, action="publication.bundle_export", object_type="publish.bundle",
                     object_id=str(sequence), changes={"versions": new_keys, "tombstones": gone,
                     "datasets": sorted(datasets), "pages": [p["key"] for p in new_pages],
                     "page_tombstones": gone_pages, "sha256": _sha256_file(path)[0]})  # fmt: skip
    say(f"公開バンドル #{sequence} を書き出しました: 新しい版 {len(new_keys)} 件、"
        f"データセット情報 {len(datasets)} 件、非公開化 {len(gone)} 件、"
        f"事業のページ {len(new_pages)} 件（非公開化 {len(gone_pages)} 件） → {path}")  # fmt: skip
    return ExportResult(sequence, len(new_keys), len(datasets), len(gone), path, new_keys)


def _version_entry(key: str, version: TableVersion, files: dict[str, Path]) -> dict[str, Any]:
    """A new public version's manifest entry; its Parquet files are added to ``files`` (tar name → path)."""
    identifier, rest = key.rsplit("/", 1)  # table names hold no "/"
    entry: dict[str, Any] = {
        "key": key, "dataset": identifier, "table": rest.rsplit("@", 1)[0], "number": version.number,
        "rows": version.rows, "digest": readers.version_digest(version), "files": [],
    }  # fmt: skip
    for file in sorted(readers.files_for(version), key=_first_id):
        name = f"data/{len(files) + 1:06d}.parquet"
        sha, size = _sha256_file(Path(file))
        files[name] = Path(file)
        entry["files"].append({"name": name, "sha256": sha, "bytes": size})
    return entry


def _write_tar(path: Path, body: bytes, signature: bytes, files: dict[str, Path]) -> None:
    """The manifest and its signature first, then the data files; renamed into place when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, MANIFEST, body)
        _add_bytes(tar, SIGNATURE, signature)
        for name, src in files.items():
            info = tar.gettarinfo(str(src), arcname=name)
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, "", ""
            with src.open("rb") as fh:
                tar.addfile(info, fh)
    os.replace(partial, path)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# ---- reading and verifying ------------------------------------------------------------------------

BROKEN: Final = "公開バンドルが壊れているか、途中までしかありません。書き出し直したファイルを使ってください。"


@dataclass
class Bundle:
    """A verified bundle: its manifest and the folder its data files were unpacked into."""

    manifest: dict[str, Any]
    sha256: str
    folder: Path


def _unpack(path: Path, folder: Path) -> tuple[bytes, bytes, dict[str, tuple[str, int]]]:
    """Read every member into ``folder`` (data) or memory (manifest, signature); refuse anything odd."""
    body = sig = b""
    seen: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                name = member.name
                if (
                    not member.isfile()
                    or name in seen
                    or (name in (MANIFEST, SIGNATURE) and (body if name == MANIFEST else sig))
                ):
                    raise InvalidInput(BROKEN)
                fh = tar.extractfile(member)
                if fh is None:
                    raise InvalidInput(BROKEN)
                if name in (MANIFEST, SIGNATURE):
                    if member.size > MAX_MANIFEST:
                        raise InvalidInput(BROKEN)
                    data = fh.read()
                    if len(data) != member.size:
                        raise InvalidInput(BROKEN)
                    body, sig = (data, sig) if name == MANIFEST else (body, data)
                    continue
                if not (name.startswith("data/") and name.endswith(".parquet") and "/" not in name[5:]
                        and ".." not in name):  # fmt: skip
                    raise InvalidInput(BROKEN)
                h, size = hashlib.sha256(), 0
                with (folder / name[5:]).open("wb") as out:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - consumed at once
                        h.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                if size != member.size:
                    raise InvalidInput(BROKEN)
                seen[name] = (h.hexdigest(), size)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InvalidInput(BROKEN) from exc
    if not body or not sig:
        raise InvalidInput(BROKEN)
    return body, sig, seen


def read_bundle(path: Path, folder: Path) -> Bundle:
    """Unpack ``path`` into ``folder`` and prove it whole and signed by our key; nothing else is touched."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    if not Path(path).is_file():
        raise InvalidInput(f"公開バンドルのファイル（{path}）が見つかりません。")
    verify_raw = _read_hex(verify_key_path(), "署名確認用の公開鍵")
    body, sig, seen = _unpack(Path(path), folder)
    try:
        VerifyKey(verify_raw).verify(body, bytes.fromhex(sig.decode("ascii").strip()))
    except (BadSignatureError, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "公開バンドルの署名を確認できません。改ざんされたか、別の鍵で署名されています。"
            f"（この環境の公開鍵: {key_id(verify_raw.hex())}）取り込みを中止しました。"
        ) from None
    manifest = json.loads(body)
    if manifest.get("format") != FORMAT or manifest.get("format_version") not in READABLE_VERSIONS:
        raise InvalidInput("この形式の公開バンドルには対応していません。")
    listed = {f["name"]: (f["sha256"], f["bytes"]) for v in manifest["versions"] for f in v["files"]}
    if listed != seen:
        raise InvalidInput(BROKEN)
    return Bundle(manifest=manifest, sha256=hashlib.sha256(body).hexdigest(), folder=folder)


# ---- import ---------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What one import did (``applied`` False when the bundle had already been applied)."""

    sequence: int
    applied: bool
    versions: int = 0
    datasets: int = 0
    tombstones: int = 0


def _import_unit() -> Unit:
    code = _setting("MACHIDATA_PUBLISH_IMPORT_UNIT")
    unit = Unit.objects.filter(code=code).first() if code else None
    if unit is None:
        raise InvalidInput(
            "取り込んだデータセットの所管とする課が設定されていないか、組織にありません"
            "（MACHIDATA_PUBLISH_IMPORT_UNIT に所属コードを設定してください）。"
        )
    return unit


def _check_sequence(bundle: Bundle) -> bool:
    """True to apply, False when this very bundle was applied already; refuse gaps and older bundles."""
    state = _load_state(import_state_path(), {"sequence": 0})
    last, seq = int(state.get("sequence", 0)), int(bundle.manifest["sequence"])
    if seq == last and state.get("sha256") == bundle.sha256:
        return False
    if seq == last:
        raise InvalidInput(
            f"公開バンドル #{seq} は取り込み済みですが、中身が取り込んだものと違います。"
            "書き出した側の記録を確認してください。"
        )
    if seq < last:
        raise InvalidInput(
            f"公開バンドル #{seq} は、すでに取り込んだ #{last} より古いため取り込みません。"
            f"#{last + 1} 以降を取り込んでください。"
        )
    if seq != last + 1:
        raise InvalidInput(
            f"公開バンドル #{seq} の前に #{last + 1} が取り込まれていません（抜けがあります）。"
            f"#{last + 1} から順に取り込んでください。"
        )
    return True


def _to_field(model: type[Any], name: str, value: Any) -> Any:
    return model._meta.get_field(name).to_python(value)


def _upsert_dataset(meta: dict[str, Any], unit: Unit) -> Dataset:
    lic = meta.get("licence")
    licence = None
    if lic:
        licence, _ = Licence.objects.update_or_create(
            code=lic["code"], defaults={"name": lic["name"], "url": lic["url"], "is_open": lic["is_open"]}
        )
    cat = meta.get("category")
    category = None
    if cat:
        category = (
            Category.objects.filter(code=cat["code"]).first()
            or Category.objects.filter(name=cat["name"]).first()
        )
        if category is None:
            category = Category.objects.create(code=cat["code"], name=cat["name"])
    owner = _owner_unit(meta.get("owner")) or unit
    values = {f: _to_field(Dataset, f, meta[f]) for f in DATASET_FIELDS}
    clash = Dataset.objects.filter(slug=values["slug"]).exclude(identifier=meta["identifier"]).first()
    if clash is not None:
        raise InvalidInput(
            f"URL名「{values['slug']}」は、この環境の別のデータセット（{clash.identifier}）が使っています。"
        )
    ds = Dataset.objects.filter(identifier=meta["identifier"]).first()
    if (
        ds is not None
        and TableVersion.objects.filter(table__dataset=ds).exclude(source_name__startswith="bundle:").exists()
    ):
        raise InvalidInput(
            f"データセット {meta['identifier']} はこの環境で作られたものです。公開バンドルは公開側の環境"
            "（庁内の環境とは別のもの）で取り込んでください。"
        )
    if ds is None:
        ds = Dataset(identifier=meta["identifier"], owner=unit, classification=Classification.INTERNAL)
    for f, v in values.items():
        setattr(ds, f, v)
    ds.category, ds.licence, ds.owner = category, licence or ds.licence, owner
    ds.save()
    for name, tmeta in meta.get("tables", {}).items():
        _upsert_table(ds, name, tmeta)
    return ds


def _owner_unit(owner: dict[str, Any] | None) -> Unit | None:
    """The public side's unit of a dataset's 所管課: the unit with the bundle's 所属コード (its name kept
    up to date), created when this instance does not have it. None for a bundle without an owner."""
    if not owner or not str(owner.get("code") or "").strip():
        return None
    code, name = str(owner["code"]), str(owner.get("name") or owner["code"])[:200]
    unit = Unit.objects.filter(code=code).order_by("-valid_from").first()
    if unit is None:
        kind = str(owner.get("kind") or "")
        unit = Unit.objects.create(
            code=code, name=name, kind=kind if kind in UnitKind.values else UnitKind.DIVISION
        )
    elif unit.name != name:
        Unit.objects.filter(pk=unit.pk).update(name=name)
        unit.name = name
    return unit


def _upsert_table(ds: Dataset, name: str, tmeta: dict[str, Any]) -> Table:
    import uuid

    table = Table.objects.filter(dataset=ds, name=name).first()
    if table is None:
        table = Table(dataset=ds, name=name, storage_key=uuid.uuid4().hex)
    for f in TABLE_FIELDS:
        if f in tmeta:
            setattr(table, f, tmeta[f])
    table.save()
    if "standard" in tmeta:  # bundles before format 2 say nothing: leave the table as it is
        model = _declaration_model()
        declared = tmeta["standard"]
        if declared:
            model.objects.update_or_create(
                table=table,
                defaults={"standard": str(declared["standard"]), "mapping": declared.get("mapping") or {}},
            )
        else:
            model.objects.filter(table=table).delete()
    return table


def _import_user() -> Any:
    user, created = get_user_model().objects.get_or_create(
        username=IMPORT_USERNAME, defaults={"first_name": "公開バンドルの取り込み", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _request_for(ds: Dataset, bundle: Bundle, meta: dict[str, Any] | None) -> PublicationRequest:
    note = f"公開バンドル #{bundle.manifest['sequence']}（{bundle.sha256[:16]}）"
    req = PublicationRequest.objects.filter(dataset=ds, route_name="bundle", note=note).first()
    if req is None:
        req = PublicationRequest.objects.create(
            dataset=ds, kind=RequestKind.PUBLISH, route_name="bundle", status=RequestStatus.APPROVED,
            licence=ds.licence, attribution=(meta or {}).get("attribution", "")[:500], note=note,
            requested_by=_import_user(), decided_at=timezone.now(),
        )  # fmt: skip
    return req


def _read_parquet(folder: Path, entry: dict[str, Any]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The version's rows streamed file by file in the manifest's order (the internal ``_id`` order),
    without ``_id``: the public lake numbers its own."""
    paths = [folder / f["name"][5:] for f in entry["files"]]
    if not paths:
        raise InvalidInput(BROKEN)
    full = pq.read_schema(paths[0])
    columns = [n for n in full.names if n != ID_COLUMN]
    schema = pa.schema([full.field(n) for n in columns])

    def batches() -> Iterator[pa.RecordBatch]:
        for path in paths:
            with pq.ParquetFile(path) as pf:
                for batch in pf.iter_batches(batch_size=64_000, columns=columns):
                    yield batch.cast(schema) if batch.schema != schema else batch

    return schema, batches()


def _set_public(ds: Dataset, public: bool, sequence: int) -> None:
    from machidata.catalog.services import dataset_set_publication

    want = Classification.PUBLIC if public else Classification.INTERNAL
    if ds.classification != want:
        dataset_set_publication(actor=SYSTEM_ACTOR, dataset=ds, public=public, licence=ds.licence,
                                reference=f"bundle#{sequence}")  # fmt: skip


def _apply_version(entry: dict[str, Any], bundle: Bundle, unit: Unit) -> bool:
    seq = int(bundle.manifest["sequence"])
    meta = bundle.manifest["datasets"].get(entry["dataset"])
    ds = Dataset.objects.filter(identifier=entry["dataset"]).first()
    if ds is None:
        if meta is None:
            raise InvalidInput(f"公開バンドルにデータセット {entry['dataset']} の情報がありません。")
        ds = _upsert_dataset(meta, unit)
    table = Table.objects.filter(dataset=ds, name=entry["table"]).first() or _upsert_table(
        ds, entry["table"], (meta or {}).get("tables", {}).get(entry["table"], {"title": entry["table"]})
    )
    source = f"bundle:{entry['key']}"
    version = TableVersion.objects.filter(table=table, source_name=source, status="committed").first()
    wrote = False
    if version is None:
        schema, batches = _read_parquet(bundle.folder, entry)
        version = write_version(
            table=table, batches=batches, schema=schema, mode="replace",
            job_id=f"bundle-{seq}-{hashlib.sha256(source.encode()).hexdigest()[:12]}",
            source_name=source, source_sha256=entry["digest"], note=f"公開バンドル #{seq} から取り込み",
        )  # fmt: skip
        wrote = True
    with transaction.atomic():
        existing = PublishedVersion.objects.filter(table=table, version=version)
        if existing.exists():  # published again after a withdrawal: public again
            existing.filter(withdrawn_at__isnull=False).update(withdrawn_at=None, withdrawn_by=None)
        else:
            PublishedVersion.objects.create(
                table=table, version=version, request=_request_for(ds, bundle, meta)
            )
        _set_public(Dataset.objects.get(pk=ds.pk), True, seq)
    return wrote


def _apply_tombstone(entry: dict[str, Any], sequence: int) -> int:
    source = f"bundle:{entry['key']}"
    with transaction.atomic():
        n = PublishedVersion.objects.filter(
            version__source_name=source,
            table__dataset__identifier=entry["dataset"],
            withdrawn_at__isnull=True,
        ).update(withdrawn_at=timezone.now())
        ds = Dataset.objects.filter(identifier=entry["dataset"]).first()
        if (
            ds is not None
            and not PublishedVersion.objects.filter(table__dataset=ds, withdrawn_at__isnull=True).exists()
        ):
            _set_public(ds, False, sequence)
    return n


def _page_item(entry: dict[str, Any], unit: Unit) -> Any:
    """The public side's 事業 of a page key: the one an earlier bundle made, else a new one (its 所管課 by
    所属コード). Only what the page shows is kept; the plan tree stays on the internal side."""
    from machidata.ebpm.models import Level, PageRequest, PlanItem

    earlier = PageRequest.objects.filter(route_name="bundle", reason=entry["key"]).order_by("-id").first()
    values = {
        "name": str(entry.get("name") or "")[:200], "code": str(entry.get("code") or "")[:40],
        "level": entry.get("level") if entry.get("level") in Level.values else Level.PROJECT,
        "unit": _owner_unit(entry.get("unit")) or unit,
    }  # fmt: skip
    if earlier is not None:
        PlanItem.objects.filter(pk=earlier.item_id).update(**values)
        return PlanItem.objects.get(pk=earlier.item_id)
    return PlanItem.objects.create(**values)


def _apply_page(entry: dict[str, Any], unit: Unit, sequence: int) -> bool:
    """Serve the page exactly as approved inside (idempotent: the same snapshot again changes nothing)."""
    from machidata.ebpm.models import PageRequest, PageRequestKind, PageRequestStatus, PublicPage

    with transaction.atomic():
        item = _page_item(entry, unit)
        live = PublicPage.objects.filter(
            item=item, superseded_at__isnull=True, withdrawn_at__isnull=True
        ).first()
        if live is not None and live.request.fingerprint == entry["digest"]:
            return False
        now = timezone.now()
        req = PageRequest.objects.create(
            item=item, kind=PageRequestKind.PUBLISH, requested_by=_import_user(), reason=entry["key"],
            preview=entry["snapshot"], fingerprint=entry["digest"], route_name="bundle", steps=[],
            status=PageRequestStatus.APPROVED, decided_at=now,
        )  # fmt: skip
        if live is not None:
            PublicPage.objects.filter(pk=live.pk).update(superseded_at=now)
        PublicPage.objects.create(
            item=item, request=req, snapshot=entry["snapshot"],
            published_at=dt.datetime.fromisoformat(entry["published_at"]) if entry.get("published_at") else now,
        )  # fmt: skip
        audit_record(actor=SYSTEM_ACTOR, action="publication.bundle_page", obj=item,
                     changes={"key": entry["key"], "bundle": sequence})  # fmt: skip
    return True


def _apply_page_tombstone(entry: dict[str, Any]) -> int:
    from machidata.ebpm.models import PublicPage

    with transaction.atomic():
        return PublicPage.objects.filter(
            request__route_name="bundle", request__reason=entry["key"],
            superseded_at__isnull=True, withdrawn_at__isnull=True,
        ).update(withdrawn_at=timezone.now())  # fmt: skip


def import_bundle(path: Path, *, say: Say | None = None) -> ImportResult:
    """Verify ``path`` completely, then apply it (a no-op when it was applied already)."""
    with _exclusive("取り込み"):
        return _import(Path(path), say=say)


def _import(path: Path, *, say: Say | None) -> ImportResult:
    say = say or (lambda _m: None)
    scratch = Path(tempfile.mkdtemp(prefix="machidata-bundle-"))
    try:
        bundle = read_bundle(Path(path), scratch)
        seq = int(bundle.manifest["sequence"])
        if not _check_sequence(bundle):
            say(f"公開バンドル #{seq} はすでに取り込み済みです（何も変更していません）。")
            return ImportResult(sequence=seq, applied=False)
        unit = _import_unit()
        m = bundle.manifest
        with transaction.atomic():
            for meta in m["datasets"].values():
                _upsert_dataset(meta, unit)
        written = sum(_apply_version(entry, bundle, unit) for entry in m["versions"])
        withdrawn = sum(_apply_tombstone(entry, seq) for entry in m["tombstones"])
        pages = sum(_apply_page(entry, unit, seq) for entry in m.get("pages", []))
        pages_gone = sum(_apply_page_tombstone(entry) for entry in m.get("page_tombstones", []))
        _save_state(import_state_path(), {"sequence": seq, "sha256": bundle.sha256,
                                          "applied_at": timezone.now().isoformat()})  # fmt: skip
        with transaction.atomic():
            audit_record(actor=SYSTEM_ACTOR, action="publication.bundle_import", object_type="publish.bundle",
                         object_id=str(seq), changes={"sha256": bundle.sha256, "versions_written": written,
                         "withdrawn": withdrawn, "datasets": sorted(m["datasets"]),
                         "pages": pages, "pages_withdrawn": pages_gone})  # fmt: skip
        say(f"公開バンドル #{seq} を取り込みました: 新しい版 {written} 件、データセット情報 "
            f"{len(m['datasets'])} 件、非公開化 {withdrawn} 件、事業のページ {pages} 件（非公開化 {pages_gone} 件）。")  # fmt: skip
        return ImportResult(seq, True, written, len(m["datasets"]), withdrawn)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
