"""Failures the workflow engine reports.

Each is also the matching ``services.errors`` wire error (that module depends
on nothing), so a service may let them cross the wire and the gateway maps
them like any other: Conflict 409, Forbidden 403, Invalid 422, NotFound 404.
"""

from __future__ import annotations

from services import errors as wire
from services.errors import FieldErrors

__all__ = [
    "Conflict",
    "FieldErrors",
    "Forbidden",
    "Invalid",
    "NoAssignee",
    "NotFound",
    "RouteInvalid",
    "WorkflowError",
]


class WorkflowError(wire.DocflowError):
    """Base of every expected failure of the engine."""


class Invalid(wire.InvalidInput, WorkflowError):
    """The command or the route breaks a rule (missing comment, unknown action...)."""


class RouteInvalid(Invalid):
    """A route definition failed validation; ``errors`` hold every bad field's path."""


class NoAssignee(Invalid):
    """Nobody can be made responsible for a step, not even through the fallbacks."""


class Conflict(wire.Conflict, WorkflowError):
    """The instance moved on: stale version, task already decided, wrong state."""


class Forbidden(wire.Forbidden, WorkflowError):
    """The actor has no part in this task."""


class NotFound(wire.NotFound, WorkflowError):
    """No such task, step or timer in this instance."""
