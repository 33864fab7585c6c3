"""The company's production calendar: the built-in Russian one plus imported overrides."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from org_svc import models
from services.auth import ADMIN_ROLE, Identity, require_role
from services.calendar import BusinessCalendar, DayKind
from services.errors import InvalidInput
from services.outbox import OutboxWriter
from services.schemas import org as schemas

FIRST_YEAR, LAST_YEAR = 2000, 2100


def overrides(session: Session) -> dict[date, DayKind]:
    return {
        row.day: row.kind  # type: ignore[misc]
        for row in session.scalars(select(models.CalendarOverride))
    }


def calendar_of(session: Session, timezone: str) -> BusinessCalendar:
    return BusinessCalendar(timezone, overrides=overrides(session))


def year_view(session: Session, year: int, timezone: str) -> schemas.CalendarYear:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"year must be between {FIRST_YEAR} and {LAST_YEAR}",
            [{"loc": ["year"], "msg": "range"}],
        )
    known = overrides(session)
    calendar = BusinessCalendar(timezone, overrides=known)
    days: list[schemas.CalendarDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        hours = calendar.working_hours_of(day)
        if not hours:
            # A weekday off (a holiday or a day moved off) is a holiday; Sat/Sun are weekend.
            off_weekday = day.weekday() < 5 or calendar.is_public_holiday(day)
            kind = "holiday" if off_weekday or known.get(day) == "holiday" else "weekend"
        else:
            kind = "short" if calendar.is_short_day(day) else "working"
        days.append(schemas.CalendarDay(day=day, kind=kind, hours=hours, override=known.get(day)))
        day += timedelta(days=1)
    return schemas.CalendarYear(
        year=year,
        timezone=timezone,
        working_days=sum(1 for d in days if d.kind in ("working", "short")),
        days=days,
    )


def import_overrides(
    session: Session, caller: Identity, events: OutboxWriter, data: schemas.CalendarImport
) -> int:
    """Upsert official days (the latest import wins for a day)."""
    require_role(caller, (ADMIN_ROLE,), "Importing the production calendar")
    for day, kind in sorted(data.days.items()):
        session.execute(
            insert(models.CalendarOverride)
            .values(day=day, kind=kind, note="imported")
            .on_conflict_do_update(index_elements=["day"], set_={"kind": kind})
        )
    events.add(
        session,
        "calendar.overrides_imported",
        {"days": {d.isoformat(): k for d, k in sorted(data.days.items())}},
    )
    return len(data.days)
