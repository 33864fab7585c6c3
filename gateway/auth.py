"""Authentication: bearer JWTs, from the company's OIDC provider or issued here for demos.

Tokens issued here (HS256, ``DOCFLOW_JWT_SECRET``) carry the person's id,
username, roles and department. Tokens of the OIDC provider (RS256/ES256,
keys from its JWKS URL) carry a username, which org_svc turns into the same
identity (cached briefly so a role change takes effect within a minute).

Either way the person must still be active in the directory: a token of
someone deactivated (or removed) is refused with 401 within a minute of the
change, however long the token itself would be valid.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.rpc import RemoteCallError
from gateway.settings import GatewaySettings
from services.auth import SYSTEM, Identity
from services.errors import Unauthenticated

bearer = HTTPBearer(auto_error=False, description="A JWT: `Authorization: Bearer <token>`")

IDENTITY_CACHE_SECONDS = 60.0


def issue_token(settings: GatewaySettings, identity: dict[str, Any]) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": identity["user_id"],
        "preferred_username": identity["username"],
        "name": identity.get("full_name", ""),
        "roles": identity["roles"],
        "department_id": identity["department_id"],
        "iat": now,
        "exp": now + settings.token_ttl_seconds,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


class Authenticator:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.oidc_jwks_url) if settings.oidc_jwks_url else None
        self._cache: dict[str, tuple[float, Identity]] = {}

    def _own(self, token: str) -> Identity:
        claims = jwt.decode(
            token,
            self.settings.jwt_secret,
            algorithms=["HS256"],
            audience=self.settings.jwt_audience,
            issuer=self.settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        return Identity(
            user_id=str(claims["sub"]),
            username=str(claims.get("preferred_username", "")),
            roles=frozenset(claims.get("roles") or ()),
            department_id=claims.get("department_id"),
        )

    async def _oidc(self, token: str, request: Request) -> Identity:
        assert self._jwks is not None
        key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256", "ES256"],
            audience=self.settings.oidc_audience,
            issuer=self.settings.oidc_issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
        username = str(claims.get("preferred_username") or claims.get("sub") or "")
        return await self.directory(username, request)

    async def directory(self, username: str, request: Request) -> Identity:
        """The active person ``username`` names, as org_svc knows them (cached briefly)."""
        if not username:
            raise Unauthenticated("the token names no person")
        cached = self._cache.get(username)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = await request.app.state.rpc.call(
                "org", "identify", SYSTEM.to_context(), username=username
            )
        except RemoteCallError as exc:
            if exc.exc_type == "NotFound":  # unknown or deactivated: not a 404 of the route
                raise Unauthenticated("the token's person is not active in the directory") from None
            raise
        identity = Identity(
            user_id=found["user_id"],
            username=found["username"],
            roles=frozenset(found["roles"]),
            department_id=found["department_id"],
        )
        self._cache[username] = (time.monotonic() + IDENTITY_CACHE_SECONDS, identity)
        return identity

    async def confirm_active(self, identity: Identity, request: Request) -> Identity:
        """A token issued here stays valid until it expires; the person may have left or
        changed roles since. The directory's current view wins (within a minute)."""
        known = await self.directory(identity.username, request)
        if known.user_id != identity.user_id:  # the username now belongs to someone else
            raise Unauthenticated("the token's person is not active in the directory")
        return known

    async def identify(self, token: str, request: Request) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") == "HS256":
                if not self.settings.demo_tokens:
                    raise Unauthenticated("tokens issued by the gateway are disabled")
                return self._own(token)
            if self._jwks is None:
                raise Unauthenticated("no identity provider is configured for this token")
            return await self._oidc(token, request)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None


async def current_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Identity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send a bearer token in the Authorization header")
    authenticator: Authenticator = request.app.state.authenticator
    identity = await authenticator.identify(credentials.credentials, request)
    identity = await authenticator.confirm_active(identity, request)
    request.state.identity = identity
    return identity


CurrentUser = Annotated[Identity, Depends(current_identity)]
