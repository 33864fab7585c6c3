"""The business calendar: Russian production calendar days and working-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.calendar import BusinessCalendar, WorkingDuration, load_overrides

MSK = ZoneInfo("Europe/Moscow")
CAL = BusinessCalendar()


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(n) for n in range((date(year + 1, 1, 1) - first).days)]


# -- days -------------------------------------------------------------------


def test_new_year_holidays_2025_are_days_off() -> None:
    for day in range(1, 9):
        assert not CAL.is_working_day(date(2025, 1, day)), day
    assert CAL.is_working_day(date(2025, 1, 9))


def test_transferred_working_saturdays_are_working_days() -> None:
    assert CAL.is_working_day(date(2025, 11, 1))  # Saturday, worked for Monday 3 November
    assert not CAL.is_working_day(date(2025, 11, 3))
    assert not CAL.is_working_day(date(2025, 11, 4))
    assert CAL.is_working_day(date(2024, 12, 28))  # Saturday, worked for Monday 30 December
    assert not CAL.is_working_day(date(2024, 12, 30))
    assert not CAL.is_working_day(date(2024, 12, 31))


def test_ordinary_weekends_are_days_off() -> None:
    assert not CAL.is_working_day(date(2025, 3, 15))
    assert not CAL.is_working_day(date(2025, 3, 16))
    assert CAL.is_working_day(date(2025, 3, 17))


@pytest.mark.parametrize(("year", "count"), [(2023, 247), (2024, 248), (2025, 247)])
def test_working_day_count_matches_the_official_production_calendar(year: int, count: int) -> None:
    assert sum(CAL.is_working_day(day) for day in days(year)) == count


@pytest.mark.parametrize(
    ("year", "short_days"),
    [
        (2023, ["2023-02-22", "2023-03-07", "2023-11-03"]),
        (
            2024,
            [
                "2024-02-22",
                "2024-03-07",
                "2024-04-27",
                "2024-05-08",
                "2024-06-11",
                "2024-11-02",
                "2024-12-28",
            ],
        ),
        (2025, ["2025-03-07", "2025-04-30", "2025-06-11", "2025-11-01"]),
    ],
)
def test_pre_holiday_short_days_match_the_official_lists(year: int, short_days: list[str]) -> None:
    assert [d.isoformat() for d in days(year) if CAL.is_short_day(d)] == short_days


def test_a_short_day_ends_an_hour_early() -> None:
    assert CAL.working_hours_of(date(2025, 3, 7)) == [(msk(2025, 3, 7, 9), msk(2025, 3, 7, 17))]
    assert CAL.working_hours_of(date(2025, 3, 6)) == [(msk(2025, 3, 6, 9), msk(2025, 3, 6, 18))]
    assert CAL.end_of_working_day(date(2025, 11, 1)) == msk(2025, 11, 1, 17)


def test_short_days_can_be_switched_off_or_overridden() -> None:
    plain = BusinessCalendar(shorten_pre_holiday=False)
    assert plain.end_of_working_day(date(2025, 3, 7)) == msk(2025, 3, 7, 18)
    overridden = CAL.with_overrides({date(2025, 3, 7): "working", date(2025, 3, 5): "short"})
    assert overridden.end_of_working_day(date(2025, 3, 7)) == msk(2025, 3, 7, 18)
    assert overridden.end_of_working_day(date(2025, 3, 5)) == msk(2025, 3, 5, 17)


def test_a_day_off_has_no_working_hours() -> None:
    assert CAL.working_hours_of(date(2025, 1, 3)) == []
    with pytest.raises(ValueError, match="not a working day"):
        CAL.end_of_working_day(date(2025, 1, 3))


def test_lunch_break_splits_the_day() -> None:
    cal = BusinessCalendar(lunch=("13:00", "14:00"))
    assert cal.working_hours_of(date(2025, 3, 6)) == [
        (msk(2025, 3, 6, 9), msk(2025, 3, 6, 13)),
        (msk(2025, 3, 6, 14), msk(2025, 3, 6, 18)),
    ]
    assert cal.next_working_moment(msk(2025, 3, 6, 13, 30)) == msk(2025, 3, 6, 14)
    assert cal.working_time_between(msk(2025, 3, 6, 12), msk(2025, 3, 6, 15)) == timedelta(hours=2)


def test_bad_working_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="before day_end"):
        BusinessCalendar(day_start="18:00", day_end="09:00")
    with pytest.raises(ValueError, match="lunch"):
        BusinessCalendar(lunch=("08:00", "09:30"))
    with pytest.raises(ValueError, match="time of day"):
        BusinessCalendar(day_start="nine")


# -- overrides ----------------------------------------------------------------


def test_overrides_load_from_yaml_and_apply_over_the_library() -> None:
    overrides = load_overrides(
        """
        2025-03-10: holiday
        "2025-03-16": working
        2025-03-14: {kind: short, note: decree 123}
        """
    )
    assert overrides == {
        date(2025, 3, 10): "holiday",
        date(2025, 3, 16): "working",
        date(2025, 3, 14): "short",
    }
    cal = BusinessCalendar(overrides=overrides)
    assert not cal.is_working_day(date(2025, 3, 10))
    assert cal.is_working_day(date(2025, 3, 16))  # a Sunday made working
    assert cal.end_of_working_day(date(2025, 3, 14)) == msk(2025, 3, 14, 17)


def test_overrides_accept_rows_like_the_org_directory_table() -> None:
    rows: list[dict[str, object]] = [
        {"day": "2026-01-10", "kind": "working"},
        {"date": date(2026, 1, 12), "kind": "holiday"},
    ]
    assert load_overrides(rows) == {date(2026, 1, 10): "working", date(2026, 1, 12): "holiday"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("2025-03-10: vacation", r"overrides\[2025-03-10\]: kind 'vacation'"),
        ("not-a-date: holiday", r"'not-a-date' is not a date"),
        ("[{day: 2025-01-01, kind: holiday}, {day: 2025-01-01, kind: working}]", "listed twice"),
        ("[1, 2]", r"overrides\[0\]: expected a mapping"),
    ],
)
def test_bad_overrides_say_where_and_why(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_overrides(source)


# -- moments and arithmetic ---------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 3, 6, 10)
    for call in (
        lambda: CAL.next_working_moment(naive),
        lambda: CAL.add_working_time(naive, timedelta(hours=1)),
        lambda: CAL.add_working_days(naive, 1),
        lambda: CAL.working_time_between(naive, msk(2025, 3, 7)),
        lambda: CAL.working_time_between(msk(2025, 3, 7), naive),
        lambda: CAL.is_working_moment(naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_next_working_moment() -> None:
    assert CAL.next_working_moment(msk(2025, 3, 6, 10, 15)) == msk(2025, 3, 6, 10, 15)
    assert CAL.next_working_moment(msk(2025, 3, 6, 7)) == msk(2025, 3, 6, 9)
    # The end of the day is outside it: the next start.
    assert CAL.next_working_moment(msk(2025, 3, 14, 18)) == msk(2025, 3, 17, 9)
    assert CAL.next_working_moment(msk(2024, 12, 29, 12)) == msk(2025, 1, 9, 9)


def test_moments_in_other_zones_are_read_in_the_calendar_zone() -> None:
    # 06:30 UTC is 09:30 in Moscow.
    moment = datetime(2025, 3, 6, 6, 30, tzinfo=UTC)
    assert CAL.is_working_moment(moment)
    result = CAL.add_working_time(moment, timedelta(hours=1))
    assert result == msk(2025, 3, 6, 10, 30)
    assert result.tzinfo == MSK


def test_add_working_time_spans_a_weekend() -> None:
    assert CAL.add_working_time(msk(2025, 3, 14, 17), timedelta(hours=2)) == msk(2025, 3, 17, 10)


def test_add_working_time_ends_at_the_end_of_a_day_not_the_next_morning() -> None:
    assert CAL.add_working_time(msk(2025, 3, 17, 9), timedelta(hours=9)) == msk(2025, 3, 17, 18)


def test_add_working_time_across_new_year_and_a_short_working_saturday() -> None:
    # 28 Dec 2024 is a working Saturday and a short day (until 17:00); then 1-8 January.
    assert CAL.add_working_time(msk(2024, 12, 28, 16), timedelta(hours=2)) == msk(2025, 1, 9, 10)


def test_a_timer_set_outside_working_hours_starts_at_the_next_working_moment() -> None:
    assert CAL.add_working_time(msk(2025, 3, 15, 23), timedelta(hours=4)) == msk(2025, 3, 17, 13)
    assert CAL.add_working_time(msk(2025, 3, 17, 20), timedelta(minutes=30)) == msk(
        2025, 3, 18, 9, 30
    )


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_time(msk(2025, 3, 17, 10), timedelta(hours=-1))
    with pytest.raises(ValueError):
        CAL.add_working_days(msk(2025, 3, 17, 10), -1)


def test_add_working_days_keeps_the_position_within_the_day() -> None:
    assert CAL.add_working_days(msk(2025, 3, 14, 15), 1) == msk(2025, 3, 17, 15)
    assert CAL.add_working_days(msk(2024, 12, 27, 11), 1) == msk(2024, 12, 28, 11)
    assert CAL.add_working_days(msk(2024, 12, 27, 11), 2) == msk(2025, 1, 9, 11)
    assert CAL.add_working_days(msk(2025, 10, 31, 11), 1) == msk(2025, 11, 1, 11)
    assert CAL.add_working_days(msk(2025, 10, 31, 11), 2) == msk(2025, 11, 5, 11)


def test_one_working_day_is_not_24_working_hours() -> None:
    start = msk(2025, 3, 17, 11)
    assert CAL.add_working_days(start, 1) == msk(2025, 3, 18, 11)
    assert CAL.add_working_time(start, timedelta(hours=24)) == msk(2025, 3, 19, 17)


def test_add_working_days_from_the_start_of_a_day_ends_with_that_day() -> None:
    assert CAL.add_working_days(msk(2025, 3, 17, 9), 1) == msk(2025, 3, 17, 18)
    assert CAL.add_working_days(msk(2025, 3, 14, 20), 1) == msk(2025, 3, 17, 18)
    assert CAL.add_working_days(msk(2025, 3, 14, 20), 2) == msk(2025, 3, 18, 18)


def test_add_working_days_clips_to_a_shorter_day() -> None:
    assert CAL.add_working_days(msk(2025, 3, 6, 17, 30), 1) == msk(2025, 3, 7, 17)


def test_working_days_with_zero_days_is_the_next_working_moment() -> None:
    assert CAL.add_working_days(msk(2025, 3, 15, 12), 0) == msk(2025, 3, 17, 9)


def test_working_time_between() -> None:
    assert CAL.working_time_between(msk(2025, 3, 14, 17), msk(2025, 3, 17, 10)) == timedelta(
        hours=2
    )
    assert CAL.working_time_between(msk(2025, 3, 17, 10), msk(2025, 3, 14, 17)) == -timedelta(
        hours=2
    )
    # 27 Dec (9h) + 28 Dec short Saturday (8h), then nothing until 9 January.
    assert CAL.working_time_between(msk(2024, 12, 27), msk(2025, 1, 9)) == timedelta(hours=17)


def test_working_duration_syntax() -> None:
    assert WorkingDuration.parse("2wd") == WorkingDuration(days=2)
    assert WorkingDuration.parse("4wh") == WorkingDuration(minutes=240)
    assert WorkingDuration.parse("1wd 4wh 30wm") == WorkingDuration(1, 270)
    assert WorkingDuration.parse({"working_days": 1, "working_hours": 2}) == WorkingDuration(1, 120)
    assert str(WorkingDuration(1, 270)) == "1wd 4wh 30wm"
    for bad in ("2 days", "", "0wd", "4wh later", {"working_weeks": 1}, {"working_days": -1}):
        with pytest.raises(ValueError):
            WorkingDuration.parse(bad)


def test_add_a_working_duration_adds_days_then_time() -> None:
    assert CAL.add(msk(2025, 3, 14, 17), WorkingDuration(1, 120)) == msk(2025, 3, 18, 10)
    assert CAL.add(msk(2025, 3, 17, 9), WorkingDuration(days=1)) == msk(2025, 3, 17, 18)
    assert CAL.add(msk(2025, 3, 17, 9), WorkingDuration(1, 60)) == msk(2025, 3, 18, 10)
    assert CAL.add(msk(2025, 3, 15, 9), WorkingDuration(minutes=60)) == msk(2025, 3, 17, 10)


def test_arithmetic_stays_right_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cal = BusinessCalendar(berlin)
    # Germany moved its clocks on Sunday 30 March 2025; Friday 16:00 -> Monday.
    start = datetime(2025, 3, 28, 16, tzinfo=berlin)
    assert cal.add_working_time(start, timedelta(hours=3)) == datetime(
        2025, 3, 31, 10, tzinfo=berlin
    )
    assert cal.working_time_between(start, datetime(2025, 3, 31, 10, tzinfo=berlin)) == timedelta(
        hours=3
    )


working_moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(MSK)
)


@settings(max_examples=200, deadline=None)
@given(start=working_moments, minutes=st.integers(min_value=1, max_value=60 * 9 * 15))
def test_adding_working_time_and_measuring_it_agree(start: datetime, minutes: int) -> None:
    amount = timedelta(minutes=minutes)
    end = CAL.add_working_time(start, amount)
    assert end > start
    assert CAL.working_time_between(start, end) == amount


@settings(max_examples=200, deadline=None)
@given(start=working_moments, count=st.integers(min_value=1, max_value=30))
def test_working_days_land_on_working_days_in_order(start: datetime, count: int) -> None:
    end = CAL.add_working_days(start, count)
    local = end.astimezone(MSK)
    assert CAL.is_working_day(local.date())
    assert CAL.day_start <= local.time() <= time(18)
    assert CAL.add_working_days(start, count + 1) > end
    # Each working day is at most one full day of working time (9 hours).
    worked = CAL.working_time_between(start, end)
    assert timedelta(0) < worked <= timedelta(hours=9 * count)
