"""Queues and the scheduler on the real Redis: deployments sharing one Redis
(a test run beside development, or two test processes) never touch each other's jobs."""

from api.extensions import db, redis_client
from tests.workers_pipeline.test_forward119 import confirm, the_forward
from workers.forward119 import queue_forward
from workers.queues import get_queue
from workers.scheduler import Periodic, tick


def as_other_deployment(app, func):
    prefix = app.config["RQ_QUEUE_PREFIX"]
    app.config["RQ_QUEUE_PREFIX"] = prefix + "other-"
    try:
        return func()
    finally:
        app.config["RQ_QUEUE_PREFIX"] = prefix


def test_emptying_another_deployments_queue_does_not_lose_our_queued_forward(app, client, incident, fire119,
                                                                             run_worker):
    confirm(client, incident)  # queues this deployment's job for its forward
    with app.app_context():
        forward_id = the_forward(incident["id"]).id

        def other():  # another deployment's forward with the same id, whose queue is then flushed
            queue_forward(forward_id)
            get_queue("alarms").empty()

        as_other_deployment(app, other)
        run_worker("alarms")  # no auditor pass: the job we queued must still be there
        assert the_forward(incident["id"]).state == "sent"
        assert len(fire119.received) == 1


def test_a_job_queued_by_another_deployment_never_runs_here(app, run_worker):
    with app.app_context():
        as_other_deployment(app, lambda: queue_forward(424242))
        mine = get_queue("alarms")
        assert mine.count == 0
        run_worker("alarms")
        theirs = as_other_deployment(app, lambda: get_queue("alarms"))
        assert theirs.count == 1
        theirs.empty()


def test_each_periodic_job_is_queued_once_per_period_even_with_two_schedulers(app):
    with app.app_context():
        periodic = (Periodic("sweep", "workers.sweeps.offline_sweep", 60),
                    Periodic("fwd", "workers.forward119.requeue_fire_forwards", 5))
        t = 1_900_000_020.0  # a multiple of 60 and of 5
        assert tick(now=t, periodic=periodic) == ["sweep", "fwd"]
        assert tick(now=t + 1, periodic=periodic) == []  # the second scheduler, same periods
        assert tick(now=t + 5, periodic=periodic) == ["fwd"]
        assert tick(now=t + 60, periodic=periodic) == ["sweep", "fwd"]
        queue = get_queue("default")
        assert len(queue.job_ids) == len(set(queue.job_ids)) == 5
        queue.empty()


def test_the_scheduler_queues_the_offline_sweep_and_the_worker_runs_it(app, clock, run_worker):
    from datetime import timedelta

    from api.devices.models import Device
    from tests import factories as f
    from tests.workers_pipeline.conftest import NOW

    with app.app_context():
        tree = f.city_tree("sched")
        silent = f.device(tree["site"], "video_camera", last_seen_at=NOW - timedelta(hours=2)).id
        db.session.commit()
        assert "offline_sweep" in tick(now=1_900_000_020.0)
        for purpose in ("alarms", "notify"):  # only the sweep matters here
            get_queue(purpose).empty()
        run_worker("default")
        db.session.expire_all()
        assert db.session.get(Device, silent).offline_since == NOW
        assert redis_client().ping()
