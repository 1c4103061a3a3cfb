"""Reading surveys: the owner 課 (its 係 included) and 管理 see a survey; everyone else gets 404.

Tables a reader outside the owner 課 sees (管理) have left the division: they are suppressed.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from machidata.access.models import Unit, UnitKind
from machidata.access.policy import Actor, is_unit_member, may_edit_unit_record, restrict_unit_owned
from machidata.core.errors import NotFound
from machidata.surveys.models import Round, Survey


def restrict_surveys(queryset: QuerySet[Survey], actor: Actor) -> QuerySet[Survey]:
    """Keep the surveys ``actor`` may read: those of their 課, all for 管理."""
    return restrict_unit_owned(queryset, actor, unit_field="unit")


def survey_list(*, actor: Actor) -> QuerySet[Survey]:
    """The surveys ``actor`` may read, newest first, with their number of rounds."""
    return (
        restrict_surveys(Survey.objects.select_related("unit"), actor)
        .annotate(round_count=Count("rounds"))
        .order_by("-created_at", "-id")
    )


def survey_get(*, actor: Actor, pk: int) -> Survey:
    """One survey ``actor`` may read; missing and hidden both raise NotFound."""
    found = restrict_surveys(Survey.objects.select_related("unit"), actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("アンケートが見つかりません。")
    return found


def round_get(*, actor: Actor, pk: int) -> Round:
    """One round of a survey ``actor`` may read; missing and hidden both raise NotFound."""
    found = (
        Round.objects.select_related("survey__unit")
        .filter(pk=pk, survey__in=restrict_surveys(Survey.objects.all(), actor))
        .first()
    )
    if found is None:
        raise NotFound("アンケートの回が見つかりません。")
    return found


def survey_rounds(*, survey: Survey) -> QuerySet[Round]:
    """The survey's rounds, oldest first."""
    return survey.rounds.order_by("created_at", "id")


def may_edit(actor: Actor, survey: Survey) -> bool:
    """Whether ``actor`` may upload rounds and declare questions (the owner 課's 編集)."""
    return may_edit_unit_record(actor, survey.unit_id)


def leaves_division(actor: Actor, survey: Survey) -> bool:
    """Whether tables shown to ``actor`` leave the owner 課 (then they are suppressed)."""
    return not is_unit_member(actor, survey.unit_id)


def suppression_threshold(
    actor: Actor, survey: Survey, *, asked: bool = False, threshold: int | None = None
) -> int | None:
    """The suppression threshold of a table shown to ``actor`` (None: not suppressed).

    A table that leaves the owner 課 is always suppressed, and never below the default threshold (a
    reader outside the 課 cannot lower it to see small cells); the owner 課 may ask for suppression
    (``asked``) with any threshold, to see the table as it would leave.
    """
    from machidata.surveys.tables import DEFAULT_THRESHOLD

    asked_for = threshold if threshold is not None and 1 <= threshold <= 100 else DEFAULT_THRESHOLD
    if leaves_division(actor, survey):
        return max(asked_for, DEFAULT_THRESHOLD)
    return asked_for if asked else None


def owner_unit_choices(*, actor: Actor) -> QuerySet[Unit]:
    """The 課 ``actor`` may create a survey for."""
    units = Unit.objects.active_on().filter(kind=UnitKind.DIVISION).order_by("code")
    return units.filter(pk__in=[u for u in actor.unit_ids if may_edit_unit_record(actor, u)])
