"""/api/v1/contracts and /api/v1/contract-register: contract cards, submission for
approval, the timeline, the missing-documents letter and the register."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response, status

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from gateway.routers.counterparties import expected_version, problem_doc, with_etag
from services.schemas import contracts as schemas
from services.schemas.tasks import TimelineEntry

router = APIRouter(tags=["contracts"], responses={401: PROBLEM_RESPONSES[401]})
PREFIX = "/api/v1/contracts"

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: PROBLEM_RESPONSES[403]}
INVALID = problem_doc(422, "Invalid input", "counterparty 0b6f… does not exist")
DOCUMENTS = problem_doc(
    422,
    "Invalid input",
    "the counterparty's statutory documents are not in order: Устав: нет документа; "
    "Выписка из ЕГРЮЛ: срок действия истёк 2026-10-01",
)
STATE = problem_doc(
    409, "Conflict", "the contract is in_approval; only a draft or a returned one is submitted"
)

ContractId = Annotated[str, "the contract's id"]


@router.post(
    PREFIX,
    response_model=schemas.Contract,
    status_code=status.HTTP_201_CREATED,
    summary="Create a contract card (a draft): nothing is sent for approval yet",
    responses={**INVALID},
)
async def create_contract(
    calls: Calls, response: Response, body: Annotated[schemas.NewContract, Body()]
) -> Any:
    card = await calls("contracts", "create_contract", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{PREFIX}/{card['id']}"
    return with_etag(response, card)


@router.get(
    PREFIX,
    response_model=schemas.ContractList,
    summary="Contracts the caller may see, newest first",
    description="Filters: `status`, `counterparty_id`, `q` (subject, numbers, counterparty "
    "name). Keyset pagination with `limit` and `cursor`.",
)
async def list_contracts(
    calls: Calls,
    status_: Annotated[schemas.Status | None, Query(alias="status")] = None,
    counterparty_id: Annotated[str | None, Query(max_length=36)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return await calls(
        "contracts",
        "list_contracts",
        status=status_,
        counterparty_id=counterparty_id,
        q=q,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    PREFIX + "/{contract_id}",
    response_model=schemas.Contract,
    summary="A contract card: status, who is responsible now, the open tasks and decisions",
    responses={**NOT_FOUND},
)
async def get_contract(calls: Calls, response: Response, contract_id: ContractId) -> Any:
    card = await calls("contracts", "get_contract", contract_id=contract_id)
    return with_etag(response, card)


@router.patch(
    PREFIX + "/{contract_id}",
    response_model=schemas.Contract,
    summary="Change a draft or a returned contract (send If-Match with its version)",
    responses={**NOT_FOUND, **FORBIDDEN, **STATE, **INVALID},
)
async def update_contract(
    calls: Calls,
    response: Response,
    contract_id: ContractId,
    body: Annotated[schemas.ContractPatch, Body()],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Any:
    card = await calls(
        "contracts",
        "update_contract",
        contract_id=contract_id,
        data=body.model_dump(mode="json", exclude_unset=True),
        expected_version=expected_version(if_match),
    )
    return with_etag(response, card)


@router.post(
    PREFIX + "/{contract_id}/submit",
    response_model=schemas.Contract,
    summary="Send the contract for approval, or back to the approvers after rework",
    description="The counterparty's statutory documents are checked first: missing or "
    "expired ones block the submission with their list (422), or are only flagged on the "
    "card where the company configured it so. A returned contract goes back as a "
    "re-submission: the approvers see what they said before.",
    responses={**NOT_FOUND, **FORBIDDEN, **STATE, **DOCUMENTS},
)
async def submit_contract(
    calls: Calls,
    response: Response,
    contract_id: ContractId,
    body: Annotated[schemas.SubmitRequest | None, Body()] = None,
) -> Any:
    data = body.model_dump(mode="json", exclude_none=True) if body else {}
    card = await calls("contracts", "submit_contract", contract_id=contract_id, data=data)
    return with_etag(response, card)


@router.get(
    PREFIX + "/{contract_id}/timeline",
    response_model=list[TimelineEntry],
    summary="Everything that happened to the contract: who did what, when, with which comment",
    responses={**NOT_FOUND},
)
async def contract_timeline(calls: Calls, contract_id: ContractId) -> Any:
    return await calls("contracts", "contract_timeline", contract_id=contract_id)


@router.get(
    PREFIX + "/{contract_id}/missing-documents-letter",
    summary="The letter asking the counterparty for missing or expired documents",
    description="`format=text` (default) or `html` returns the letter itself; `docx` a "
    "Word file ready to print or attach.",
    responses={
        200: {
            "content": {
                "text/plain": {},
                "text/html": {},
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {},
            }
        },
        **NOT_FOUND,
    },
    response_class=Response,
)
async def missing_documents_letter(
    calls: Calls,
    contract_id: ContractId,
    format: Annotated[Literal["text", "html", "docx"], Query()] = "text",
) -> Response:
    letter = await calls(
        "contracts", "missing_documents_letter", contract_id=contract_id, format=format
    )
    if format == "docx":
        return Response(
            base64.b64decode(letter["content_base64"]),
            media_type=letter["content_type"],
            headers={"Content-Disposition": f'attachment; filename="{letter["filename"]}"'},
        )
    return Response(letter["content"], media_type=letter["content_type"])


@router.get(
    "/api/v1/contract-register",
    response_model=schemas.Register,
    summary="The contract register of a year, in register-number order",
)
async def contract_register(
    calls: Calls, year: Annotated[int, Query(ge=2000, le=2100, examples=[2026])]
) -> Any:
    return await calls("contracts", "contract_register", year=year)
