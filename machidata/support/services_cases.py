"""Writes of the case library (事例集): staff add their 課's cases, publish them, and copy one (横展開).

A case belongs to a 課 (its members and 管理 edit it) or, for the strategy's reference cases of other
cities, to データ戦略課 alone (``unit`` empty, 管理 only). A draft is seen by its 課 and 管理; a
published case by every member of staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from machidata.access.policy import Action, Actor, restrict
from machidata.audit.services import audit_record
from machidata.core.errors import InvalidInput, PermissionDenied
from machidata.search.normalise import fold
from machidata.support.models import Case, CaseField, CaseStatus, EvidenceLevel
from machidata.support.selectors_help import Links, linkable, resolve_links
from machidata.support.services import division_of, home_unit

TEXT_FIELDS: Final = (
    "title",
    "municipality",
    "summary",
    "data_used",
    "insight",
    "policy_change",
    "source_title",
)
REQUIRED: Final = {
    "title": "事例名",
    "municipality": "自治体",
    "data_used": "使用データ",
    "insight": "得られた知見",
}
LIMITS: Final = {"title": 200, "municipality": 60, "source_title": 300}
HOME_CITY: Final = "熊本市"


def may_edit_case(actor: Actor, case: Case) -> bool:
    """The case's 課 (係 included) and 管理 edit it; reference cases (no 課) only 管理."""
    return actor.is_admin or (case.unit_id is not None and case.unit_id in actor.unit_ids)


def refold(case: Case) -> None:
    """Recompute the folded text the case search matches against."""
    parts = [getattr(case, f) for f in TEXT_FIELDS]
    parts += [case.get_field_display(), case.get_evidence_level_display()]
    case.folded = fold("\n".join(p for p in parts if p))


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        text = str(values.get(name) or "").strip()
        if name in REQUIRED and not text:
            raise InvalidInput(f"{REQUIRED[name]}を入力してください。")
        if name in LIMITS and len(text) > LIMITS[name]:
            raise InvalidInput(f"{name}は{LIMITS[name]}文字以内で入力してください。")
        out[name] = text
    if values.get("field") not in CaseField.values:
        raise InvalidInput("分野を選んでください。")
    if values.get("evidence_level") not in EvidenceLevel.values:
        raise InvalidInput("根拠の強さを選んでください。")
    out["field"] = values["field"]
    out["evidence_level"] = values["evidence_level"]
    url = str(values.get("source_url") or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise InvalidInput("参照URLは http:// か https:// で始まるURLを入力してください。") from None
    out["source_url"] = url
    return out


def _datasets(actor: Actor, dataset_ids: Iterable[int]) -> list[Any]:
    from machidata.catalog.models import Dataset

    wanted = set(dataset_ids)
    found = list(restrict(Dataset.objects.filter(pk__in=wanted), actor, Action.DISCOVER))
    if len(found) != len(wanted):
        raise InvalidInput("関係するデータに、見つからないもの（または見る権限のないもの）があります。")
    return found


def set_links(owner: Any, actor: Actor, found: Mapping[str, list[Any]]) -> None:
    """Replace the links of each kind given; links the editor cannot see stay (someone who could made them)."""
    for kind, objects in found.items():
        related = getattr(owner, kind)
        hidden = related.exclude(pk__in=linkable(kind, actor=actor).values("pk"))
        related.set([*objects, *hidden])


def case_create(
    *,
    actor: Actor,
    values: Mapping[str, Any],
    dataset_ids: Iterable[int] = (),
    links: Links | None = None,
    unit_id: int | None = None,
    reference: bool = False,
    publish: bool = False,
) -> Case:
    """Add a case for one of the actor's 課 (管理: for any 課, or a reference case with no 課)."""
    from machidata.access.models import Unit

    if not actor.is_authenticated:
        raise PermissionDenied("ログインしてください。")
    data = _clean(values)
    if reference:
        if not actor.is_admin:
            raise PermissionDenied("参考事例を登録できるのはデータ戦略課（管理）だけです。")
        unit = None
    elif unit_id is None:
        unit = home_unit(actor.user_id) if actor.user_id else None
        if unit is None:
            raise InvalidInput("所属が登録されていないため事例を登録できません。")
    else:
        if not actor.is_admin and unit_id not in actor.unit_ids:
            raise InvalidInput("事例を登録できるのは自分の所属の分だけです。")
        unit = Unit.objects.filter(pk=unit_id).first()
        if unit is None:
            raise InvalidInput("所属が見つかりません。")
    datasets = _datasets(actor, dataset_ids)
    found = resolve_links(actor, links)
    with transaction.atomic():
        case = Case(
            **data,
            unit=unit,
            is_reference=reference,
            created_by_id=actor.user_id,
            status=CaseStatus.PUBLISHED if publish else CaseStatus.DRAFT,
        )
        refold(case)
        case.save()
        case.datasets.set(datasets)
        set_links(case, actor, found)
        audit_record(
            actor=actor,
            action="case.create",
            obj=case,
            changes={
                "unit": unit.code if unit else None,
                "status": case.status,
                **{k: sorted(o.pk for o in v) for k, v in found.items() if v},
            },
        )
    return case


def case_update(
    *,
    actor: Actor,
    case: Case,
    values: Mapping[str, Any],
    dataset_ids: Iterable[int] | None = None,
    links: Links | None = None,
) -> Case:
    """Change a case's text, field, evidence level, source, related datasets and links (kinds given only)."""
    if not may_edit_case(actor, case):
        raise PermissionDenied("この事例を編集できるのは登録した課とデータ戦略課だけです。")
    data = _clean(values)
    datasets = _datasets(actor, dataset_ids) if dataset_ids is not None else None
    found = resolve_links(actor, links)
    with transaction.atomic():
        changed = sorted(k for k, v in data.items() if getattr(case, k) != v)
        for k, v in data.items():
            setattr(case, k, v)
        refold(case)
        case.save()
        if datasets is not None:
            # datasets the editor cannot see stay linked: they were linked by someone who could
            hidden = case.datasets.exclude(pk__in=restrict(case.datasets.all(), actor, Action.DISCOVER))
            case.datasets.set([*datasets, *hidden])
        set_links(case, actor, found)
        audit_record(
            actor=actor,
            action="case.update",
            obj=case,
            changes={"fields": changed, **{k: sorted(o.pk for o in v) for k, v in found.items()}},
        )
    return case


def case_publish(*, actor: Actor, case: Case, publish: bool = True) -> Case:
    """Publish a draft to all staff, or take a case back to draft."""
    if not may_edit_case(actor, case):
        raise PermissionDenied("この事例を公開できるのは登録した課とデータ戦略課だけです。")
    status = CaseStatus.PUBLISHED if publish else CaseStatus.DRAFT
    if case.status == status:
        raise InvalidInput("この事例はすでに" + ("公開中です。" if publish else "下書きです。"))
    with transaction.atomic():
        case.status = status
        case.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="case.publish", obj=case, changes={"status": status})
    return case


@dataclass
class CopyResult:
    """A 横展開: the new draft case, the 事業 made from the case's logic models, and what was not copied."""

    case: Case
    projects: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dashboards: list[Any] = field(default_factory=list)
    charts: int = 0


def _copy_projects(actor: Actor, case: Case, copy: Case, unit: Any) -> tuple[list[Any], list[str]]:
    """Each linked 事業 with a logic model becomes a new 事業 of the copier's 課 (段階 構想), model copied.

    Indicators, targets and actuals stay behind: they measure the original 事業. A 事業 the copier may
    not create (no 編集 role in the 課) is skipped with the reason, not failed.
    """
    from machidata.ebpm.models import Level, LogicModel
    from machidata.ebpm.services import logic_model_copy, plan_item_create

    made: list[Any] = []
    skipped: list[str] = []
    division = division_of(unit)
    for source in linkable("projects", actor=actor).filter(pk__in=case.projects.values("pk")):
        if source.level != Level.PROJECT or not LogicModel.objects.filter(item=source, number__gt=0).exists():
            skipped.append(f"「{source.name}」にはコピーできるロジックモデルがありません。")
            continue
        try:
            with transaction.atomic():  # a savepoint: a refused 事業 leaves nothing behind
                item = plan_item_create(
                    actor=actor,
                    level=Level.PROJECT,
                    name=f"{source.name[:180]}（横展開）",
                    unit_id=division.pk,
                    description=f"事例「{case.title}」から横展開した事業です。元の事業: {source.name}",
                )
                logic_model_copy(actor=actor, source=source, target=item)
        except (PermissionDenied, InvalidInput) as exc:
            skipped.append(f"「{source.name}」のロジックモデル: {exc.message}")
            continue
        made.append(item)
    copy.projects.set(made)
    return made, skipped


def _copy_dashboards(actor: Actor, case: Case, copy: Case, unit: Any, result: CopyResult) -> None:
    """Each linked dashboard the copier may see becomes theirs, shared with the 課, charts included.

    Through :func:`machidata.charts.services.dashboard_copy`: a chart whose table the 課 cannot read is
    replaced by a note to re-point it, and the note is reported; a refusal skips that dashboard only.
    """
    from machidata.charts.services import dashboard_copy

    division = division_of(unit)
    for source in linkable("dashboards", actor=actor).filter(pk__in=case.dashboards.values("pk")):
        try:
            with transaction.atomic():  # a savepoint: a refused copy leaves nothing behind
                made = dashboard_copy(
                    actor=actor,
                    dashboard=source,
                    unit_id=division.pk,
                    title=f"{source.title[:180]}（横展開）",
                )
        except (PermissionDenied, InvalidInput) as exc:
            result.skipped.append(f"ダッシュボード「{source.title}」: {exc.message}")
            continue
        result.dashboards.append(made.dashboard)
        result.charts += len(made.charts)
        result.skipped += [f"ダッシュボード「{source.title}」: {note}" for note in made.to_repoint]
    copy.dashboards.set(result.dashboards)


def case_copy(*, actor: Actor, case: Case, unit_id: int | None = None) -> CopyResult:
    """横展開: a draft for the actor's 課, starting from ``case`` and linked to it.

    The text is copied as a starting point and the municipality becomes 熊本市; the related datasets,
    recipes and analyses the copier may see stay linked as references (they belong to their 課; a
    recipe is put onto the copier's own tables from its page). Each linked 事業's logic model is
    copied into a new 事業 of the copier's 課, so planning starts from it, and each linked dashboard
    into a dashboard of the copier's 課 with its charts (those on tables the 課 cannot read are left
    as notes to re-point, reported in ``skipped``).
    """
    from machidata.access.models import Unit

    if not actor.is_authenticated:
        raise PermissionDenied("ログインしてください。")
    if unit_id is None:
        unit = home_unit(actor.user_id) if actor.user_id else None
    elif actor.is_admin or unit_id in actor.unit_ids:
        unit = Unit.objects.filter(pk=unit_id).first()
    else:
        raise InvalidInput("横展開の先は自分の所属だけです。")
    if unit is None:
        raise InvalidInput("所属が登録されていないため横展開できません。")
    with transaction.atomic():
        copy = Case(
            title=case.title[:190] + "（横展開）",
            field=case.field,
            municipality=HOME_CITY,
            summary=f"{case.municipality}の事例「{case.title}」を参考に始めた取組です。\n\n{case.summary}".strip(),
            data_used=case.data_used,
            insight=case.insight,
            policy_change=case.policy_change,
            evidence_level=case.evidence_level,
            source_title=case.source_title,
            source_url=case.source_url,
            unit=unit,
            status=CaseStatus.DRAFT,
            copied_from=case,
            created_by_id=actor.user_id,
        )
        refold(copy)
        copy.save()
        copy.datasets.set(restrict(case.datasets.all(), actor, Action.DISCOVER))
        for kind in ("recipes", "analyses"):
            getattr(copy, kind).set(
                linkable(kind, actor=actor).filter(pk__in=getattr(case, kind).values("pk"))
            )
        projects, skipped = _copy_projects(actor, case, copy, unit)
        result = CopyResult(case=copy, projects=projects, skipped=skipped)
        _copy_dashboards(actor, case, copy, unit, result)
        audit_record(
            actor=actor,
            action="case.copy",
            obj=copy,
            changes={
                "from": case.pk,
                "unit": unit.code,
                "projects": [p.pk for p in projects],
                "dashboards": [d.pk for d in result.dashboards],
            },
        )
    return result
