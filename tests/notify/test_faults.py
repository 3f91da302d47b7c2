"""A flushed Redis or a killed worker loses nothing and sends nothing twice.

Deliveries are rows before they are jobs, and a job claims its rows before it
sends: so a queue emptied under the worker's feet loses nothing (the auditor
queues the rows again) and a job run twice sends once. A worker killed in the
middle of a fan-out is the one place where "once" becomes "at least once"; see
test_a_worker_killed_mid_fanout_loses_nobody for exactly how much.

Only this run's queues and keys are touched (other runs share the Redis server).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from api.extensions import redis_client
from tests.fakes.push_service import FakePushService
from tests.faults.conftest import children, crowd, serve_slow_push
from tests.notify import helpers as h
from workers.channels.sms import LogSms
from workers.queues import get_queue

ROOT = Path(__file__).resolve().parents[2]


def roomy(service):
    """socketserver listens with a backlog of 5: twenty senders connecting at once get
    connection resets a real push service would not give. Linux lets a listening socket
    be given a larger backlog."""
    service.server.socket.listen(128)
    return service


def pushes_per_endpoint(push):
    return Counter(f"{push.origin}/push/{r['sub']}" for r in push.received)


def push_rows(app):
    """Per push notification: the states of its deliveries."""
    with app.app_context():
        from api.notify.models import Notification

        return {n.address: [d.state for d in n.deliveries]
                for n in Notification.query.filter_by(channel="push", kind="alarm")}


def audit(app):
    with app.app_context():
        from workers.delivery import audit as run

        return run()


def test_a_flushed_queue_loses_nothing_and_sends_nothing_twice(app, client, push, clock):
    roomy(push)
    w = h.world(app, push)
    endpoints = list(w["subs"].values()) + crowd(app, push, w, 19)  # 21 people on push at step 0
    clock.at(0)
    h.alarm(client, w)  # the step ran: 21 Delivery rows pending, one job queued
    with app.app_context():
        queue = get_queue("notify")
        assert queue.count >= 1
        queue.empty()  # what a flushed (or restarted, keep-nothing) Redis does to this run's queue
        assert queue.count == 0
    h.run_worker(app, "notify")
    assert push.received == []  # the job is gone; the rows are not
    assert all(states == ["pending"] for states in push_rows(app).values())

    clock.at(15)
    assert audit(app) == 21
    h.run_worker(app, "notify")
    assert pushes_per_endpoint(push) == {e: 1 for e in endpoints}
    assert all(states == ["sent"] for states in push_rows(app).values()) and len(push_rows(app)) == 21

    clock.at(30)  # and the auditor finds nothing more to do
    assert audit(app) == 0
    h.run_worker(app, "notify")
    assert pushes_per_endpoint(push) == {e: 1 for e in endpoints}
    assert push.rejected == []


def test_a_job_queued_twice_sends_once(app, client, push, clock):
    """The auditor's copy of a job still waiting in the queue (a slow worker, not a lost job)."""
    roomy(push)
    w = h.world(app, push)
    endpoints = list(w["subs"].values()) + crowd(app, push, w, 19)
    clock.at(0)
    h.alarm(client, w)
    clock.at(15)
    assert audit(app) == 21
    with app.app_context():
        assert get_queue("notify").count >= 2
    h.run_worker(app, "notify")
    assert pushes_per_endpoint(push) == {e: 1 for e in endpoints}
    assert all(states == ["sent"] for states in push_rows(app).values())


def test_a_flushed_queue_at_a_later_step_loses_nothing(app, client, push, clock):
    """The steps are rows: the step-1 SMS job lost with the queue is queued again by the auditor."""
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    for payload in (m["payload"] for m in push.received):  # the phones confirm: no early SMS
        client.post("/api/v1/push/receipts", json={"token": payload["receipt"]})
    clock.at(61)
    with app.app_context():
        from api.notify.escalation import run_due

        assert run_due()  # step 1 ran and queued its jobs
        get_queue("notify").empty()
    h.run_worker(app, "notify")
    assert LogSms.outbox == []
    clock.at(76)
    assert audit(app) >= 2
    h.run_worker(app, "notify")
    for role in ("resident", "property_staff"):
        assert [m["to"] for m in LogSms.outbox].count(w["phones"][role]) == 1


# --- a worker killed in the middle of a fan-out ---------------------------------------------

# The worker as production runs it (workers/worker.py: the forking kind, one work horse per
# job, or the in-process kind `make run` keeps for the urgent queues), on this test run's
# database, Redis and queue prefix (the TEST_* variables tests/conftest.py put in the
# environment) through create_app("testing").
WORKER = """
import os, sys
sys.path.insert(0, os.getcwd())
from api import create_app
import workers.queues as queues
app = create_app("testing")
queues._app = app
with app.app_context():
    from api.extensions import redis_client
    from workers import worker as kinds
    kinds.preload()
    cls = kinds.ForkingWorker if os.environ["FA_WORKER_FORK"] == "1" else kinds.InProcessWorker
    cls([queues.get_queue("notify")], connection=redis_client(), name=os.environ["FA_WORKER_NAME"]).work(burst=True)
"""


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def slow_push(app):
    """tests/faults' slow push service, slower: a fan-out stays in progress long enough to
    kill its worker in the middle (one push at a time, 0.1 s each; `busy` while it holds one)."""
    yield from serve_slow_push(app, delay=0.1)


@pytest.mark.parametrize("fork", [True, False], ids=["forking", "in-process"])
def test_a_worker_killed_mid_fanout_loses_nobody(app, client, slow_push, clock, fork):
    """SIGKILL to a real RQ worker (either kind) in the middle of a fan-out, then the auditor.

    The at-least-once window, honestly: a push the push service has accepted but whose
    result the dead worker had not yet committed is sent again by the auditor. The worker
    commits results as they come in (every 50, or every 0.25 s), so that window is the pushes
    in flight when it died plus those answered since its last commit: never the people it had
    recorded, but up to FANOUT_THREADS in flight. The copy carries the same Topic header
    (incident and kind), so a push service still holding the first for an offline phone
    replaces it instead of adding a second; a phone that already showed the first gets a
    second notification with the same tag, which the service worker shows in its place.
    What can be asserted: nobody gets nothing, nobody gets more than two, everybody recorded
    before the kill gets exactly one, and each notification ends with exactly one sent Delivery.
    """
    push = slow_push
    clock.now = datetime.now(timezone.utc)  # the worker process runs on real time: so does the test
    w = h.world(app, push)
    endpoints = list(w["subs"].values()) + crowd(app, push, w, 18)  # 20 people, 0.1 s each, one at a time
    h.alarm(client, w)  # the step ran; its job waits in this run's notify queue
    assert set(map(tuple, push_rows(app).values())) == {("pending",)}

    name = f"{app.config['RQ_QUEUE_PREFIX']}killed-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "FA_WORKER_NAME": name, "FA_WORKER_FORK": "1" if fork else "0", "VAPID_PUBLIC_KEY": app.config["VAPID_PUBLIC_KEY"],
           "VAPID_PRIVATE_KEY": app.config["VAPID_PRIVATE_KEY"], "VAPID_SUBJECT": app.config["VAPID_SUBJECT"]}
    log = open(os.devnull, "w") if os.environ.get("FA_QUIET_WORKER", "1") == "1" else None
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, start_new_session=True,
                              stdout=log, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while len(push.received) < 8:
            assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
            assert time.time() < deadline, "the worker never got going"
            time.sleep(0.01)
        # RQ runs each job in a work horse forked into its own process group (os.setpgrp):
        # killing the worker's group alone would leave the horse to finish the job.
        horses = children(worker.pid)
        kill_group(worker.pid)
        for horse in horses:
            kill_group(horse)
        worker.wait(10)
        accepted_at_kill = len(push.received)
    finally:
        if worker.poll() is None:
            kill_group(worker.pid)
        worker.stderr.close()
        if log:
            log.close()
        with app.app_context():  # the dead worker's registration (its keys carry this run's prefix)
            r = redis_client()
            r.srem("rq:workers", f"rq:worker:{name}")
            r.delete(f"rq:worker:{name}")
    if fork:
        assert horses, "no work horse was running: the kill did not land mid-job"
    else:
        assert not horses, "the in-process worker forked"
    assert accepted_at_kill < 20, "the fan-out had finished before the kill"

    # The requests the horse had already written reach the push service all the same
    # (a real one, having read a whole request, delivers it too): let them land.
    deadline = time.time() + 10
    while push.busy and time.time() < deadline:
        time.sleep(0.02)
    states = push_rows(app)
    recorded = {e for e, s in states.items() if s == ["sent"]}
    stuck = {e for e, s in states.items() if s == ["sending"]}
    assert recorded | stuck == set(endpoints) and not recorded & stuck
    assert recorded, "nothing was committed before the kill: results are recorded only at the end"
    assert stuck, "nothing was left in flight"

    # The auditor: rows stuck "sending" past the stale window are queued again.
    from workers.delivery import STALE_SENDING

    clock.now = datetime.now(timezone.utc) + STALE_SENDING + timedelta(seconds=5)
    push.delay = 0
    assert audit(app) == len(stuck)
    h.run_worker(app, "notify")

    counts = pushes_per_endpoint(push)
    assert set(counts) == set(endpoints)  # nobody got nothing
    assert max(counts.values()) <= 2  # nobody got more than two
    assert {e for e in recorded if counts[e] != 1} == set()  # the recorded ones exactly once
    assert {e: s for e, s in push_rows(app).items()} == {e: ["sent"] for e in endpoints}  # one sent row each
    topics = {}
    for r in push.received:
        topics.setdefault(r["sub"], set()).add(r["headers"]["Topic"])
    assert all(len(t) == 1 for t in topics.values())  # a copy replaces rather than adds
    assert push.rejected == []


# --- a receipt that overtakes the sender's own record -------------------------------------

class EagerPhones(FakePushService):
    """Phones that confirm a push (the service worker's receipt) before the push service
    has even answered the sender: the receipt reaches the database first."""

    def __init__(self, key, app):
        self.app = app
        super().__init__(key)

    def _handler(self):
        base, service = super()._handler(), self

        class Handler(base):
            def send_response(self, code, message=None):
                if code == 201:
                    sub_id = self.path.rsplit("/", 1)[1]
                    with service.lock:
                        payload = [r["payload"] for r in service.received if r["sub"] == sub_id][-1]
                    resp = service.app.test_client().post("/api/v1/push/receipts", json={"token": payload["receipt"]})
                    assert resp.status_code == 200
                super().send_response(code, message)

        return Handler


def test_a_receipt_before_the_senders_record_stands(app, client, clock):
    saved = {k: app.config.get(k) for k in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")}
    push = EagerPhones(h.vapid(app), app).start()
    try:
        w = h.world(app, push)
        clock.at(0)
        h.alarm(client, w)
        h.run_worker(app, "notify")
        assert len(push.received) == 2
        with app.app_context():
            from api.notify.models import Delivery

            rows = Delivery.query.all()
            assert [(d.state, d.delivered_at is not None, d.sent_at is not None, bool(d.provider_id))
                    for d in rows] == [("delivered", True, True, True)] * 2  # not overwritten by "sent"
        clock.at(30)
        with app.app_context():
            from workers.delivery import receipt_sweep

            assert receipt_sweep() == []  # delivered: nobody is moved to SMS
    finally:
        push.stop()
        app.config.update(saved)
