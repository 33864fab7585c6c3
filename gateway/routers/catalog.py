"""/api/v1/catalog: the product and service catalogue (sections tree, items, prices)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from gateway.routers.counterparties import expected_version, problem_doc
from services.schemas import counterparty as schemas

router = APIRouter(
    prefix="/api/v1/catalog", tags=["catalogue"], responses={401: PROBLEM_RESPONSES[401]}
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEM_RESPONSES[404]}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: PROBLEM_RESPONSES[403]}
BUSY = problem_doc(409, "Conflict", "the section still holds sections or items")


@router.get("/sections", response_model=list[schemas.Section], summary="The sections as a tree")
async def list_sections(calls: Calls) -> Any:
    return await calls("counterparty", "list_sections")


@router.post(
    "/sections",
    response_model=schemas.Section,
    status_code=status.HTTP_201_CREATED,
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def create_section(calls: Calls, body: Annotated[schemas.NewSection, Body()]) -> Any:
    return await calls("counterparty", "create_section", data=body.model_dump(mode="json"))


@router.patch(
    "/sections/{section_id}",
    response_model=schemas.Section,
    summary="Rename or move a section",
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def update_section(
    calls: Calls, section_id: str, body: Annotated[schemas.SectionPatch, Body()]
) -> Any:
    return await calls(
        "counterparty",
        "update_section",
        section_id=section_id,
        data=body.model_dump(mode="json", exclude_unset=True),
    )


@router.delete(
    "/sections/{section_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an empty section",
    responses={**FORBIDDEN, **NOT_FOUND, **BUSY},
)
async def delete_section(calls: Calls, section_id: str) -> Response:
    await calls("counterparty", "delete_section", section_id=section_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/items", response_model=schemas.ItemPage, summary="Items, filtered and paged")
async def list_items(
    calls: Calls,
    section_id: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Any:
    return await calls(
        "counterparty", "list_items", section_id=section_id, q=q, limit=limit, cursor=cursor
    )


@router.post(
    "/items",
    response_model=schemas.Item,
    status_code=status.HTTP_201_CREATED,
    summary="Add an item: unit by OKEI code, price as a decimal string with its currency",
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def create_item(calls: Calls, body: Annotated[schemas.NewItem, Body()]) -> Any:
    return await calls("counterparty", "create_item", data=body.model_dump(mode="json"))


@router.get("/items/{item_id}", response_model=schemas.Item, responses=NOT_FOUND)
async def get_item(calls: Calls, item_id: str) -> Any:
    return await calls("counterparty", "get_item", item_id=item_id)


@router.patch(
    "/items/{item_id}",
    response_model=schemas.Item,
    responses={
        **FORBIDDEN,
        **NOT_FOUND,
        **problem_doc(409, "Conflict", "the item changed meanwhile"),
    },
)
async def update_item(
    calls: Calls,
    item_id: str,
    body: Annotated[schemas.ItemPatch, Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    return await calls(
        "counterparty",
        "update_item",
        item_id=item_id,
        data=body.model_dump(mode="json", exclude_unset=True),
        expected_version=expected_version(if_match),
    )


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**FORBIDDEN, **NOT_FOUND},
)
async def delete_item(calls: Calls, item_id: str) -> Response:
    await calls("counterparty", "delete_item", item_id=item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
