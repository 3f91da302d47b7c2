"""A large push fan-out is queued as several jobs (workers.delivery.PUSH_JOB_SIZE), so
several worker processes send it at once — with every guarantee of one job kept: the
rows exist before the jobs, the job ids are deterministic, each job claims its rows, a
chunk queued twice or a flushed queue sends nothing twice and loses nobody.

PUSH_JOB_SIZE is made small here (5) so 21 people make five jobs."""

from collections import Counter

import pytest
from rq.job import Job

from api.extensions import db, redis_client
from tests.notify import helpers as h
from tests.notify.test_faults import audit, crowd, push_rows, pushes_per_endpoint, roomy
from workers import delivery
from workers.queues import get_queue

SIZE = 5


@pytest.fixture
def small_jobs(monkeypatch):
    monkeypatch.setattr(delivery, "PUSH_JOB_SIZE", SIZE)


def queued(app):
    """{job id: its delivery ids} of this run's notify queue."""
    with app.app_context():
        q = get_queue("notify")
        return {jid: Job.fetch(jid, connection=redis_client()).args[0] for jid in q.job_ids}


def push_delivery_ids(app):
    with app.app_context():
        from api.notify.models import Delivery, Notification

        return sorted(i for (i,) in db.session.query(Delivery.id).join(
            Notification, Notification.id == Delivery.notification_id).filter(Notification.channel == "push"))


def test_a_large_step_is_several_jobs_with_deterministic_ids(app, client, push, clock, small_jobs):
    roomy(push)
    w = h.world(app, push)
    crowd(app, push, w, 19)  # 21 people on push at step 0
    clock.at(0)
    h.alarm(client, w)
    ids = push_delivery_ids(app)
    assert len(ids) == 21
    jobs = {jid: args for jid, args in queued(app).items() if "-push-" in jid}
    # 21 pending rows in jobs of 5: five jobs, each delivery in exactly one, in id order
    assert sorted(len(a) for a in jobs.values()) == [1, 5, 5, 5, 5]
    assert Counter(i for a in jobs.values() for i in a) == Counter(ids)
    prefix = app.config["RQ_QUEUE_PREFIX"]
    for jid, args in jobs.items():
        assert args == sorted(args)
        assert jid.startswith(prefix + "deliver-") and jid.endswith(f"-{args[0]}")
    assert delivery.job_chunks(list(reversed(ids))) == delivery.job_chunks(ids)  # same ids, same chunks

    h.run_worker(app, "notify")
    assert pushes_per_endpoint(push) == Counter({e: 1 for e in pushes_per_endpoint(push)})
    assert len(pushes_per_endpoint(push)) == 21
    assert all(states == ["sent"] for states in push_rows(app).values())
    assert push.rejected == []


def test_the_same_chunks_queued_again_keep_their_job_ids_and_send_nothing_twice(app, client, push, clock,
                                                                                small_jobs):
    roomy(push)
    w = h.world(app, push)
    crowd(app, push, w, 19)
    clock.at(0)
    h.alarm(client, w)
    first = {jid for jid in queued(app) if "-push-" in jid}
    ids = push_delivery_ids(app)
    with app.app_context():
        from api.notify.escalation import enqueue_deliveries

        enqueue_deliveries(ids, "again")  # a step queued twice under another tag: other ids…
        jobs = delivery.enqueue_batch(ids, job_id="deliver-again-push-x")  # …and the same ids twice
        again = delivery.enqueue_batch(ids, job_id="deliver-again-push-x")
        assert [j.id for j in jobs] == [j.id for j in again]
    assert first  # the step's own jobs are still queued beside the copies
    h.run_worker(app, "notify")
    counts = pushes_per_endpoint(push)
    assert len(counts) == 21 and set(counts.values()) == {1}
    assert all(states == ["sent"] for states in push_rows(app).values())


def test_a_flushed_queue_after_chunking_loses_nobody(app, client, push, clock, small_jobs):
    roomy(push)
    w = h.world(app, push)
    crowd(app, push, w, 19)
    clock.at(0)
    h.alarm(client, w)
    with app.app_context():
        get_queue("notify").empty()
    h.run_worker(app, "notify")
    assert push.received == []
    clock.at(15)
    assert audit(app) == 21  # the auditor's copy is chunked too
    assert sum(1 for jid in queued(app) if "-push-" in jid) == 5
    h.run_worker(app, "notify")
    counts = pushes_per_endpoint(push)
    assert len(counts) == 21 and set(counts.values()) == {1}
    clock.at(30)
    assert audit(app) == 0


def test_a_chunk_half_sent_before_the_rest_is_queued_again(app, client, push, clock, small_jobs):
    """One chunk ran; then the whole step is queued again (overlapping the sent chunk):
    the sent rows are not claimable, the rest go out once."""
    roomy(push)
    w = h.world(app, push)
    crowd(app, push, w, 19)
    clock.at(0)
    h.alarm(client, w)
    ids = push_delivery_ids(app)
    with app.app_context():
        get_queue("notify").empty()
        delivery.deliver_batch(ids[:7])  # straight, as one job over parts of two chunks
        assert len(push.received) == 7
        delivery.enqueue_batch(ids, job_id="deliver-overlap-push-x")
    h.run_worker(app, "notify")
    counts = pushes_per_endpoint(push)
    assert len(counts) == 21 and set(counts.values()) == {1}


def test_other_channels_stay_one_job(app, small_jobs):
    from api.notify.models import Delivery, Notification
    from tests import factories as f

    with app.app_context():
        tree = f.city_tree("C")
        incident = f.incident(tree["site"], tree["household_device"])
        ids = []
        for n in range(12):
            note = Notification(incident_id=incident.id, kind="alarm", channel="sms", address=f"+8613900{n:06d}",
                                text="x")
            db.session.add(note)
            db.session.flush()
            d = Delivery(notification_id=note.id, attempt=1, state="pending")
            db.session.add(d)
            db.session.flush()
            ids.append(d.id)
        db.session.commit()
        jobs = delivery.enqueue_batch(ids, job_id="deliver-sms-test")
        assert len(jobs) == 1 and jobs[0].args[0] == ids
        get_queue("notify").empty()


def test_unusable_push_keys_are_a_permanent_error():
    from workers.channels.push import encrypt

    good = {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg"}
    assert encrypt(good, b"{}")[:16]  # salt first: a body
    for keys in ({"p256dh": "AAAA", "auth": good["auth"]}, {"p256dh": good["p256dh"], "auth": "AA"},
                 {"auth": good["auth"]}):
        with pytest.raises((KeyError, ValueError)):
            encrypt(keys, b"{}")
