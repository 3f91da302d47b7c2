"""Storing device messages: exactly once per (device, message id), committed
before anyone is told "accepted"."""

import json
import logging
import math
import os
import threading
from datetime import datetime, timezone

from sqlalchemy import bindparam, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.common.clock import utcnow
from api.common.fields import storable
from api.common.types import UTCDateTime
from api.devices.models import Device
from api.extensions import db
from api.ingest.models import (
    EVENT_KINDS,
    TELEMETRY_METRICS,
    DeviceEvent,
    Integration,
    RejectedMessage,
    UnregisteredDevice,
)

MAX_BATCH = 1000
MAX_FUTURE_SECONDS = 600  # device clocks drift; further ahead than this is a broken clock


class Malformed(ValueError):
    """A message that cannot be understood; the reason goes back to the sender."""


def storable_text(text):
    """`text` with NUL and unpaired surrogates written as escapes, for excerpts and reasons."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def parse_time(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # epoch ms or s
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # a broken clock (or NaN): this event only
            raise Malformed(f"at: {str(value)[:40]} is not a usable epoch time") from None
    if not isinstance(value, str):
        raise Malformed("at: expected ISO 8601 time or epoch")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"at: not an ISO 8601 time: {value[:40]!r}") from None
    if dt.tzinfo is None:
        raise Malformed("at: the time needs a zone offset (e.g. +08:00 or Z)")
    return dt.astimezone(timezone.utc)


def normalise(raw, now):
    """Check one message in the product's shape; return the clean dict or raise Malformed."""
    if not isinstance(raw, dict):
        raise Malformed("each event must be a JSON object")
    device = raw.get("device")
    if not isinstance(device, str) or not device.strip() or len(device) > 128 or not storable(device):
        raise Malformed("device: expected the device's serial or IMEI")
    msg_id = raw.get("id")
    if isinstance(msg_id, int) and not isinstance(msg_id, bool):
        msg_id = str(msg_id)
    if not isinstance(msg_id, str) or not msg_id.strip() or len(msg_id) > 128 or not storable(msg_id):
        raise Malformed("id: expected the message id (1-128 characters)")
    kind = raw.get("type")
    if kind not in EVENT_KINDS:
        raise Malformed(f"type: unknown event kind {str(kind)[:40]!r}")
    at = parse_time(raw.get("at"))
    if (at - now).total_seconds() > MAX_FUTURE_SECONDS:
        raise Malformed("at: more than 10 minutes in the future")
    values = raw.get("values") or {}
    if not isinstance(values, dict):
        raise Malformed("values: expected an object")
    clean = {}
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN/Infinity (Python's parser lets them through; the database refuses them)
            raise Malformed(f"values.{key}: expected a finite number")
        if key in TELEMETRY_METRICS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Malformed(f"values.{key}: expected a number")
            clean[key] = value
        elif isinstance(value, (str, int, float, bool)) or value is None:
            clean[key] = value
        else:
            raise Malformed(f"values.{key}: expected a number, text or true/false")
    if kind == "telemetry" and not any(k in TELEMETRY_METRICS for k in clean):
        raise Malformed(f"values: a telemetry event needs one of {', '.join(TELEMETRY_METRICS)}")
    return {"device": device.strip(), "id": msg_id.strip(), "kind": kind, "at": at, "values": clean}


def record_rejection(integration_id, reason, excerpt):
    db.session.add(RejectedMessage(integration_id=integration_id, reason=storable_text(reason)[:300],
                                   excerpt=storable_text(excerpt or "")[:1000]))
    if integration_id:
        db.session.execute(update(Integration).where(Integration.id == integration_id)
                           .values(rejected_count=Integration.rejected_count + 1))


def _insert_ignore(dialect):
    return pg_insert if dialect == "postgresql" else sqlite_insert


# One message on PostgreSQL, in one round trip and its own commit (autocommit): the
# INSERT finds the device itself. Nothing inserted (a duplicate, or no such device):
# the general way follows.
_ONE_PG = """INSERT INTO device_events (device_id, integration_id, message_id, kind, occurred_at, received_at, "values")
SELECT d.id, %(i)s, %(m)s, %(k)s, %(o)s, %(r)s, %(v)s::json FROM devices d
WHERE d.serial = %(ref)s OR d.imei = %(ref)s ORDER BY d.serial = %(ref)s DESC LIMIT 1
ON CONFLICT (device_id, message_id) DO NOTHING RETURNING id"""
# The counters, in a statement (and commit) of their own, only if no one holds the row.
# Not in the INSERT's statement: there the foreign-key check locks the integration row
# (KEY SHARE) after the UPDATE did, and a flusher waiting for the row in between made
# PostgreSQL report a deadlock (seen in the bench at 32 senders).
_COUNT_ONE_PG = """UPDATE integrations SET last_message_at = greatest(coalesce(last_message_at, %(at)s), %(at)s),
  accepted_count = accepted_count + %(a)s::bigint, duplicate_count = duplicate_count + %(d)s::bigint,
  unregistered_count = unregistered_count + %(u)s::bigint
WHERE id = (SELECT id FROM integrations WHERE id = %(i)s FOR NO KEY UPDATE SKIP LOCKED)"""


def _naive_utc(dt):
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def _store_one_pg(integration_id, clean, now, count_now=True):
    """Store one clean message, committed; its event id, or None if nothing was inserted.

    On a connection of the one-message pool (`_one_pool`: autocommit, not pinged at
    checkout) straight through psycopg: no BEGIN, no COMMIT and no ping round trip,
    and psycopg prepares the statement on the server after a few uses. A connection
    found dead (PostgreSQL restarted, the connection terminated) is dropped with the
    rest of the pool and the INSERT tried once more on a new one: ON CONFLICT DO
    NOTHING makes that safe even if the first try was committed (then nothing is
    inserted and the general way answers "duplicate"). The counts: with `count_now`
    (this process has no other device request in hand) written at once, with any that
    wait, if the row is free; otherwise they wait in `counters` for the next request
    that writes them or for its flusher a second later."""
    import psycopg

    params = {"ref": clean["device"], "i": integration_id, "m": clean["id"], "k": clean["kind"],
              "o": _naive_utc(clean["at"]), "r": _naive_utc(now), "v": json.dumps(clean["values"], ensure_ascii=False)}
    engine = _one_pool()
    for attempt in (1, 2):
        raw = engine.raw_connection()
        broken = True  # until the statements are through: whatever broke, the connection is not handed out again
        try:
            with raw.driver_connection.cursor() as cur:
                try:
                    cur.execute(_ONE_PG, params)
                except psycopg.OperationalError:
                    if attempt == 2 or not raw.driver_connection.closed:
                        raise  # not a dead connection (or dead twice): the request fails, the device retries
                    engine.dispose()  # the others are likely dead too (a restart): new ones from here
                    continue
                row = cur.fetchone()
                broken = False
                if row is None:
                    return None
                # Stored and committed: from here on a failure costs counts at most, never the answer.
                if count_now:
                    broken = not _count_one(cur, integration_id, now)
                else:
                    counters.give_back((integration_id, (1, 0, 0, now)))
                return row[0]
        finally:
            if broken:
                raw.invalidate()
            raw.close()
    return None  # not reached: the second attempt returns or raises


def _one_pool():
    """This process's pool for the one-message INSERT: the app's database, autocommit
    (each statement its own commit), no ping at checkout (a dead connection is found by
    the statement itself, see `_store_one_pg`), as many connections as the web threads
    that may use it at once (ONE_MESSAGE_POOL_SIZE), beside the app's own pool. A
    forked child makes its own."""
    from flask import current_app
    from sqlalchemy import create_engine

    pid, engine = current_app.extensions.get("fa_one_message_pool", (None, None))
    if pid != os.getpid():
        with _ONE_POOL_LOCK:  # the web threads' first requests at once: one pool, not one each
            pid, engine = current_app.extensions.get("fa_one_message_pool", (None, None))
            if pid != os.getpid():
                size = current_app.config["ONE_MESSAGE_POOL_SIZE"]
                engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False,
                                       pool_size=size, max_overflow=size, pool_timeout=10)
                current_app.extensions["fa_one_message_pool"] = (os.getpid(), engine)
    return engine


_ONE_POOL_LOCK = threading.Lock()


def _count_one(cur, integration_id, now):
    """Write this message's count and any waiting ones if the row is free, else leave
    them waiting. False if the statement failed (the counts wait; the caller drops the
    connection)."""
    a, d, u, at = 1, 0, 0, now
    pending = counters.take(integration_id)
    if pending:
        a, d, u, at = a + pending[0], pending[1], pending[2], max(at, pending[3])
    try:
        cur.execute(_COUNT_ONE_PG, {"i": integration_id, "a": a, "d": d, "u": u, "at": _naive_utc(at)})
        written = cur.rowcount == 1
    except Exception:
        logging.getLogger("ingest").warning("could not write the integration counters; kept for later", exc_info=True)
        written, ok = False, False
    else:
        ok = True
    if not written:
        counters.give_back((integration_id, (a, d, u, at)))
    return ok


_DEVICES_PG = text("SELECT id, serial, imei FROM devices WHERE serial = ANY(:refs) OR imei = ANY(:refs)")
# The batch as one JSON parameter: a short statement psycopg parses once, whatever the
# batch size (a 1,000-row VALUES list with 7,000 placeholders cost more to parse than to
# insert, and text arrays cost psycopg a regex per element).
_INSERT_MANY_PG = text(
    'INSERT INTO device_events (device_id, integration_id, message_id, kind, occurred_at, received_at, "values") '
    "SELECT t.d, :integration_id, t.m, t.k, t.o, :received_at, t.v FROM json_to_recordset(CAST(:batch AS json)) "
    "AS t(d integer, m text, k text, o timestamp, v json) "
    "ON CONFLICT (device_id, message_id) DO NOTHING RETURNING id, device_id, message_id"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


def _insert_many_pg(integration_id, now, rows):
    """{(device id, message id): event id} of the rows inserted (a conflict inserts nothing)."""
    batch = json.dumps([{"d": r["device_id"], "m": r["message_id"], "k": r["kind"],
                         "o": r["occurred_at"].astimezone(timezone.utc).replace(tzinfo=None).isoformat(),
                         "v": r["values"]} for r in rows], ensure_ascii=False)
    return {(device_id, message_id): event_id for event_id, device_id, message_id in
            db.session.execute(_INSERT_MANY_PG, {"integration_id": integration_id, "received_at": now,
                                                 "batch": batch}).all()}


def _device_ids(refs):
    """{serial or IMEI: device id} for the references that name a registered device.
    Read fresh in the storing transaction (no cache): a serial or IMEI that moved to
    another device is never stored under the old one."""
    found = {}
    if refs:
        d = Device.__table__.c
        if db.engine.dialect.name == "postgresql":  # one array parameter, not two lists of 1,000
            found_rows = db.session.execute(_DEVICES_PG, {"refs": list(refs)}).all()
        else:
            found_rows = db.session.execute(select(d.id, d.serial, d.imei).where(or_(d.serial.in_(refs),
                                                                                     d.imei.in_(refs))))
        for device_id, serial, imei in found_rows:
            found[serial] = device_id
            if imei:
                found[imei] = device_id
    return found


def store(integration, raw_events, excerpt_of=None, busy=False):
    """Store a batch. Returns one result per message, in order:
    {"index", "id", "status": accepted|duplicate|unregistered|rejected, "reason"?, "event_id"?}.
    Commits before returning.

    A few statements whatever the batch size, and one commit: a message is stored
    exactly once (ON CONFLICT DO NOTHING on (device, message id)) and committed before
    the answer says so. On PostgreSQL a request of one message is one statement in its
    own commit that finds the device and counts it too (`_store_one_pg`); a batch is the
    devices it names (one array parameter) and one INSERT from a JSON parameter
    (json_to_recordset). Then the integration's counters (`Counters`, never waiting for
    the row) and the commit."""
    now = utcnow()
    results, good = [], []
    for index, raw in enumerate(raw_events):
        try:
            clean = normalise(raw, now)
        except Malformed as exc:
            results.append({"index": index, "id": _safe_id(raw), "status": "rejected", "reason": str(exc)})
            record_rejection(integration.id, str(exc), (excerpt_of or _excerpt)(raw))
            continue
        results.append({"index": index, "id": clean["id"], "status": None})
        good.append((index, clean))

    if len(raw_events) == 1 and good and db.engine.dialect.name == "postgresql":
        # One message (most device requests): stored in one statement, its own commit.
        index, clean = good[0]
        event_id = _store_one_pg(integration.id, clean, now, count_now=not busy)
        if event_id is not None:
            results[index].update(status="accepted", event_id=event_id)
            return results
        # A miss (a duplicate, or no such device) takes the general way below.
    devices = _device_ids({clean["device"] for _, clean in good})
    rows, seen = [], set()
    for index, clean in good:
        device_id = devices.get(clean["device"])
        if device_id is None:
            _inbox(integration, clean, now)
            results[index]["status"] = "unregistered"
            continue
        key = (device_id, clean["id"])
        if key in seen:
            results[index]["status"] = "duplicate"
            continue
        seen.add(key)
        rows.append((index, {"device_id": device_id, "integration_id": integration.id, "message_id": clean["id"],
                             "kind": clean["kind"], "occurred_at": clean["at"], "received_at": now,
                             "values": clean["values"]}))
    if rows:
        # RETURNING gives only the rows inserted: the others are duplicates.
        if db.engine.dialect.name == "postgresql":
            inserted = _insert_many_pg(integration.id, now, [r for _, r in rows])
        else:
            e = DeviceEvent.__table__.c
            stmt = sqlite_insert(DeviceEvent.__table__).on_conflict_do_nothing(
                index_elements=["device_id", "message_id"]).returning(e.id, e.device_id, e.message_id)
            inserted = {(r.device_id, r.message_id): r.id for r in db.session.execute(stmt, [r for _, r in rows])}
        for index, row in rows:
            event_id = inserted.get((row["device_id"], row["message_id"]))
            if event_id is None:
                results[index]["status"] = "duplicate"
            else:
                results[index].update(status="accepted", event_id=event_id)
    counts = {s: 0 for s in ("accepted", "duplicate", "unregistered")}
    for r in results:
        if r["status"] in counts:
            counts[r["status"]] += 1
    taken = counters.add(integration.id, now, counts)
    try:
        db.session.commit()
    except BaseException:
        counters.give_back(taken)
        raise
    return results


_i = Integration.__table__.c
_COUNT = update(Integration.__table__).where(_i.id == bindparam("c_id")).values(
    last_message_at=bindparam("c_at", type_=UTCDateTime()), accepted_count=_i.accepted_count + bindparam("c_a"),
    duplicate_count=_i.duplicate_count + bindparam("c_d"), unregistered_count=_i.unregistered_count + bindparam("c_u"))
# The flusher, late: never moves last_message_at back (SQLite has MAX(a, b)).
_COUNT_LATEST = update(Integration.__table__).where(_i.id == bindparam("c_id")).values(
    last_message_at=func.coalesce(case((_i.last_message_at > bindparam("c_at", type_=UTCDateTime()), _i.last_message_at),
                                       else_=bindparam("c_at", type_=UTCDateTime()))),
    accepted_count=_i.accepted_count + bindparam("c_a"), duplicate_count=_i.duplicate_count + bindparam("c_d"),
    unregistered_count=_i.unregistered_count + bindparam("c_u"))
# PostgreSQL: only if no other counter update holds the row (FOR NO KEY UPDATE SKIP LOCKED: the
# KEY SHARE locks of other requests' foreign-key checks do not count), never waiting.
_COUNT_IF_FREE = update(Integration.__table__).where(
    _i.id == select(_i.id).where(_i.id == bindparam("c_id"))
    .with_for_update(skip_locked=True, key_share=True).scalar_subquery()
).values(last_message_at=func.greatest(func.coalesce(_i.last_message_at, bindparam("c_at", type_=UTCDateTime())), bindparam("c_at", type_=UTCDateTime())),
         accepted_count=_i.accepted_count + bindparam("c_a"), duplicate_count=_i.duplicate_count + bindparam("c_d"),
         unregistered_count=_i.unregistered_count + bindparam("c_u"))


class Counters:
    """The integration's health counters without a hot row.

    Every message used to UPDATE the one integrations row in its storing transaction:
    32 concurrent senders then queue on that row's lock, each for as long as the one
    before it takes to commit. Now a request updates the row only when nobody else
    holds it (FOR NO KEY UPDATE SKIP LOCKED); otherwise its counts wait in this process and
    ride along with the next request that gets the row, or are written by a flusher
    thread a second later. Alone (and so in the tests) a request's counts are in the
    row when it answers, as before. On SQLite, which has one writer anyway, always at
    once. A process killed in between loses at most a second of counts (not messages)."""

    FLUSH_AFTER = 1.0

    def __init__(self):
        self.lock = threading.Lock()
        self.pending = {}  # integration id -> [accepted, duplicate, unregistered, last_message_at]
        self.flusher = None

    def take(self, integration_id):
        """The counts waiting for this integration, now the caller's to write or give back."""
        with self.lock:
            return self.pending.pop(integration_id, None)

    def give_back(self, taken):
        if not taken:
            return
        integration_id, (a, d, u, at) = taken
        with self.lock:
            row = self.pending.setdefault(integration_id, [0, 0, 0, at])
            row[0] += a
            row[1] += d
            row[2] += u
            row[3] = max(row[3], at)
        self._start_flusher()

    def add(self, integration_id, now, counts):
        """Add this request's counts in the current transaction if the row is free.
        Returns what it took from the pending counts (to give back on rollback)."""
        pending = self.take(integration_id)
        a, d, u = counts["accepted"], counts["duplicate"], counts["unregistered"]
        at = now
        if pending:
            a, d, u, at = a + pending[0], d + pending[1], u + pending[2], max(now, pending[3])
        taken = (integration_id, (a, d, u, at))
        params = {"c_id": integration_id, "c_a": a, "c_d": d, "c_u": u, "c_at": at}
        if db.engine.dialect.name == "postgresql":
            if db.session.execute(_COUNT_IF_FREE, params).rowcount == 0:
                self.give_back(taken)
                return None
        else:
            db.session.execute(_COUNT, params)
        return taken

    def _start_flusher(self):
        from flask import current_app

        with self.lock:
            if self.flusher is not None:
                return
            self.flusher = threading.Thread(target=self._flush_later, args=(current_app._get_current_object(),),
                                            name="ingest-counters", daemon=True)
            self.flusher.start()

    def _flush_later(self, app):
        import time

        try:
            while True:
                time.sleep(self.FLUSH_AFTER)
                self.flush(app)
                with self.lock:
                    if not self.pending:
                        return
        finally:
            with self.lock:
                self.flusher = None

    def flush(self, app):
        """Write whatever counts are waiting (waiting for the row if need be)."""
        import logging

        with self.lock:
            pending, self.pending = self.pending, {}
        if not pending:
            return
        with app.app_context():
            try:
                for integration_id, (a, d, u, at) in pending.items():
                    db.session.execute(_COUNT_LATEST, {"c_id": integration_id, "c_a": a, "c_d": d, "c_u": u,
                                                       "c_at": at})
                db.session.commit()
            except Exception:
                db.session.rollback()
                logging.getLogger("ingest").exception("could not write the integration counters; kept for later")
                with self.lock:
                    for integration_id, (a, d, u, at) in pending.items():
                        row = self.pending.setdefault(integration_id, [0, 0, 0, at])
                        row[0], row[1], row[2], row[3] = row[0] + a, row[1] + d, row[2] + u, max(row[3], at)
            finally:
                db.session.remove()


counters = Counters()


def _inbox(integration, clean, now):
    message = {"id": clean["id"], "type": clean["kind"], "at": clean["at"].isoformat(), "values": clean["values"]}
    row = UnregisteredDevice.query.filter_by(integration_id=integration.id, device_ref=clean["device"]).one_or_none()
    if row is None:
        stmt = _insert_ignore(db.engine.dialect.name)(UnregisteredDevice).values(
            integration_id=integration.id, device_ref=clean["device"], first_seen_at=now, last_seen_at=now,
            message_count=1, last_message=message,
        ).on_conflict_do_nothing(index_elements=["integration_id", "device_ref"])
        if db.session.execute(stmt).rowcount:
            return
        row = UnregisteredDevice.query.filter_by(integration_id=integration.id, device_ref=clean["device"]).one()
    row.message_count += 1
    row.last_seen_at, row.last_message = now, message


def _safe_id(raw):
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _excerpt(raw):
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)[:1000]
    except (TypeError, ValueError):
        return repr(raw)[:1000]


