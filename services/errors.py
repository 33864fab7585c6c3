"""Errors that cross the wire between services and the gateway.

Every service raises these (or subclasses) for expected failures. nameko
serialises an exception as ``{exc_type, exc_path, exc_args, value}``; the
gateway maps ``exc_type`` to an HTTP status through one table
(``gateway/errors.py``), so the name of each class is part of the contract.

``exc_args`` is always ``(detail, errors)``: a human sentence and a list of
``{"loc": [...], "msg": "..."}`` field errors (possibly empty).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")

FieldErrors = list[dict[str, Any]]

#: Every wire error by class name (filled as the classes are defined, subclasses in
#: other modules included): the gateway's lookup table.
WIRE_ERRORS: dict[str, type[DocflowError]] = {}


class DocflowError(Exception):
    """Base of every expected, reportable failure."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every subclass is a wire error the gateway can map by its class name.
        super().__init_subclass__(**kwargs)
        WIRE_ERRORS.setdefault(cls.__name__, cls)

    def __init__(self, detail: str, errors: FieldErrors | None = None) -> None:
        super().__init__(detail, errors or [])
        self.detail = detail
        self.errors: FieldErrors = errors or []

    def __str__(self) -> str:
        return self.detail


WIRE_ERRORS["DocflowError"] = DocflowError


class InvalidInput(DocflowError):
    status = 422
    title = "Invalid input"


class Unauthenticated(DocflowError):
    status = 401
    title = "Not authenticated"


class Forbidden(DocflowError):
    status = 403
    title = "Forbidden"


class NotFound(DocflowError):
    status = 404
    title = "Not found"


class Conflict(DocflowError):
    status = 409
    title = "Conflict"


class TooLarge(DocflowError):
    status = 413
    title = "Payload too large"


class Unavailable(DocflowError):
    """A system we depend on (1C, SMTP, the registry) did not answer."""

    status = 503
    title = "Dependency unavailable"


def from_pydantic(exc: Any) -> InvalidInput:
    """Turn a pydantic ``ValidationError`` into our wire error, keeping field paths."""
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors(include_url=False, include_context=False)
    ]
    return InvalidInput("The request is not valid", errors)


def ask(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call another service over RPC; its Docflow errors come back as ours.

    nameko raises a ``RemoteError`` naming the remote class; a NotFound from
    the counterparty service stays a NotFound here, so callers can decide what
    it means for them. Anything that is not one of our errors is a failure of
    the other service: Unavailable (503).
    """
    try:
        return method(*args, **kwargs)
    except Exception as exc:
        exc_type = getattr(exc, "exc_type", None)
        if exc_type is None:
            raise
        known = WIRE_ERRORS.get(str(exc_type))
        if known is None:
            raise Unavailable(
                f"a service failed: {exc_type}: {getattr(exc, 'value', exc)}"
            ) from None
        raise known(str(getattr(exc, "value", "") or exc_type)) from None
