"""One message a request: on PostgreSQL stored in one statement in its own commit
(api/ingest/store.py `_store_one_pg`), on a connection of a pool of its own kept in
autocommit and not pinged (a dead one is found by the statement and replaced). Same
answers and counts as the general way, on both databases."""

import json

import pytest

from api.extensions import db
from api.ingest.models import DeviceEvent, Integration
from tests.ingest.conftest import event, now_iso, post_events, rows


def counts(app, integration_id):
    (row,) = rows(app, Integration, id=integration_id)
    return row.accepted_count, row.duplicate_count, row.unregistered_count, row.last_message_at


def test_one_message_is_stored_counted_and_answered(app, client, world):
    resp = post_events(client, world.generic, body=json.dumps(event(world.detector.serial, "one-1", "heartbeat")))
    assert resp.status_code == 200
    assert resp.get_json()["results"] == [{"index": 0, "id": "one-1", "status": "accepted"}]
    (stored,) = rows(app, DeviceEvent)
    assert (stored.device_id, stored.message_id, stored.kind) == (world.detector.id, "one-1", "heartbeat")
    assert stored.integration_id == world.generic.id
    accepted, duplicate, unregistered, last = counts(app, world.generic.id)
    assert (accepted, duplicate, unregistered) == (1, 0, 0) and last is not None  # alone: counted at once


def test_a_repeat_and_an_unknown_device_take_the_general_way(app, client, world):
    one = event(world.detector.imei, "one-2", "heartbeat", at=now_iso(-30), values={"battery_pct": 77})
    assert post_events(client, world.generic, [one]).get_json()["accepted"] == 1
    again = post_events(client, world.generic, [one]).get_json()
    assert again["results"] == [{"index": 0, "id": "one-2", "status": "duplicate"}]
    nobody = post_events(client, world.generic, [event("NO-SUCH-DEVICE", "one-3", "heartbeat")]).get_json()
    assert nobody["results"][0]["status"] == "unregistered"
    assert counts(app, world.generic.id)[:3] == (1, 1, 1)
    (stored,) = rows(app, DeviceEvent)
    assert stored.values == {"battery_pct": 77}
    assert stored.occurred_at.isoformat()[:19] == one["at"][:19]  # UTC, as the general way stores it


def test_the_apps_pool_keeps_transactions(app, client, world, backend):
    """A connection of the app's pool left in autocommit would make the next user's
    rollback undo nothing: the one-message way uses a pool of its own."""
    if backend != "postgresql":
        pytest.skip("the one-statement way is PostgreSQL's")
    for n in range(3):
        assert post_events(client, world.generic, [event(world.detector.serial, f"tx-{n}", "heartbeat")]
                           ).get_json()["accepted"] == 1
    with app.app_context():
        pool = db.engine.pool
        held = [db.engine.raw_connection() for _ in range(pool.checkedin() + 1)]  # every pooled one, and a new one
        try:
            assert [c.driver_connection.autocommit for c in held] == [False] * len(held)
        finally:
            for c in held:
                c.close()
        db.session.add(DeviceEvent(device_id=world.detector.id, integration_id=world.generic.id, message_id="tx-rb",
                                   kind="heartbeat", occurred_at=db.func.now(), values={}))
        db.session.flush()
        db.session.rollback()
        assert DeviceEvent.query.filter_by(message_id="tx-rb").count() == 0
        db.session.remove()


def test_a_failed_statement_loses_no_waiting_counts(app, client, world, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("the one-statement way is PostgreSQL's")
    from api.ingest import store

    with app.app_context():
        store.counters.give_back((world.generic.id, (5, 1, 0, store.utcnow())))  # another request's, waiting
    monkeypatch.setattr(store, "_ONE_PG", "SELECT 1/0")
    failed = post_events(client, world.generic, [event(world.detector.serial, "fail-1", "heartbeat")])
    assert failed.status_code == 500 and failed.get_json()["code"] == "internal_error"
    monkeypatch.undo()
    assert post_events(client, world.generic, [event(world.detector.serial, "fail-2", "heartbeat")]
                       ).get_json()["accepted"] == 1
    store.counters.flush(app)
    if store.counters.flusher is not None:  # the flusher thread give_back started may be writing them
        store.counters.flusher.join(10)
    assert counts(app, world.generic.id)[:3] == (6, 1, 0)  # the waiting 5 + 1 duplicate, and fail-2
    assert [e.message_id for e in rows(app, DeviceEvent)] == ["fail-2"]


def _one_message_backends(app):
    """PostgreSQL pids of the one-message pool's connections (checked in)."""
    from api.ingest.store import _one_pool

    with app.app_context():
        engine = _one_pool()
        held = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
        try:
            assert all(c.driver_connection.autocommit for c in held)
            return [c.driver_connection.info.backend_pid for c in held]
        finally:
            for c in held:
                c.close()


def test_a_dead_connection_is_replaced_and_the_message_stored(app, client, world, backend):
    """PostgreSQL restarted, or the connections terminated, while the pool held them:
    no ping at checkout, so the INSERT finds out, and tries once more on a new one."""
    if backend != "postgresql":
        pytest.skip("the one-statement way is PostgreSQL's")
    import psycopg

    assert post_events(client, world.generic, [event(world.detector.serial, "dead-0", "heartbeat")]
                       ).get_json()["accepted"] == 1
    pids = _one_message_backends(app)
    assert pids, "the one-message pool kept no connection"
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        for pid in pids:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    resp = post_events(client, world.generic, [event(world.detector.serial, "dead-1", "heartbeat")])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"] == [{"index": 0, "id": "dead-1", "status": "accepted"}]
    assert sorted(e.message_id for e in rows(app, DeviceEvent)) == ["dead-0", "dead-1"]
    assert not set(_one_message_backends(app)) & set(pids)  # the dead ones are gone from the pool


def test_the_database_unreachable_is_a_503_to_retry(app, client, world, backend, monkeypatch):
    """No connection to be had (PostgreSQL restarting): a 503 with Retry-After in the
    JSON error shape, not a 500, and nothing stored or counted."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from api.ingest import store

    def unreachable(*a, **kw):
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))

    if backend == "postgresql":
        monkeypatch.setattr(store, "_one_pool", lambda: type("E", (), {"raw_connection": unreachable})())
    else:
        monkeypatch.setattr(store, "_device_ids", unreachable)
    resp = post_events(client, world.generic, [event(world.detector.serial, "down-1", "heartbeat")])
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json() == {"code": "unavailable", "message": "服务暂时不可用", "errors": {}}
    assert resp.headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert rows(app, DeviceEvent) == []
    assert post_events(client, world.generic, [event(world.detector.serial, "down-1", "heartbeat")]
                       ).get_json()["accepted"] == 1  # the retry
