"""Run, migrate or seed one service: ``python -m services.runner run|migrate|seed <svc>``.

``run`` monkey-patches eventlet first (nameko needs it), configures JSON logs,
serves Prometheus metrics on the service's metrics port and runs the nameko
service until SIGTERM/SIGINT.
"""

from __future__ import annotations

import eventlet

import services  # noqa: F401  (silences eventlet's deprecation notice first)

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402
from prometheus_client import start_http_server  # noqa: E402

from services import logs  # noqa: E402
from services.config import SERVICES, ServiceSettings  # noqa: E402
from services.metrics import CONTAINER_RESTARTS  # noqa: E402

log = logging.getLogger("docflow.runner")

#: After the container died, wait this long before starting it again (doubling).
RESTART_PAUSE_SECONDS = 1.0
MAX_RESTART_PAUSE_SECONDS = 30.0


def load_settings(service_package: str) -> ServiceSettings:
    try:
        module = importlib.import_module(f"{service_package}.settings")
        settings_cls: type[ServiceSettings] = module.Settings
    except ModuleNotFoundError:
        settings_cls = ServiceSettings
    return settings_cls(service_name=service_package)


def service_class(service_package: str) -> type[Any]:
    module = importlib.import_module(f"{service_package}.service")
    classes = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if obj.__module__ == module.__name__ and isinstance(getattr(obj, "name", None), str)
    ]
    if len(classes) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one service class")
    return classes[0]


def nameko_config(settings: ServiceSettings) -> dict[str, Any]:
    return {
        "AMQP_URI": settings.amqp_uri,
        "DATABASE_URL": settings.resolved_database_url(),
        "OUTBOX_POLL_SECONDS": settings.outbox_poll_seconds,
        "DB_POOL_SIZE": settings.db_pool_size,
        "DB_MAX_OVERFLOW": settings.db_max_overflow,
        "SETTINGS": settings,
        "serializer": "json",
    }


def run(service_package: str) -> None:
    settings = load_settings(service_package)
    logs.configure(service_package, settings.log_level)
    port = settings.resolved_metrics_port()
    if port:
        start_http_server(port)
    config = nameko_config(settings)
    service = service_class(service_package)
    stopping: list[int] = []
    current: list[ServiceRunner] = []

    def shutdown(signum: int, _frame: Any) -> None:
        # A second signal while stopping must not start a second, competing stop.
        if stopping:
            return
        stopping.append(signum)
        log.info("stopping on signal %s", signum)
        eventlet.spawn_n(current[-1].stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    pause = RESTART_PAUSE_SECONDS
    while True:
        runner = ServiceRunner(config)
        runner.add_service(service)
        current.append(runner)
        runner.start()
        log.info("started", extra={"fields": {"metrics_port": port}})
        try:
            runner.wait()
            return  # stopped on a signal
        except Exception:
            if stopping:
                return
            # nameko stops a container when an entrypoint cannot acknowledge its message
            # (the broker went away mid-call). Unacknowledged messages are redelivered and
            # handled idempotently, so starting again loses nothing; exiting would leave
            # the service down wherever no supervisor restarts it.
            log.exception("the service container died; starting it again in %.0f s", pause)
            CONTAINER_RESTARTS.labels(service=service.name).inc()
            eventlet.sleep(pause)
            pause = min(pause * 2, MAX_RESTART_PAUSE_SECONDS)


def migrate(service_package: str) -> None:
    from services.migrations import upgrade

    settings = load_settings(service_package)
    logs.configure(service_package, settings.log_level)
    upgrade(service_package, settings.resolved_database_url())
    log.info("migrated")


def seed(service_package: str) -> None:
    from sqlalchemy.orm import sessionmaker

    from services.db import make_engine, session_scope

    settings = load_settings(service_package)
    logs.configure(service_package, settings.log_level)
    module = importlib.import_module(f"{service_package}.seed")
    engine = make_engine(settings.resolved_database_url())
    try:
        with session_scope(sessionmaker(engine)) as session:
            module.seed_demo(session)
    finally:
        engine.dispose()
    log.info("seeded")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.runner")
    parser.add_argument("command", choices=["run", "migrate", "seed"])
    parser.add_argument("service", choices=SERVICES)
    args = parser.parse_args(argv)
    {"run": run, "migrate": migrate, "seed": seed}[args.command](args.service)


if __name__ == "__main__":
    main(sys.argv[1:])
