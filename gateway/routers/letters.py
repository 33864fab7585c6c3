"""/api/v1/letters: incoming and outgoing correspondence — registration with a journal
number, the card with its process box, the timeline, the CEO adding people, and
sending a returned letter back to the director.

Tasks of the letters' routes are decided through /api/v1/tasks like every other.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response, status

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from gateway.routers.counterparties import problem_doc, with_etag
from services.schemas import letters as schemas
from services.schemas.tasks import TimelineEntry

router = APIRouter(tags=["letters"], responses={401: PROBLEM_RESPONSES[401]})
PREFIX = "/api/v1/letters"

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN = problem_doc(
    403, "Forbidden", "incoming letters are registered by the office manager or a lawyer"
)
INVALID = problem_doc(422, "Invalid input", "counterparty 0b6f… does not exist")
DUPLICATE = problem_doc(
    409, "Conflict", "this letter of the counterparty is already registered as ВХ-2026-0007"
)
STATE = problem_doc(409, "Conflict", "the letter is approval; only a returned one is resubmitted")

LetterId = Annotated[
    str,
    Path(description="the letter's id", examples=["5a0e1c2d-3b4f-4a6b-8c7d-9e0f1a2b3c4d"]),
]


@router.post(
    PREFIX + "/incoming",
    response_model=schemas.Letter,
    status_code=status.HTTP_201_CREATED,
    summary="Register an incoming letter: journal number, routing, processing task",
    description="The office manager or a lawyer registers a received letter (its scan is "
    "uploaded to `POST /api/v1/files` first). The letter gets the next number of the "
    "addressee legal entity's incoming journal for the year (`ВХ-2026-0001`), and its route "
    "starts by the counterparty's category: a tenant's letter goes to the responsible "
    "employee and the director; others go to the CEO, the lawyer, then the responsible "
    "employee, whose task is due on the control date.",
    responses={**FORBIDDEN, **DUPLICATE, **INVALID},
)
async def register_incoming(
    calls: Calls, response: Response, body: Annotated[schemas.NewIncomingLetter, Body()]
) -> Any:
    card = await calls("mail", "register_incoming", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{PREFIX}/{card['id']}"
    return with_etag(response, card)


@router.post(
    PREFIX + "/outgoing",
    response_model=schemas.Letter,
    status_code=status.HTTP_201_CREATED,
    summary="Send an outgoing letter for approval",
    description="The initiator's letter (its file uploaded to the archive first) goes to the "
    "director, then a lawyer registers it (the outgoing number is given then), the director "
    "signs it, the executor sends it (`delivery`: `email` — the system e-mails it with its "
    "files attached — or `post`), and after the control date the executor is asked whether "
    "the counterparty reacted.",
    responses={**DUPLICATE, **INVALID},
)
async def create_outgoing(
    calls: Calls, response: Response, body: Annotated[schemas.NewOutgoingLetter, Body()]
) -> Any:
    card = await calls("mail", "create_outgoing", data=body.model_dump(mode="json"))
    response.headers["Location"] = f"{PREFIX}/{card['id']}"
    return with_etag(response, card)


@router.get(
    PREFIX,
    response_model=schemas.LetterList,
    summary="Letters the caller may see, newest first",
    description="Filters: `direction`, `legal_entity` (our legal entity's id), "
    "`counterparty_id`. Keyset pagination with `limit` and `cursor`.",
)
async def list_letters(
    calls: Calls,
    direction: Annotated[Literal["incoming", "outgoing"] | None, Query()] = None,
    legal_entity: Annotated[str | None, Query(max_length=36)] = None,
    counterparty_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return await calls(
        "mail",
        "list_letters",
        direction=direction,
        legal_entity=legal_entity,
        counterparty_id=counterparty_id,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    PREFIX + "/{letter_id}",
    response_model=schemas.Letter,
    summary="A letter: journal number, status, who is responsible now, open tasks, dispatch",
    responses={**NOT_FOUND},
)
async def get_letter(calls: Calls, response: Response, letter_id: LetterId) -> Any:
    card = await calls("mail", "get_letter", letter_id=letter_id)
    return with_etag(response, card)


@router.get(
    PREFIX + "/{letter_id}/timeline",
    response_model=list[TimelineEntry],
    summary="Everything that happened to the letter: who did what, when, with which comment",
    responses={**NOT_FOUND},
)
async def letter_timeline(calls: Calls, letter_id: LetterId) -> Any:
    return await calls("mail", "letter_timeline", letter_id=letter_id)


@router.post(
    PREFIX + "/{letter_id}/participants",
    response_model=schemas.Letter,
    summary="The CEO adds a person to his resolution step (they get a task of their own)",
    responses={**NOT_FOUND, **STATE, **INVALID},
)
async def add_participant(
    calls: Calls,
    response: Response,
    letter_id: LetterId,
    body: Annotated[schemas.NewParticipant, Body()],
) -> Any:
    card = await calls(
        "mail", "add_participant", letter_id=letter_id, data=body.model_dump(mode="json")
    )
    return with_etag(response, card)


@router.post(
    PREFIX + "/{letter_id}/resubmit",
    response_model=schemas.Letter,
    summary="Send a letter the director returned back to him after rework",
    responses={**NOT_FOUND, **STATE, **INVALID},
)
async def resubmit_letter(
    calls: Calls,
    response: Response,
    letter_id: LetterId,
    body: Annotated[schemas.ResubmitLetter | None, Body()] = None,
) -> Any:
    data = body.model_dump(mode="json", exclude_none=True) if body else {}
    card = await calls("mail", "resubmit_letter", letter_id=letter_id, data=data)
    return with_etag(response, card)
