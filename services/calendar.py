"""The business calendar: when people work, and arithmetic in working time.

Days come from the Russian production calendar (``holidays.RU``: public
holidays, transferred days off and the Saturdays made working days by decree),
with official overrides applied on top because the government publishes the
next year's transfers late and the library may lag behind it.

Everything here works on time-zone-aware datetimes only: a naive one is a bug
upstream (whose noon is it?), so it is refused rather than guessed.

"1 working day" is not 24 (or 9) working hours: ``add_working_days`` moves to
the same position of a later working day, ``add_working_time`` consumes hours
and minutes of working time. A moment outside working hours starts counting
at the next working moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import holidays
import yaml

DayKind = Literal["working", "holiday", "short"]
DAY_KINDS: tuple[DayKind, ...] = ("working", "holiday", "short")

#: holidays.RU names transferred days off like this (in the en_US locale we ask for);
#: they are days off, but not the public holidays that shorten the day before.
_SUBSTITUTED_PREFIX = "Day off (substituted"

#: A search for the next working day gives up after this many days: a calendar
#: with no working day in ten years is a configuration error, not a long weekend.
_MAX_SCAN_DAYS = 3660

Interval = tuple[datetime, datetime]


def _aware(value: datetime, name: str = "datetime") -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} {value.isoformat()} is naive: a time zone offset is required")
    return value


def _parse_clock(value: str | time, what: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a time of day like '09:00'") from None


_DURATION_PART = re.compile(r"(\d+)\s*(wd|wh|wm)")


@dataclass(frozen=True)
class WorkingDuration:
    """An amount of working time: whole working days plus working minutes.

    Days and minutes stay apart because they are different units: a working day
    is "the same time on a later working day", whatever that day's length.
    """

    days: int = 0
    minutes: int = 0

    def __post_init__(self) -> None:
        if self.days < 0 or self.minutes < 0:
            raise ValueError("a working duration cannot be negative")

    @classmethod
    def parse(cls, value: str | int | Mapping[str, Any]) -> WorkingDuration:
        """``"2wd"``, ``"4wh"``, ``"30wm"``, ``"1wd 4wh"`` or a mapping.

        wd: working days, wh: working hours, wm: working minutes; the mapping
        form is ``{working_days: 2, working_hours: 4, working_minutes: 30}``.
        """
        if isinstance(value, Mapping):
            known = {"working_days", "working_hours", "working_minutes"}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"unknown duration key(s) {unknown}; use {sorted(known)}")
            parts: dict[str, int] = {}
            for key in known:
                raw = value.get(key, 0)
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                    raise ValueError(f"{key} must be a whole number >= 0, got {raw!r}")
                parts[key] = raw
            result = cls(
                parts["working_days"], parts["working_hours"] * 60 + parts["working_minutes"]
            )
        elif isinstance(value, str):
            text = value.strip().lower()
            matches = list(_DURATION_PART.finditer(text))
            if not matches or _DURATION_PART.sub("", text).strip():
                raise ValueError(
                    f"{value!r} is not a working duration; write e.g. '2wd' (working days), "
                    "'4wh' (working hours), '30wm' (working minutes) or '1wd 4wh'"
                )
            days = minutes = 0
            for match in matches:
                amount, unit = int(match.group(1)), match.group(2)
                if unit == "wd":
                    days += amount
                elif unit == "wh":
                    minutes += amount * 60
                else:
                    minutes += amount
            result = cls(days, minutes)
        else:
            raise ValueError(f"{value!r} is not a working duration")
        if result.is_zero():
            raise ValueError(f"{value!r} is an empty duration")
        return result

    def is_zero(self) -> bool:
        return self.days == 0 and self.minutes == 0

    def __str__(self) -> str:
        parts = []
        if self.days:
            parts.append(f"{self.days}wd")
        hours, minutes = divmod(self.minutes, 60)
        if hours:
            parts.append(f"{hours}wh")
        if minutes:
            parts.append(f"{minutes}wm")
        return " ".join(parts) or "0wm"


def load_overrides(
    source: str | Mapping[Any, Any] | Iterable[Mapping[str, Any]],
) -> dict[date, DayKind]:
    """Official overrides from YAML text, a mapping or rows like the org directory's table.

    Accepted shapes: ``{2025-12-31: holiday, "2026-01-10": working}``, a mapping to
    ``{kind: short, note: ...}``, or a list of ``{day|date: ..., kind: ...}``.
    """
    data: Any = yaml.safe_load(source) if isinstance(source, str) else source
    if data is None:
        return {}
    if isinstance(data, Mapping) and set(data) == {"overrides"}:
        data = data["overrides"]
    rows: list[tuple[str, Any, Any]] = []
    if isinstance(data, Mapping):
        rows = [(f"[{key!s}]", key, value) for key, value in data.items()]
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        for index, row in enumerate(data):
            if not isinstance(row, Mapping):
                raise ValueError(f"overrides[{index}]: expected a mapping with day and kind")
            rows.append((f"[{index}]", row.get("day", row.get("date")), row))
    else:
        raise ValueError("overrides: expected a mapping of date -> kind or a list of rows")
    result: dict[date, DayKind] = {}
    for where, raw_day, raw_kind in rows:
        if isinstance(raw_day, datetime):
            raise ValueError(f"overrides{where}: {raw_day!r} is a moment, not a date")
        if isinstance(raw_day, date):
            day = raw_day
        else:
            try:
                day = date.fromisoformat(str(raw_day))
            except ValueError:
                raise ValueError(
                    f"overrides{where}: {raw_day!r} is not a date (YYYY-MM-DD)"
                ) from None
        kind = raw_kind.get("kind") if isinstance(raw_kind, Mapping) else raw_kind
        if kind not in DAY_KINDS:
            raise ValueError(f"overrides{where}: kind {kind!r} is not one of {list(DAY_KINDS)}")
        if day in result:
            raise ValueError(f"overrides{where}: {day.isoformat()} is listed twice")
        result[day] = cast(DayKind, kind)
    return result


@dataclass(frozen=True)
class _Year:
    holidays: dict[date, str]
    weekend_workdays: frozenset[date]


class BusinessCalendar:
    """Working days and hours of one company in one time zone."""

    def __init__(
        self,
        tz: str | ZoneInfo = "Europe/Moscow",
        *,
        day_start: str | time = "09:00",
        day_end: str | time = "18:00",
        lunch: tuple[str | time, str | time] | None = None,
        shorten_pre_holiday: bool = True,
        pre_holiday_cut: timedelta = timedelta(hours=1),
        overrides: Mapping[date, DayKind] | None = None,
    ) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.day_start = _parse_clock(day_start, "day_start")
        self.day_end = _parse_clock(day_end, "day_end")
        if self.day_start >= self.day_end:
            raise ValueError("day_start must be before day_end")
        self.lunch: tuple[time, time] | None = None
        if lunch is not None:
            lunch_start = _parse_clock(lunch[0], "lunch start")
            lunch_end = _parse_clock(lunch[1], "lunch end")
            if not self.day_start < lunch_start < lunch_end < self.day_end:
                raise ValueError("the lunch break must lie inside the working day")
            self.lunch = (lunch_start, lunch_end)
        self.shorten_pre_holiday = shorten_pre_holiday
        if pre_holiday_cut < timedelta(0):
            raise ValueError("pre_holiday_cut cannot be negative")
        last_part_start = self.lunch[1] if self.lunch else self.day_start
        last_part = datetime.combine(date.min, self.day_end) - datetime.combine(
            date.min, last_part_start
        )
        if shorten_pre_holiday and pre_holiday_cut >= last_part:
            raise ValueError("pre_holiday_cut would remove the whole afternoon")
        self.pre_holiday_cut = pre_holiday_cut
        self.overrides: dict[date, DayKind] = dict(overrides or {})
        for day, kind in self.overrides.items():
            if kind not in DAY_KINDS:
                raise ValueError(f"override for {day}: {kind!r} is not one of {list(DAY_KINDS)}")
        self._years: dict[int, _Year] = {}
        self._utc_intervals: dict[date, tuple[Interval, ...]] = {}

    def with_overrides(self, overrides: Mapping[date, DayKind]) -> BusinessCalendar:
        """The same calendar with more official overrides (later ones win)."""
        return BusinessCalendar(
            self.tz,
            day_start=self.day_start,
            day_end=self.day_end,
            lunch=self.lunch,
            shorten_pre_holiday=self.shorten_pre_holiday,
            pre_holiday_cut=self.pre_holiday_cut,
            overrides={**self.overrides, **overrides},
        )

    # -- days ---------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            # A fresh object per year, in a fixed locale: the name tells a
            # transferred day off from a public holiday.
            ru = holidays.country_holidays("RU", years=year, language="en_US")
            cached = _Year(dict(ru.items()), frozenset(ru.weekend_workdays))
            self._years[year] = cached
        return cached

    @staticmethod
    def _date(day: date) -> date:
        if isinstance(day, datetime):
            raise TypeError("pass a date; for a moment use .astimezone(calendar.tz).date()")
        return day

    def local_date(self, moment: datetime) -> date:
        """The calendar date of ``moment`` in this calendar's time zone."""
        return _aware(moment).astimezone(self.tz).date()

    def is_working_day(self, day: date) -> bool:
        day = self._date(day)
        override = self.overrides.get(day)
        if override is not None:
            return override != "holiday"
        year = self._year(day.year)
        if day in year.holidays:
            return False
        return day in year.weekend_workdays or day.weekday() < 5

    def is_public_holiday(self, day: date) -> bool:
        """A public holiday of the labour code (not a transferred day off, not a weekend)."""
        day = self._date(day)
        name = self._year(day.year).holidays.get(day)
        return name is not None and not name.startswith(_SUBSTITUTED_PREFIX)

    def is_short_day(self, day: date) -> bool:
        """A pre-holiday working day, one hour (``pre_holiday_cut``) shorter.

        Without an override this follows what the production calendars of 2024
        and 2025 do: the working day right before a public holiday is short, and
        so is a working Saturday (or Sunday) whose days off that follow include a
        public holiday. A weekday before a transferred day off is not (7 May 2025).
        Official overrides (``short`` / ``working``) always win.
        """
        day = self._date(day)
        override = self.overrides.get(day)
        if override == "short":
            return True
        if override == "working" or not self.shorten_pre_holiday or not self.is_working_day(day):
            return False
        following = day + timedelta(days=1)
        if not self.is_working_day(following) and self.is_public_holiday(following):
            return True
        if day.weekday() < 5:
            return False
        for _ in range(31):
            if self.is_working_day(following):
                return False
            if self.is_public_holiday(following):
                return True
            following += timedelta(days=1)
        return False

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self._scan(self._date(day), +1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        return self._scan(self._date(day), -1)

    def _scan(self, day: date, step: int) -> date:
        for _ in range(_MAX_SCAN_DAYS):
            day += timedelta(days=step)
            if self.is_working_day(day):
                return day
        raise ValueError("no working day within ten years: check the calendar overrides")

    # -- hours --------------------------------------------------------------

    def _intervals(self, day: date) -> tuple[Interval, ...]:
        """Working intervals of ``day`` in UTC: arithmetic stays right across DST shifts."""
        cached = self._utc_intervals.get(day)
        if cached is not None:
            return cached
        result: tuple[Interval, ...] = ()
        if self.is_working_day(day):
            clock: list[tuple[time, time]] = (
                [(self.day_start, self.lunch[0]), (self.lunch[1], self.day_end)]
                if self.lunch
                else [(self.day_start, self.day_end)]
            )
            spans = [
                (
                    datetime.combine(day, a, tzinfo=self.tz).astimezone(UTC),
                    datetime.combine(day, b, tzinfo=self.tz).astimezone(UTC),
                )
                for a, b in clock
            ]
            if self.is_short_day(day):
                start, end = spans[-1]
                spans[-1] = (start, end - self.pre_holiday_cut)
            result = tuple(spans)
        self._utc_intervals[day] = result
        return result

    def working_hours_of(self, day: date) -> list[Interval]:
        """Working intervals ``[start, end)`` of ``day`` in local time; empty on a day off."""
        return [
            (a.astimezone(self.tz), b.astimezone(self.tz))
            for a, b in self._intervals(self._date(day))
        ]

    def end_of_working_day(self, day: date) -> datetime:
        """When work ends on ``day``; ValueError on a day off."""
        spans = self._intervals(self._date(day))
        if not spans:
            raise ValueError(f"{day.isoformat()} is not a working day")
        return spans[-1][1].astimezone(self.tz)

    def is_working_moment(self, moment: datetime) -> bool:
        utc = _aware(moment).astimezone(UTC)
        return any(a <= utc < b for a, b in self._intervals(self.local_date(moment)))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself inside working hours, otherwise the next start of work."""
        utc = _aware(moment).astimezone(UTC)
        day = self.local_date(moment)
        for _ in range(_MAX_SCAN_DAYS):
            for start, end in self._intervals(day):
                if utc < end:
                    return max(start, utc).astimezone(self.tz)
            day += timedelta(days=1)
        raise ValueError("no working time within ten years: check the calendar overrides")

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment after ``amount`` of working time counted from ``start``.

        Ends exactly at the end of a day (18:00) rather than at the next start
        (09:00): both are the same working instant, and a deadline reads better so.
        """
        _aware(start, "start")
        if amount < timedelta(0):
            raise ValueError("amount of working time cannot be negative")
        current = self.next_working_moment(start).astimezone(UTC)
        if amount == timedelta(0):
            return current.astimezone(self.tz)
        remaining = amount
        day = self.local_date(current)
        for _ in range(_MAX_SCAN_DAYS * 2):
            for span_start, span_end in self._intervals(day):
                if span_end <= current:
                    continue
                begin = max(span_start, current)
                available = span_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(self.tz)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("working time does not fit into twenty years")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` working days after ``start``, at the same position within the day.

        Counting starts at the next working moment. From the very start of a
        working day, one working day ends at the end of that same day (Monday
        09:00 + 1 -> Monday 18:00); otherwise the clock time carries over to the
        later day, clipped to that day's end if it is a short one.
        """
        _aware(start, "start")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError("days must be a whole number >= 0")
        moment = self.next_working_moment(start)
        if days == 0:
            return moment
        day = moment.date()
        spans = self._intervals(day)
        if moment.astimezone(UTC) == spans[0][0]:
            target = day
            for _ in range(days - 1):
                target = self.next_working_day(target)
            return self.end_of_working_day(target)
        target = day
        for _ in range(days):
            target = self.next_working_day(target)
        wanted = datetime.combine(target, moment.timetz().replace(tzinfo=None), tzinfo=self.tz)
        wanted_utc = wanted.astimezone(UTC)
        best = self._intervals(target)[0][0]
        for span_start, span_end in self._intervals(target):
            if span_start <= wanted_utc:
                best = min(wanted_utc, span_end)
        return best.astimezone(self.tz)

    def add(self, start: datetime, duration: WorkingDuration) -> datetime:
        """``start`` plus working days, then working minutes."""
        moment = self.add_working_days(start, duration.days)
        if duration.minutes == 0:
            # Adding nothing must not turn "end of Thursday" into "Friday 09:00".
            return moment
        return self.add_working_time(moment, timedelta(minutes=duration.minutes))

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; negative when ``b`` is before ``a``."""
        _aware(a, "a")
        _aware(b, "b")
        if b < a:
            return -self.working_time_between(b, a)
        a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        day, last = self.local_date(a), self.local_date(b)
        while day <= last:
            for start, end in self._intervals(day):
                lo, hi = max(start, a_utc), min(end, b_utc)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total
