"""Local stand-ins for systems we cannot reach: an S3 server, 1C's OData, SMTP, Telegram.

The dev runner and the tests start each stand-in as a process on a free
loopback port, but only when no real endpoint is configured, and hand its
address to the services through the environment. Each stand-in is one
factory in ``FACTORIES``: it returns ``None`` when the real system is
configured (its ``DOCFLOW_*`` variable is set), else how to start the stub.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StandIn:
    name: str
    #: argv; ``{port}`` is replaced by the chosen port.
    command: list[str]
    #: environment for the services; ``{port}`` is replaced likewise.
    env: dict[str, str] = field(default_factory=dict)


Factory = Callable[[dict[str, str]], StandIn | None]

#: name -> "module:function" of its factory; every issue that needs a stand-in adds
#: one entry. Named by path so the shared library imports no service package.
FACTORIES: dict[str, str] = {
    "onec-odata": "counterparty_svc.stubs.onec_odata:stand_in",
    "s3": "services.storage:stand_in",
    "smtp": "services.smtp:stand_in",
    "telegram": "services.telegram:stand_in",
}


def _factory(path: str) -> Factory:
    module, _, function = path.partition(":")
    factory: Factory = getattr(importlib.import_module(module), function)
    return factory


def wanted(env: dict[str, str] | None = None) -> list[StandIn]:
    """The stand-ins to start for this environment (real endpoints configured are skipped)."""
    environ = dict(os.environ if env is None else env)
    found = [_factory(path)(environ) for path in FACTORIES.values()]
    return [stand_in for stand_in in found if stand_in is not None]
