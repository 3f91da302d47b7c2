"""The backlog job: routine messages the request handed on, applied in lots.

A device request that is busy (or carries a large batch) stores its messages,
answers, and leaves the routine ones (heartbeats, normal readings) to this job on
the `ingest` queue. A worker that also takes the urgent queues (one worker alone)
is not held: with an urgent job waiting the job ends after its lot and queues its
successor, which the worker takes after the urgent ones. One job per burst, not per
message: `kick()` queues it only when no job is waiting or running (a Redis SET NX
mark, which the running job keeps set); the job stays on while messages keep
coming, and at its end clears the mark and looks once more, so a message whose kick
found the mark set is not left behind.
Whatever a lost job (a flushed Redis, a killed worker) leaves unprocessed, the
scheduler's sweep (`process_stale_events`) processes; nothing is lost either way:
the messages are stored before they are answered.
"""

import logging
import threading
import time
from datetime import timedelta

from api.extensions import redis_client, rkey
from workers.queues import job

log = logging.getLogger("ingest")
BUDGET_SECONDS = 30.0
IDLE_SECONDS = 2.0
GATHER_SECONDS = 0.25
LOT = 500


class _Kicker:
    """At most one SET NX every THROTTLE seconds from this process: under load a
    kick owed is paid by a thread THROTTLE seconds after the last, so the last
    message of a burst still gets its job (and the sweep is behind that)."""

    THROTTLE = 0.2

    def __init__(self):
        self.lock = threading.Lock()
        self.last, self.owed, self.thread = -1e9, False, None

    def __call__(self):
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.THROTTLE:
                self.owed = True
                if self.thread is None:
                    from flask import current_app

                    self.thread = threading.Thread(target=self._later, args=(current_app._get_current_object(),),
                                                   name="ingest-backlog-kick", daemon=True)
                    self.thread.start()
                return True
            self.last = now
        return _kick_now()

    def _later(self, app):
        try:
            while True:
                time.sleep(self.THROTTLE)
                with self.lock:
                    if not self.owed:
                        return
                    self.owed, self.last = False, time.monotonic()
                with app.app_context():
                    _kick_now()
        finally:
            with self.lock:
                self.thread = None


def _kick_now():
    try:
        if redis_client().set(rkey("ingest", "backlog-queued"), "1", nx=True, ex=5):
            process_backlog.enqueue()
        return True
    except Exception:
        log.warning("could not queue the backlog job; processing here instead", exc_info=True)
        return False


kick = _Kicker()
kick.__doc__ = "Make sure a backlog job is queued. False when it cannot be (Redis down)."


@job("ingest", timeout=120)
def process_backlog():
    """Process every stored, unprocessed message, oldest first, in lots of LOT; stay on
    while more keep coming (IDLE_SECONDS without any ends it), for up to BUDGET_SECONDS,
    then hand over to a new job. While it runs, the mark stays set, so the requests'
    kicks queue nothing: one job a burst, not one per kick (each job costs a forked work
    horse). At the end it clears the mark and looks once more, so that a message whose
    kick found the mark still set is not left to the sweep."""
    from api.ingest.processing import process_pending

    r, mark = redis_client(), rkey("ingest", "backlog-queued")
    started, idle_since, total = time.monotonic(), None, 0
    while time.monotonic() - started < BUDGET_SECONDS:
        r.set(mark, "1", ex=30)  # a job killed here lets the mark lapse; the sweep covers meanwhile
        done = process_pending(limit=LOT, older_than=timedelta(0))
        total += done
        if _urgent_waiting():
            break
        if done >= LOT:
            idle_since = None
            continue  # a full lot: more are waiting
        if done:
            idle_since = None
        else:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > IDLE_SECONDS:
                break
        # A lot costs about ten statements whatever its size: let a trickle gather a
        # while (a heartbeat waits at most GATHER_SECONDS more) rather than pay them per message.
        time.sleep(GATHER_SECONDS)
    r.delete(mark)
    if _pending():
        kick()
    return total


def _urgent_waiting():
    """A job waiting on an urgent queue (an alarm's pushes, a 119 forward) that the
    worker running this job would take (with a worker of its own for them, never)."""
    from workers.queues import get_queue
    from workers.worker import URGENT, serves_urgent

    if not serves_urgent():
        return False
    try:
        return any(get_queue(q).count for q in URGENT)
    except Exception:  # no Redis: nothing is waiting there either
        return False


def _pending():
    from sqlalchemy import select

    from api.extensions import db
    from api.ingest.models import DeviceEvent

    ev = DeviceEvent.__table__.c
    found = db.session.execute(select(ev.id).where(ev.processed_at.is_(None), ev.claimed_at.is_(None)).limit(1)).first()
    db.session.rollback()
    return found is not None
