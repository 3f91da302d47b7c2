"""The throughput paths of ingest give what the one-by-one paths give.

- Routine messages applied together (`processing._apply_routine`) leave devices,
  condition states and events exactly as `process_one`, message by message, does.
- A busy request, a process receiving device requests fast (INGEST_BACKLOG_ABOVE_PER_S)
  or a large batch hands its routine messages to the backlog job on the `ingest`
  queue; the job processes them; alarms are processed before the answer.
- The integration's counters: a request that finds the row locked leaves its counts
  to the next one or to the flusher; none is lost, none counted twice.
"""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.extensions import db
from tests import factories as f
from tests.ingest.conftest import webhook_headers

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
_ids = itertools.count()


def _world(app):
    with app.app_context():
        t = f.city_tree("FP")
        devices = [f.device(t["site"], "smoke_detector"), f.device(t["site"], "electrical_monitor"),
                   f.device(t["household"], "gas_detector"), f.device(t["site"], "electrical_monitor")]
        integration = f.integration()
        db.session.commit()
        out = {"serials": [d.serial for d in devices], "ids": [d.id for d in devices],
               "integration_id": integration.id, "key_id": integration.key_id, "secret": integration.secret}
        db.session.remove()
    return out


def _messages(serials):
    """Heartbeats with battery and signal, readings under every threshold (also a
    reading older than one already applied), in a shuffled order."""
    s, e, g, e2 = serials
    at = lambda sec: (T0 + timedelta(seconds=sec)).isoformat()  # noqa: E731
    out = [
        {"device": s, "type": "heartbeat", "at": at(10), "values": {"battery_pct": 80, "signal_dbm": -90}},
        {"device": e, "type": "telemetry", "at": at(5), "values": {"residual_current_ma": 40, "cable_temp_c": 35}},
        {"device": s, "type": "heartbeat", "at": at(3), "values": {"battery_pct": 99}},  # older: not the last seen
        {"device": g, "type": "telemetry", "at": at(7), "values": {"gas_lel_pct": 3, "battery_pct": 71.6}},
        {"device": e, "type": "telemetry", "at": at(9), "values": {"residual_current_ma": 60}},
        {"device": e2, "type": "online", "at": at(2)},
        {"device": g, "type": "self_test", "at": at(8)},
        {"device": e2, "type": "telemetry", "at": at(4), "values": {"cable_temp_c": 41.5, "voltage_v": 221}},
    ]
    return [dict(m, id=f"fp{next(_ids)}") for m in out]


def _outcome(app, world):
    from api.devices.models import Device
    from api.ingest.models import DeviceEvent
    from api.rules.models import ConditionState

    with app.app_context():
        devices = {i: db.session.get(Device, i) for i in world["ids"]}
        index = {i: n for n, i in enumerate(world["ids"])}
        out = {
            "devices": {index[i]: (d.last_seen_at, d.battery_pct, d.signal_dbm, d.last_integration_id is not None,
                                   d.offline_since) for i, d in devices.items()},
            "states": sorted((index[s.device_id], s.condition, s.active, s.pending_since, s.last_value, s.last_at)
                             for s in ConditionState.query.filter(ConditionState.device_id.in_(world["ids"]))),
            "events": sorted((e.message_id, e.outcome, e.processed_at is not None) for e in DeviceEvent.query),
        }
        db.session.remove()
    return out


def _store_and_process(app, world, messages, monkeypatch=None):
    from api.ingest import processing
    from api.ingest.models import Integration
    from api.ingest.store import store

    with app.app_context():
        results = store(db.session.get(Integration, world["integration_id"]), messages)
        ids = [r["event_id"] for r in results if r["status"] == "accepted"]
        assert len(ids) == len(messages)
        if monkeypatch is not None:  # everything through process_one, message by message
            monkeypatch.setattr(processing, "_apply_routine", lambda ids: (0, list(ids)))
        done = processing.process_events(ids)
        db.session.remove()
    return done


def test_routine_messages_together_are_what_process_one_makes_of_them(app, monkeypatch):
    world = _world(app)
    messages = _messages(world["serials"])
    from api.ingest import processing

    calls = []
    real = processing._process_each
    monkeypatch.setattr(processing, "_process_each", lambda ids, *a: calls.append(list(ids)) or real(ids, *a))
    assert _store_and_process(app, world, messages) == len(messages)
    assert calls == [[]]  # all of them together: none was left to process_one
    together = _outcome(app, world)

    # The same messages (new ids) for the same devices, from scratch, one by one.
    from tests.conftest import _empty_tables

    with app.app_context():
        from api.extensions import redis_client

        _empty_tables(db, redis_client, app)
    old = world["serials"]
    world = _world(app)
    one_by_one_messages = [dict(m, id=m["id"] + "b", device=world["serials"][old.index(m["device"])])
                           for m in messages]
    assert _store_and_process(app, world, one_by_one_messages, monkeypatch) == len(messages)
    one_by_one = _outcome(app, world)

    assert together["devices"] == one_by_one["devices"]
    assert together["states"] == one_by_one["states"]
    assert sorted(e[1:] for e in together["events"]) == sorted(e[1:] for e in one_by_one["events"])
    assert all(outcome == "no rule applies" for _, outcome, _ in together["events"])


def _post(client, world, events):
    integration = type("I", (), {"key_id": world["key_id"], "secret": world["secret"]})
    body = json.dumps({"events": events}).encode()
    return client.post("/api/v1/ingest/events", data=body, headers=webhook_headers(integration, body))


def test_a_large_batch_answers_before_its_routine_messages_are_processed(app, client):
    from api.alerts.models import Alert
    from api.ingest.models import DeviceEvent
    from tests.notify.helpers import run_worker

    world = _world(app)
    now = datetime.now(UTC)
    smoke, electrical = world["serials"][0], world["serials"][1]
    events = [{"device": electrical, "id": f"big{n}", "type": "heartbeat",
               "at": (now - timedelta(seconds=100 - n)).isoformat()} for n in range(60)]
    events.append({"device": smoke, "id": "big-alarm", "type": "smoke_alarm", "at": now.isoformat()})
    resp = _post(client, world, events)
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 61
    with app.app_context():
        unprocessed = {e.message_id for e in DeviceEvent.query.filter(DeviceEvent.processed_at.is_(None))}
        assert unprocessed == {f"big{n}" for n in range(60)}  # the alarm was processed before the answer
        assert Alert.query.filter_by(condition="smoke").count() == 1
        db.session.remove()
    run_worker(app, "ingest")  # the backlog job the request queued
    with app.app_context():
        assert DeviceEvent.query.filter(DeviceEvent.processed_at.is_(None)).count() == 0
        db.session.remove()


@pytest.mark.parametrize("locked", [False, True])
def test_counts_are_never_lost_when_the_integration_row_is_busy(app, client, backend, locked):
    if locked and backend != "postgresql":
        pytest.skip("SQLite has one writer: the row is never held by another transaction there")
    from sqlalchemy import text

    from api.ingest.models import Integration
    from api.ingest.store import counters

    world = _world(app)
    holder = None
    if locked:  # another transaction holds the integration row (as a concurrent request would)
        with app.app_context():
            holder = db.engine.connect()
        holder.execute(text("SELECT id FROM integrations WHERE id = :i FOR NO KEY UPDATE"), {"i": world["integration_id"]})
    try:
        serial = world["serials"][0]
        for n in range(3):
            assert _post(client, world, [{"device": serial, "id": f"c{n}", "type": "heartbeat",
                                          "at": datetime.now(UTC).isoformat()}]).status_code == 200
        assert _post(client, world, [{"device": serial, "id": "c0", "type": "heartbeat",
                                      "at": datetime.now(UTC).isoformat()},
                                     {"device": "NOBODY", "id": "x", "type": "heartbeat",
                                      "at": datetime.now(UTC).isoformat()}]).status_code == 200
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    if locked:
        counters.flush(app)  # what the flusher thread does a second later
    with app.app_context():
        row = db.session.get(Integration, world["integration_id"])
        assert (row.accepted_count, row.duplicate_count, row.unregistered_count) == (3, 1, 1)
        assert row.last_message_at is not None
        db.session.remove()


def test_a_process_receiving_fast_hands_single_routine_messages_to_the_backlog(app, client, monkeypatch):
    """One message per request, one request at a time, but many a second (a carrier
    platform forwarding its devices): the heartbeats wait for the backlog job, the
    alarm among them is processed before its answer; slow again, a heartbeat is
    applied in its own request."""
    from api.alerts.models import Alert
    from api.ingest import routes
    from api.ingest.models import DeviceEvent
    from tests.notify.helpers import run_worker

    class Arrivals:  # the requests' arrival clock: one every 10 ms, however slow this machine is
        t = 1000.0

        def monotonic(self):
            self.t += 0.01
            return self.t

    arrivals = Arrivals()
    monkeypatch.setattr(routes, "time", arrivals)
    monkeypatch.setattr(routes, "_load", routes._Load())  # this test's own arrival history
    monkeypatch.setitem(app.config, "INGEST_BACKLOG_ABOVE_PER_S", 20)
    world = _world(app)
    smoke, electrical = world["serials"][0], world["serials"][1]
    now = datetime.now(UTC)
    for n in range(30):
        assert _post(client, world, [{"device": electrical, "id": f"fast{n}", "type": "heartbeat",
                                      "at": (now - timedelta(seconds=60 - n)).isoformat()}]).status_code == 200
    assert _post(client, world, [{"device": smoke, "id": "fast-alarm", "type": "smoke_alarm",
                                  "at": now.isoformat()}]).status_code == 200
    with app.app_context():
        unprocessed = {e.message_id for e in DeviceEvent.query.filter(DeviceEvent.processed_at.is_(None))}
        assert "fast-alarm" not in unprocessed and Alert.query.filter_by(condition="smoke").count() == 1
        assert unprocessed == {f"fast{n}" for n in range(1, 30)}  # the first had no arrival before it
        db.session.remove()
    run_worker(app, "ingest")
    with app.app_context():
        assert DeviceEvent.query.filter(DeviceEvent.processed_at.is_(None)).count() == 0
        db.session.remove()

    arrivals.t += 3600  # an hour without a device request
    assert _post(client, world, [{"device": electrical, "id": "slow", "type": "heartbeat",
                                  "at": now.isoformat()}]).status_code == 200
    with app.app_context():
        assert DeviceEvent.query.filter_by(message_id="slow").one().processed_at is not None
        db.session.remove()
