"""The offline sweep over 300,000 devices (Ji'an's NB-IoT target) on PostgreSQL:
exactly the silent ones are marked, and each per-type query is an index range scan."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from api.devices.models import Device, DeviceType
from api.extensions import db
from tests import factories as f
from tests.workers_pipeline.conftest import NOW
from workers import sweeps

DEVICES = 300_000
SWEEP_BUDGET_SECONDS = 15  # measured ≈ 1 s here; a per-device Python loop would take minutes


def _naive(dt):
    return dt.replace(tzinfo=None)  # the columns hold naive UTC


def _text(dt):
    return r"\N" if dt is None else dt.isoformat(sep=" ")


def load_devices(places, heartbeats):
    """COPY 300,000 devices in; returns the serials expected to go offline.

    Every 100th is silent too long (1 %), but one in ten of those (i % 1000 == 500)
    is inactive. Every 1000th (+1) was never heard from. Another 1 % (i % 100 == 50)
    went offline at an earlier sweep: a city always has some, and they are what
    the partial index leaves out. None of those three groups may be (re)marked."""
    codes = sorted(heartbeats)
    silent, now, lines = set(), _naive(NOW), []
    stamp = _text(now)
    raw = db.engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cur, cur.copy(
                "COPY devices (serial, type_code, place_id, place_path, status, last_seen_at, offline_since,"
                " created_at, updated_at) FROM STDIN") as copy:
            for i in range(DEVICES):
                code = codes[i % len(codes)]
                hb = heartbeats[code]
                place_id, place_path = places[i % len(places)]
                serial, status, offline = f"BULK{i:07d}", "active", None
                if i % 1000 == 1:
                    seen = None
                elif i % 1000 == 500:
                    status, seen = "inactive", now - timedelta(seconds=2 * hb + 3600)
                elif i % 100 == 0:
                    seen = now - timedelta(seconds=2 * hb + 1 + i % 86400)
                    silent.add(serial)
                elif i % 100 == 50:
                    seen = now - timedelta(seconds=2 * hb + 86400 + i % 86400)
                    offline = seen + timedelta(seconds=2 * hb + 30)
                else:
                    seen = now - timedelta(seconds=(i * 7919) % (2 * hb))  # at most 2×hb - 1 s ago
                lines.append("\t".join((serial, code, str(place_id), place_path, status, _text(seen), _text(offline),
                                        stamp, stamp)))
                if len(lines) == 10_000:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
        pg.commit()
    finally:
        raw.close()
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE devices"))
    return silent


def statements_of(func, *args):
    """The SQL (and parameters) `func` sends to the database."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        func(*args)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


@pytest.fixture
def bulk(app, backend):
    """PostgreSQL only; the 300,000 rows go with one TRUNCATE, not the suite's row-by-row cleanup."""
    if backend != "postgresql":
        pytest.skip("the 300,000-device sweep and its query plan are PostgreSQL's")
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE devices CASCADE"))  # and what refers to them: alerts, events…
            assert conn.execute(text("SELECT count(*) FROM devices")).scalar() == 0


def test_sweeping_300000_devices_marks_exactly_the_silent_ones_using_the_partial_index(app, bulk, clock):
    with app.app_context():
        trees = [f.city_tree(f"scale{n}") for n in range(3)]
        places = [(p.id, p.path) for t in trees for p in (t["site"], t["household"])]
        Device.query.delete()
        db.session.commit()
        heartbeats = {c: hb for c, hb in db.session.query(DeviceType.code, DeviceType.heartbeat_seconds)}
        started = time.monotonic()
        expected = load_devices(places, heartbeats)
        loaded = time.monotonic() - started
        assert len(expected) == 2700  # 3,000 silent, less the 300 of them inactive
        assert db.session.query(Device.id).count() == DEVICES

        # Every per-type read is a range scan of the partial index, never a full scan.
        for code, hb in heartbeats.items():
            cutoff = NOW - timedelta(seconds=2 * hb)
            [(sql, params)] = [s for s in statements_of(sweeps.find_silent, code, cutoff) if "FROM devices" in s[0]]
            plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + sql, params))
            assert "ix_devices_online_type_last_seen" in plan, plan
            assert "Seq Scan on devices" not in plan, plan
        db.session.rollback()

        started = time.monotonic()
        marked = sweeps.sweep_offline()
        took = time.monotonic() - started
        assert marked == len(expected)
        assert took < SWEEP_BUDGET_SECONDS, f"sweep took {took:.1f} s"

        offline = dict(db.session.execute(text(
            "SELECT serial, offline_since FROM devices WHERE offline_since IS NOT NULL")).all())
        assert {serial for serial, at in offline.items() if at == _naive(NOW)} == expected
        assert sum(1 for at in offline.values() if at != _naive(NOW)) == DEVICES // 100  # the earlier ones kept theirs
        alerts = db.session.execute(text(
            "SELECT d.serial, a.level, a.active, a.count, a.condition FROM alerts a JOIN devices d ON d.id = a.device_id"
        )).all()
        assert sorted(a[0] for a in alerts) == sorted(expected)
        assert {tuple(a[1:]) for a in alerts} == {(4, True, 1, "offline")}

        # steady state: nothing new, and quickly
        started = time.monotonic()
        assert sweeps.sweep_offline() == 0
        assert time.monotonic() - started < SWEEP_BUDGET_SECONDS
        print(f"loaded {DEVICES} devices in {loaded:.1f} s, swept {marked} in {took:.2f} s")
