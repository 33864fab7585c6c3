"""A loop that runs inside a service container beside its workers.

The outbox relay, the 1C import runner and the timer sweep are all the same
shape: a managed greenthread that does a round of work, sleeps until woken or
until its poll interval passes, and stops cleanly with the container. A round
that fails is logged and retried after a pause; a round that reports more
work is followed at once by the next.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from services.db import Database

log = logging.getLogger(__name__)


class BackgroundLoop(DependencyProvider):  # type: ignore[misc]
    #: names the greenthread in nameko's logs
    identifier = "background-loop"

    def __init__(self, poll_seconds: float | None = None) -> None:
        self.poll_seconds = poll_seconds
        self._wake = Event()
        self._running = False
        self._gt: Any = None

    def sibling_database(self) -> Database:
        """The service's ``Database`` provider (there must be exactly one)."""
        found = [d for d in self.container.dependencies if isinstance(d, Database)]
        if len(found) != 1:
            raise RuntimeError(f"{type(self).__name__} needs exactly one Database dependency")
        return found[0]

    def start(self) -> None:
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier=self.identifier)

    def stop(self) -> None:
        self._running = False
        self.wake()
        if self._gt is not None:
            self._gt.wait()

    def kill(self) -> None:
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    @property
    def running(self) -> bool:
        return self._running

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def run_once(self) -> bool:
        """One round of work; True when more is waiting (run again at once)."""
        raise NotImplementedError

    def on_failure(self) -> None:
        """Hook for metrics when a round raised."""

    def _run(self) -> None:
        poll = self.poll_seconds or 1.0
        while self._running:
            try:
                more = self.run_once()
            except Exception:  # the broker or database is away: retry after a pause
                log.exception("%s failed; retrying", self.identifier)
                self.on_failure()
                eventlet.sleep(min(5.0, poll * 4))
                continue
            if more:
                continue
            with eventlet.Timeout(poll, False):
                self._wake.wait()
            self._wake = Event()
