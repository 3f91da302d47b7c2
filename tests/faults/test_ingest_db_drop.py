"""The database connections dropped while device messages are being posted.

Another connection runs pg_terminate_backend on every other connection of this test
run's database, again and again, while batches are posted to the signed webhook (and
stored, and processed inline). A batch is answered with an error (the sender retries)
or with a success; never with a success for a message that is not stored. The
retries store each message once (the rest are answered duplicate); every alarm among
them is processed once (the alert counts each alarm message once) once the sweep has
run.
"""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.common.clock import set_clock
from api.extensions import db
from api.ingest.processing import CLAIM_TIMEOUT
from tests import factories as f
from tests.ingest.conftest import webhook_headers

URL = "/api/v1/ingest/events"
BATCHES, PER_BATCH = 24, 40


def killer(url, stop, killed):
    with psycopg.connect(url, autocommit=True) as conn:
        n = 0
        while not stop.is_set():
            killed[0] += conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
            n += 1
            time.sleep(0.02 + (n % 5) * 0.02)


def post(client, integration, events):
    body = json.dumps({"events": events}).encode()
    try:
        resp = client.post(URL, data=body, headers=webhook_headers(integration, body))
    except Exception as exc:  # testing propagates the app's exceptions: a broken connection mid-request
        return None, repr(exc)
    return resp.status_code, resp.get_json()


def test_dropped_connections_never_lose_an_acknowledged_message(app, client, backend):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's; SQLite has no connections to drop")
    from api.alerts.models import Alert
    from api.ingest.models import DeviceEvent
    from api.ingest.processing import process_pending

    with app.app_context():
        tree = f.city_tree("DROP")
        # The alarms' detector; heartbeats from another building's (its site has no incident open)
        other = f.place("site", tree["grid"], address="DROP road 2")
        devices = [tree["household_device"]] + [f.device(other) for _ in range(7)]
        integration = f.integration()
        db.session.commit()
        serials = [d.serial for d in devices]
        integration = type("I", (), {"key_id": integration.key_id, "secret": integration.secret})
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        db.session.remove()

    def batch(b):  # heartbeats, and one smoke alarm per batch from the first detector
        return [{"device": serials[0] if i == b % PER_BATCH else serials[1 + i % 7], "id": f"b{b}-{i}",
                 "at": "2026-12-01T03:00:00+08:00", "type": "smoke_alarm" if i == b % PER_BATCH else "heartbeat"}
                for i in range(PER_BATCH)]

    stop, killed = threading.Event(), [0]
    thread = threading.Thread(target=killer, args=(url, stop, killed), daemon=True)
    thread.start()
    answered, failed = {}, []
    try:
        for b in range(BATCHES):
            status, body = post(client, integration, batch(b))
            if status == 200:
                answered[b] = body
            else:
                failed.append(b)
    finally:
        stop.set()
        thread.join(10)
    assert killed[0] > 0 and failed, "no connection was dropped under a request: the fault did not happen"
    assert answered, "no batch got through at all"

    # Every message a success answered for is stored, whatever happened after the answer.
    with app.app_context():
        stored = {m for (m,) in db.session.query(DeviceEvent.message_id)}
        db.session.remove()
    acknowledged = {r["id"] for body in answered.values() for r in body["results"]
                    if r["status"] in ("accepted", "duplicate")}
    assert acknowledged <= stored
    assert all(r["status"] in ("accepted", "duplicate") for body in answered.values() for r in body["results"])

    # The sender retries what was answered with an error: stored once, the rest duplicates.
    for b in failed:
        status, body = post(client, integration, batch(b))
        assert status == 200, body
        assert {r["status"] for r in body["results"]} <= {"accepted", "duplicate"}
    with app.app_context():
        rows = [(e.device_id, e.message_id) for e in DeviceEvent.query]
        assert len(rows) == len(set(rows)) == BATCHES * PER_BATCH
        # What a dropped connection left unprocessed (or half-tried: those wait CLAIM_TIMEOUT
        # before another try), the sweep processes; each alarm once.
        set_clock(app, lambda: datetime.now(UTC) + CLAIM_TIMEOUT + timedelta(seconds=1))
        try:
            while process_pending(older_than=timedelta(0)):
                pass
        finally:
            set_clock(app, None)
        assert DeviceEvent.query.filter(DeviceEvent.processed_at.is_(None)).count() == 0
        alerts = Alert.query.filter_by(condition="smoke").all()
        assert sum(a.count for a in alerts) == BATCHES  # one alarm message per batch, each counted once
        db.session.remove()
