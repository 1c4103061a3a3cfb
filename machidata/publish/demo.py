"""Demo content of publication: one dataset published through the route (a 統計表 suppressed first)
and one request waiting for the 課長.

The published one is real data: 高松市オープンデータ「地域・年齢別人口」(高松市, CC BY) —
takamatsu-city/opendata ``old_data/0066_202303.csv`` — summed into 町 × 年齢3区分, so the demo
shows the small-count gate, the suppression tool and its audit. :func:`publish_real_files` then files
and walks the 公開申請 of every real file whose licence is open and whose gates pass (the others stay
庁内, with the reason). The 課長 of every owning 課 comes from the demo seeding (``demo.content.HEADS``).
Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db import transaction

from machidata.access.models import Membership, Role, Unit
from machidata.access.policy import actor_for
from machidata.catalog.models import Dataset, Table, TableVersion

OWNER_CODE: Final = "30201000"  # 健康づくり推進課 in the demo organisation
HEAD_USERNAME: Final = "kacho"
HEAD_PASSWORD: Final = "demo-kacho-2024"  # noqa: S105 - a published demo password, like the other demo accounts
PUBLISHED_SLUG: Final = "demo-takamatsu-population-age3"
PENDING_SLUG: Final = "demo-health-centres"
ATTRIBUTION: Final = "高松市オープンデータ「地域・年齢別人口」（高松市, CC BY）をもとに年齢3区分に集計"
TAKAMATSU_FILE: Final = "372013_takamatsu_population_by_town_age_202303.csv"
PENDING_CSV: Final = (
    "施設名,区,所在地（区まで）,健診の定員\n"
    "中央保健福祉センター,中央区,熊本市中央区,40\n東保健福祉センター,東区,熊本市東区,35\n"
    "西保健福祉センター,西区,熊本市西区,30\n南保健福祉センター,南区,熊本市南区,25\n北保健福祉センター,北区,熊本市北区,20\n"
)


def age3_rows(path: Path, *, min_total: int = 30, towns: int = 60) -> list[list[str]]:
    """町 × 年齢3区分 (0–14, 15–64, 65+, men and women added) with a 計 column and a 合計 row first."""
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    header = rows[6]  # the #property row names the columns (its first cell sits over the row number)
    data = [r for r in rows[9:] if r and r[0].isdigit()]

    def band(r: list[str], lo: int, hi: int) -> int:
        return sum(int(r[header.index(f"{s}{k}")]) for k in range(lo, hi + 1) for s in ("man", "woman"))

    # Summed up to the 町 (塩上町１丁目・２丁目 → 塩上町): coarser areas, as statistics are published.
    by_town: dict[str, list[int]] = {}
    for r in data:
        town = re.sub("[0-9０-９]+丁目$", "", r[header.index("regionName")])
        counts = by_town.setdefault(town, [0, 0, 0])
        for k, (lo, hi) in enumerate(((1, 3), (4, 13), (14, 18))):
            counts[k] += band(r, lo, hi)
    body: list[list[Any]] = []
    for town, counts in by_town.items():
        if sum(counts) >= min_total:
            body.append([town, *counts, sum(counts)])
        if len(body) >= towns:
            break
    totals = [sum(int(b[k]) for b in body) for k in range(1, 5)]
    out = [["町", "0～14歳", "15～64歳", "65歳以上", "計"], ["合計", *map(str, totals)]]
    out += [[str(v) for v in b] for b in body]
    return out


def _head(unit: Unit) -> Any:
    from machidata.access.models import ApproverDesignation, DesignationKind

    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=HEAD_USERNAME, defaults={"first_name": "健康づくり推進課長", "is_active": True}
    )
    if created:
        user.set_password(HEAD_PASSWORD)
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, unit=unit, role=Role.VIEWER)
    if not ApproverDesignation.objects.filter(unit=unit, user=user, kind=DesignationKind.HEAD).exists():
        ApproverDesignation.objects.create(unit=unit, user=user, kind=DesignationKind.HEAD)
    return user


def _dataset(slug: str, title: str, unit: Unit, description: str, *, synthetic: bool) -> Dataset:
    with transaction.atomic():
        ds, _ = Dataset.objects.get_or_create(
            slug=slug,
            defaults={"identifier": f"demo-{slug}", "title": title, "owner": unit, "classification": "internal",
                      "personal_data": "none", "description": description, "is_synthetic": synthetic},
        )  # fmt: skip
    return ds


def _ingest(actor: Any, dataset: Dataset, name: str, rows: list[list[str]], home: Path) -> TableVersion:
    from machidata.catalog.models import ValidationPolicy
    from machidata.catalog.table_services import table_update_schema
    from machidata.ingest.services import ingest_file, table_get_or_create

    table = table_get_or_create(actor=actor, dataset=dataset, name=name, title=dataset.title)
    if table.validation_policy != ValidationPolicy.WARN:  # as the demo's real files: accept with warnings
        table = table_update_schema(actor=actor, table=table, validation_policy=ValidationPolicy.WARN)
    path = home / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return ingest_file(actor=actor, table=Table.objects.get(pk=table.pk), path=path, source_name=path.name)


def load_publication_demo(*, home: Path, real_dir: Path) -> dict[str, int]:
    """Publish one 統計表 through the route (after suppression) and leave one request at the 課長 step."""
    from machidata.publish.models import PublicationRequest
    from machidata.publish.services import (
        aggregate_spec_set,
        publication_act,
        publication_request_create,
        suppression_run,
    )

    done = {"published": 0, "pending": 0}
    unit = Unit.objects.filter(code=OWNER_CODE).first()
    user_model = get_user_model()
    steward_user = user_model.objects.filter(username="steward").first()
    admin_user = user_model.objects.filter(username="admin").first()
    if unit is None or steward_user is None or admin_user is None:
        return done
    with transaction.atomic():
        head = _head(unit)
    steward, approver, strategy = actor_for(steward_user), actor_for(head), actor_for(admin_user)
    folder = Path(home) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(real_dir) / TAKAMATSU_FILE
    if source.is_file():
        ds = _dataset(PUBLISHED_SLUG, "町別・年齢3区分別人口（高松市データによる秘匿処理の例）", unit,
                      f"出典: {ATTRIBUTION}。公開申請・秘匿処理のデモです。", synthetic=False)  # fmt: skip
        if not PublicationRequest.objects.filter(dataset=ds).exists():
            v1 = _ingest(steward, ds, "age3", age3_rows(source), folder)
            aggregate_spec_set(actor=steward, table=v1.table, dimension="町",
                               count_columns=["0～14歳", "15～64歳", "65歳以上"], total_column="計",
                               total_row_label="合計", threshold=10)  # fmt: skip
            run = suppression_run(actor=steward, table=Table.objects.get(pk=v1.table_id))
            assert run.result_version is not None
            req = publication_request_create(actor=steward, dataset=ds, version_ids=[run.result_version.pk],
                                             licence_code="cc-by-4.0", attribution=ATTRIBUTION,
                                             note="小さい数を秘匿した版を公開します。")  # fmt: skip
            req = publication_act(
                actor=approver, request=req, decision="approve", comment="公開して差し支えない。"
            )
            publication_act(actor=strategy, request=req, decision="approve", comment="確認しました。")
            done["published"] = 1
    ds = _dataset(PENDING_SLUG, "保健福祉センター一覧（公開申請中の例）", unit,
                  "公開申請の決裁を待っている例です（デモ用の合成データ）。", synthetic=True)  # fmt: skip
    if not PublicationRequest.objects.filter(dataset=ds).exists():
        v = _ingest(steward, ds, "centres", [r.split(",") for r in PENDING_CSV.strip().split("\n")], folder)
        publication_request_create(actor=steward, dataset=ds, version_ids=[v.pk], licence_code="cc-by-4.0",
                                   attribution="熊本市オープンデータ（健康づくり推進課）", note="毎年度更新します。")  # fmt: skip
        done["pending"] = 1
    return done


def _owner_editor(unit: Unit) -> Any:
    """A data owner (編集 member) of the 課, not a superuser: who files the 公開申請."""
    m = (
        Membership.objects.active_on()
        .filter(unit=unit, role=Role.EDITOR, user__is_active=True, user__is_superuser=False)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return m.user if m is not None else None


def publish_real_files(*, identifiers: list[str]) -> dict[str, Any]:
    """File and walk the 公開申請 of each real file whose licence is open and whose gates pass.

    The 課's data owner files it (the versions ingested now), the 課長 approves, データ戦略課 checks —
    the services of the route, nothing written directly. A file the gates stop (personal names found by
    the ingestion screen, a licence not verified) is not filed and stays 庁内, with the reason returned.
    Returns ``{"published": [title], "already": [title], "internal": {title: reason}}``; a second run
    files nothing.
    """
    from machidata.access.routes import head_of
    from machidata.publish import gates as g
    from machidata.publish.models import PublicationRequest
    from machidata.publish.services import blocking, publication_act, publication_request_create

    out: dict[str, Any] = {"published": [], "already": [], "internal": {}}
    admin_user = get_user_model().objects.filter(username="admin").first()
    if admin_user is None:
        return out
    strategy = actor_for(admin_user)
    for ds in (
        Dataset.objects.filter(identifier__in=identifiers)
        .select_related("owner", "licence")
        .order_by("identifier")
    ):
        if PublicationRequest.objects.filter(dataset=ds).exists():
            out["already"].append(ds.title)
            continue
        versions = [
            t.current_version for t in ds.tables.select_related("current_version__table") if t.current_version
        ]
        licence, attribution = ds.licence, ds.source_detail or ds.title
        if not versions:
            out["internal"][ds.title] = "取り込んだ版がありません"
            continue
        results = [r.as_dict() for r in g.run_gates(ds, versions, licence=licence, attribution=attribution)]
        stuck = blocking(results)
        if stuck:
            out["internal"][ds.title] = "、".join(f"{r['label']}（{r['detail']}）" for r in stuck)
            continue
        filer, head = _owner_editor(ds.owner), head_of(ds.owner_id)
        if filer is None or head is None:
            out["internal"][ds.title] = "所管課にデータ所有者か課長がいません"
            continue
        assert licence is not None  # the licence gate passed
        req = publication_request_create(
            actor=actor_for(filer), dataset=ds, version_ids=[v.pk for v in versions], licence_code=licence.code,
            attribution=attribution, note="実データ（オープンライセンス）をそのまま公開します。",
        )  # fmt: skip
        req = publication_act(
            actor=actor_for(head), request=req, decision="approve", comment="公開して差し支えない。"
        )
        publication_act(actor=strategy, request=req, decision="approve", comment="公開前の確認を終えました。")
        out["published"].append(ds.title)
    return out
