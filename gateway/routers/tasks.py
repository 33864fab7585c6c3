"""/api/v1/tasks: "my tasks" across every process service, and acting on one.

The list asks contracts, payments and letters at the same time and merges the
answers, soonest due first. A service that does not answer is named in
``unavailable`` instead of failing the whole list: people still see the rest.
A task id names its service (``contracts:<instance>:<task>``), so a decision
goes straight to the service that owns it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query

from gateway.deps import Calls
from gateway.errors import PROBLEM_RESPONSES
from gateway.rpc import RemoteCallError, ServiceUnavailable
from services.errors import WIRE_ERRORS, DocflowError, NotFound
from services.schemas.tasks import (
    BulkDecisionRequest,
    BulkDecisionResult,
    DecisionRequest,
    DecisionResult,
    DelegationRequest,
    ProcessView,
    TaskList,
    TaskView,
)
from services.workflow.host import split_task_id

log = logging.getLogger(__name__)

#: Services that run routes and answer ``my_tasks`` (the others have no tasks).
PROCESS_SERVICES = ("contracts", "payments", "mail")

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses={401: PROBLEM_RESPONSES[401]})

TaskId = Annotated[
    str,
    Path(
        description="The id from the task list: `<service>:<instance>:<task>`",
        examples=["contracts:3f0c1a2b9d8e4f60a1b2c3d4e5f60718:t2"],
        max_length=200,
    ),
]


def _service_of(task_id: str) -> str:
    service, _ = split_task_id(task_id)
    if service not in PROCESS_SERVICES:
        raise NotFound(f"task {task_id} does not exist")
    return service


def _sort_key(task: dict[str, Any]) -> tuple[int, str, str]:
    due = task.get("due_at")
    return (0 if due else 1, str(due or ""), str(task["id"]))


@router.get(
    "",
    response_model=TaskList,
    summary="My open tasks in every process, soonest due first",
    description="Contracts, payment requests and letters in one list, with the actions "
    "allowed, the re-submission mark and the decisions of earlier rounds. `overdue=true` "
    "keeps only the late ones.",
)
async def my_tasks(
    calls: Calls,
    assignee: Annotated[Literal["me"], Query(description="only `me` for now")] = "me",
    state: Annotated[Literal["open"], Query(description="only `open` for now")] = "open",
    process: Annotated[str | None, Query(max_length=40, examples=["contract"])] = None,
    overdue: Annotated[bool | None, Query()] = None,
) -> Any:
    answers = await asyncio.gather(
        *(calls(service, "my_tasks") for service in PROCESS_SERVICES), return_exceptions=True
    )
    items: list[dict[str, Any]] = []
    unavailable: list[str] = []
    for service, answer in zip(PROCESS_SERVICES, answers, strict=True):
        if isinstance(answer, ServiceUnavailable | RemoteCallError):
            # Not running, or failing (an older version without the method, a bug):
            # the list is still useful without it, and says so.
            log.warning("my_tasks: %s left out: %s", service, answer)
            unavailable.append(service)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            items.extend(answer)
    if process is not None:
        items = [t for t in items if t["process"] == process]
    if overdue is not None:
        items = [t for t in items if bool(t["overdue"]) == overdue]
    items.sort(key=_sort_key)
    return {"items": items, "unavailable": unavailable}


@router.post(
    "/decisions",
    response_model=BulkDecisionResult,
    summary="Decide several of my tasks at once",
    description="Each decision stands alone: one refused (not yours, already decided, a "
    "missing comment) does not stop the others. `outcomes` gives, in order, the status "
    "each would have had on its own and, when it went through, the same answer as "
    "`POST /api/v1/tasks/{id}/decision`.",
)
async def decide_many(calls: Calls, body: Annotated[BulkDecisionRequest, Body()]) -> Any:
    async def one(item: Any) -> dict[str, Any]:
        data = item.model_dump(mode="json", exclude_none=True)
        task_id = data.pop("task_id")
        try:
            result = await calls(
                _service_of(task_id), "decide_task", task_id=split_task_id(task_id)[1], data=data
            )
        except DocflowError as exc:
            return {"task_id": task_id, "status": exc.status, "detail": exc.detail}
        except RemoteCallError as exc:
            wire = WIRE_ERRORS.get(exc.exc_type)
            if wire is None:  # not one of ours: the whole request fails as it would alone
                raise
            return {"task_id": task_id, "status": wire.status, "detail": exc.detail}
        return {"task_id": task_id, "status": 200, "result": result}

    # One after another: two decisions on one instance would only conflict.
    return {"outcomes": [await one(item) for item in body.decisions]}


@router.get(
    "/{task_id}",
    response_model=TaskView,
    summary="One task: what it is about, what may be done, what was said before",
    responses={404: PROBLEM_RESPONSES[404]},
)
async def get_task(calls: Calls, task_id: TaskId) -> Any:
    return await calls(_service_of(task_id), "get_task", task_id=split_task_id(task_id)[1])


@router.post(
    "/{task_id}/decision",
    response_model=DecisionResult,
    summary="Approve, approve with remarks, return, reject or complete a task",
    description="Return and reject need a `comment` (and a `reason_code` where the step "
    "lists them). Send `expected_version` (the task's `instance_version`) to be refused "
    "with 409 when someone acted meanwhile; a task already decided is 409 too. Acting on "
    "a task that is not yours (nor your absent colleague's, nor escalated to you) is 403.",
    responses={
        403: PROBLEM_RESPONSES[403],
        404: PROBLEM_RESPONSES[404],
        409: PROBLEM_RESPONSES[409],
        422: PROBLEM_RESPONSES[422],
    },
)
async def decide(calls: Calls, task_id: TaskId, body: Annotated[DecisionRequest, Body()]) -> Any:
    return await calls(
        _service_of(task_id),
        "decide_task",
        task_id=split_task_id(task_id)[1],
        data=body.model_dump(mode="json", exclude_none=True),
    )


@router.post(
    "/{task_id}/delegate",
    response_model=ProcessView,
    summary="Pass a task to a colleague, who then acts on your behalf",
    description='The colleague\'s decision is recorded as theirs "on behalf of" you; you '
    "may still act yourself. The step's deadline starts afresh for the colleague.",
    responses={
        403: PROBLEM_RESPONSES[403],
        404: PROBLEM_RESPONSES[404],
        409: PROBLEM_RESPONSES[409],
        422: PROBLEM_RESPONSES[422],
    },
)
async def delegate(
    calls: Calls, task_id: TaskId, body: Annotated[DelegationRequest, Body()]
) -> Any:
    return await calls(
        _service_of(task_id),
        "delegate_task",
        task_id=split_task_id(task_id)[1],
        data=body.model_dump(mode="json", exclude_none=True),
    )


@router.post(
    "/{task_id}/take",
    response_model=TaskView,
    summary="Mark a task as taken (opened): the 'not started' reminders stop",
    responses={403: PROBLEM_RESPONSES[403], 404: PROBLEM_RESPONSES[404]},
)
async def take(calls: Calls, task_id: TaskId) -> Any:
    return await calls(_service_of(task_id), "take_task", task_id=split_task_id(task_id)[1])
