"""Redis flushed whole (FLUSHALL) in the middle of an escalation.

tests/notify/test_faults.py empties this run's notify queue; here everything Redis
holds goes at once, while a real forking worker is in the middle of step 0's fan-out
and the real scheduler is ticking: queued jobs, the running job's record and RQ's
registries, the scheduler's once-per-period locks, the worker's own registration.
PostgreSQL holds the escalation (steps as rows, deliveries as rows before jobs), so
after the flush the scheduler's ticks and the delivery auditor carry on from there:
every step runs once, every person is told once per step, and nothing is sent twice.

A private redis-server (flushed without touching other test runs), steps 3 s apart
(a policy for the community) so that real processes on real time get through them.
"""

from collections import Counter

from api.extensions import redis_client
from tests.faults.conftest import crowd, escalation_state, fast_policy, wait_for
from tests.notify import helpers as h


def settled(app):
    steps, told, notes = escalation_state(app)
    finished = set(steps) == {0, 1, 2} and all(states == ["done"] for states in steps.values())
    quiet = told and all(states and not {"pending", "sending"} & set(states) for states in told.values())
    return (steps, told, notes) if finished and quiet else None


def test_redis_flushed_during_an_escalation_loses_no_step_and_doubles_none(app, client, private_redis, slow_push,
                                                                          procs):
    push = slow_push
    w = h.world(app, push)
    fast_policy(app, w)
    endpoints = list(w["subs"].values()) + crowd(app, push, w, 18)  # 20 pushes at step 0, one at a time
    worker, scheduler = procs.worker(), procs.scheduler()
    h.alarm(client, w)  # stored, incident opened, step 0 run: its deliveries are rows and a queued job

    wait_for(lambda: len(push.received) >= 4, "step 0's fan-out under way", procs=[worker, scheduler])
    with app.app_context():
        redis_client().flushall()

    def recovered():
        # A supervisor (systemd, `make run`) restarts what died; RQ or the scheduler may
        # not survive their Redis state vanishing under them.
        nonlocal worker, scheduler
        if worker.poll() is not None:
            worker = procs.worker()
        if scheduler.poll() is not None:
            scheduler = procs.scheduler()
        return settled(app)

    steps, told, notes = wait_for(recovered, "every step run and every message sent after the flush", timeout=90)

    assert steps == {0: ["done"], 1: ["done"], 2: ["done"]}  # no step skipped, none run twice
    assert sorted(notes) == [0, 1, 2]  # one "N messages queued" per step on the timeline
    by_step = Counter(step for step, _, _ in told)
    assert by_step[0] == 20 and by_step[1] >= 20 and by_step[2] >= 20  # everybody of each step's tiers
    doubled = {key: states for key, states in told.items() if states not in (["sent"], ["delivered"])}
    assert doubled == {}  # one delivery each, and it went out
    assert Counter(f"{push.origin}/push/{r['sub']}" for r in push.received) == {e: 1 for e in endpoints}
    assert push.rejected == []
