"""Remote power-off: confirmed, recorded, sent over the device's own channel,
done when the device says so."""

import json
import threading
import time
import uuid

import pytest
from rq import SimpleWorker

from api.extensions import db, redis_client
from tests import factories as f
from workers.queues import get_queue


def _broker_up(app):
    import socket

    try:
        socket.create_connection((app.config["MQTT_HOST"], app.config["MQTT_PORT"]), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def world(app):
    with app.app_context():
        t = f.city_tree("P")
        integration = f.integration("mqtt", mqtt_topic=f"fa-test/{uuid.uuid4().hex[:8]}/events")
        monitor = t["site_device"]  # an electrical monitor in the basement
        monitor.last_integration_id = integration.id
        operator = f.user("operator", place=t["city"])
        resident = f.user("resident", place=t["household"])
        db.session.commit()
        return {"device": monitor.id, "serial": monitor.serial, "smoke": t["household_device"].id,
                "topic": integration.mqtt_topic, "integration": integration.id,
                "op": f.bearer(operator), "resident": f.bearer(resident)}


def run_worker(app):
    with app.app_context():
        SimpleWorker([get_queue("alarms")], connection=redis_client()).work(burst=True)


def test_power_off_must_be_confirmed(client, world):
    resp = client.post(f"/api/v1/devices/{world['device']}/power-off", json={"confirm": False}, headers=world["op"])
    assert resp.status_code == 422 and "confirm" in resp.get_json()["errors"]


def test_only_electrical_monitors_cut_power(client, world):
    resp = client.post(f"/api/v1/devices/{world['smoke']}/power-off", json={"confirm": True}, headers=world["op"])
    assert resp.status_code == 422


def test_a_resident_cannot_cut_the_buildings_power(client, world):
    # the basement monitor is not in the resident's household: it does not exist for them
    resp = client.post(f"/api/v1/devices/{world['device']}/power-off", json={"confirm": True},
                       headers=world["resident"])
    assert resp.status_code == 404


def test_power_off_goes_over_mqtt_and_completes_on_power_cut_done(app, client, world):
    if not _broker_up(app):
        pytest.skip("no MQTT broker on this machine")
    import paho.mqtt.client as mqtt

    received, ready = [], threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    sub.on_connect = lambda c, u, fl, rc, p: (c.subscribe(world["topic"].rsplit("/", 1)[0] + "/commands/#", qos=1),
                                              ready.set())
    sub.on_message = lambda c, u, m: received.append((m.topic, json.loads(m.payload)))
    sub.connect(app.config["MQTT_HOST"], app.config["MQTT_PORT"])
    sub.loop_start()
    try:
        assert ready.wait(5)
        time.sleep(0.3)  # let the subscription settle at the broker
        first = client.post(f"/api/v1/devices/{world['device']}/power-off", json={"confirm": True},
                            headers=world["op"])
        again = client.post(f"/api/v1/devices/{world['device']}/power-off", json={"confirm": True},
                            headers=world["op"])
        assert first.status_code == 202 and again.get_json()["id"] == first.get_json()["id"]
        run_worker(app)
        for _ in range(50):
            if received:
                break
            time.sleep(0.1)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert len(received) == 1
    topic, body = received[0]
    assert topic.endswith(f"/commands/{world['serial']}") and body["command"] == "power_off"
    command_id = first.get_json()["id"]
    listed = client.get(f"/api/v1/devices/{world['device']}/commands", headers=world["op"]).get_json()
    assert listed[0]["id"] == command_id and listed[0]["state"] == "sent"

    with app.app_context():
        from api.ingest.models import Integration
        from api.ingest.processing import process_events
        from api.ingest.store import store

        integration = db.session.get(Integration, world["integration"])
        results = store(integration, [{"device": world["serial"], "id": "cut-1", "type": "power_cut_done",
                                       "at": "2026-12-01T08:00:00+08:00", "values": {"ok": True}}])
        process_events([r["event_id"] for r in results])
    listed = client.get(f"/api/v1/devices/{world['device']}/commands", headers=world["op"]).get_json()
    assert listed[0]["state"] == "done"


def test_no_command_channel_fails_with_the_reason(app, client, world):
    with app.app_context():
        from api.devices.models import Device

        db.session.get(Device, world["device"]).last_integration_id = None
        db.session.commit()
    resp = client.post(f"/api/v1/devices/{world['device']}/power-off", json={"confirm": True}, headers=world["op"])
    assert resp.status_code == 202
    run_worker(app)
    listed = client.get(f"/api/v1/devices/{world['device']}/commands", headers=world["op"]).get_json()
    assert listed[0]["state"] == "failed" and "no command channel" in listed[0]["error"]


def test_device_health_counts_the_callers_devices(app, client, world):
    from api.common.clock import utcnow

    with app.app_context():
        from api.devices.models import Device

        smoke = db.session.get(Device, world["smoke"])
        smoke.last_seen_at = utcnow()
        monitor = db.session.get(Device, world["device"])
        monitor.last_seen_at, monitor.offline_since = utcnow(), utcnow()
        db.session.commit()
    op = client.get("/api/v1/device-health", headers=world["op"]).get_json()
    assert op == {"total": 2, "online": 1, "offline": 1, "never_seen": 0, "fault": 0, "low_battery": 0}
    resident = client.get("/api/v1/device-health", headers=world["resident"]).get_json()
    assert resident["total"] == 1 and resident["online"] == 1
