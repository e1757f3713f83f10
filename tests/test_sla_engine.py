"""The SLA engine against hand-worked cases, each its own test (times are worked out in the comments)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from core.business_hours import AROUND_THE_CLOCK, Calendar, parse_intervals
from core.errors import ValidationError
from core.sla_engine import Event, Targets, evaluate

# Monday 2026-03-02 ... ; 9:00-12:00 and 13:30-18:00 = 7.5 working hours a day
OFFICE = Calendar(timezone="UTC", intervals=((time(9), time(12)), (time(13, 30), time(18))))
H = 60
WEEKDAYS_ALL = (0, 1, 2, 3, 4, 5, 6)


def ev(*pairs: tuple[str, str]) -> list[Event]:
    return [Event(datetime.fromisoformat(at), action) for at, action in pairs]


def test_business_hours_across_a_weekend_and_a_holiday() -> None:
    calendar = Calendar(timezone="UTC", holidays=((date(2026, 3, 9), date(2026, 3, 9)),))  # 9-18, Monday the 9th off
    # Friday 17:00 + 4 working hours: 1 h on Friday, weekend and the Monday holiday skipped, 3 h on Tuesday
    assert calendar.add_working_minutes(datetime(2026, 3, 6, 17), 4 * H) == datetime(2026, 3, 10, 12)
    assert calendar.working_minutes(datetime(2026, 3, 6, 17), datetime(2026, 3, 10, 12)) == 4 * H


# 2026 in mainland China: National Day 1-7 October off, Sunday 20 September and Saturday 10 October worked
NATIONAL_DAY = Calendar(
    timezone="Asia/Shanghai",
    store_timezone="Asia/Shanghai",
    holidays=((date(2026, 9, 25), date(2026, 9, 27)), (date(2026, 10, 1), date(2026, 10, 7))),
    workdays=((date(2026, 9, 20), ()), (date(2026, 10, 10), ((time(9), time(12)),))),
)


def test_a_ticket_opened_on_a_make_up_sunday_runs_that_day() -> None:
    # Sunday 20 September is worked 09:00-18:00: opened 09:00, 4 working hours are due 13:00 the same day
    assert NATIONAL_DAY.add_working_minutes(datetime(2026, 9, 20, 9), 4 * H) == datetime(2026, 9, 20, 13)
    # Saturday 19th 10:00 to Monday 21st 10:00: Saturday off, Sunday's 9 h, Monday's first hour = 600 minutes
    assert NATIONAL_DAY.working_minutes(datetime(2026, 9, 19, 10), datetime(2026, 9, 21, 10)) == 600
    # an ordinary Sunday is still off: 27 September is inside the Mid-Autumn holiday, 13 September is a Sunday
    assert NATIONAL_DAY.working_minutes(datetime(2026, 9, 13, 9), datetime(2026, 9, 13, 18)) == 0


def test_a_make_up_saturday_with_its_own_hours_after_the_golden_week() -> None:
    # Wednesday 30 September 17:00 + 2 h: 1 h that day, 1-7 October off, Thursday 8th 09:00-10:00
    assert NATIONAL_DAY.add_working_minutes(datetime(2026, 9, 30, 17), 2 * H) == datetime(2026, 10, 8, 10)
    # Friday 9th 17:00 + 3 h: 1 h on Friday, Saturday 10th worked 09:00-12:00 only (2 h of it), -> 11:00
    assert NATIONAL_DAY.add_working_minutes(datetime(2026, 10, 9, 17), 3 * H) == datetime(2026, 10, 10, 11)
    # Saturday 10th 11:00 + 2 h: 1 h left that morning, Sunday 11th off, Monday 12th 09:00-10:00
    assert NATIONAL_DAY.add_working_minutes(datetime(2026, 10, 10, 11), 2 * H) == datetime(2026, 10, 12, 10)
    assert NATIONAL_DAY.working_minutes(datetime(2026, 10, 10, 0), datetime(2026, 10, 11, 0)) == 3 * H


def test_a_lunch_break_is_not_working_time() -> None:
    # 11:00 + 2 h: 1 h to 12:00, lunch until 13:30, 1 h more -> 14:30
    assert OFFICE.add_working_minutes(datetime(2026, 3, 2, 11), 2 * H) == datetime(2026, 3, 2, 14, 30)
    assert OFFICE.working_minutes(datetime(2026, 3, 2, 11, 30), datetime(2026, 3, 2, 14)) == 60  # 30 + 30


def test_time_zones() -> None:
    # stored in UTC, worked in Shanghai (UTC+8): 01:00 UTC is 09:00 there; 9 working hours end 18:00 = 10:00 UTC
    shanghai = Calendar(timezone="Asia/Shanghai", store_timezone="UTC")
    assert shanghai.add_working_minutes(datetime(2026, 3, 2, 1), 9 * H) == datetime(2026, 3, 2, 10)  # the whole day
    assert shanghai.add_working_minutes(datetime(2026, 3, 2, 1), 10 * H) == datetime(2026, 3, 3, 2)  # 1 h next day
    assert shanghai.add_working_minutes(datetime(2026, 3, 2, 1), 8 * H) == datetime(2026, 3, 2, 9)
    assert shanghai.working_minutes(datetime(2026, 3, 2, 0), datetime(2026, 3, 2, 2)) == 60  # 08:00-10:00 there


def test_pause_and_resume() -> None:
    # resolution 8 working hours, around the clock: 2 h running, 10 h waiting on the customer, 1 h running
    events = ev(
        ("2026-03-02T08:00", "created"),
        ("2026-03-02T08:30", "accept"),
        ("2026-03-02T10:00", "wait"),
        ("2026-03-02T20:00", "customer_reply"),
    )
    sla = evaluate(events, Targets({"resolution": 8 * H}), AROUND_THE_CLOCK, datetime(2026, 3, 2, 21))
    resolution = sla.metrics["resolution"]
    assert resolution.elapsed_minutes == 3 * H and resolution.state == "running"
    assert resolution.due_at == datetime(2026, 3, 3, 2)  # 5 h left from 21:00
    paused = evaluate(events[:3], Targets({"resolution": 8 * H}), AROUND_THE_CLOCK, datetime(2026, 3, 2, 21))
    assert (
        paused.metrics["resolution"].state == "paused" and paused.paused and paused.metrics["resolution"].due_at is None
    )


def test_exactly_at_the_deadline_is_met_a_minute_later_is_breached() -> None:
    targets = Targets({"first_response": 2 * H})
    on_time = ev(("2026-03-02T09:00", "created"), ("2026-03-02T11:00", "accept"))
    late = ev(("2026-03-02T09:00", "created"), ("2026-03-02T11:01", "accept"))
    assert evaluate(on_time, targets, AROUND_THE_CLOCK, datetime(2026, 3, 3)).metrics["first_response"].state == "met"
    result = evaluate(late, targets, AROUND_THE_CLOCK, datetime(2026, 3, 3)).metrics["first_response"]
    assert result.state == "breached" and result.breached_at == datetime(2026, 3, 2, 11)
    running = evaluate(on_time[:1], targets, AROUND_THE_CLOCK, datetime(2026, 3, 2, 11)).metrics["first_response"]
    assert running.state == "at_risk" and running.left_minutes == 0  # at the deadline, not past it


def test_breach_while_paused() -> None:
    # 4 h target; paused after 3 h; the wall-clock due time passes while paused: not breached
    targets = Targets({"resolution": 4 * H})
    events = ev(("2026-03-02T08:00", "created"), ("2026-03-02T11:00", "wait"))
    assert evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 4)).metrics["resolution"].state == "paused"
    # already past the target when it was paused: breached, and it stays breached while paused
    late = ev(("2026-03-02T08:00", "created"), ("2026-03-02T13:00", "wait"))
    result = evaluate(late, targets, AROUND_THE_CLOCK, datetime(2026, 3, 4)).metrics["resolution"]
    assert result.state == "breached" and result.breached_at == datetime(2026, 3, 2, 12)


def test_reopen_after_close_keeps_the_history_and_counts() -> None:
    # resolved after 3 h (met, target 4 h), closed, re-opened next day: the clock goes on from 3 h
    events = ev(
        ("2026-03-02T08:00", "created"),
        ("2026-03-02T08:10", "accept"),
        ("2026-03-02T11:00", "resolve"),
        ("2026-03-02T12:00", "close"),
        ("2026-03-03T08:00", "reopen"),
    )
    targets = Targets({"resolution": 4 * H})
    result = evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 3, 8, 30))
    assert result.reopened == 1 and result.metrics["resolution"].elapsed_minutes == 3.5 * H
    assert result.metrics["resolution"].state == "at_risk"  # 3.5 of 4 h used (>= 80%)
    later = evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 3, 9, 30)).metrics["resolution"]
    assert later.state == "breached" and later.breached_at == datetime(2026, 3, 3, 9)


def test_next_response_restarts_on_each_customer_message() -> None:
    targets = Targets({"next_response": 1 * H})
    events = ev(
        ("2026-03-02T08:00", "created"),
        ("2026-03-02T08:05", "accept"),
        ("2026-03-02T09:00", "customer_message"),
        ("2026-03-02T09:40", "agent_reply"),  # 40 min: met
        ("2026-03-02T10:00", "customer_message"),
    )
    result = evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 2, 10, 30)).metrics["next_response"]
    assert result.state == "running" and result.elapsed_minutes == 30 and result.due_at == datetime(2026, 3, 2, 11)
    late = evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 2, 11, 5)).metrics["next_response"]
    assert late.state == "breached"


def test_business_hours_clock_over_a_night() -> None:
    # first response 2 working hours; created 17:00 Monday: 1 h Monday, 1 h Tuesday from 09:00 -> due 10:00
    events = ev(
        ("2026-03-02T17:00", "created"),
    )
    result = evaluate(events, Targets({"first_response": 2 * H}), OFFICE, datetime(2026, 3, 2, 20))
    assert result.metrics["first_response"].due_at == datetime(2026, 3, 3, 10)
    assert (
        result.metrics["first_response"].elapsed_minutes == 60 and result.metrics["first_response"].state == "running"
    )


def test_warning_by_offset() -> None:
    events = ev(
        ("2026-03-02T08:00", "created"),
    )
    targets = Targets({"first_response": 4 * H}, warn_offset_minutes=30)
    assert (
        evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 2, 11, 20)).metrics["first_response"].state
        == "running"
    )
    assert (
        evaluate(events, targets, AROUND_THE_CLOCK, datetime(2026, 3, 2, 11, 30)).metrics["first_response"].state
        == "at_risk"
    )


@pytest.mark.parametrize(
    "calendar, message",
    [
        (dict(working_days=()), "working day"),
        (dict(intervals=()), "interval"),
        (dict(intervals=((time(12), time(9)),)), "ends before"),
        (dict(intervals=((time(9), time(13)), (time(12), time(18)))), "overlap"),
        (dict(holidays=((date(2026, 10, 1), date(2026, 10, 7)), (date(2026, 10, 5), date(2026, 10, 8)))), "overlap"),
        (dict(timezone="Mars/Olympus"), "time zone"),
        (dict(holidays=((date(2026, 10, 1), date(2026, 10, 7)),), workdays=((date(2026, 10, 3), ()),)), "both"),
        (dict(workdays=((date(2026, 9, 20), ()), (date(2026, 9, 20), ()))), "twice"),
        (dict(workdays=((date(2026, 9, 20), ((time(12), time(9)),)),)), "ends before"),
    ],
)
def test_bad_calendars_are_refused(calendar: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Calendar(**calendar)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        parse_intervals("9 to 5")
    assert parse_intervals("09:00-12:00，13:30-18:00") == ((time(9), time(12)), (time(13, 30), time(18)))


def test_an_official_schedule_reads_as_ranges_and_make_up_days() -> None:
    from core.business_hours import parse_schedule
    from core.service import SHIPPED_SCHEDULE

    holidays, workdays = parse_schedule(SHIPPED_SCHEDULE.read_text(encoding="utf-8"))
    in_2026 = [h for h in holidays if h[0].year == 2026]
    assert (date(2026, 2, 15), date(2026, 2, 23), "春节") in in_2026 and len(in_2026) == 7  # 中秋 and 国庆 apart
    assert [d for d, _ in workdays if d.year == 2026] == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert all(d.weekday() >= 5 for d, _ in workdays)  # every make-up day falls on a weekend
    assert parse_schedule("日期,类型,名称\n2027-01-01,休,元旦\n2027-01-02,休,元旦\n2027-01-10,班\n") == (
        [(date(2027, 1, 1), date(2027, 1, 2), "元旦")],
        [(date(2027, 1, 10), None)],
    )
    with pytest.raises(ValidationError, match="Line 2"):
        parse_schedule("date,kind\n2027-13-01,holiday\n")


def test_a_store_on_shanghai_time_counts_shanghai_office_hours() -> None:
    # the server's clock runs on Shanghai time: opened 09:00, accepted 11:00 is two working hours, not the one
    # (17:00-18:00) it would be if the stored times were read as UTC
    office = Calendar(timezone="Asia/Shanghai", store_timezone="Asia/Shanghai")
    assert office.working_minutes(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 11)) == 120
    as_utc = Calendar(timezone="Asia/Shanghai", store_timezone="UTC")
    assert as_utc.working_minutes(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 11)) == 60  # the old reading


def test_daylight_saving_in_new_york_counts_the_hours_that_passed() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT (a 23-hour day); 2026-11-01 02:00 EDT -> 01:00 EST (25 hours)
    clock = Calendar(always=True, store_timezone="America/New_York")
    assert clock.working_minutes(datetime(2026, 3, 7, 12), datetime(2026, 3, 8, 12)) == 23 * H
    assert clock.working_minutes(datetime(2026, 10, 31, 12), datetime(2026, 11, 1, 12)) == 25 * H
    assert clock.add_working_minutes(datetime(2026, 3, 7, 12), 24 * H) == datetime(2026, 3, 8, 13)
    # a 7-day 00:00-24:00 calendar: the spring day has 1,380 working minutes, the autumn day 1,500
    every_hour = Calendar(
        timezone="America/New_York",
        store_timezone="America/New_York",
        working_days=WEEKDAYS_ALL,
        intervals=((time(0), time(0)),),
    )
    assert every_hour.working_minutes(datetime(2026, 3, 8), datetime(2026, 3, 9)) == 1380
    assert every_hour.working_minutes(datetime(2026, 11, 1), datetime(2026, 11, 2)) == 1500
    assert every_hour.add_working_minutes(datetime(2026, 3, 8), 1380) == datetime(2026, 3, 9)
    # office hours across the spring weekend, stored in UTC: Friday 17:00 EST is 22:00 UTC; 1 h on Friday,
    # then Monday 09:00 EDT (13:00 UTC) + 1 h = 14:00 UTC
    office = Calendar(timezone="America/New_York", store_timezone="UTC")
    assert office.add_working_minutes(datetime(2026, 3, 6, 22), 2 * H) == datetime(2026, 3, 9, 14)


def test_what_the_engine_could_not_answer_is_refused_when_entered() -> None:
    with pytest.raises(ValidationError, match="longer than a year"):
        Calendar(holidays=((date(2026, 1, 1), date(2029, 12, 31)),))
