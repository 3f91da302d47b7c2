"""The clock. Stored times are UTC; tests move time with `set_clock`."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow():
    if has_app_context():
        clock = current_app.extensions.get("fa_clock")
        if clock is not None:
            return clock()
    return datetime.now(timezone.utc)


def set_clock(app, func):
    """Install `func` (returning an aware UTC datetime) as the app's clock; None resets."""
    if func is None:
        app.extensions.pop("fa_clock", None)
    else:
        app.extensions["fa_clock"] = func


def to_local(dt, tz=SHANGHAI):
    return dt.astimezone(tz) if dt is not None else None
