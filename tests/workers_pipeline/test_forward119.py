"""Forwarding a confirmed fire to 119 through the real RQ worker, against a fake
command centre that checks the signature: once, signed, retried until it lands,
never twice, and never lost with the queue."""

import hashlib
import hmac
import threading
import time

from api.extensions import db
from api.incidents.models import FireForward, Incident, TimelineEntry
from workers.forward119 import MAX_ATTEMPTS, requeue_fire_forwards, send_fire_forward
from workers.queues import get_queue


def confirm(client, incident):
    resp = client.post(f"/api/v1/incidents/{incident['id']}/confirm-fire", headers=incident["headers"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["level"] == 1
    return resp


def the_forward(incident_id):
    db.session.expire_all()
    return FireForward.query.filter_by(incident_id=incident_id).one()


def forward_notes(incident_id):
    return [e.message for e in TimelineEntry.query.filter_by(incident_id=incident_id, kind="forward")
            .order_by(TimelineEntry.at, TimelineEntry.id)]


def test_a_confirmed_fire_reaches_119_once_signed_with_the_incident_and_address(app, client, incident, fire119,
                                                                                  run_worker):
    started = time.monotonic()
    confirm(client, incident)
    with app.app_context():
        assert the_forward(incident["id"]).state == "pending"  # a row first, then the job
        run_worker("alarms")
        [body] = fire119.received
        assert fire119.attempts[0]["at"] - started < 3  # GB 50440: forwarded within 3 s
        assert body["incident_id"] == incident["id"]
        assert body["level"] == 1 and body["confirmed_at"]
        assert body["site"]["id"] == incident["site_id"]
        assert body["site"]["address"] == incident["address"]
        assert [a["device"] for a in body["alerts"]] == [incident["serial"]]
        headers = fire119.attempts[0]["headers"]
        assert headers["content-type"] == "application/json"
        assert headers["idempotency-key"] == f"incident-{incident['id']}"
        assert fire119.rejected == []

        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts, forward.response_status, forward.last_error) == ("sent", 1, 200, None)
        assert forward.sent_at is not None
        notes = forward_notes(incident["id"])
        assert len(notes) == 1 and "forwarded to 119" in notes[0]


def test_a_119_answering_503_is_retried_by_the_auditor_and_never_sent_twice(app, client, incident, fire119,
                                                                           run_worker):
    fire119.answers = [503]
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts, forward.response_status) == ("pending", 1, 503)
        assert forward.last_error == "HTTP 503"
        [failed] = forward_notes(incident["id"])
        assert "119 forward failed" in failed and "HTTP 503" in failed

        requeue_fire_forwards.enqueue()  # the auditor, as the scheduler queues it
        run_worker("alarms", "default")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts, forward.response_status, forward.last_error) == ("sent", 2, 200, None)
        assert [a["status"] for a in fire119.attempts] == [503, 200]
        assert len(fire119.received) == 1
        assert "forwarded to 119" in forward_notes(incident["id"])[-1]

        # later auditor passes find nothing to do
        assert requeue_fire_forwards() == 0
        run_worker("alarms", "default")
        assert len(fire119.attempts) == 2


def test_running_the_job_again_for_a_sent_forward_posts_nothing(app, client, incident, fire119, run_worker):
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        forward_id = the_forward(incident["id"]).id
        send_fire_forward.enqueue(forward_id, job_id=f"again-{forward_id}-1")
        send_fire_forward.enqueue(forward_id, job_id=f"again-{forward_id}-2")
        run_worker("alarms")
        assert send_fire_forward(forward_id) == "not claimed"
        assert len(fire119.attempts) == 1
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts) == ("sent", 1)
        assert len(forward_notes(incident["id"])) == 1


def test_two_workers_racing_on_one_forward_post_it_once(app, client, incident, fire119, monkeypatch):
    confirm(client, incident)
    with app.app_context():
        get_queue("alarms").empty()
        forward_id = the_forward(incident["id"]).id
    results, gate = [], threading.Barrier(2)

    def worker():
        with app.app_context():
            gate.wait()
            results.append(send_fire_forward(forward_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["not claimed", "sent"]
    assert len(fire119.attempts) == 1


def test_a_forward_survives_the_loss_of_its_queued_job(app, client, incident, fire119, run_worker):
    confirm(client, incident)
    with app.app_context():
        get_queue("alarms").empty()  # Redis lost the job after the confirm committed
        run_worker("alarms")
        assert fire119.attempts == []
        assert the_forward(incident["id"]).state == "pending"

        assert requeue_fire_forwards() == 1
        run_worker("alarms")
        assert len(fire119.received) == 1 and fire119.received[0]["incident_id"] == incident["id"]
        assert the_forward(incident["id"]).state == "sent"


def test_confirming_while_the_queue_is_unreachable_still_forwards_later(app, client, incident, fire119, run_worker,
                                                                        monkeypatch):
    import redis

    def down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(send_fire_forward, "enqueue", down)
    confirm(client, incident)  # the confirmation itself must not fail
    monkeypatch.undo()
    with app.app_context():
        run_worker("alarms")
        assert fire119.attempts == []
        assert requeue_fire_forwards() == 1
        run_worker("alarms")
        assert the_forward(incident["id"]).state == "sent"
        assert len(fire119.received) == 1


def test_a_forward_signed_with_the_wrong_secret_is_refused_and_stays_pending(app, client, incident, fire119,
                                                                           run_worker):
    fire119.secret = "the-119-centre-has-another-secret"
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        assert [reason for reason, _ in fire119.rejected] == ["X-Signature does not match"]
        assert fire119.received == []
        forward = the_forward(incident["id"])
        assert (forward.state, forward.response_status, forward.last_error) == ("pending", 401, "HTTP 401")


def test_the_fake_119_refuses_what_the_real_one_would(fire119):
    """The fake is only a fair judge if it refuses bad signatures and stale timestamps."""
    import requests

    body = b'{"incident_id": 1}'
    now = int(time.time())

    def signed(stamp, secret=fire119.secret):
        return hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()

    cases = [({}, 401), ({"X-Timestamp": str(now), "X-Signature": "0" * 64}, 401),
             ({"X-Timestamp": str(now - 3600), "X-Signature": signed(now - 3600)}, 401),
             ({"X-Timestamp": str(now), "X-Signature": signed(now, "other")}, 401),
             ({"X-Timestamp": str(now), "X-Signature": signed(now)}, 200)]
    for headers, status in cases:
        assert requests.post(fire119.url, data=body, headers=headers, timeout=5).status_code == status, headers
    assert len(fire119.rejected) == 4 and fire119.received == [{"incident_id": 1}]


def test_without_a_119_url_the_forward_waits_with_the_reason_and_goes_out_once_one_is_set(
        app, client, incident, fire119, run_worker):
    url, app.config["FIRE_119_URL"] = app.config["FIRE_119_URL"], None
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.last_error) == ("pending", "FIRE_119_URL is not configured")
        assert "FIRE_119_URL is not configured" in forward_notes(incident["id"])[-1]
        # however long nobody configures it, the auditor keeps it waiting rather than giving up
        for _ in range(MAX_ATTEMPTS + 2):
            requeue_fire_forwards()
            run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts) == ("pending", 0)  # nothing was ever sent
        assert forward.last_error == "FIRE_119_URL is not configured"
        assert len(forward_notes(incident["id"])) == 1  # said once, not on every pass

        app.config["FIRE_119_URL"] = url
        fire119.answers = [503]  # and once configured it still gets every retry it needs
        assert requeue_fire_forwards() == 1
        run_worker("alarms")
        assert requeue_fire_forwards() == 1
        run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts) == ("sent", 2)
        assert len(fire119.received) == 1


def test_an_unreachable_119_is_recorded_on_the_timeline(app, client, incident, fire119, run_worker):
    fire119.__exit__()  # the centre is down: connection refused
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        forward = the_forward(incident["id"])
        assert forward.state == "pending" and forward.last_error.startswith("ConnectionError")
        assert "119 forward failed" in forward_notes(incident["id"])[-1]
        assert db.session.get(Incident, incident["id"]).level == 1


def test_a_119_that_does_not_answer_in_time_is_given_up_on_and_retried_under_the_same_idempotency_key(
        app, client, incident, fire119, run_worker):
    timeout, app.config["FIRE_119_TIMEOUT"] = app.config["FIRE_119_TIMEOUT"], 1
    try:
        fire119.delay = 1.5
        confirm(client, incident)
        with app.app_context():
            started = time.monotonic()
            run_worker("alarms")
            assert time.monotonic() - started < 5  # the worker is not held by a hung centre
            forward = the_forward(incident["id"])
            assert forward.state == "pending" and forward.last_error.startswith("ReadTimeout")
            fire119.delay = 0
            requeue_fire_forwards()
            run_worker("alarms")
            assert the_forward(incident["id"]).state == "sent"
            # at least once: the centre may have both, and can tell they are one fire
            keys = {a["headers"]["idempotency-key"] for a in fire119.attempts}
            assert len(fire119.attempts) == 2 and keys == {f"incident-{incident['id']}"}
    finally:
        app.config["FIRE_119_TIMEOUT"] = timeout


def test_a_forward_left_sending_by_a_killed_worker_is_taken_over_after_the_claim_timeout(
        app, client, incident, fire119, run_worker, clock):
    from datetime import timedelta

    from tests.workers_pipeline.conftest import NOW
    from workers.forward119 import CLAIM_TIMEOUT

    confirm(client, incident)
    with app.app_context():
        get_queue("alarms").empty()
        forward = the_forward(incident["id"])
        forward.state, forward.claimed_at, forward.attempts = "sending", NOW, 1  # the worker died mid-post
        db.session.commit()

        clock.move(NOW + CLAIM_TIMEOUT - timedelta(seconds=1))  # it may still be posting: leave it
        assert requeue_fire_forwards() == 0
        assert send_fire_forward(forward.id) == "not claimed"

        clock.move(NOW + CLAIM_TIMEOUT + timedelta(seconds=1))
        assert requeue_fire_forwards() == 1
        run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts) == ("sent", 2)
        assert len(fire119.received) == 1


def test_a_forward_refused_max_attempts_times_is_marked_failed_and_left_alone(app, client, incident, fire119,
                                                                             run_worker):
    fire119.answers = [500] * MAX_ATTEMPTS
    confirm(client, incident)
    with app.app_context():
        run_worker("alarms")
        for _ in range(MAX_ATTEMPTS - 1):
            assert requeue_fire_forwards() == 1
            run_worker("alarms")
        forward = the_forward(incident["id"])
        assert (forward.state, forward.attempts, forward.last_error) == ("failed", MAX_ATTEMPTS, "HTTP 500")
        assert requeue_fire_forwards() == 0
        assert len(fire119.attempts) == MAX_ATTEMPTS
        assert len(forward_notes(incident["id"])) == MAX_ATTEMPTS
