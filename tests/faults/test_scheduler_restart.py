"""The scheduler killed (kill -9) and started again in the middle of an escalation.

The real scheduler process (workers.scheduler.run_forever) and a real forking RQ
worker, on real time, with steps 3 s apart. Killed right after the alarm, nothing
ticks until a new scheduler starts after step 1 was due: it runs then, late, once.
Killed again and restarted at once, inside the same scheduling periods (its Redis
locks and deterministic job ids say one tick per period, whichever process queues
it): step 2 still runs once. Every step done once, every person told once per step.
"""

from collections import Counter

from api.common.clock import utcnow
from api.extensions import db
from tests.faults.conftest import fast_policy, wait_for
from tests.faults.test_redis_flush import settled
from tests.notify import helpers as h


def step(app, step_no):
    from api.notify.models import EscalationStep

    with app.app_context():
        row = EscalationStep.query.filter_by(step_no=step_no).one()
        out = (row.state, row.due_at)
        db.session.remove()
    return out


def test_a_restarted_scheduler_runs_each_step_once(app, client, slow_push, procs):
    push = slow_push
    push.delay = 0
    w = h.world(app, push)
    fast_policy(app, w)
    worker, first = procs.worker(), procs.scheduler()
    h.alarm(client, w)  # step 0 runs at once, with the alarm
    procs.kill(first)

    # Nobody ticks: step 1 comes due with no scheduler alive.
    wait_for(lambda: utcnow() > step(app, 1)[1], "step 1 due", procs=[worker])
    second = procs.scheduler()
    wait_for(lambda: step(app, 1)[0] == "done", "step 1 run by the new scheduler's tick", procs=[worker, second])
    procs.kill(second)
    third = procs.scheduler()  # at once: the same periods as the one just killed

    steps, told, notes = wait_for(lambda: settled(app), "step 2 run and everything sent", timeout=90,
                                  procs=[worker, third])
    assert steps == {0: ["done"], 1: ["done"], 2: ["done"]}
    assert sorted(notes) == [0, 1, 2]
    assert {key: states for key, states in told.items() if states not in (["sent"], ["delivered"])} == {}
    by_step = Counter(s for s, _, _ in told)
    assert by_step[0] == 2 and by_step[1] == 2 and by_step[2] == 2  # resident and property; resident and grid
    assert Counter(r["sub"] for r in push.received) == {e.rsplit("/", 1)[1]: 1 for e in w["subs"].values()}
