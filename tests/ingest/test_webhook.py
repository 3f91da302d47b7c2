"""The generic signed webhook: POST /api/v1/ingest/events."""

import json
import time

import pytest

from api.alerts.models import Alert
from api.ingest.models import (
    DeviceEvent,
    Integration,
    RejectedMessage,
    UnregisteredDevice,
)
from tests.ingest.conftest import event, now_iso, post_events, rows, webhook_headers

URL = "/api/v1/ingest/events"


def test_signed_batch_is_accepted_per_message(app, client, world):
    serial = world.detector.serial
    resp = post_events(client, world.generic, [
        event(serial, "m-1", "heartbeat"),
        event(serial, "m-2", "telemetry", values={"battery_pct": 81, "signal_dbm": -97}),
    ])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["accepted"], body["duplicate"], body["unregistered"], body["rejected"]) == (2, 0, 0, 0)
    assert body["results"] == [{"index": 0, "id": "m-1", "status": "accepted"},
                               {"index": 1, "id": "m-2", "status": "accepted"}]
    stored = rows(app, DeviceEvent)
    assert [(e.device_id, e.message_id, e.kind, e.integration_id) for e in stored] == [
        (world.detector.id, "m-1", "heartbeat", world.generic.id),
        (world.detector.id, "m-2", "telemetry", world.generic.id)]
    assert stored[1].values == {"battery_pct": 81, "signal_dbm": -97}
    assert all(e.processed_at is not None for e in stored)  # processed inline after the commit


def test_single_event_object_is_accepted_by_imei_with_its_zone(app, client, world):
    resp = post_events(client, world.generic, body=json.dumps(
        event(world.detector.imei, 42, "heartbeat", at="2026-11-30T10:00:00+08:00")))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"] == [{"index": 0, "id": "42", "status": "accepted"}]
    (stored,) = rows(app, DeviceEvent)
    assert stored.device_id == world.detector.id and stored.message_id == "42"
    assert stored.occurred_at.isoformat() == "2026-11-30T02:00:00+00:00"


def test_replayed_batch_is_stored_once(app, client, world):
    serial = world.detector.serial
    batch = [event(serial, "r-1", "heartbeat"), event(serial, "r-2", "self_test"), event(serial, "r-3", "heartbeat")]
    body = json.dumps({"events": batch}).encode()
    first = post_events(client, world.generic, body=body)
    assert first.get_json()["accepted"] == 3
    again = post_events(client, world.generic, body=body)  # the sender did not hear our answer
    assert again.status_code == 200
    answer = again.get_json()
    assert (answer["accepted"], answer["duplicate"]) == (0, 3)
    assert [r["status"] for r in answer["results"]] == ["duplicate"] * 3
    stored = rows(app, DeviceEvent)
    assert sorted(e.message_id for e in stored) == ["r-1", "r-2", "r-3"]
    (integration,) = rows(app, Integration, id=world.generic.id)
    assert (integration.accepted_count, integration.duplicate_count) == (3, 3)


def test_same_message_twice_in_one_batch_is_stored_once(app, client, world):
    serial, imei = world.detector.serial, world.detector.imei
    resp = post_events(client, world.generic, [
        event(serial, "d-1", "heartbeat"), event(serial, "d-1", "heartbeat"),
        event(imei, "d-1", "heartbeat"),  # the same device named by its IMEI
    ])
    assert [r["status"] for r in resp.get_json()["results"]] == ["accepted", "duplicate", "duplicate"]
    assert len(rows(app, DeviceEvent)) == 1


def _stale(world, body):
    return webhook_headers(world.generic, body, timestamp=int(time.time()) - 301)


def _future(world, body):
    return webhook_headers(world.generic, body, timestamp=int(time.time()) + 301)


def _bad_signature(world, body):
    return {**webhook_headers(world.generic, body), "X-Signature": "0" * 64}


def _wrong_secret(world, body):
    return webhook_headers(world.generic, body, secret="not-the-secret")


def _signed_for_other_body(world, body):
    return webhook_headers(world.generic, body + b" ")


def _unknown_key(world, body):
    return {**webhook_headers(world.generic, body), "X-Integration-Key": "int_nobody"}


def _onenet_key(world, body):  # a real key, but not of a webhook integration
    return webhook_headers(world.onenet, body)


def _without(header):
    def build(world, body):
        headers = webhook_headers(world.generic, body)
        del headers[header]
        return headers
    build.__name__ = f"missing_{header}"
    return build


def _timestamp_not_a_number(world, body):
    return {**webhook_headers(world.generic, body), "X-Timestamp": "yesterday"}


def _non_ascii_signature(world, body):
    return {**webhook_headers(world.generic, body), "X-Signature": "签名".encode().decode("latin-1")}


REFUSALS = [_stale, _future, _bad_signature, _wrong_secret, _signed_for_other_body, _unknown_key, _onenet_key,
            _without("X-Integration-Key"), _without("X-Timestamp"), _without("X-Signature"), _timestamp_not_a_number,
            _non_ascii_signature]


def test_unauthenticated_batches_are_refused(app, client, world):
    # One test over every case (none of them writes anything), to keep the suite fast.
    body = json.dumps({"events": [event(world.detector.serial, "x-1")]}).encode()
    for headers in REFUSALS:
        case = headers.__name__.strip("_")
        resp = client.post(URL, data=body, headers=headers(world, body))
        assert resp.status_code == 401, (case, resp.get_data(as_text=True))
        err = resp.get_json()
        assert set(err) == {"code", "message", "errors"}, case
        assert err["code"] == "bad_signature" and err["message"] and err["errors"]["signature"], (case, err)
    assert rows(app, DeviceEvent) == [] and rows(app, RejectedMessage) == []
    # ...and the same body, correctly signed, is accepted.
    assert post_events(client, world.generic, body=body).get_json()["accepted"] == 1


def test_disabled_integration_is_refused(app, client, world):
    resp = client.patch(f"/api/v1/integrations/{world.generic.id}", json={"enabled": False}, headers=world.admin)
    assert resp.status_code == 200 and resp.get_json()["enabled"] is False
    assert post_events(client, world.generic, [event(world.detector.serial, "x-1")]).status_code == 401
    assert rows(app, DeviceEvent) == []


def test_body_that_is_not_json_is_refused_and_recorded(app, client, world):
    resp = post_events(client, world.generic, body=b'{"events": [ {"device": ')
    assert resp.status_code == 400
    err = resp.get_json()
    assert err["code"] == "malformed" and err["message"] and "body" in err["errors"]
    (rejected,) = rows(app, RejectedMessage)
    assert rejected.integration_id == world.generic.id and "not JSON" in rejected.reason
    assert rejected.excerpt == '{"events": [ {"device": '


@pytest.mark.parametrize("payload", [[{"device": "x"}], {"hello": "world"}, {"events": "all of them"}, "events"],
                         ids=["a list", "no events", "events not a list", "a string"])
def test_body_of_the_wrong_shape_is_refused_and_recorded(app, client, world, payload):
    resp = post_events(client, world.generic, body=json.dumps(payload))
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()
    assert err["code"] == "malformed" and err["message"] and err["errors"]["events"]
    (rejected,) = rows(app, RejectedMessage)
    assert rejected.integration_id == world.generic.id
    assert rows(app, DeviceEvent) == []


def test_batch_over_1000_events_is_refused_with_413(app, client, world):
    batch = [event(world.detector.serial, f"b-{i}", "heartbeat") for i in range(1001)]
    resp = post_events(client, world.generic, batch)
    assert resp.status_code == 413
    err = resp.get_json()
    assert err["code"] == "batch_too_large" and err["message"] and err["errors"] == {"events": ["1001 given"]}
    (rejected,) = rows(app, RejectedMessage)
    assert "1001" in rejected.reason
    assert rows(app, DeviceEvent) == []


def test_bad_events_are_rejected_while_good_ones_are_stored(app, client, world):
    serial = world.detector.serial
    bad_values = event(serial, "e-4", "telemetry", values={"battery_pct": "high"})
    no_id = event(serial, "x", "heartbeat")
    del no_id["id"]
    body = json.dumps({"events": [
        event(serial, "e-1", "heartbeat"),
        event(serial, "e-2", "explosion"),
        event(serial, "e-3", "heartbeat", at="2026-11-30T10:00:00"),  # no zone: ambiguous
        bad_values,
        no_id,
        event(serial, "e-6", "heartbeat", at=10**20),  # a broken clock, far beyond any year
        event(serial, "e-7", "telemetry", values={"battery_pct": float("nan")}),
        event(serial, "e-8", "heartbeat", at=now_iso(3600)),  # an hour ahead
        event(serial, "e-9", "telemetry", values={"battery_pct": 55}),
        "not an event",
    ]}, allow_nan=True)
    resp = post_events(client, world.generic, body=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    answer = resp.get_json()
    statuses = [(r["index"], r["id"], r["status"]) for r in answer["results"]]
    assert statuses == [(0, "e-1", "accepted"), (1, "e-2", "rejected"), (2, "e-3", "rejected"),
                        (3, "e-4", "rejected"), (4, None, "rejected"), (5, "e-6", "rejected"),
                        (6, "e-7", "rejected"), (7, "e-8", "rejected"), (8, "e-9", "accepted"),
                        (9, None, "rejected")]
    reasons = {r["index"]: r["reason"] for r in answer["results"] if r["status"] == "rejected"}
    assert reasons[1].startswith("type:") and "explosion" in reasons[1]
    assert reasons[2].startswith("at:") and "zone" in reasons[2]
    assert reasons[3].startswith("values.battery_pct:")
    assert reasons[4].startswith("id:")
    assert reasons[5].startswith("at:")
    assert reasons[6].startswith("values.battery_pct:")
    assert reasons[7].startswith("at:") and "future" in reasons[7]
    assert (answer["accepted"], answer["rejected"]) == (2, 8)
    assert sorted(e.message_id for e in rows(app, DeviceEvent)) == ["e-1", "e-9"]
    assert len(rows(app, RejectedMessage, integration_id=world.generic.id)) == 8
    (integration,) = rows(app, Integration, id=world.generic.id)
    assert (integration.accepted_count, integration.rejected_count) == (2, 8)


def test_unknown_device_goes_to_the_unregistered_inbox(app, client, world):
    first = post_events(client, world.generic, [
        event("GHOST-1", "g-1", "heartbeat"), event("GHOST-1", "g-2", "smoke_alarm"),
        event("GHOST-2", "g-1", "heartbeat"), event(world.detector.serial, "g-1", "heartbeat"),
    ])
    assert [r["status"] for r in first.get_json()["results"]] == ["unregistered"] * 3 + ["accepted"]
    second = post_events(client, world.generic, [event("GHOST-1", "g-3", "low_battery")])
    assert second.status_code == 200 and second.get_json()["unregistered"] == 1

    listed = client.get("/api/v1/ingest/unregistered", headers=world.admin)
    assert listed.status_code == 200
    items = {i["device_ref"]: i for i in listed.get_json()["items"]}
    assert set(items) == {"GHOST-1", "GHOST-2"}  # one row per device, not one per message
    assert items["GHOST-1"]["message_count"] == 3 and items["GHOST-2"]["message_count"] == 1
    assert items["GHOST-1"]["integration_id"] == world.generic.id
    assert items["GHOST-1"]["last_message"]["id"] == "g-3"
    assert items["GHOST-1"]["last_message"]["type"] == "low_battery"
    assert len(rows(app, UnregisteredDevice)) == 2
    assert [e.message_id for e in rows(app, DeviceEvent)] == ["g-1"]
    assert rows(app, RejectedMessage) == []  # not counted as errors
    (integration,) = rows(app, Integration, id=world.generic.id)
    assert integration.unregistered_count == 4

    filtered = client.get(f"/api/v1/ingest/unregistered?integration_id={world.onenet.id}", headers=world.admin)
    assert filtered.get_json()["items"] == []
    assert client.get("/api/v1/ingest/unregistered", headers=world.operator).status_code == 403


def _alerts(client, world, **query):
    q = "&".join(f"{k}={v}" for k, v in {"device_id": world.detector.id, **query}.items())
    resp = client.get(f"/api/v1/alerts?{q}", headers=world.operator)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_late_clear_does_not_clear_a_newer_alarm(app, client, world):
    serial = world.detector.serial
    post_events(client, world.generic, [event(serial, "o-1", "smoke_alarm", at=now_iso(-10))])
    late = post_events(client, world.generic, [event(serial, "o-0", "alarm_cleared", at=now_iso(-70))])
    assert late.get_json()["accepted"] == 1  # stored, but it is older than the alarm
    (alert,) = _alerts(client, world, condition="smoke")
    assert alert["active"] is True and alert["cleared_at"] is None
    (cleared_event,) = rows(app, DeviceEvent, message_id="o-0")
    assert cleared_event.outcome.startswith("hold smoke")
    # A clear newer than the alarm does clear it.
    post_events(client, world.generic, [event(serial, "o-2", "alarm_cleared", at=now_iso(-5))])
    (alert,) = _alerts(client, world, condition="smoke")
    assert alert["active"] is False and alert["cleared_at"] is not None


def test_reordered_events_in_one_batch_are_applied_in_time_order(app, client, world):
    serial = world.detector.serial
    post_events(client, world.generic, [event(serial, "q-2", "smoke_alarm", at=now_iso(-10)),
                                        event(serial, "q-1", "alarm_cleared", at=now_iso(-70))])
    (alert,) = _alerts(client, world, condition="smoke")
    assert alert["active"] is True


def test_smoke_alarm_opens_a_level_2_incident_with_a_timeline(app, client, world):
    resp = post_events(client, world.generic, [event(world.detector.serial, "s-1", "smoke_alarm")])
    assert resp.get_json()["accepted"] == 1

    listed = client.get("/api/v1/incidents", headers=world.operator)
    assert listed.status_code == 200
    (incident,) = listed.get_json()["items"]
    assert incident["level"] == 2 and incident["state"] == "open"
    assert incident["site_id"] == world.tree["site"]

    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=world.operator).get_json()
    (alert,) = detail["alerts"]
    assert (alert["condition"], alert["level"], alert["device_id"], alert["active"]) == (
        "smoke", 2, world.detector.id, True)
    entries = {entry["kind"]: entry for entry in detail["timeline"]}
    assert sorted(entries) == ["device_event", "rule"] and len(detail["timeline"]) == 2, detail["timeline"]
    assert "incident opened" in entries["rule"]["message"]
    assert entries["device_event"]["data"]["device_id"] == world.detector.id

    assert client.get("/api/v1/incidents", headers=world.other_operator).get_json()["items"] == []
    assert len(rows(app, Alert)) == 1


def test_replayed_alarm_does_not_count_twice(app, client, world):
    body = json.dumps({"events": [event(world.detector.serial, "s-1", "smoke_alarm")]})
    post_events(client, world.generic, body=body)
    post_events(client, world.generic, body=body)
    (alert,) = _alerts(client, world, condition="smoke")
    assert alert["count"] == 1
    (incident,) = client.get("/api/v1/incidents", headers=world.operator).get_json()["items"]
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=world.operator).get_json()
    assert len(detail["timeline"]) == 2
