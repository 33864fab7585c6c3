"""The approval route engine: routes as data, a pure engine, a hash-chained timeline.

Import from here; the submodules are the engine's own business. See
docs/workflow.md for how to write a route.
"""

from services.workflow.commands import (
    AddReviewer,
    Cancel,
    Command,
    CompleteSubtask,
    Decide,
    Delegate,
    Resubmit,
    Resume,
    Suspend,
    Take,
    TimerFired,
    command_to_dict,
    parse_command,
)
from services.workflow.diagram import to_mermaid
from services.workflow.engine import WorkflowEngine, handle, start
from services.workflow.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NoAssignee,
    NotFound,
    RouteInvalid,
    WorkflowError,
)
from services.workflow.model import (
    Assignee,
    Decision,
    Event,
    Instance,
    OrgLookup,
    Result,
    Task,
    Timer,
)
from services.workflow.routes import Route
from services.workflow.timeline import ChainCheck, TimelineEntry, verify_chain
from services.workflow.validation import load_route

__all__ = [
    "AddReviewer",
    "Assignee",
    "Cancel",
    "ChainCheck",
    "Command",
    "CompleteSubtask",
    "Conflict",
    "Decide",
    "Decision",
    "Delegate",
    "Event",
    "Forbidden",
    "Instance",
    "Invalid",
    "NoAssignee",
    "NotFound",
    "OrgLookup",
    "Resubmit",
    "Result",
    "Resume",
    "Route",
    "RouteInvalid",
    "Suspend",
    "Take",
    "Task",
    "TimelineEntry",
    "Timer",
    "TimerFired",
    "WorkflowEngine",
    "WorkflowError",
    "command_to_dict",
    "handle",
    "load_route",
    "parse_command",
    "start",
    "to_mermaid",
    "verify_chain",
]
