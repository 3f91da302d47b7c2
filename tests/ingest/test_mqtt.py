"""MQTT ingest against the real broker: QoS 1, stored once however often it is delivered."""

import json
import socket
import threading
import time
import uuid

import pytest

from api.extensions import db
from api.ingest import mqtt as ingest_mqtt
from api.ingest.models import DeviceEvent, Integration, RejectedMessage
from tests import factories as f
from tests.ingest.conftest import event, rows

mqtt = pytest.importorskip("paho.mqtt.client")


def _broker(app):
    return app.config["MQTT_HOST"], app.config["MQTT_PORT"]


@pytest.fixture
def broker(app):
    try:
        socket.create_connection(_broker(app), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"no MQTT broker at {_broker(app)}: {exc}")
    return _broker(app)


@pytest.fixture
def mqtt_integration(app, world, broker):
    topic = f"fa-test/{uuid.uuid4().hex}/events"  # unique on the shared broker, across test processes too
    with app.app_context():
        integration = f.integration("mqtt", mqtt_topic=topic)
        db.session.commit()
        return integration.id, topic


@pytest.fixture
def subscriber(app, mqtt_integration, broker, monkeypatch):
    """The real subscriber in a thread, returned once its subscriptions are granted."""
    client_id = f"fa-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(app.config, "MQTT_CLIENT_ID", client_id)
    subscribed = threading.Event()
    make_client = ingest_mqtt.make_client

    def make_and_watch(app, *args, **kwargs):
        client = make_client(app, *args, **kwargs)
        client.on_subscribe = lambda *a, **k: subscribed.set()
        return client

    monkeypatch.setattr(ingest_mqtt, "make_client", make_and_watch)
    client, thread = ingest_mqtt.start_in_thread(app)
    try:
        assert subscribed.wait(10), "the subscriber never subscribed"
        yield client, thread
    finally:
        client.disconnect()
        thread.join(10)
        # Drop the broker's persistent session for this client id.
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        cleaner.connect(*broker)
        cleaner.disconnect()


@pytest.fixture
def publish(broker):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fa-test-pub-{uuid.uuid4().hex[:12]}")
    client.connect(*broker)
    client.loop_start()

    def send(topic, payload):
        info = client.publish(topic, payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos=1)
        info.wait_for_publish(5)
        assert info.is_published()

    yield send
    client.disconnect()
    client.loop_stop()


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def _counts(app, integration_id):
    (integration,) = rows(app, Integration, id=integration_id)
    return integration.accepted_count, integration.duplicate_count, integration.rejected_count


def test_mqtt_message_is_stored_once_even_when_delivered_twice(app, client, world, mqtt_integration, subscriber,
                                                               publish):
    integration_id, topic = mqtt_integration
    message = {"events": [event(world.detector.serial, "mq-1", "smoke_alarm")]}
    publish(topic, message)
    (stored,) = wait_until(lambda: rows(app, DeviceEvent))
    assert (stored.device_id, stored.message_id, stored.kind, stored.integration_id) == (
        world.detector.id, "mq-1", "smoke_alarm", integration_id)

    publish(topic, message)
    wait_until(lambda: _counts(app, integration_id)[1] == 1)
    assert len(rows(app, DeviceEvent)) == 1
    assert _counts(app, integration_id) == (1, 1, 0)
    wait_until(lambda: rows(app, DeviceEvent)[0].processed_at is not None)
    (incident,) = client.get("/api/v1/incidents", headers=world.operator).get_json()["items"]
    assert incident["level"] == 2


def test_mqtt_subscriber_survives_malformed_and_oversized_messages(app, world, mqtt_integration, subscriber, publish):
    integration_id, topic = mqtt_integration
    _, thread = subscriber
    publish(topic, b"\xff not json")
    publish(topic, {"events": [event(world.detector.serial, f"big-{i}", "heartbeat") for i in range(1001)]})
    publish(topic, event(world.detector.serial, "mq-ok", "heartbeat"))
    (stored,) = wait_until(lambda: rows(app, DeviceEvent))
    assert stored.message_id == "mq-ok"
    assert thread.is_alive()
    reasons = [r.reason for r in rows(app, RejectedMessage, integration_id=integration_id)]
    assert len(reasons) == 2 and "1001" in reasons[1], reasons
