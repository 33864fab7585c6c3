"""One command's work in progress: the instance copy being changed and what it produces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.calendar import BusinessCalendar
from services.workflow.model import Event, Instance, OrgLookup, Result, Timer, TimerKind
from services.workflow.routes import Route
from services.workflow.timeline import GENESIS, TimelineEntry, seal


class Run:
    """Collects timeline entries, events and timer changes while one command is applied."""

    def __init__(
        self,
        route: Route,
        instance: Instance,
        now: datetime,
        org: OrgLookup,
        calendar: BusinessCalendar,
    ) -> None:
        self.route = route
        self.instance = instance
        self.now = now
        self.org = org
        self.calendar = calendar
        self.entries: list[TimelineEntry] = []
        self.events: list[Event] = []
        self._set: dict[str, Timer] = {}
        self._cancelled: list[str] = []
        self._fired = False

    def new_id(self, prefix: str) -> str:
        # Ids derive from the instance id and a counter kept in the instance, so
        # replaying a command yields the same ids (no randomness in the engine).
        self.instance.id_seq += 1
        return f"{self.instance.id}:{prefix}{self.instance.id_seq}"

    def log(
        self,
        action: str,
        *,
        actor_id: str | None = None,
        on_behalf_of: str | None = None,
        step_id: str | None = None,
        task_id: str | None = None,
        comment: str | None = None,
        reason_code: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        instance = self.instance
        entry = seal(
            TimelineEntry(
                instance_id=instance.id,
                seq=instance.timeline_seq + 1,
                at=self.now,
                action=action,
                round=instance.round,
                actor_id=actor_id,
                on_behalf_of=on_behalf_of,
                step_id=step_id,
                task_id=task_id,
                comment=comment,
                reason_code=reason_code,
                data=data or {},
                prev_hash=instance.timeline_head or GENESIS,
            )
        )
        instance.timeline_seq = entry.seq
        instance.timeline_head = entry.hash
        self.entries.append(entry)

    def emit(self, event_type: str, **payload: Any) -> None:
        base = {
            "instance_id": self.instance.id,
            "route_id": self.instance.route_id,
            "round": self.instance.round,
        }
        self.events.append(Event(event_type, {**base, **payload}))

    def set_timer(
        self, kind: TimerKind, fire_at: datetime, step_id: str, task_id: str | None = None
    ) -> Timer:
        timer = Timer(
            id=self.new_id("tm"),
            kind=kind,
            fire_at=fire_at,
            step_id=step_id,
            round=self.instance.round,
            task_id=task_id,
        )
        self.instance.timers[timer.id] = timer
        self._set[timer.id] = timer
        return timer

    def cancel_timer(self, timer_id: str) -> None:
        if self.instance.timers.pop(timer_id, None) is None:
            return
        # A timer set and cancelled within one command was never stored.
        if self._set.pop(timer_id, None) is None:
            self._cancelled.append(timer_id)

    def forget_fired(self, timer_id: str) -> None:
        """The timer being handled is done; the sweeper marks it, we only drop it."""
        if self.instance.timers.pop(timer_id, None) is not None:
            # Even when the timer turns out to have nothing to do, the instance
            # changed (one timer fewer) and must be saved with a new version.
            self._fired = True

    def cancel_timers(
        self, task_id: str | None = None, kinds: tuple[str, ...] | None = None
    ) -> None:
        for timer in list(self.instance.timers.values()):
            if task_id is not None and timer.task_id != task_id:
                continue
            if kinds is not None and timer.kind not in kinds:
                continue
            self.cancel_timer(timer.id)

    def changed(self) -> bool:
        return bool(self.entries or self.events or self._set or self._cancelled or self._fired)

    def result(self) -> Result:
        return Result(
            self.instance,
            list(self.entries),
            list(self.events),
            list(self._set.values()),
            list(self._cancelled),
        )
