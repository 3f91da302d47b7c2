"""The two RQ worker kinds (workers/worker.py) and which processes `make run` starts.

The in-process worker (urgent queues: no fork per job) runs each job in an app context,
and so a database session, of its own: a job that fails half-way leaves nothing for the
next one. `flask rq worker --no-fork` is the real command `make run` uses for it."""

import pytest
from rq import Queue

from api.extensions import redis_client
from tests.notify import helpers as h
from workers import worker as kinds
from workers.queues import QUEUES, get_queue, queue_name


def test_two_or_more_processes_keep_one_for_the_urgent_queues_in_process():
    assert kinds.plan(1) == [(QUEUES, True)]
    first, *rest = kinds.plan(3)
    assert first == (("alarms", "notify"), False)
    assert rest == [(QUEUES, True)] * 2
    assert kinds.command(*first) == ["rq", "worker", "alarms", "notify", "--no-fork"]
    assert kinds.command(QUEUES, True) == ["rq", "worker", *QUEUES]


def test_a_failed_job_leaves_nothing_in_the_next_jobs_session(app):
    with app.app_context():
        q = get_queue("notify")
        failed = q.enqueue_call("tests.workers_kinds.jobs.leave_a_mess")
        probe = q.enqueue_call("tests.workers_kinds.jobs.look_at_the_session")
        kinds.InProcessWorker([q], connection=redis_client()).work(burst=True)
        failed.refresh()
        probe.refresh()
        assert failed.is_failed and "a job's bug" in failed.latest_result().exc_string
        assert probe.is_finished, probe.latest_result() and probe.latest_result().exc_string
        assert probe.return_value() == {"pending": 0, "in_transaction": False}


def test_the_same_jobs_in_one_shared_session_would_leak(app):
    """What the fresh context prevents, shown on RQ's plain SimpleWorker inside one app
    context (as a `flask` command runs it): the failed job's row is still pending."""
    from rq import SimpleWorker

    with app.app_context():
        q = get_queue("notify")
        q.enqueue_call("tests.workers_kinds.jobs.leave_a_mess")
        probe = q.enqueue_call("tests.workers_kinds.jobs.look_at_the_session")
        SimpleWorker([q], connection=redis_client()).work(burst=True)
        probe.refresh()
        assert probe.return_value()["pending"] == 1
        from api.extensions import db

        db.session.rollback()


def test_flask_rq_worker_no_fork_sends_an_alarms_pushes(app, client, push):
    w = h.world(app, push)
    h.alarm(client, w)
    result = app.test_cli_runner().invoke(args=["rq", "worker", "--no-fork", "--burst", "notify"])
    assert result.exit_code == 0, result.output
    assert push.wait_for(2), push.rejected
    assert len(push.payloads_for(w["subs"]["resident"])) == 1
    assert len(push.payloads_for(w["subs"]["property_staff"])) == 1
    assert push.rejected == []
    with app.app_context():
        assert Queue(queue_name("notify"), connection=redis_client()).count == 0


def test_an_unknown_queue_is_refused(app):
    result = app.test_cli_runner().invoke(args=["rq", "worker", "--burst", "alarm"])
    assert result.exit_code == 2 and "unknown queue" in result.output


def _stored_heartbeats(app, n):
    """n routine messages, stored and not processed (as a busy request leaves them)."""
    from datetime import UTC, datetime

    from api.extensions import db
    from api.ingest.models import DeviceEvent
    from tests import factories as f

    with app.app_context():
        tree = f.city_tree("BL")
        device = f.device(tree["site"], "smoke_detector")
        db.session.add_all([DeviceEvent(device_id=device.id, message_id=f"bl{i}", kind="heartbeat",
                                        occurred_at=datetime.now(UTC), values={}) for i in range(n)])
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("serving", [QUEUES, ("ingest", "default")], ids=["urgent-too", "own-urgent-worker"])
def test_the_backlog_job_makes_way_for_an_urgent_job_on_a_worker_that_takes_both(app, monkeypatch, serving):
    """One worker alone takes every queue: a backlog job there ends after its lot when an
    alarm's job waits, and queues its successor (which the worker takes after the urgent
    one). With a worker of its own for the urgent queues, it stays on."""
    from api.ingest import backlog

    _stored_heartbeats(app, 3)
    monkeypatch.setattr(kinds, "SERVING", serving)
    naps = []

    class Napped(Exception):
        pass

    def nap(seconds):
        naps.append(seconds)
        raise Napped

    import time
    from types import SimpleNamespace

    monkeypatch.setattr(backlog, "time", SimpleNamespace(sleep=nap, monotonic=time.monotonic))
    with app.app_context():
        get_queue("notify").enqueue_call("tests.workers_kinds.jobs.look_at_the_session")
        try:
            done = backlog.process_backlog()
            stayed = False
        except Napped:  # it went on to wait for more: stopped here, at its first nap
            done, stayed = None, True
        get_queue("notify").empty()
        get_queue("ingest").empty()
        from api.extensions import rkey

        redis_client().delete(rkey("ingest", "backlog-queued"))  # the mark a stopped job leaves
    if serving == QUEUES:
        assert done == 3 and not stayed and naps == []
    else:
        assert stayed and naps == [backlog.GATHER_SECONDS]
