"""The shared library's small pieces: wire errors, pagination, validation, identity, logs."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel

from services.auth import SYSTEM, Identity, require_role
from services.config import ServiceSettings
from services.errors import WIRE_ERRORS, Conflict, Forbidden, InvalidInput, NotFound
from services.ids import parse_id
from services.logs import JsonFormatter, bind_ids
from services.pagination import clamp_limit, decode_cursor, encode_cursor
from services.validation import parse, parse_moment


def test_wire_errors_carry_detail_and_field_errors_as_args() -> None:
    exc = InvalidInput("bad", [{"loc": ["inn"], "msg": "checksum"}])
    assert exc.args == ("bad", [{"loc": ["inn"], "msg": "checksum"}])
    assert (exc.status, str(exc)) == (422, "bad")


def test_every_wire_error_has_a_distinct_http_status() -> None:
    own = [c for c in WIRE_ERRORS.values() if c.__module__ == "services.errors"]
    statuses = [cls.status for cls in own if cls.__name__ != "DocflowError"]
    assert len(statuses) == len(set(statuses))
    assert WIRE_ERRORS["Conflict"] is Conflict and Conflict.status == 409


def test_subclasses_elsewhere_are_wire_errors_too() -> None:
    from services.workflow.errors import Conflict as StaleInstance
    from services.workflow.errors import RouteInvalid

    assert WIRE_ERRORS["RouteInvalid"] is RouteInvalid and RouteInvalid.status == 422
    assert issubclass(StaleInstance, Conflict)


def test_cursor_round_trips_and_rejects_garbage() -> None:
    assert decode_cursor(encode_cursor(["ivanova", 3])) == ["ivanova", 3]
    assert decode_cursor(None) is None
    with pytest.raises(InvalidInput):
        decode_cursor("!!not-base64!!")
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor({"a": 1}))  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_limits_out_of_range_are_refused(limit: int) -> None:
    with pytest.raises(InvalidInput):
        clamp_limit(limit)


def test_malformed_ids_are_unknown_ids() -> None:
    with pytest.raises(NotFound, match="user"):
        parse_id("../../etc/passwd", "user")


class Sample(BaseModel):
    name: str
    amount: int


def test_parse_reports_field_paths() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(Sample, {"name": "x", "amount": "many"})
    assert caught.value.errors[0]["loc"] == ["amount"]
    with pytest.raises(InvalidInput):
        parse(Sample, ["not", "an", "object"])


def test_moments_need_an_offset() -> None:
    assert parse_moment("2026-11-23T10:00:00+03:00", "at") is not None
    with pytest.raises(InvalidInput):
        parse_moment("2026-11-23T10:00:00", "at")
    with pytest.raises(InvalidInput):
        parse_moment("tomorrow", "at")


def test_identity_travels_through_context_data() -> None:
    me = Identity("u1", "ivanova", frozenset({"lawyer", "curator"}), "legal")
    context = me.to_context("corr-1")
    assert context["roles"] == "curator,lawyer"
    assert all(isinstance(v, str) for v in context.values())
    assert Identity.from_context(context) == me
    assert Identity.from_context({}) is None


def test_require_role_lets_the_system_and_holders_through() -> None:
    require_role(SYSTEM, ["admin"], "Anything")
    require_role(Identity("u1", roles=frozenset({"admin"})), ["admin"], "Anything")
    with pytest.raises(Forbidden, match="admin"):
        require_role(Identity("u2", roles=frozenset({"lawyer"})), ["admin"], "Adding a person")


def test_json_log_lines_carry_the_call_and_correlation_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("мир",), None)
    bind_ids("call-1", "corr-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        bind_ids(None, None)
    assert line["message"] == "hello мир"
    assert (line["call_id"], line["correlation_id"]) == ("call-1", "corr-1")


def test_each_service_gets_its_own_database_and_metrics_port() -> None:
    org = ServiceSettings(service_name="org_svc", pg_url="postgresql+psycopg2://h:5432")
    assert org.resolved_database_url() == "postgresql+psycopg2://h:5432/docflow_org"
    assert org.resolved_metrics_port() == 9101


def test_production_refuses_the_demo_broker_account() -> None:
    with pytest.raises(ValueError, match="guest"):
        ServiceSettings(service_name="org_svc", environment="prod")
