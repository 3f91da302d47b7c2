"""The per-key ingest limit counted in each process and settled with Redis in bulk
(api/ingest/ratelimit.py). Several KeyLimiter objects stand for several processes
sharing one Redis. (The limit through the routes: tests/security/test_rate_limits.py.)"""

import uuid

import pytest

from api.errors import AppError
from api.ingest import ratelimit
from api.ingest.ratelimit import KeyLimiter


@pytest.fixture
def limit(app):
    saved = app.config["INGEST_RATE_PER_KEY"]

    def set_limit(value):
        app.config["INGEST_RATE_PER_KEY"] = value

    with app.app_context():
        yield set_limit
    app.config["INGEST_RATE_PER_KEY"] = saved


def passed(limiter, key):
    try:
        limiter.hit(key)
        return True
    except AppError as exc:
        assert exc.status == 429 and int(exc.headers["Retry-After"]) >= 1
        return False


class Counting(KeyLimiter):
    """A KeyLimiter that counts its Redis round trips."""

    def __init__(self):
        super().__init__()
        self.round_trips = 0

    def _add(self, *args):
        self.round_trips += 1
        return super()._add(*args)


def test_a_small_limit_is_exact_across_processes(limit):
    limit("5 per minute")
    key, processes = f"k-{uuid.uuid4().hex}", [KeyLimiter() for _ in range(3)]
    got = [passed(processes[n % 3], key) for n in range(12)]
    assert got == [True] * 5 + [False] * 7


def test_far_from_the_limit_redis_is_asked_once_per_chunk(limit, monkeypatch):
    monkeypatch.setattr(ratelimit, "SYNC_SECONDS", 3600)  # only the count decides when to ask
    limit("160000 per hour")  # chunk = 160,000 x 10 % / 16 = 1,000
    limiter, key = Counting(), f"k-{uuid.uuid4().hex}"
    assert all(passed(limiter, key) for _ in range(2500))
    # the first request asks (a new window), then one round trip per 1,000 requests
    assert limiter.round_trips == 3


def test_near_the_limit_every_request_asks_and_at_most_the_slack_passes_over(limit, monkeypatch):
    monkeypatch.setattr(ratelimit, "SYNC_SECONDS", 3600)
    limit("1600 per hour")  # slack 160, chunk 10
    key, processes = f"k-{uuid.uuid4().hex}", [Counting() for _ in range(4)]
    got = [passed(processes[n % 4], key) for n in range(2400)]
    accepted = got.index(False)
    assert 1600 <= accepted <= 1600 + 4 * 10
    assert not any(got[accepted:])  # refused from the first refusal on, by every process
    assert sum(p.round_trips for p in processes) < 2400  # lazy far from the limit


def test_windows_start_again(limit):
    limit("2 per minute")
    key, limiter = f"k-{uuid.uuid4().hex}", KeyLimiter()
    clock = [1_000_020.0]
    limiter.clock = lambda: clock[0]
    assert [passed(limiter, key) for _ in range(3)] == [True, True, False]
    clock[0] += 60
    assert passed(limiter, key)


def test_redis_down_counts_in_the_process(limit, monkeypatch):
    limit("2 per minute")
    limiter, key = KeyLimiter(), f"k-{uuid.uuid4().hex}"

    class Dead:
        def pipeline(self, **kwargs):
            raise ConnectionError("no Redis")

    monkeypatch.setattr(ratelimit, "redis_client", lambda: Dead())
    assert [passed(limiter, key) for _ in range(3)] == [True, True, False]


def test_disabled_with_the_other_limits(app, limit):
    limit("1 per minute")
    app.config["RATELIMIT_ENABLED"] = False
    try:
        limiter, key = KeyLimiter(), f"k-{uuid.uuid4().hex}"
        assert all(passed(limiter, key) for _ in range(3))
    finally:
        app.config["RATELIMIT_ENABLED"] = True
