"""Every error the gateway answers, as ``application/problem+json`` (RFC 9457).

The one table that maps a service's wire error to HTTP is ``services.errors.
WIRE_ERRORS`` (class name -> status, title); anything unknown from a service
is a 502, an unreachable service a 503.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import services.workflow.errors  # noqa: F401  (registers the route engine's wire errors)
from gateway.rpc import RemoteCallError, ServiceUnavailable
from services.errors import WIRE_ERRORS, DocflowError

log = logging.getLogger("docflow.gateway")

PROBLEM = "application/problem+json"
TYPE_BASE = "https://docflow.example/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {
            PROBLEM: {
                "example": {
                    "type": TYPE_BASE + title.lower().replace(" ", "-"),
                    "title": title,
                    "status": status,
                    "detail": "A sentence saying what is wrong.",
                }
            }
        },
    }
    for status, title in (
        (401, "Not authenticated"),
        (403, "Forbidden"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Invalid input"),
    )
}


def _remote(request: Request, exc: RemoteCallError) -> JSONResponse:
    wire = WIRE_ERRORS.get(exc.exc_type)
    if wire is None:
        log.error("unexpected error from %s.%s: %s", exc.service, exc.method, exc)
        return problem(502, "Bad gateway", f"{exc.service} failed to answer the request")
    return problem(wire.status, wire.title, exc.detail, exc.errors or None)


def _local(request: Request, exc: DocflowError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(exc.status, exc.title, exc.detail, exc.errors or None, headers)


def _unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
    return problem(503, "Service unavailable", str(exc), headers={"Retry-After": "5"})


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return problem(422, "Invalid input", "The request is not valid", errors)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:
        # FastAPI's "error parsing the body" (not JSON, not UTF-8): invalid input like any other.
        return problem(
            422,
            "Invalid input",
            str(exc.detail),
            [{"loc": ["body"], "msg": "the body cannot be parsed", "type": "body_parsing"}],
        )
    titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
    return problem(
        exc.status_code,
        titles.get(exc.status_code, "Error"),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "The gateway failed; the error is logged")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def _document_validation_problems(app: FastAPI) -> None:
    """FastAPI documents its 422 as ``application/json`` ``HTTPValidationError``; ours is
    a problem (``_validation``), so say so in the schema clients and fuzzers read."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
                invalid = responses.get("422")
                if invalid is not None and PROBLEM not in invalid.get("content", {}):
                    invalid["content"] = {PROBLEM: {"schema": PROBLEM_SCHEMA}}
                    invalid["description"] = "Invalid input"
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_validation_problems(app)
    app.add_exception_handler(RemoteCallError, _remote)  # type: ignore[arg-type]
    app.add_exception_handler(DocflowError, _local)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceUnavailable, _unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unhandled)
