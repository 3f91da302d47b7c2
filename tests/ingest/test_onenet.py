"""China Mobile OneNET HTTP push: URL verification (GET) and data pushes (POST)."""

import json
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from api.devices.models import Device
from api.extensions import db
from api.ingest.models import DeviceEvent, RejectedMessage
from tests.ingest.conftest import now_ms, onenet_body, onenet_signature, rows

DEV_ID = 523698741  # OneNET's device id, registered here as the detector's serial


@pytest.fixture
def onenet(app, world):
    with app.app_context():
        device = db.session.get(Device, world.detector.id)
        device.serial = str(DEV_ID)
        db.session.commit()
    return world


def url(world, key_id=None):
    return f"/api/v1/ingest/onenet/{key_id or world.onenet.key_id}"


def push(client, world, body, key_id=None):
    return client.post(url(world, key_id), data=body.encode(), headers={"Content-Type": "application/json"})


def data_point(ds_id, value, at=None, **extra):
    return {"type": 1, "dev_id": DEV_ID, "ds_id": ds_id, "at": at or now_ms(), "value": value, **extra}


# --- URL verification -------------------------------------------------------------

def test_verification_answers_msg_as_plain_text(client, world):
    msg, nonce = "oXjR3k2vPq", "Yq7fT0aZ"
    sig = onenet_signature(world.onenet.secret, nonce, msg)
    resp = client.get(url(world), query_string={"msg": msg, "nonce": nonce, "signature": sig})
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True) == msg


def _nonce_whose_signature_has_a_plus(token, msg):
    for i in range(10000):
        nonce = f"n{i:07d}"
        if "+" in onenet_signature(token, nonce, msg):
            return nonce
    raise AssertionError("no nonce found")


def test_verification_accepts_the_signature_as_onenet_sends_it_unescaped(client, world):
    # OneNET puts the Base64 signature in the query string without escaping it,
    # so a "+" arrives as a space (its own sample code undoes this).
    msg = "verifyme"
    nonce = _nonce_whose_signature_has_a_plus(world.onenet.secret, msg)
    sig = onenet_signature(world.onenet.secret, nonce, msg)
    resp = client.get(f"{url(world)}?msg={msg}&nonce={nonce}&signature={sig}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_data(as_text=True) == msg
    escaped = client.get(f"{url(world)}?msg={msg}&nonce={nonce}&signature={quote(sig, safe='')}")
    assert escaped.status_code == 200 and escaped.get_data(as_text=True) == msg


def test_verification_with_a_bad_signature_is_refused(client, world):
    msg, nonce = "oXjR3k2vPq", "Yq7fT0aZ"
    token = world.onenet.secret
    good = {"msg": msg, "nonce": nonce, "signature": onenet_signature(token, nonce, msg)}
    cases = {
        "wrong signature": (None, {**good, "signature": good["signature"][:-4] + "AAA="}),
        "no signature": (None, {"msg": msg, "nonce": nonce}),
        "other token": (None, {**good, "signature": onenet_signature("another-token", nonce, msg)}),
        "unknown key": ("int_nobody", good),
        "generic key": (world.generic.key_id, good),
        "signature of another msg": (None, {**good, "msg": "somethingelse"}),
        "non-ascii signature": (None, {**good, "signature": "签名"}),
    }
    for case, (key_id, query) in cases.items():
        resp = client.get(url(world, key_id), query_string=query)
        assert resp.status_code == 401, (case, resp.get_data(as_text=True))
        err = resp.get_json()
        assert set(err) == {"code", "message", "errors"} and err["code"] == "bad_signature", case
        assert msg not in resp.get_data(as_text=True), case
    assert client.get(url(world), query_string=good).status_code == 200


# --- data pushes -------------------------------------------------------------------

def test_alarm_data_point_raises_a_smoke_alarm(app, client, onenet):
    world = onenet
    at = now_ms(-5)
    # Unusual spacing and key order: the signature covers these exact characters.
    msg_text = f'{{ "value" :1,"ds_id":  "alarm_status" , "at": {at} ,\n "type":1, "dev_id" : {DEV_ID} }}'
    resp = push(client, world, onenet_body(world.onenet.secret, msg_text, nonce="Kp3xQ9wZ"))
    assert resp.status_code == 200, resp.get_json()
    answer = resp.get_json()
    assert (answer["accepted"], answer["rejected"]) == (1, 0)
    (stored,) = rows(app, DeviceEvent)
    assert (stored.device_id, stored.kind, stored.integration_id) == (world.detector.id, "smoke_alarm", world.onenet.id)
    assert stored.occurred_at == datetime.fromtimestamp(at / 1000, tz=UTC)
    (incident,) = client.get("/api/v1/incidents", headers=world.operator).get_json()["items"]
    assert incident["level"] == 2


def test_signature_over_a_reserialised_msg_is_refused(app, client, onenet):
    world = onenet
    msg = data_point("alarm_status", 1)
    sent = f'{{"value": 1,  "type": 1, "ds_id": "alarm_status", "at": {msg["at"]}, "dev_id": {DEV_ID}}}'
    # Signed over a re-serialisation of the same object, not over the text sent: not OneNET's signature.
    body = onenet_body(world.onenet.secret, sent, sign_text=json.dumps(json.loads(sent), separators=(",", ":"),
                                                                       sort_keys=True))
    assert push(client, world, body).status_code == 401
    assert rows(app, DeviceEvent) == []


def test_newer_signature_spelling_with_msg_as_a_string(app, client, onenet):
    world = onenet
    inner = json.dumps(data_point("alarm_status", 1), separators=(", ", " : "))
    nonce = "Zx8Ab1Qe"
    sig = onenet_signature(world.onenet.secret, nonce, inner)  # over the string's content
    body = json.dumps({"msg": inner, "signature": sig, "nonce": nonce, "time": now_ms(), "id": "f0e1d2"})
    resp = push(client, world, body)
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 1, resp.get_json()
    assert [e.kind for e in rows(app, DeviceEvent)] == ["smoke_alarm"]


def test_signature_spelling_with_msg_as_an_object(app, client, onenet):
    world = onenet
    msg_text = json.dumps(data_point("alarm_status", 0))
    resp = push(client, world, onenet_body(world.onenet.secret, msg_text, field="signature"))
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 1, resp.get_json()
    assert [e.kind for e in rows(app, DeviceEvent)] == ["alarm_cleared"]


def test_battery_data_point_is_telemetry_and_updates_the_device(app, client, onenet):
    world = onenet
    resp = push(client, world, onenet_body(world.onenet.secret, json.dumps(data_point("battery", 87))))
    assert resp.get_json()["accepted"] == 1, resp.get_json()
    (stored,) = rows(app, DeviceEvent)
    assert stored.kind == "telemetry" and stored.values == {"battery_pct": 87}
    (device,) = rows(app, Device, id=world.detector.id)
    assert device.battery_pct == 87 and device.last_seen_at is not None


def test_batched_push_of_several_data_points(app, client, onenet):
    world = onenet
    at = now_ms(-3)
    msg_text = json.dumps([data_point("battery", 60, at=at), data_point("alarm_status", 1, at=at)])
    resp = push(client, world, onenet_body(world.onenet.secret, msg_text))
    assert resp.get_json()["accepted"] == 2, resp.get_json()
    assert sorted(e.kind for e in rows(app, DeviceEvent)) == ["smoke_alarm", "telemetry"]


def test_online_and_offline_pushes(app, client, onenet):
    world = onenet
    offline = {"type": 2, "dev_id": DEV_ID, "status": 0, "login_type": 7, "at": now_ms(-60)}
    online = {"type": 2, "dev_id": DEV_ID, "status": 1, "login_type": 7, "at": now_ms(-10)}
    assert push(client, world, onenet_body(world.onenet.secret, json.dumps(offline))).get_json()["accepted"] == 1
    (device,) = rows(app, Device, id=world.detector.id)
    assert device.offline_since is not None
    assert push(client, world, onenet_body(world.onenet.secret, json.dumps(online))).get_json()["accepted"] == 1
    assert [e.kind for e in rows(app, DeviceEvent)] == ["offline", "online"]
    (device,) = rows(app, Device, id=world.detector.id)
    assert device.offline_since is None


def test_retried_push_is_a_duplicate(app, client, onenet):
    world = onenet
    body = onenet_body(world.onenet.secret, json.dumps(data_point("alarm_status", 1)))
    assert push(client, world, body).get_json()["accepted"] == 1
    again = push(client, world, body)
    assert again.status_code == 200
    assert (again.get_json()["accepted"], again.get_json()["duplicate"]) == (0, 1)
    assert len(rows(app, DeviceEvent)) == 1


def test_push_with_a_bad_signature_is_refused(app, client, onenet):
    world = onenet
    msg_text = json.dumps(data_point("alarm_status", 1))
    good = onenet_body(world.onenet.secret, msg_text)
    cases = {
        "wrong signature": (None, onenet_body(world.onenet.secret, msg_text, sign_text=msg_text + " ")),
        "other token": (None, onenet_body("another-token", msg_text)),
        "other nonce": (None, good.replace('"nonce": "abcdefgh"', '"nonce": "abcdefgi"')),
        "unknown key": ("int_nobody", good),
        "ctwing key": (world.ctwing.key_id, good),
        "non-ascii signature": (None, json.dumps({"msg": json.loads(msg_text), "nonce": "abcdefgh",
                                                  "msg_signature": "签名不对"})),
    }
    for case, (key_id, body) in cases.items():
        resp = push(client, world, body, key_id)
        assert resp.status_code == 401, (case, resp.get_data(as_text=True))
        assert resp.get_json()["code"] == "bad_signature", case
    assert rows(app, DeviceEvent) == [] and rows(app, RejectedMessage) == []
    assert push(client, world, good).get_json()["accepted"] == 1


def _signed(world, msg):
    return onenet_body(world.onenet.secret, json.dumps(msg))


@pytest.mark.parametrize("case,reason", [
    ("not json", "not JSON"),
    ("no nonce", "nonce"),
    ("unknown type", "msg.type"),
    ("unmapped ds_id", "temperature"),
    ("no dev_id", "dev_id"),
    ("unmapped value", "alarm_status"),
])
def test_malformed_push_answers_200_and_is_recorded_for_the_health_page(app, client, onenet, case, reason):
    world = onenet
    body = {
        "not json": lambda: '{"msg": {"type": 1, "dev_id": ',
        "no nonce": lambda: json.dumps({"msg": data_point("alarm_status", 1), "msg_signature": "abc"}),
        "unknown type": lambda: _signed(world, {"type": 7, "dev_id": DEV_ID, "at": now_ms()}),
        "unmapped ds_id": lambda: _signed(world, data_point("temperature", 21.5)),
        "no dev_id": lambda: _signed(world, {"type": 1, "ds_id": "battery", "value": 50, "at": now_ms()}),
        "unmapped value": lambda: _signed(world, data_point("alarm_status", 9)),
    }[case]()
    resp = push(client, world, body)
    assert resp.status_code == 200, resp.get_data(as_text=True)  # so OneNET does not retry it
    answer = resp.get_json()
    assert answer["rejected"] == 1 and answer["accepted"] == 0
    assert reason in answer["results"][0]["reason"]
    assert rows(app, DeviceEvent) == []

    health = client.get(f"/api/v1/integrations/{world.onenet.id}/health", headers=world.admin)
    assert health.status_code == 200
    h = health.get_json()
    assert h["integration"]["rejected_count"] == 1
    (rejection,) = h["recent_rejections"]
    assert reason in rejection["reason"] and rejection["excerpt"] == body[:1000]
    assert client.get(f"/api/v1/integrations/{world.onenet.id}/health", headers=world.operator).status_code == 403
