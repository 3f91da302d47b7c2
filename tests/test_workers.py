"""The scheduler and the RQ worker, on the real Redis."""

from datetime import timedelta

from rq import SimpleWorker

from api.common.clock import utcnow
from api.extensions import db, redis_client
from api.people.models import OtpCode
from workers.queues import get_queue
from workers.scheduler import tick


def test_periodic_job_is_queued_once_per_period(app):
    with app.app_context():
        now = 1_800_000_000.0
        from workers.scheduler import PERIODIC

        assert tick(now=now) == [p.name for p in PERIODIC]
        assert tick(now=now + 1) == []  # same period: a second scheduler or tick queues nothing
        queue = get_queue("default")
        assert app.config["RQ_QUEUE_PREFIX"] + f"periodic-purge_login_codes-{int(now // 3600)}" in queue.job_ids
        assert len(queue.job_ids) == len(set(queue.job_ids))
        for name in ("default", "alarms", "notify"):
            get_queue(name).empty()


def test_worker_runs_the_purge(app):
    with app.app_context():
        old = OtpCode(phone="+8613800000000", code_hash="x" * 64, expires_at=utcnow() - timedelta(days=2))
        fresh = OtpCode(phone="+8613800000001", code_hash="y" * 64, expires_at=utcnow() + timedelta(minutes=5))
        db.session.add_all([old, fresh])
        db.session.commit()
        from workers.jobs import purge_login_codes

        job = purge_login_codes.enqueue()
        worker = SimpleWorker([get_queue("default")], connection=redis_client())
        worker.work(burst=True)
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() == 1
        db.session.expire_all()
        assert [c.phone for c in OtpCode.query.all()] == ["+8613800000001"]
