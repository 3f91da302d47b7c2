"""Storing device messages: exactly once per (device, message id), committed
before anyone is told "accepted"."""

import math
from datetime import datetime, timezone

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.common.clock import utcnow
from api.common.fields import storable
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


def store(integration, raw_events, excerpt_of=None):
    """Store a batch. Returns one result per message, in order:
    {"index", "id", "status": accepted|duplicate|unregistered|rejected, "reason"?, "event_id"?}.
    Commits before returning."""
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

    refs = {clean["device"] for _, clean in good}
    devices = {}
    if refs:
        for d in Device.query.filter(or_(Device.serial.in_(refs), Device.imei.in_(refs))).all():
            devices[d.serial] = d
            if d.imei:
                devices[d.imei] = d

    rows, seen = [], set()
    for index, clean in good:
        device = devices.get(clean["device"])
        if device is None:
            _inbox(integration, clean, now)
            results[index]["status"] = "unregistered"
            continue
        key = (device.id, clean["id"])
        if key in seen:
            results[index]["status"] = "duplicate"
            continue
        seen.add(key)
        rows.append((index, {"device_id": device.id, "integration_id": integration.id, "message_id": clean["id"],
                             "kind": clean["kind"], "occurred_at": clean["at"], "received_at": now,
                             "values": clean["values"]}))
    if rows:
        stmt = _insert_ignore(db.engine.dialect.name)(DeviceEvent).on_conflict_do_nothing(
            index_elements=["device_id", "message_id"]
        ).returning(DeviceEvent.id, DeviceEvent.device_id, DeviceEvent.message_id)
        inserted = {}
        for start in range(0, len(rows), 200):
            chunk = rows[start:start + 200]
            for row in db.session.execute(stmt.values([r for _, r in chunk])):
                inserted[(row.device_id, row.message_id)] = row.id
        for index, row in rows:
            event_id = inserted.get((row["device_id"], row["message_id"]))
            if event_id is None:
                results[index]["status"] = "duplicate"
            else:
                results[index].update(status="accepted", event_id=event_id)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "duplicate", "unregistered")}
    db.session.execute(update(Integration).where(Integration.id == integration.id).values(
        last_message_at=now,
        accepted_count=Integration.accepted_count + counts["accepted"],
        duplicate_count=Integration.duplicate_count + counts["duplicate"],
        unregistered_count=Integration.unregistered_count + counts["unregistered"],
    ))
    db.session.commit()
    return results


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
    import json

    try:
        return json.dumps(raw, ensure_ascii=False, default=str)[:1000]
    except (TypeError, ValueError):
        return repr(raw)[:1000]


