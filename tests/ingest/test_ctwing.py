"""China Telecom CTWing (AEP) subscription push, authenticated by the secret in the URL."""

import json
from datetime import UTC, datetime

import pytest

from api.devices.models import Device
from api.extensions import db
from api.ingest.models import DeviceEvent, RejectedMessage
from tests.ingest.conftest import ctwing_url, now_ms, rows

DEVICE_ID = "d01308047f864601a821e02dc328eab4"  # CTWing's device id; its online/offline reports carry only this
PRODUCT_ID = "15045240"


@pytest.fixture
def ctwing(app, world):
    with app.app_context():
        device = db.session.get(Device, world.detector.id)
        device.serial = DEVICE_ID
        db.session.commit()
    return world


def data_report(world, service_data, ts=None, service_id="smoke_detector"):
    return {"upPacketSN": -1, "upDataSN": -1, "topic": "v1/up/ad", "timestamp": ts or now_ms(-2),
            "tenantId": "2000033827", "serviceId": service_id, "protocol": "lwm2m", "productId": PRODUCT_ID,
            "messageType": "dataReport", "deviceType": "", "deviceId": DEVICE_ID, "assocAssetId": "",
            "IMSI": "460111176358866", "IMEI": world.detector.imei, "payload": {"serviceData": service_data}}


def push(client, world, body, secret=None, key=None):
    integration = world.ctwing if key is None else type(world.ctwing)(key_id=key, secret=world.ctwing.secret)
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(ctwing_url(integration, secret), data=data.encode(), headers={"Content-Type": "application/json"})


def test_data_report_raises_a_smoke_alarm_and_updates_battery_and_signal(app, client, ctwing):
    world = ctwing
    ts = now_ms(-3)
    body = data_report(world, {"Alarm_Status": 1, "Battery_Level": 76, "RSRP": -95, "SNR": 12}, ts=ts)
    resp = push(client, world, body)
    assert resp.status_code == 200, resp.get_json()
    answer = resp.get_json()
    assert (answer["accepted"], answer["rejected"], answer["unregistered"]) == (2, 0, 0)
    stored = {e.kind: e for e in rows(app, DeviceEvent)}
    assert set(stored) == {"smoke_alarm", "telemetry"}
    assert stored["telemetry"].values == {"battery_pct": 76, "signal_dbm": -95}
    assert all(e.device_id == world.detector.id for e in stored.values())
    assert stored["smoke_alarm"].occurred_at == datetime.fromtimestamp(ts / 1000, tz=UTC)
    (device,) = rows(app, Device, id=world.detector.id)
    assert (device.battery_pct, device.signal_dbm) == (76, -95)
    assert device.last_seen_at == datetime.fromtimestamp(ts / 1000, tz=UTC)
    (incident,) = client.get("/api/v1/incidents", headers=world.operator).get_json()["items"]
    assert incident["level"] == 2 and incident["site_id"] == world.tree["site"]


def test_data_report_with_only_measurements_is_telemetry(app, client, ctwing):
    world = ctwing
    resp = push(client, world, data_report(world, {"Alarm_Status": 0, "Battery_Level": 15, "RSRP": -110}))
    assert resp.get_json()["accepted"] == 2
    assert sorted(e.kind for e in rows(app, DeviceEvent)) == ["alarm_cleared", "telemetry"]
    (device,) = rows(app, Device, id=world.detector.id)
    assert (device.battery_pct, device.signal_dbm) == (15, -110)


def test_online_offline_reports(app, client, ctwing):
    world = ctwing

    def report(event_type, ts):
        return {"timestamp": ts, "tenantId": "2000033827", "protocol": "lwm2m", "productId": PRODUCT_ID,
                "messageType": "deviceOnlineOfflineReport", "iccid": "undefined", "eventType": event_type,
                "deviceId": DEVICE_ID}

    assert push(client, world, report(0, now_ms(-60))).get_json()["accepted"] == 1
    (device,) = rows(app, Device, id=world.detector.id)
    assert device.offline_since is not None
    assert push(client, world, report(1, now_ms(-5))).get_json()["accepted"] == 1
    assert [e.kind for e in rows(app, DeviceEvent)] == ["offline", "online"]
    (device,) = rows(app, Device, id=world.detector.id)
    assert device.offline_since is None


def test_event_report_in_the_documented_shape(app, client, ctwing):
    world = ctwing
    body = {"timestamp": now_ms(-2), "tenantId": "2000033827", "serviceId": 1002, "protocol": "lwm2m",
            "productId": PRODUCT_ID, "messageType": "eventReport", "eventType": 2,
            "eventContent": {"Alarm_Status": 1, "Battery_Level": 64},
            "deviceSn": "", "deviceId": DEVICE_ID, "IMSI": "undefined", "IMEI": world.detector.imei}
    resp = push(client, world, body)
    assert resp.status_code == 200
    assert (resp.get_json()["accepted"], resp.get_json()["rejected"]) == (2, 0), resp.get_json()
    assert sorted(e.kind for e in rows(app, DeviceEvent)) == ["smoke_alarm", "telemetry"]


def test_event_report_with_service_data(app, client, ctwing):
    world = ctwing
    body = data_report(world, {"Alarm_Status": 4})
    body["messageType"], body["eventType"] = "eventReport", 2
    resp = push(client, world, body)
    assert resp.get_json()["accepted"] == 1, resp.get_json()
    assert [e.kind for e in rows(app, DeviceEvent)] == ["tamper"]


def test_command_response_is_acknowledged_and_stores_nothing(app, client, ctwing):
    world = ctwing
    body = {"timestamp": now_ms(), "tenantId": "2000033827", "taskId": 1, "protocol": "lwm2m",
            "result": {"resultDetail": "", "resultCode": "DELIVERED"}, "productId": PRODUCT_ID,
            "messageType": "commandResponse", "deviceId": DEVICE_ID}
    resp = push(client, world, body)
    assert resp.status_code == 200 and resp.get_json()["results"] == []
    assert rows(app, DeviceEvent) == [] and rows(app, RejectedMessage) == []


def test_wrong_callback_address_is_refused(app, client, ctwing):
    world = ctwing
    body = data_report(world, {"Alarm_Status": 1})
    cases = {
        "wrong secret": ("x" + world.ctwing.secret[1:], None),
        "non-ascii secret": ("密钥不对", None),
        "secret with a suffix": (world.ctwing.secret + "x", None),
        "blank secret": (" ", None),
        "unknown key": (None, "int_nobody"),
        "onenet key and secret": (world.onenet.secret, world.onenet.key_id),
    }
    for case, (secret, key) in cases.items():
        resp = push(client, world, body, secret=secret, key=key)
        assert resp.status_code == 401, (case, resp.get_data(as_text=True))
        err = resp.get_json()
        assert set(err) == {"code", "message", "errors"} and err["code"] == "bad_signature", case
    assert rows(app, DeviceEvent) == [] and rows(app, RejectedMessage) == []
    assert push(client, world, body).get_json()["accepted"] == 1


def test_retried_push_is_a_duplicate(app, client, ctwing):
    world = ctwing
    body = data_report(world, {"Alarm_Status": 1, "Battery_Level": 76, "RSRP": -95, "SNR": 12})
    assert push(client, world, body).get_json()["accepted"] == 2
    again = push(client, world, body)
    assert again.status_code == 200
    assert (again.get_json()["accepted"], again.get_json()["duplicate"]) == (0, 2)
    assert len(rows(app, DeviceEvent)) == 2


@pytest.mark.parametrize("case,reason", [
    ("not json", "Expecting"),
    ("no timestamp", "timestamp"),
    ("no device", "IMEI"),
    ("no serviceData", "serviceData"),
    ("unknown messageType", "messageType"),
    ("unmapped alarm value", "Alarm_Status"),
])
def test_malformed_push_answers_200_and_is_recorded(app, client, ctwing, case, reason):
    world = ctwing
    body = data_report(world, {"Alarm_Status": 1})
    if case == "not json":
        body = '{"messageType": "dataReport", '
    elif case == "no timestamp":
        del body["timestamp"]
    elif case == "no device":
        del body["IMEI"], body["deviceId"]
    elif case == "no serviceData":
        body["payload"] = {"APPdata": "UFUAPBAAAAYBAAMAJwMnuwpogDAw"}
    elif case == "unknown messageType":
        body["messageType"] = "deviceDeleted"
    elif case == "unmapped alarm value":
        body["payload"]["serviceData"]["Alarm_Status"] = 9
    resp = push(client, world, body)
    assert resp.status_code == 200, resp.get_data(as_text=True)  # CTWing pauses pushes after many failures
    answer = resp.get_json()
    assert answer["rejected"] == 1 and reason in answer["results"][0]["reason"]
    assert rows(app, DeviceEvent) == []
    (rejection,) = rows(app, RejectedMessage, integration_id=world.ctwing.id)
    assert reason in rejection.reason
