"""/api/v1/payment-requests and /api/v1/payment-registries: payment requests on
their approval route (with the Frozen and Documents requested stages), planned
payments collected into registries, and the registry's export for the bank."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from gateway.routers.counterparties import problem_doc, with_etag
from services.schemas import payments as schemas
from services.schemas.tasks import TimelineEntry

router = APIRouter(tags=["payments"], responses={401: PROBLEM_RESPONSES[401]})
REQUESTS = "/api/v1/payment-requests"
REGISTRIES = "/api/v1/payment-registries"

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: PROBLEM_RESPONSES[403]}
INVALID = problem_doc(422, "Invalid input", "file 7d1e… is not in the archive")
PAUSE_STATE = problem_doc(
    409, "Conflict", "the request is paid; only a request in approval or payment is paused"
)
REGISTRY_STATE = problem_doc(
    409, "Conflict", "the registry is ceo_approval; only an approved registry is exported"
)

RequestId = Annotated[str, "the payment request's id"]
RegistryId = Annotated[str, "the registry's id"]


@router.post(
    REQUESTS,
    response_model=schemas.PaymentRequest,
    status_code=status.HTTP_201_CREATED,
    summary="Create a payment request: its approval starts at once",
    description="The counterparty and the invoice file (uploaded first with `POST "
    "/api/v1/files`) must exist. The accountants' deadline (`payment_due_at`) is the due "
    "date when given; otherwise the end of the same working day for a request made before "
    "the company's cut-off (13:00 by default), else the end of the next working day.",
    responses={**INVALID},
)
async def create_request(
    calls: Calls, response: Response, body: Annotated[schemas.NewPaymentRequest, Body()]
) -> Any:
    card = await calls("payments", "create_request", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{REQUESTS}/{card['id']}"
    return with_etag(response, card)


@router.get(
    REQUESTS,
    response_model=schemas.PaymentRequestList,
    summary="Payment requests the caller may see, newest first",
    description="Filters: `status`, `counterparty_id`. Keyset pagination with `limit` and "
    "`cursor`.",
)
async def list_requests(
    calls: Calls,
    status_: Annotated[schemas.RequestStatus | None, Query(alias="status")] = None,
    counterparty_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return await calls(
        "payments",
        "list_requests",
        status=status_,
        counterparty_id=counterparty_id,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    REQUESTS + "/{request_id}",
    response_model=schemas.PaymentRequest,
    summary="A payment request: status, deadline, who is responsible now, the open tasks",
    responses={**NOT_FOUND},
)
async def get_request(calls: Calls, response: Response, request_id: RequestId) -> Any:
    card = await calls("payments", "get_request", request_id=request_id)
    return with_etag(response, card)


@router.get(
    REQUESTS + "/{request_id}/timeline",
    response_model=list[schemas.CardTimelineEntry],
    summary="Everything that happened to the request, in time order",
    description="`source: route` entries come from the approval route (hash-chained); "
    "`source: card` entries are the stage changes (frozen, unfrozen, documents requested "
    "and provided).",
    responses={**NOT_FOUND},
)
async def request_timeline(calls: Calls, request_id: RequestId) -> Any:
    return await calls("payments", "request_timeline", request_id=request_id)


async def _stage(
    calls: Calls, response: Response, method: str, request_id: str, data: dict[str, Any]
) -> Any:
    card = await calls("payments", method, request_id=request_id, data=data)
    return with_etag(response, card)


@router.post(
    REQUESTS + "/{request_id}/freeze",
    response_model=schemas.PaymentRequest,
    summary="Freeze the request: no decisions and no reminders until it is unfrozen",
    description="Allowed to the people who must act on it now, finance and management. "
    "While frozen, decisions on its tasks are refused with 409 and its deadline, reminders "
    "and escalations are held; unfreezing moves them later by the working time it was "
    "frozen.",
    responses={**NOT_FOUND, **FORBIDDEN, **PAUSE_STATE},
)
async def freeze(
    calls: Calls,
    response: Response,
    request_id: RequestId,
    body: Annotated[schemas.StageRequest, Body()],
) -> Any:
    return await _stage(calls, response, "freeze", request_id, body.model_dump(mode="json"))


@router.post(
    REQUESTS + "/{request_id}/unfreeze",
    response_model=schemas.PaymentRequest,
    summary="Unfreeze the request: the route goes on where it stopped",
    responses={**NOT_FOUND, **FORBIDDEN, **PAUSE_STATE},
)
async def unfreeze(
    calls: Calls,
    response: Response,
    request_id: RequestId,
    body: Annotated[schemas.StageRequest, Body()],
) -> Any:
    return await _stage(calls, response, "unfreeze", request_id, body.model_dump(mode="json"))


@router.post(
    REQUESTS + "/{request_id}/request-documents",
    response_model=schemas.PaymentRequest,
    summary="Ask the initiator for documents: the route waits for them",
    description="The initiator becomes responsible; the route is paused as when frozen "
    "until they answer with `POST .../documents`.",
    responses={**NOT_FOUND, **FORBIDDEN, **PAUSE_STATE},
)
async def request_documents(
    calls: Calls,
    response: Response,
    request_id: RequestId,
    body: Annotated[schemas.StageRequest, Body()],
) -> Any:
    return await _stage(
        calls, response, "request_documents", request_id, body.model_dump(mode="json")
    )


@router.post(
    REQUESTS + "/{request_id}/documents",
    response_model=schemas.PaymentRequest,
    summary="The initiator provides the requested documents: the route resumes",
    responses={**NOT_FOUND, **FORBIDDEN, **PAUSE_STATE, **INVALID},
)
async def provide_documents(
    calls: Calls,
    response: Response,
    request_id: RequestId,
    body: Annotated[schemas.ProvideDocuments, Body()],
) -> Any:
    return await _stage(
        calls, response, "provide_documents", request_id, body.model_dump(mode="json")
    )


# --- registries -----------------------------------------------------------------------


@router.post(
    REGISTRIES,
    response_model=schemas.PaymentRegistry,
    status_code=status.HTTP_201_CREATED,
    summary="Collect approved requests into a payment registry (a draft)",
    description="Without `request_ids` every approved request waiting for payment in the "
    "currency and of the legal entity is collected. Finance and accounting roles only.",
    responses={**FORBIDDEN, **INVALID},
)
async def create_registry(
    calls: Calls, response: Response, body: Annotated[schemas.NewRegistry, Body()]
) -> Any:
    card = await calls("payments", "create_registry", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{REGISTRIES}/{card['id']}"
    return with_etag(response, card)


@router.get(
    REGISTRIES + "/{registry_id}",
    response_model=schemas.PaymentRegistry,
    summary="A payment registry: its items, total, status and the process box",
    responses={**NOT_FOUND},
)
async def get_registry(calls: Calls, response: Response, registry_id: RegistryId) -> Any:
    card = await calls("payments", "get_registry", registry_id=registry_id)
    return with_etag(response, card)


@router.post(
    REGISTRIES + "/{registry_id}/submit",
    response_model=schemas.PaymentRegistry,
    summary="Send the registry along its route: department head, chief accountant, "
    "financial director, CEO, accountant",
    responses={**NOT_FOUND, **FORBIDDEN, **REGISTRY_STATE},
)
async def submit_registry(calls: Calls, response: Response, registry_id: RegistryId) -> Any:
    card = await calls("payments", "submit_registry", registry_id=registry_id)
    return with_etag(response, card)


@router.post(
    REGISTRIES + "/{registry_id}/compose",
    response_model=schemas.PaymentRegistry,
    summary="The financial director drops items from the final registry",
    description="Only while the composition task is open, by whoever may act on it. Then "
    "the task is completed through `/api/v1/tasks/{id}/decision`.",
    responses={**NOT_FOUND, **FORBIDDEN, **REGISTRY_STATE, **INVALID},
)
async def compose_registry(
    calls: Calls,
    response: Response,
    registry_id: RegistryId,
    body: Annotated[schemas.ComposeRegistry, Body()],
) -> Any:
    card = await calls(
        "payments", "compose_registry", registry_id=registry_id, data=body.model_dump(mode="json")
    )
    return with_etag(response, card)


@router.get(
    REGISTRIES + "/{registry_id}/timeline",
    response_model=list[TimelineEntry],
    summary="The registry's route history",
    responses={**NOT_FOUND},
)
async def registry_timeline(calls: Calls, registry_id: RegistryId) -> Any:
    return await calls("payments", "registry_timeline", registry_id=registry_id)


@router.get(
    REGISTRIES + "/{registry_id}/export",
    summary="The approved registry for the bank (1CClientBankExchange) or as CSV",
    description="`format=1c`: the 1CClientBankExchange text format 1.03 in Windows-1251, "
    "one `Платежное поручение` per included item. `format=csv`: UTF-8 with `;`.",
    responses={
        200: {"content": {"text/plain": {}, "text/csv": {}}},
        **NOT_FOUND,
        **REGISTRY_STATE,
    },
    response_class=Response,
)
async def export_registry(
    calls: Calls,
    registry_id: RegistryId,
    format: Annotated[Literal["1c", "csv"], Query()] = "1c",
) -> Response:
    out = await calls("payments", "export_registry", registry_id=registry_id, format=format)
    return Response(
        base64.b64decode(out["content_base64"]),
        media_type=out["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{out["filename"]}"'},
    )
