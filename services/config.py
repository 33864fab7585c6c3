"""Settings shared by every service, read from the environment (prefix ``DOCFLOW_``).

Each service builds its own subclass. Placeholder secrets are refused outside
``dev``/``test`` so a production deployment cannot start with demo values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "prod"]

#: Values that only make sense on a laptop; refused in production.
PLACEHOLDER_SECRETS = {
    "",
    "change-me",
    "dev-secret-only-for-laptops-and-tests",
    "minioadmin",
    "guest",
}

#: Metrics port per service (the gateway serves /metrics on its HTTP port).
METRICS_PORTS: dict[str, int] = {
    "org_svc": 9101,
    "counterparty_svc": 9102,
    "contracts_svc": 9103,
    "payments_svc": 9104,
    "mail_svc": 9105,
    "archive_svc": 9106,
    "notify_svc": 9107,
}

SERVICES: tuple[str, ...] = tuple(METRICS_PORTS)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCFLOW_", extra="ignore")

    environment: Environment = "dev"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    log_level: str = "INFO"
    #: Server part of the database URL; the service appends its own database name
    #: (``<db_prefix>_<service without _svc>``) unless ``database_url`` is set.
    pg_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432"
    db_prefix: str = "docflow"
    allow_simulated_time: bool = False
    timezone: str = "Europe/Moscow"


class ServiceSettings(CommonSettings):
    service_name: str = Field(default="", description="set by the runner")
    database_url: str | None = None
    metrics_port: int | None = None
    #: How often the outbox relay looks for unpublished events when nobody woke it.
    outbox_poll_seconds: float = 0.5
    #: Database connections a service keeps open when idle, and how many more it may
    #: open under load (each nameko worker holds at most one).
    db_pool_size: int = 5
    db_max_overflow: int = 10
    #: How often the timer sweep runs (seconds).
    timer_sweep_seconds: float = 30.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"{self.pg_url}/{database_name(self.db_prefix, self.service_name)}"

    def resolved_metrics_port(self) -> int:
        if self.metrics_port is not None:
            return self.metrics_port
        return METRICS_PORTS.get(self.service_name, 0)

    @model_validator(mode="after")
    def _no_placeholders_in_prod(self) -> ServiceSettings:
        if self.environment == "prod" and "guest:guest@" in self.amqp_uri:
            raise ValueError("DOCFLOW_AMQP_URI uses the demo guest account in prod")
        return self


def database_name(prefix: str, service_name: str) -> str:
    return f"{prefix}_{service_name.removesuffix('_svc')}"
