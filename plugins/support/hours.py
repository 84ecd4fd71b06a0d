"""The 48-hour promise's clock, counted in the help desk's business hours.

A question asked on Friday evening in Paris is not late on Sunday evening: the promise counts
the hours the desk is open (``opens_at`` to ``closes_at`` on ``business_days``, minus
``holidays``), in the shop's time zone. Each day's window is built in local time, so a
daylight-saving change shortens or lengthens that day's window as the wall clock does, and
instants are compared in UTC.

A desk open ``00:00``–``24:00`` every day counts plain calendar hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from comptoir.toolkit import TenantInfo, plugin_settings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far the clock looks for open hours before giving up (a desk with every day a holiday).
MAX_DAYS = 3660


class ScheduleError(ValueError):
    """Business hours that cannot be used; the message names the setting."""


def _minutes(value: str, setting: str) -> int:
    try:
        hours, minutes = (int(part) for part in value.split(":"))
    except (AttributeError, ValueError):
        raise ScheduleError(f"{setting}: {value!r} is not a time (HH:MM)") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise ScheduleError(f"{setting}: {value!r} is not a time (HH:MM)")
    return hours * 60 + minutes


@dataclass(frozen=True)
class Schedule:
    """When the help desk works: a time zone, a daily window, working days and days off."""

    zone: ZoneInfo
    opens: int  # minutes after midnight
    closes: int  # minutes after midnight, up to 1440
    days: frozenset[int]  # 0 = Monday
    holidays: frozenset[date]

    @classmethod
    def of(cls, tenant: TenantInfo, settings: dict[str, Any] | None = None) -> Schedule:
        """The schedule of ``tenant``'s help desk, from its support settings.

        :raises ScheduleError: the desk closes before it opens, or works no day.
        """
        values = settings if settings is not None else plugin_settings("support", tenant)
        opens = _minutes(values.get("opens_at", "09:00"), "opens_at")
        closes = _minutes(values.get("closes_at", "18:00"), "closes_at")
        if closes <= opens:
            raise ScheduleError(f"closes_at ({values.get('closes_at')}) must be after "
                                f"opens_at ({values.get('opens_at')})")
        names = [d for d in str(values.get("business_days", "")).split(",") if d]
        if not names or any(d not in DAYS for d in names):
            raise ScheduleError("business_days: name at least one day (mon,tue,...)")
        holidays = set()
        for text in str(values.get("holidays", "")).split(","):
            if text.strip():
                try:
                    holidays.add(date.fromisoformat(text.strip()))
                except ValueError:
                    raise ScheduleError(f"holidays: {text!r} is not a date "
                                        "(YYYY-MM-DD)") from None
        try:
            zone = ZoneInfo(tenant.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return cls(zone, opens, closes, frozenset(DAYS.index(d) for d in names),
                   frozenset(holidays))

    @classmethod
    def always(cls) -> Schedule:
        """Every hour of every day, in UTC: the fallback when the settings are unusable."""
        return cls(ZoneInfo("UTC"), 0, 24 * 60, frozenset(range(7)), frozenset())

    def _windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open windows from the day of ``start`` on, as aware UTC pairs."""
        day = start.astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            current = day + timedelta(days=offset)
            if current.weekday() not in self.days or current in self.holidays:
                continue
            yield (self._at(current, self.opens), self._at(current, self.closes))

    def _at(self, day: date, minutes: int) -> datetime:
        if minutes >= 24 * 60:
            return datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(UTC)
        return datetime.combine(day, time(minutes // 60, minutes % 60),
                                self.zone).astimezone(UTC)

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` business hours after ``start`` (an aware datetime), in UTC."""
        left = timedelta(hours=hours)
        start = _aware(start)
        for opens, closes in self._windows(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise ScheduleError("the help desk has no open hours in the next ten years")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end``; negative when ``end`` is earlier."""
        start, end = _aware(start), _aware(end)
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            begin, finish = max(opens, start), min(closes, end)
            if finish > begin:
                total += finish - begin
        return total

    def remaining(self, now: datetime, due: datetime) -> timedelta:
        """Business time left until ``due``; negative once it has passed."""
        return self.between(now, due)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
