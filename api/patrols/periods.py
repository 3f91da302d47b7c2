"""A plan's periods. Each has a window that opens, a `due` time by which every
checkpoint should be scanned (overdue after it), and an `end` after which the
period is over (missed if still incomplete). Daily and weekly periods are local
days (DEFAULT_TIMEZONE) whose window is start–end; a custom period is every N
hours, due when it ends."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

CUSTOM_ANCHOR = date(2026, 1, 1)  # custom periods count from local midnight of this day


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC
    opens: datetime
    due: datetime
    end: datetime
    label: str  # local: "2026-12-01", or "2026-12-01T08:00" for custom periods

    def contains(self, at):
        return self.start <= at < self.end


def local_zone():
    name = current_app.config.get("DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Shanghai")


def _hm(text):
    h, m = text.split(":")
    return time(int(h), int(m))


def _day_period(day, freq, tz):
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    opens = datetime.combine(day, _hm(freq.get("start") or "00:00"), tz)
    due = datetime.combine(day, _hm(freq["end"]), tz) if freq.get("end") else end
    return Period(*(t.astimezone(timezone.utc) for t in (start, opens, due, end)), day.isoformat())


def _runs_on(day, freq):
    return freq["kind"] == "daily" or day.isoweekday() in freq.get("weekdays", ())


def _custom_period(k, freq, tz):
    every = timedelta(hours=int(freq["every_hours"]))
    anchor = datetime.combine(CUSTOM_ANCHOR, _hm(freq.get("start") or "00:00"), tz)
    start = anchor + k * every
    end = start + every
    label = start.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    return Period(start.astimezone(timezone.utc), start.astimezone(timezone.utc), end.astimezone(timezone.utc),
                  end.astimezone(timezone.utc), label)


def _custom_index(at, freq, tz):
    every = timedelta(hours=int(freq["every_hours"]))
    anchor = datetime.combine(CUSTOM_ANCHOR, _hm(freq.get("start") or "00:00"), tz)
    return (at - anchor) // every


def period_of(freq, at):
    """The period `at` falls in, or None (a weekly plan's off day)."""
    tz = local_zone()
    if freq["kind"] == "custom":
        return _custom_period(_custom_index(at, freq, tz), freq, tz)
    day = at.astimezone(tz).date()
    return _day_period(day, freq, tz) if _runs_on(day, freq) else None


def periods_between(freq, t0, t1):
    """Periods that overlap [t0, t1), oldest first."""
    tz = local_zone()
    out = []
    if freq["kind"] == "custom":
        k = _custom_index(t0, freq, tz)
        while True:
            p = _custom_period(k, freq, tz)
            if p.start >= t1:
                break
            if p.end > t0:
                out.append(p)
            k += 1
        return out
    day = t0.astimezone(tz).date()
    last = t1.astimezone(tz).date()
    while day <= last:
        if _runs_on(day, freq):
            p = _day_period(day, freq, tz)
            if p.start < t1 and p.end > t0:
                out.append(p)
        day += timedelta(days=1)
    return out
