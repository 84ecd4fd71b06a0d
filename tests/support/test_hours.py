"""The promise's clock: business hours in the shop's time zone, days off, DST."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugins.support.hours import Schedule, ScheduleError

PARIS = ZoneInfo("Europe/Paris")


class _Tenant:
    timezone = "Europe/Paris"


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def _desk(**settings: str) -> Schedule:
    values = {"opens_at": "09:00", "closes_at": "18:00",
              "business_days": "mon,tue,wed,thu,fri", "holidays": ""}
    return Schedule.of(_Tenant(), {**values, **settings})


def test_a_question_asked_on_friday_evening_is_due_in_five_working_days_and_three_hours():
    # 48 business hours at 9 hours a day: the whole next week, then three hours more.
    asked = _paris(2026, 11, 27, 19, 30)  # Friday, after closing
    assert _desk().add(asked, 48) == _paris(2026, 12, 7, 12, 0)  # Monday noon, Paris


def test_hours_count_from_the_moment_asked_within_the_day():
    asked = _paris(2026, 11, 23, 16, 0)  # Monday 16:00: two hours left that day
    assert _desk().add(asked, 3) == _paris(2026, 11, 24, 10, 0)
    assert _desk().add(asked, 2) == _paris(2026, 11, 23, 18, 0)


def test_holidays_are_skipped():
    asked = _paris(2026, 12, 24, 17, 0)  # Thursday; Friday 25 is Christmas
    due = _desk(holidays="2026-12-25").add(asked, 2)
    assert due == _paris(2026, 12, 28, 10, 0)  # Monday


def test_a_desk_open_all_the_time_counts_calendar_hours():
    desk = _desk(opens_at="00:00", closes_at="24:00",
                 business_days="mon,tue,wed,thu,fri,sat,sun")
    asked = _paris(2026, 11, 27, 19, 30)
    assert desk.add(asked, 48) == asked + timedelta(hours=48)


def test_the_daylight_saving_change_follows_the_wall_clock():
    # Sunday 29 March 2026 has 23 hours in Paris; a 24/7 desk's "24 hours" end at the same
    # wall-clock time only if counted in real elapsed time across the change.
    desk = _desk(opens_at="00:00", closes_at="24:00",
                 business_days="mon,tue,wed,thu,fri,sat,sun")
    asked = _paris(2026, 3, 28, 12, 0)
    assert desk.add(asked, 24) == asked.astimezone(UTC) + timedelta(hours=24)
    assert desk.add(asked, 24).astimezone(PARIS).hour == 13
    # A 9-to-6 desk still opens at 9 local time after the change.
    assert _desk().add(_paris(2026, 3, 27, 17, 0), 2) == _paris(2026, 3, 30, 10, 0)


def test_time_left_counts_only_open_hours_and_goes_negative_once_late():
    desk = _desk()
    due = _paris(2026, 11, 30, 10, 0)  # Monday 10:00
    assert desk.remaining(_paris(2026, 11, 27, 17, 0), due) == timedelta(hours=2)
    assert desk.remaining(_paris(2026, 11, 30, 11, 0), due) == -timedelta(hours=1)


def test_unusable_settings_are_named():
    with pytest.raises(ScheduleError, match="closes_at"):
        _desk(opens_at="18:00", closes_at="09:00")
    with pytest.raises(ScheduleError, match="business_days"):
        _desk(business_days="")
    with pytest.raises(ScheduleError, match="holidays"):
        _desk(holidays="2026-13-01")


def test_a_desk_that_never_opens_says_so():
    desk = replace(_desk(), holidays=frozenset(
        date(2026, 1, 1) + timedelta(days=n) for n in range(3700)))
    with pytest.raises(ScheduleError, match="no open hours"):
        desk.add(_paris(2026, 1, 1, 9, 0), 1)
