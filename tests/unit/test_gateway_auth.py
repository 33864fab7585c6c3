"""Gateway tokens and the mapping of errors to problem+json, without a broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from gateway.auth import Authenticator, issue_token
from gateway.errors import _remote
from gateway.rpc import RemoteCallError
from gateway.settings import GatewaySettings
from services.errors import Unauthenticated

SETTINGS = GatewaySettings(jwt_secret="unit-test-secret-0123456789abcdefgh")
PERSON = {
    "user_id": "u-1",
    "username": "lawyer",
    "full_name": "Ирина Петрова",
    "roles": ["lawyer"],
    "department_id": "d-1",
}


def identify(token: str, settings: GatewaySettings = SETTINGS) -> Any:
    return asyncio.run(Authenticator(settings).identify(token, request=None))  # type: ignore[arg-type]


def test_an_issued_token_identifies_its_person() -> None:
    identity = identify(issue_token(SETTINGS, PERSON))
    assert (identity.user_id, identity.username, identity.department_id) == ("u-1", "lawyer", "d-1")
    assert identity.roles == frozenset({"lawyer"})


def forged(**changes: Any) -> str:
    claims = {"iss": "docflow", "aud": "docflow-api", "sub": "u-1", "exp": time.time() + 60}
    claims.update(changes)
    secret = claims.pop("secret", SETTINGS.jwt_secret)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # Made when the test runs, not at collection: a suite may take longer than a
        # valid token lives, and "not valid" must not turn into "expired".
        (lambda: forged(exp=time.time() - 5), "expired"),
        (lambda: forged(secret="someone-elses-secret-0123456789abcdef"), "not valid"),
        (lambda: forged(aud="another-api"), "not valid"),
        (lambda: forged(iss="somebody"), "not valid"),
        (lambda: "not-a-jwt", "not valid"),
    ],
)
def test_bad_tokens_are_refused(make: Callable[[], str], reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        identify(make())


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode({"sub": "u-1", "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        identify(token)


def test_own_tokens_are_refused_when_demo_sign_in_is_off() -> None:
    settings = GatewaySettings(jwt_secret="unit-test-secret-0123456789abcdefgh", demo_tokens=False)
    with pytest.raises(Unauthenticated, match="disabled"):
        identify(issue_token(settings, PERSON), settings)


def test_production_needs_an_identity_provider_and_no_demo_sign_in() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(environment="prod", amqp_uri="amqp://u:p@mq/", demo_tokens=False)
    with pytest.raises(ValidationError):
        GatewaySettings(
            environment="prod",
            demo_tokens=True,
            oidc_issuer="i",
            oidc_audience="a",
            oidc_jwks_url="http://idp/jwks",
        )


@pytest.mark.parametrize(
    ("exc_type", "status"),
    [
        ("NotFound", 404),
        ("Forbidden", 403),
        ("Conflict", 409),
        ("InvalidInput", 422),
        ("Unavailable", 503),
        ("RouteInvalid", 422),
        ("NoAssignee", 422),
        ("KeyError", 502),
    ],
)
def test_service_errors_map_to_problems(exc_type: str, status: int) -> None:
    error = RemoteCallError("org", "get_user", {"exc_type": exc_type, "exc_args": ["why", []]})
    response = _remote(None, error)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
