import pytest

from tests.notify import helpers as h


@pytest.fixture
def push(app):
    saved = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY")}
    service = h.push_service(app)
    yield service
    service.stop()
    app.config.update(saved)


@pytest.fixture
def clock(app):
    """A controlled clock: clock.at(seconds) moves it to t0 + seconds."""
    from datetime import datetime, timezone

    from api.common.clock import set_clock

    class Clock:
        t0 = datetime(2026, 11, 30, 19, 0, 0, tzinfo=timezone.utc)  # 03:00 in Shanghai
        now = t0

        def at(self, seconds):
            from datetime import timedelta

            self.now = self.t0 + timedelta(seconds=seconds)
            return self.now

    c = Clock()
    set_clock(app, lambda: c.now)
    return c
