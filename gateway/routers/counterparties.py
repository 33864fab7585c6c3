"""/api/v1/counterparties: cards, 1C lookup and import, statutory documents."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from gateway.deps import Calls
from gateway.errors import PROBLEM, PROBLEM_RESPONSES, TYPE_BASE
from services.errors import InvalidInput
from services.schemas import counterparty as schemas

router = APIRouter(
    prefix="/api/v1/counterparties",
    tags=["counterparties"],
    responses={401: PROBLEM_RESPONSES[401]},
)


def problem_doc(code: int, title: str, detail: str) -> dict[int | str, dict[str, Any]]:
    example: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": code,
        "detail": detail,
    }
    return {code: {"description": title, "content": {PROBLEM: {"example": example}}}}


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: PROBLEM_RESPONSES[403]}
INVALID = problem_doc(
    422, "Invalid input", "INN control digits do not match: the number is mistyped"
)
CONFLICT = problem_doc(
    409, "Conflict", "a counterparty with INN 7707083893 and KPP 773601001 exists"
)
STALE = problem_doc(409, "Conflict", "the card changed meanwhile: version 4, not 3")
ONEC_DOWN = problem_doc(503, "Dependency unavailable", "1C could not be asked: 1C is not answering")

IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def expected_version(if_match: str | None) -> int | None:
    """The card version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = IF_MATCH.match(if_match)
    if not found:
        raise InvalidInput(
            'If-Match carries the card\'s version, e.g. "3"',
            [{"loc": ["header", "If-Match"], "msg": "not a version"}],
        )
    return int(found.group(1))


def with_etag(response: Response, card: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = f'"{card["version"]}"'
    return card


@router.post(
    "",
    response_model=schemas.Counterparty,
    status_code=status.HTTP_201_CREATED,
    summary="Create a counterparty card (INN, KPP, OGRN and bank accounts are checked)",
    responses={**FORBIDDEN, **CONFLICT, **INVALID},
)
async def create_counterparty(
    calls: Calls, response: Response, body: Annotated[schemas.NewCounterparty, Body()]
) -> Any:
    card = await calls("counterparty", "create_counterparty", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{router.prefix}/{card['id']}"
    return with_etag(response, card)


@router.get(
    "", response_model=schemas.CounterpartyPage, summary="Counterparties, filtered and paged"
)
async def list_counterparties(
    calls: Calls,
    inn: Annotated[str | None, Query(pattern=r"^\d{10}(\d{2})?$")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="part of a name, or an INN prefix")
    ] = None,
    kind: schemas.Kind | None = None,
    category: schemas.Category | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    return await calls(
        "counterparty",
        "list_counterparties",
        inn=inn,
        q=q,
        kind=kind,
        category=category,
        limit=limit,
        cursor=cursor,
    )


@router.post(
    "/lookup",
    response_model=schemas.LookupResult,
    summary="What 1C and our records know of an INN (stale cards are re-verified first)",
    responses={**INVALID, **ONEC_DOWN},
)
async def lookup(calls: Calls, body: Annotated[schemas.LookupRequest, Body()]) -> Any:
    return await calls("counterparty", "lookup", inn=body.inn)


@router.post(
    "/import",
    response_model=schemas.ImportJob,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a bulk import of 1C's counterparty catalogue (runs in the background)",
    responses=FORBIDDEN,
)
async def start_import(
    calls: Calls,
    response: Response,
    body: Annotated[schemas.ImportRequest | None, Body()] = None,
) -> Any:
    data = (body or schemas.ImportRequest()).model_dump(mode="json")
    job = await calls("counterparty", "start_import", data=data)
    response.headers["Location"] = f"{router.prefix}/import/{job['id']}"
    return job


@router.get(
    "/import/{job_id}",
    response_model=schemas.ImportJob,
    summary="Progress of an import: total, done, created, updated, failed, position",
    responses=NOT_FOUND,
)
async def get_import(calls: Calls, job_id: str) -> Any:
    return await calls("counterparty", "get_import", job_id=job_id)


@router.get("/{counterparty_id}", response_model=schemas.Counterparty, responses=NOT_FOUND)
async def get_counterparty(calls: Calls, response: Response, counterparty_id: str) -> Any:
    card = await calls("counterparty", "get_counterparty", counterparty_id=counterparty_id)
    return with_etag(response, card)


@router.patch(
    "/{counterparty_id}",
    response_model=schemas.Counterparty,
    summary="Change a card; send If-Match with its version to refuse a stale write (409)",
    responses={**NOT_FOUND, **FORBIDDEN, **STALE, **INVALID},
)
async def update_counterparty(
    calls: Calls,
    response: Response,
    counterparty_id: str,
    body: Annotated[schemas.CounterpartyPatch, Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    card = await calls(
        "counterparty",
        "update_counterparty",
        counterparty_id=counterparty_id,
        data=body.model_dump(mode="json", exclude_unset=True),
        expected_version=expected_version(if_match),
    )
    return with_etag(response, card)


@router.post(
    "/{counterparty_id}/verify",
    response_model=schemas.VerifyResult,
    summary="Re-check the card against 1C now (emits counterparty.verified when confirmed)",
    responses={**NOT_FOUND, **FORBIDDEN, **ONEC_DOWN},
)
async def verify(calls: Calls, counterparty_id: str) -> Any:
    return await calls("counterparty", "verify", counterparty_id=counterparty_id)


@router.get(
    "/{counterparty_id}/documents",
    response_model=schemas.DocumentsView,
    summary="Statutory documents and the checklist for the card's kind: present, missing, expired",
    responses=NOT_FOUND,
)
async def documents(
    calls: Calls,
    counterparty_id: str,
    on: Annotated[datetime | None, Query(description="the moment to judge expiry at")] = None,
) -> Any:
    return await calls(
        "counterparty",
        "documents",
        counterparty_id=counterparty_id,
        on=on.isoformat() if on else None,
    )


@router.post(
    "/{counterparty_id}/documents",
    response_model=schemas.StatutoryDocument,
    status_code=status.HTTP_201_CREATED,
    summary="Add one statutory document (they may arrive one by one)",
    responses={**NOT_FOUND, **FORBIDDEN, **INVALID},
)
async def add_document(
    calls: Calls, counterparty_id: str, body: Annotated[schemas.NewDocument, Body()]
) -> Any:
    return await calls(
        "counterparty",
        "add_document",
        counterparty_id=counterparty_id,
        data=body.model_dump(mode="json"),
    )
