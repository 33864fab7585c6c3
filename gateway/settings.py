"""Gateway settings (prefix ``DOCFLOW_``)."""

from __future__ import annotations

from pydantic import model_validator

from services.config import PLACEHOLDER_SECRETS, CommonSettings
from services.storage import S3Settings


class GatewaySettings(CommonSettings, S3Settings):
    #: HS256 key of the tokens the gateway issues itself (dev and demo only).
    jwt_secret: str = "dev-secret-only-for-laptops-and-tests"
    jwt_issuer: str = "docflow"
    jwt_audience: str = "docflow-api"
    token_ttl_seconds: int = 3600
    #: ``POST /api/v1/auth/token`` for the seeded demo people; off in production.
    demo_tokens: bool = True
    #: The company's OpenID Connect provider (production sign-in).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    rpc_timeout_seconds: float = 10.0
    readiness_timeout_seconds: float = 2.0
    cors_origins: tuple[str, ...] = ("http://localhost:5173",)
    max_upload_bytes: int = 50 * 1024 * 1024

    @model_validator(mode="after")
    def _production_is_configured(self) -> GatewaySettings:
        if self.environment == "prod":
            if self.demo_tokens:
                raise ValueError("DOCFLOW_DEMO_TOKENS must be false in prod")
            if not (self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url):
                raise ValueError("prod needs DOCFLOW_OIDC_ISSUER, _AUDIENCE and _JWKS_URL")
            if self.allow_simulated_time:
                raise ValueError("simulated time is never allowed in prod")
        if (
            self.demo_tokens
            and self.environment == "prod"
            and (self.jwt_secret in PLACEHOLDER_SECRETS)
        ):
            raise ValueError("DOCFLOW_JWT_SECRET is a placeholder")
        return self
