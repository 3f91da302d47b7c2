"""Idempotency-Key: a phone retrying an action gets the first answer back,
and the action happens once."""

import pytest


@pytest.fixture
def incident_id(world):
    world.send("smoke", "smoke_alarm", 0)
    return world.incident().id


def _close(client, world, incident_id, key, body=None, role="property_staff"):
    return client.post(f"/api/v1/incidents/{incident_id}/close",
                       json=body or {"outcome": "false_alarm", "reason": "cooking"},
                       headers={**world.auth(role), "Idempotency-Key": key})


def test_the_same_close_sent_three_times_with_one_key_closes_once_and_answers_alike(world, client, incident_id):
    world.set_now(60)
    answers = [_close(client, world, incident_id, "close-1")]
    for later in (90, 600):
        world.set_now(later)
        answers.append(_close(client, world, incident_id, "close-1"))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].headers.get("Idempotent-Replayed") is None
    assert [a.headers.get("Idempotent-Replayed") for a in answers[1:]] == ["true", "true"]
    assert answers[1].get_data() == answers[0].get_data() == answers[2].get_data()
    assert answers[0].get_json()["seconds_to_close"] == 60
    closes = [e for e in world.timeline(incident_id) if e.kind == "action" and "closed" in e.message]
    assert len(closes) == 1
    assert world.incident().closed_at == world.at(60)


def test_the_same_key_with_a_different_body_is_refused(world, client, incident_id):
    assert _close(client, world, incident_id, "k-2").status_code == 200
    resp = _close(client, world, incident_id, "k-2", body={"outcome": "false_alarm", "reason": "steam"})
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "idempotency_key_reused"
    assert world.incident().false_alarm_reason == "cooking"


def test_the_same_key_on_another_action_is_refused(world, client, incident_id):
    headers = {**world.auth("property_staff"), "Idempotency-Key": "k-3"}
    assert client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=headers).status_code == 200
    resp = client.post(f"/api/v1/incidents/{incident_id}/on-scene", headers=headers)
    assert resp.status_code == 422 and resp.get_json()["code"] == "idempotency_key_reused"
    assert world.incident().state == "acknowledged"


def test_a_key_belongs_to_one_person(world, client, incident_id):
    assert _close(client, world, incident_id, "shared").status_code == 200
    other = _close(client, world, incident_id, "shared", role="station_member")
    assert other.status_code == 409 and other.get_json()["code"] == "incident_closed"
    assert other.headers.get("Idempotent-Replayed") is None


def test_a_refused_request_is_not_kept_as_the_answer(world, client, incident_id):
    refused = _close(client, world, incident_id, "k-4", body={"outcome": "false_alarm"})
    assert refused.status_code == 422
    again = _close(client, world, incident_id, "k-4", body={"outcome": "false_alarm"})
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") is None
    assert world.incident().state == "open"


def test_a_retried_acknowledge_of_an_alert_is_replayed(world, client):
    world.send("smoke", "fault", 0)
    alert_id = world.alerts("smoke", condition="fault")[0].id
    headers = {**world.auth("property_staff"), "Idempotency-Key": "ack-1"}
    first = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=headers)
    second = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers.get("Idempotent-Replayed") == "true" and second.get_data() == first.get_data()


def test_a_key_expires_after_a_day(world, client, incident_id):
    assert client.post(f"/api/v1/incidents/{incident_id}/acknowledge",
                       headers={**world.auth("property_staff"), "Idempotency-Key": "day"}).status_code == 200
    world.advance(86400 + 1)
    resp = client.post(f"/api/v1/incidents/{incident_id}/acknowledge",
                       headers={**world.auth("property_staff"), "Idempotency-Key": "day"})
    assert resp.status_code == 200 and resp.headers.get("Idempotent-Replayed") is None


def test_an_overlong_key_is_refused(world, client, incident_id):
    resp = _close(client, world, incident_id, "k" * 101)
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["errors"]
    assert world.incident().state == "open"


def test_answers_older_than_a_day_are_purged(world, client, incident_id, app):
    from api.common.idempotency import IdempotencyRecord, purge_old
    from api.extensions import db

    for key in ("old", "new"):
        client.post(f"/api/v1/incidents/{incident_id}/acknowledge",
                    headers={**world.auth("property_staff"), "Idempotency-Key": key})
        world.advance(86400)
    with app.app_context():
        assert purge_old(world.at(86400 * 2 - 1)) == 1  # "new" is one second short of a day old
        assert [r.key for r in IdempotencyRecord.query.all()] == ["new"]
        db.session.remove()
