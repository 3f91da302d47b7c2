"""MQTT ingest: one subscriber process for every MQTT integration.

Messages use the webhook's shape. They are subscribed with QoS 1 on a
persistent session, and paho acknowledges a message only after `on_message`
returns, which is after the message is committed: a crash before that makes
the broker deliver it again, and the (device, message id) key stores it once.
The broker's own authentication and ACLs guard who may publish to a topic.
"""

import json
import logging
import threading

from flask import current_app

from api.errors import AppError
from api.extensions import db
from api.ingest import adapters
from api.ingest.models import Integration
from api.ingest.store import Malformed, record_rejection

log = logging.getLogger("ingest.mqtt")


def handle_message(topic, payload):
    """Store and process one MQTT message; returns the per-event results (or None)."""
    import paho.mqtt.client as mqtt

    from api.ingest.routes import _store_and_process

    integration = next((i for i in Integration.query.filter_by(kind="mqtt", enabled=True)
                        if mqtt.topic_matches_sub(i.mqtt_topic, topic)), None)
    if integration is None:
        log.warning("message on %s matches no integration", topic)
        return None
    text = payload.decode("utf-8", errors="replace")
    try:
        events = adapters.generic_events(json.loads(text), integration.mapping or {})
        return _store_and_process(integration, events, text[:1000])
    except (Malformed, ValueError) as exc:
        db.session.rollback()
        record_rejection(integration.id, str(exc), text[:1000])
        db.session.commit()
        return None
    except AppError as exc:
        # A refusal (e.g. a batch over 1,000), already recorded: raising would stop
        # the subscriber, and the unacknowledged message would stop it again on restart.
        db.session.rollback()
        log.warning("message on %s refused: %s", topic, exc.code)
        return None
    except Exception:
        db.session.rollback()
        raise


def make_client(app, stop_event=None):
    import paho.mqtt.client as mqtt

    cfg = app.config
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg["MQTT_CLIENT_ID"],
                         clean_session=False, protocol=mqtt.MQTTv311)
    if cfg.get("MQTT_USERNAME"):
        client.username_pw_set(cfg["MQTT_USERNAME"], cfg.get("MQTT_PASSWORD"))

    def on_connect(client, userdata, flags, reason_code, properties):
        with app.app_context():
            topics = sorted({i.mqtt_topic for i in Integration.query.filter_by(kind="mqtt", enabled=True)})
            db.session.remove()
        for t in topics:
            client.subscribe(t, qos=1)
        log.info("MQTT connected (%s); subscribed to %s", reason_code, ", ".join(topics) or "nothing yet")

    def on_message(client, userdata, message):
        with app.app_context():
            try:
                handle_message(message.topic, message.payload)
            finally:
                db.session.remove()

    client.on_connect = on_connect
    client.on_message = on_message
    return client


def run_forever():
    app = current_app._get_current_object()
    client = make_client(app)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    # connect_async + retry: a broker that is down at start (or later) is retried, not fatal.
    client.connect_async(app.config["MQTT_HOST"], app.config["MQTT_PORT"], keepalive=60)
    log.info("MQTT ingest on %s:%s", app.config["MQTT_HOST"], app.config["MQTT_PORT"])
    client.loop_forever(retry_first_connection=True)


def start_in_thread(app):
    """For tests: a real subscriber in a background thread. Returns (client, thread)."""
    client = make_client(app)
    client.connect(app.config["MQTT_HOST"], app.config["MQTT_PORT"], keepalive=30)
    thread = threading.Thread(target=client.loop_forever, daemon=True)
    thread.start()
    return client, thread
