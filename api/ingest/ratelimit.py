"""The per-integration-key rate limit of device messages (INGEST_RATE_PER_KEY), counted
in each process and settled with Redis in bulk.

flask-limiter asked Redis three times per device request (the hit, then the window and
its expiry for the X-RateLimit headers). Here each process counts a key's requests
itself and adds them to the shared count in Redis (one INCRBY) when it has counted
`chunk` of them or SYNC_SECONDS have passed since it last asked, whichever is first:
far from the limit, one Redis round trip per many requests. In the last SLACK of a
limit, and always for a small limit (the tests' "3 per minute": `chunk` is 0), every
request asks Redis, as before.

How exact: a process holds at most `chunk` = limit x SLACK / MAX_PROCESSES requests that
Redis does not know of yet, so with up to MAX_PROCESSES processes on one Redis the
count can pass the limit by at most limit x SLACK (10 %), and only when a burst larger
than that arrives within SYNC_SECONDS. Requests over the limit are counted too (as
flask-limiter's fixed window does), so at least the limit passes in each window.

Fixed windows, as flask-limiter's default strategy. While Redis does not answer each
process counts alone (as flask-limiter's in-memory fallback did) and asks Redis again
after RETRY_SECONDS. A refusal is a 429 in the API's error shape with Retry-After
(seconds to the window's end). RATELIMIT_ENABLED=false turns it off with the others.
"""

import logging
import threading
import time

from flask import current_app

from api.errors import AppError
from api.extensions import redis_client, rkey

log = logging.getLogger("ingest")

SYNC_SECONDS = 0.1
SLACK = 0.1  # the last tenth of a limit is counted request by request
MAX_PROCESSES = 16  # web processes on one Redis the bound above holds for
RETRY_SECONDS = 2.0


class _Window:
    __slots__ = ("known", "unsent", "synced")

    def __init__(self):
        self.known = 0  # the shared count as Redis last told us (our sent hits included)
        self.unsent = 0  # our hits not yet added in Redis
        self.synced = -1e9  # a new window asks Redis at its first request


class KeyLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.windows = {}  # (key, amount, seconds, window index) -> _Window
        self.parsed = {}  # limit text -> [(amount, seconds)]
        self.redis_dead_until = 0.0
        self.clock = time.time  # the windows' clock (tests move it)

    def _limits(self, text):
        got = self.parsed.get(text)
        if got is None:
            from limits import parse_many

            got = [(item.amount, item.get_expiry()) for item in parse_many(text)]
            self.parsed[text] = got
        return got

    def hit(self, key):
        """Count one request of `key`; raise the 429 AppError when a limit is passed."""
        config = current_app.config
        if not config.get("RATELIMIT_ENABLED", True):
            return
        text = config["INGEST_RATE_PER_KEY"]
        now = self.clock()
        for amount, seconds in self._limits(text):
            index = int(now // seconds)
            if self._over(key, amount, seconds, index):
                retry = max(1, int((index + 1) * seconds - now + 0.999))
                log.info("ingest rate limit %s per %s s exceeded for %s", amount, seconds, key)
                raise AppError("rate_limited", status=429, headers={"Retry-After": str(retry)})

    def _over(self, key, amount, seconds, index):
        wkey = (key, amount, seconds, index)
        slack = int(amount * SLACK)
        chunk = slack // MAX_PROCESSES
        with self.lock:
            w = self.windows.get(wkey)
            if w is None:
                if len(self.windows) > 10_000:
                    self._forget_old()
                w = self.windows[wkey] = _Window()
            w.unsent += 1
            count = w.known + w.unsent
            lazy = (count + chunk <= amount - slack and w.unsent <= chunk
                    and time.monotonic() - w.synced < SYNC_SECONDS)
            if lazy or time.monotonic() < self.redis_dead_until:
                return count > amount
            send, w.unsent = w.unsent, 0
        total = self._add(key, amount, seconds, index, send)
        with self.lock:
            if total is None:  # Redis does not answer: count here meanwhile
                w.unsent += send
                return w.known + w.unsent > amount
            w.known, w.synced = max(w.known, total), time.monotonic()
            return total + w.unsent > amount

    def _add(self, key, amount, seconds, index, n):
        """Add n hits to the shared count; the new count, or None when Redis does not answer."""
        name = rkey("ingest", "rate", key, amount, seconds, index)
        try:
            pipe = redis_client().pipeline(transaction=False)
            pipe.incrby(name, n)
            pipe.expire(name, int(seconds) + 1)
            total, _ = pipe.execute()
            return int(total)
        except Exception:
            self.redis_dead_until = time.monotonic() + RETRY_SECONDS
            log.warning("ingest rate limit: Redis does not answer; counting in this process for %.0f s",
                        RETRY_SECONDS)
            return None

    def _forget_old(self):
        now = self.clock()
        for wkey in [k for k in self.windows if (k[3] + 1) * k[2] < now]:
            del self.windows[wkey]


limiter = KeyLimiter()
