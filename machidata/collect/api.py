"""Campaign API (/api/v1/campaigns): list, create, get (with status), a recipient's template, upload a return, status.

Signed-in staff only (401 otherwise). Campaigns the caller neither asks nor answers answer 404.
A rejected return answers 400 with the Japanese message and, under ``details``, the validation
report; it is still recorded (the recipient shows as 要修正).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from machidata.access.auth import api_staff
from machidata.access.policy import Actor
from machidata.catalog.selectors import dataset_get
from machidata.collect import returns, selectors, services
from machidata.collect.followups import campaign_from_request
from machidata.collect.models import Campaign, Submission, SubmissionStatus
from machidata.collect.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignProgressOut,
    CampaignRowsIn,
    CampaignSubmissionOut,
    CampaignSummaryOut,
)
from machidata.core.errors import InvalidInput, NotFound, PermissionDenied

router = Router(tags=["campaigns"])


def _progress(campaign: Campaign) -> dict[str, Any]:
    p = selectors.campaign_progress(campaign=campaign)
    return {
        "total": p.total,
        "answered": p.answered,
        "needs_fix": p.needs_fix,
        "waiting": p.waiting,
        "percent": p.percent,
    }


def _out(actor: Actor, campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "title": campaign.title,
        "table": f"{campaign.table.dataset.slug}/{campaign.table.name}",
        "unit": campaign.unit.name,
        "deadline": campaign.deadline,
        "instructions": campaign.instructions,
        "status": campaign.status,
        "columns": campaign.columns,
        "is_synthetic": campaign.is_synthetic,
        "repeat": campaign.repeat,
        "previous": campaign.previous_id,
        "created_at": campaign.created_at,
        "progress": _progress(campaign) if selectors.is_asking_side(actor, campaign) else None,
        "recipients": [
            {
                "id": r.pk,
                "name": r.name,
                "unit": r.unit.name if r.unit else None,
                "status": r.status,
                "rows": r.rows,
                "answered_at": r.answered_at,
                "template_url": f"/api/v1/campaigns/{campaign.pk}/recipients/{r.pk}/template",
            }
            for r in selectors.recipients_for(actor=actor, campaign=campaign)
        ],
    }


def _submission(s: Submission) -> dict[str, Any]:
    return {
        "id": s.pk,
        "recipient": s.recipient.name,
        "status": s.status,
        "rows": s.rows,
        "replaced_rows": s.replaced_rows,
        "message": s.message,
        "version": s.version.number if s.version else None,
        "report": s.report,
    }


def _answered(s: Submission) -> Status:
    if s.status == SubmissionStatus.REJECTED:
        raise InvalidInput(s.message, details={"submission": s.pk, "report": s.report})
    return Status(201, _submission(s))


@router.get("/", response=list[CampaignSummaryOut], summary="照会の一覧")
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    """Campaigns the caller's 課 asks or answers (管理: all), newest first (200 at most)."""
    return [
        {
            "id": c.pk,
            "title": c.title,
            "table": f"{c.table.dataset.slug}/{c.table.name}",
            "unit": c.unit.name,
            "deadline": c.deadline,
            "status": c.status,
            "recipients": c.n_recipients,  # type: ignore[attr-defined]
            "answered": c.n_answered,  # type: ignore[attr-defined]
        }
        for c in selectors.campaign_list(actor=api_staff(request))[:200]
    ]


@router.post("/", response={201: CampaignOut}, summary="照会を始める")
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status:
    """Start a campaign on a table the caller may edit (its 項目定義 becomes the template); ``data_request``: one it answers."""
    actor = api_staff(request)
    slug, _, name = payload.table.partition("/")
    dataset = dataset_get(actor=actor, slug=slug)
    table = dataset.tables.filter(name=name).first()
    if table is None:
        raise NotFound(f"表「{payload.table}」が見つかりません。")
    values: dict[str, Any] = {
        "table": table, "title": payload.title, "deadline": payload.deadline,
        "instructions": payload.instructions, "unit_ids": payload.units, "facilities": payload.facilities,
        "repeat": payload.repeat,
    }  # fmt: skip
    if payload.data_request is not None:  # answers a data request when the first return arrives
        campaign = campaign_from_request(actor=actor, request_id=payload.data_request, **values)
    else:
        campaign = services.campaign_create(actor=actor, **values)
    return Status(201, _out(actor, selectors.campaign_get(actor=actor, pk=campaign.pk)))


@router.get("/{int:campaign_id}", response=CampaignOut, summary="照会と回答の状況")
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    """One campaign; the asking side sees every recipient and the progress, a recipient only itself."""
    actor = api_staff(request)
    return _out(actor, selectors.campaign_get(actor=actor, pk=campaign_id))


@router.get("/{int:campaign_id}/status", response=CampaignProgressOut, summary="回答の進み具合")
def campaign_status(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    """Counts of answered, to-fix and waiting recipients (the asking side and 管理; others 404)."""
    actor = api_staff(request)
    campaign = selectors.campaign_get(actor=actor, pk=campaign_id)
    if not selectors.is_asking_side(actor, campaign):
        raise NotFound("照会が見つかりません。")
    return _progress(campaign)


@router.get("/{int:campaign_id}/recipients/{int:recipient_id}/template", summary="回答先の様式（Excel）")
def recipient_template(request: HttpRequest, campaign_id: int, recipient_id: int) -> HttpResponse:
    """The recipient's .xlsx template (its members and the data owner)."""
    actor = api_staff(request)
    campaign = selectors.campaign_get(actor=actor, pk=campaign_id)
    recipient = selectors.recipient_get(actor=actor, campaign=campaign, pk=recipient_id)
    name, data = services.recipient_template(actor=actor, recipient=recipient)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


_MULTIPART_FILE = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "記入した様式"}
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/{int:campaign_id}/recipients/{int:recipient_id}/returns",
    response={201: CampaignSubmissionOut},
    summary="回答を提出する（様式のファイル）",
    openapi_extra=_MULTIPART_FILE,
)
def upload_return(request: HttpRequest, campaign_id: int, recipient_id: int) -> Status:
    """Upload a filled-in template as ``file`` (multipart): 201 with the new version, or 400 with what to fix.

    The file is read from ``request.FILES`` after the access checks, so who may not answer is refused
    (401/403/404) whatever they send.
    """
    actor = api_staff(request)
    campaign = selectors.campaign_get(actor=actor, pk=campaign_id)
    recipient = selectors.recipient_get(actor=actor, campaign=campaign, pk=recipient_id)
    if not selectors.may_answer(actor, recipient):
        raise PermissionDenied("この回答先として提出する権限がありません。")
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("記入した様式を file として multipart/form-data で送ってください。")
    submission = returns.return_submit_file(
        actor=actor, recipient=recipient, upload=upload, source_name=upload.name or "return.xlsx"
    )
    return _answered(submission)


@router.post(
    "/{int:campaign_id}/recipients/{int:recipient_id}/rows",
    response={201: CampaignSubmissionOut},
    summary="回答を提出する（数行の入力）",
)
def submit_rows(request: HttpRequest, campaign_id: int, recipient_id: int, payload: CampaignRowsIn) -> Status:
    """A few rows as JSON objects keyed by the template's headers; same checks as a file."""
    actor = api_staff(request)
    campaign = selectors.campaign_get(actor=actor, pk=campaign_id)
    recipient = selectors.recipient_get(actor=actor, campaign=campaign, pk=recipient_id)
    return _answered(returns.return_submit_rows(actor=actor, recipient=recipient, rows=payload.rows))
