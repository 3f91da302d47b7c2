"""Real processes for the fault tests: RQ workers and the scheduler as production runs
them (`rq` Worker forking a work horse per job; workers.scheduler.run_forever), on this
test run's database, Redis and prefixes (the TEST_* variables tests/conftest.py set)."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from api.extensions import db, redis_client
from tests import backends
from tests import factories as f
from tests.fakes.push_service import FakePushService
from tests.notify import helpers as h

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import os, sys
sys.path.insert(0, os.getcwd())
from api import create_app
import workers.queues as queues
app = create_app("testing")
queues._app = app
with app.app_context():
    from rq import Worker
    from api.extensions import redis_client
    Worker([queues.get_queue(q) for q in queues.QUEUES], connection=redis_client(),
           name=os.environ["FA_WORKER_NAME"]).work(burst=False, with_scheduler=False)
"""

SCHEDULER = """
import os, sys
sys.path.insert(0, os.getcwd())
from api import create_app
import workers.queues as queues
app = create_app("testing")
queues._app = app
with app.app_context():
    from workers.scheduler import run_forever
    run_forever(interval=0.2)
"""


class Procs:
    """Worker and scheduler processes of one test, each in its own process group;
    everything still running at the end is killed, and dead workers' registrations
    (under this run's prefix) removed."""

    def __init__(self, app):
        self.app, self.running, self.names = app, [], []

    def env(self, **extra):
        cfg = self.app.config
        env = {**os.environ, "TEST_REDIS_URL": cfg["REDIS_URL"], "PYTHONUNBUFFERED": "1"}
        for key in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"):
            if cfg.get(key):
                env[key] = cfg[key]
        env.update(extra)
        return env

    def _start(self, code, **extra):
        quiet = os.environ.get("FA_QUIET_WORKER", "1") == "1"
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=self.env(**extra), start_new_session=True,
                                stdout=subprocess.DEVNULL if quiet else None,
                                stderr=subprocess.DEVNULL if quiet else None)
        self.running.append(proc)
        return proc

    def worker(self):
        name = f"{self.app.config['RQ_QUEUE_PREFIX']}fault-{uuid.uuid4().hex[:6]}"
        self.names.append(name)
        return self._start(WORKER, FA_WORKER_NAME=name)

    def scheduler(self):
        return self._start(SCHEDULER)

    @staticmethod
    def kill(proc):
        """kill -9 the process and its group, and any RQ work horse (its own group)."""
        horses = children(proc.pid)
        for pid in [proc.pid, *horses]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait(10)
        return horses

    def stop_all(self):
        for proc in self.running:
            if proc.poll() is None:
                self.kill(proc)
        with self.app.app_context():
            r = redis_client()
            for name in self.names:
                r.srem("rq:workers", f"rq:worker:{name}")
                r.delete(f"rq:worker:{name}")


def children(pid):
    """Processes whose parent is `pid` (RQ's work horse)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def wait_for(check, what, timeout=60, procs=()):
    """Poll `check` until it is true; fail (not by timing: by never happening) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        for proc in procs:
            assert proc.poll() is None, f"a process exited ({proc.returncode}) while waiting for {what}"
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@pytest.fixture
def procs(app):
    p = Procs(app)
    yield p
    p.stop_all()


@pytest.fixture
def private_redis(app):
    """A redis-server of this test's own, so that it may be flushed whole (FLUSHALL)
    without touching other test runs sharing the machine's Redis."""
    import shutil

    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server to run a private Redis that may be flushed")
    url, stop = backends.start_private_redis()
    saved = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = url
    app.extensions.pop("fa_redis", None)
    yield url
    app.extensions.pop("fa_redis", None)
    app.config["REDIS_URL"] = saved
    stop()


class SlowPush(FakePushService):
    """One push at a time, `delay` seconds each: a fan-out stays in progress long
    enough for something to happen in its middle. `busy`: the pushes it holds (waiting
    their turn or being answered)."""

    delay = 0.05

    def __init__(self, key):
        self.turn, self.busy = threading.Lock(), 0
        super().__init__(key)
        # socketserver listens with a backlog of 5; twenty senders at once would get resets
        self.server.socket.listen(128)

    def _handler(self):
        base, service = super()._handler(), self

        class Handler(base):
            def do_POST(self):
                with service.lock:
                    service.busy += 1
                try:
                    with service.turn:
                        time.sleep(service.delay)
                        super().do_POST()
                finally:
                    with service.lock:
                        service.busy -= 1

        return Handler


def serve_slow_push(app, delay=SlowPush.delay):
    """The slow_push fixtures' body (here, and a slower one in tests/notify/test_faults.py):
    a SlowPush for the app's VAPID keys; stopped, and the app's VAPID settings put back, after."""
    saved = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")}
    service = SlowPush(h.vapid(app))
    service.delay = delay
    service.start()
    yield service
    service.stop()
    app.config.update(saved)


@pytest.fixture
def slow_push(app):
    yield from serve_slow_push(app)


# Steps seconds apart instead of minutes: the real worker and scheduler run on real time.
# Receipts and on-scene checks far away, so that only the steps themselves send.
FAST_STEPS = [
    {"delay_s": 0, "notify": [{"tier": "residents", "channels": ["push"]},
                              {"tier": "property", "channels": ["push"]}]},
    {"delay_s": 3, "notify": [{"tier": "residents", "channels": ["sms"]},
                              {"tier": "property", "channels": ["sms"]}]},
    {"delay_s": 6, "notify": [{"tier": "residents", "channels": ["voice"]},
                              {"tier": "grid", "channels": ["sms"]}]},
]


def fast_policy(app, w):
    from api.notify.models import EscalationPolicy

    with app.app_context():
        db.session.add(EscalationPolicy(place_id=w["tree"]["community"], name="fault tests", steps=FAST_STEPS,
                                        receipt_timeout_s=3600, on_scene_timeout_s=3600))
        db.session.commit()


def crowd(app, push, w, n):
    """n more residents of the alarming household, each with a push subscription."""
    from api.notify.models import PushSubscription
    from api.places.models import Place

    endpoints = []
    with app.app_context():
        household = db.session.get(Place, w["tree"]["household"])
        for _ in range(n):
            user = f.user("resident", place=household)
            sub = push.subscribe()
            db.session.add(PushSubscription(user_id=user.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                                            auth=sub["keys"]["auth"]))
            endpoints.append(sub["endpoint"])
        db.session.commit()
    return endpoints


def escalation_state(app):
    """What the escalation did: per step its rows' states, per (channel, address) the
    states of its deliveries, and the timeline's "N messages queued" notes per step."""
    from api.incidents.models import TimelineEntry
    from api.notify.models import EscalationStep, Notification

    with app.app_context():
        steps = {}
        for s in EscalationStep.query.order_by(EscalationStep.step_no, EscalationStep.id):
            steps.setdefault(s.step_no, []).append(s.state)
        told = {}
        for n in Notification.query.filter_by(kind="alarm"):
            told[(n.step_no, n.channel, n.address)] = sorted(d.state for d in n.deliveries)
        notes = [e.data.get("step") for e in TimelineEntry.query.filter_by(kind="notification")
                 if e.data and e.data.get("kind") == "alarm"]
        db.session.remove()
    return steps, told, notes
