"""Sending device commands over the channel the device last used.

MQTT devices get the command on `<integration topic base>/commands/<serial>`;
HTTP vendors get a signed POST to the integration's `command_url` (same
HMAC scheme as their messages to us). With neither, the command fails with
the reason recorded, never silently.
"""

import json
import logging
import time
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import or_, update

from api.common.clock import utcnow
from api.devices.commands import DeviceCommand
from api.devices.models import Device
from api.extensions import db
from api.ingest.adapters import generic_sign
from api.ingest.models import Integration
from workers.queues import job

log = logging.getLogger("commands")
CLAIM_TIMEOUT = timedelta(seconds=60)
MAX_ATTEMPTS = 5


def queue_command(command_id):
    try:
        send_device_command.enqueue(command_id, job_id=f"command-{command_id}")
    except Exception:  # the row stays pending; requeue_device_commands sends it later
        log.exception("could not queue device command %s now", command_id)


def command_topic(integration, serial):
    base = integration.mqtt_topic.rsplit("/", 1)[0] if "/" in integration.mqtt_topic else integration.mqtt_topic
    return f"{base}/commands/{serial}"


def _publish_mqtt(integration, device, body):
    import paho.mqtt.client as mqtt

    cfg = current_app.config
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fa-cmd-{time.time_ns()}")
    if cfg.get("MQTT_USERNAME"):
        client.username_pw_set(cfg["MQTT_USERNAME"], cfg.get("MQTT_PASSWORD"))
    client.connect(cfg["MQTT_HOST"], cfg["MQTT_PORT"], keepalive=10)
    client.loop_start()
    try:
        info = client.publish(command_topic(integration, device.serial), body, qos=1)
        info.wait_for_publish(timeout=5)
        if not info.is_published():
            raise RuntimeError("the broker did not acknowledge the command")
    finally:
        client.loop_stop()
        client.disconnect()


def _post_http(integration, body):
    stamp = int(time.time())
    resp = requests.post(integration.command_url, data=body, timeout=5, headers={
        "Content-Type": "application/json", "X-Integration-Key": integration.key_id, "X-Timestamp": str(stamp),
        "X-Signature": generic_sign(integration.secret, stamp, body)})
    if not 200 <= resp.status_code < 300:
        raise RuntimeError(f"HTTP {resp.status_code}")


@job("alarms", timeout=30)
def send_device_command(command_id):
    claimed = db.session.execute(update(DeviceCommand).where(
        DeviceCommand.id == command_id,
        or_(DeviceCommand.state == "pending",
            (DeviceCommand.state == "sending") & (DeviceCommand.sent_at.is_(None)))
    ).values(state="sending", attempts=DeviceCommand.attempts + 1)).rowcount == 1
    db.session.commit()
    if not claimed:
        return "not claimed"
    command = db.session.get(DeviceCommand, command_id)
    device = db.session.get(Device, command.device_id)
    integration = db.session.get(Integration, device.last_integration_id) if device.last_integration_id else None
    body = json.dumps({"command_id": command.id, "device": device.serial, "command": command.kind}).encode()
    try:
        if integration is not None and integration.kind == "mqtt" and integration.mqtt_topic:
            _publish_mqtt(integration, device, body)
        elif integration is not None and integration.command_url:
            _post_http(integration, body)
        else:
            command.state, command.error = "failed", "no command channel: the device's integration has none"
            db.session.commit()
            return command.state
        command.state, command.sent_at, command.error = "sent", utcnow(), None
    except Exception as exc:  # recorded, and retried by the auditor up to MAX_ATTEMPTS
        command.error = f"{type(exc).__name__}: {exc}"[:300]
        command.state = "failed" if command.attempts >= MAX_ATTEMPTS else "pending"
    db.session.commit()
    return command.state


@job("default", timeout=60)
def requeue_device_commands():
    ids = [i for (i,) in db.session.query(DeviceCommand.id).filter(DeviceCommand.state == "pending")]
    for command_id in ids:
        send_device_command.enqueue(command_id, job_id=f"command-{command_id}-{int(time.time())}")
    return len(ids)
