"""From catalog rows to index documents, and from an actor to the index's access filter.

The access filter mirrors ``access.policy`` for the *discover* action exactly: each document carries
``subject:<classification>:<personal data>:<discoverable>`` and ``owner:<unit id>``; an actor may
discover the subjects its row-independent standings (anonymous, staff, 管理) allow, everything its
own units own, and the datasets granted to it (passed as identifiers, because grants expire).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from machidata.access.models import Unit
from machidata.access.policy import Action, Actor, Standing, Subject, all_subjects, decide
from machidata.catalog.models import Dataset, DatasetGrant, Location, Table
from machidata.search.index import SearchDocument

_LOCATIONS = dict(Location.choices)


def subject_term(subject: Subject) -> str:
    """The acl term of a policy subject."""
    return f"subject:{subject.classification}:{subject.personal_data}:{int(bool(subject.discoverable))}"


def _column_words(tables: Iterable[Table]) -> list[str]:
    words: list[str] = []
    for t in tables:
        words += [t.title, t.name]
        for f in (t.schema or {}).get("fields", []) if isinstance(t.schema, dict) else []:
            if isinstance(f, dict):
                words += [str(f[k]) for k in ("name", "title") if f.get(k)]
    return [w for w in dict.fromkeys(words) if w]


def dataset_document(d: Dataset) -> SearchDocument:
    """The index document of one catalog entry (expects owner, parents, category, licence, formats, tables loaded)."""
    department: list[str] = []
    unit: Unit | None = d.owner
    while unit is not None and len(department) < 8:  # a cycle in bad data must not loop forever
        department.append(unit.name)
        unit = unit.parent
    formats = list(d.formats.all())
    licence = d.licence
    other = [
        d.identifier,
        d.title_en,
        licence.name if licence else "",
        _LOCATIONS.get(d.location, ""),
        d.location_detail,
        d.spatial,
        d.lg_code,
        d.source_detail,
        *(f.name for f in formats),
    ]
    keywords = d.keywords if isinstance(d.keywords, list) else []
    return SearchDocument(
        identifier=str(d.pk),
        title=d.title,
        description=d.description or "",
        keywords=[str(k) for k in keywords if k],
        category=d.category.name if d.category else "",
        department=department,
        columns=_column_words(d.tables.all()),
        other=[x for x in other if x],
        facets={
            "department": [d.owner.code],
            "category": [d.category.code] if d.category else [],
            "classification": [d.classification],
            "format": [f.code for f in formats],
            "licence": [licence.code] if licence else [],
            "state": ["retired" if d.retired_at else "live"],
        },
        acl=[
            subject_term(Subject(d.classification, d.personal_data, bool(d.discoverable))),
            f"owner:{d.owner_id}",
        ],
        updated_at=d.updated_at,
        extra={"slug": d.slug},
    )


def documents_queryset() -> QuerySet[Dataset]:
    """Datasets with everything :func:`dataset_document` reads, in few queries."""
    return Dataset.objects.select_related(
        "owner", "owner__parent", "owner__parent__parent", "category", "licence"
    ).prefetch_related(
        "formats",
        Prefetch("tables", queryset=Table.objects.only("id", "dataset_id", "name", "title", "schema")),
    )


@dataclass(frozen=True)
class AccessFilter:
    """What the index may show an actor: ``None`` in both means everything (管理)."""

    ids: frozenset[str] | None
    terms: frozenset[str] | None


def access_filter_for(actor: Actor) -> AccessFilter:
    """The index filter equal to ``restrict(..., actor, Action.DISCOVER)``."""
    if actor.is_admin:
        # 管理 discovers every entry (policy: ADMIN allows every action but READ of 機密/personal).
        return AccessFilter(None, None)
    standings = [Standing.STAFF] if actor.is_authenticated else [Standing.ANONYMOUS]
    terms = {
        subject_term(s) for s in all_subjects() if any(decide(st, Action.DISCOVER, s) for st in standings)
    }
    ids: set[str] = set()
    if actor.is_authenticated:
        terms |= {f"owner:{uid}" for uid in actor.unit_ids}
        today = timezone.localdate()
        grants = DatasetGrant.objects.filter(
            Q(user_id=actor.user_id) | Q(unit_id__in=actor.unit_ids),
            Q(expires_on__isnull=True) | Q(expires_on__gte=today),
        )
        ids = {str(pk) for pk in grants.values_list("dataset_id", flat=True)}
    return AccessFilter(frozenset(ids), frozenset(terms))
