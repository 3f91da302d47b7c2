"""Vendors' message shapes → the product's event shape.

Every adapter yields dicts {device, id, at, type, values} for `store.store`.
How a vendor's fields become event kinds is the integration's `mapping`,
stored as data so an admin can add a vendor's detector without code:

    {"kinds":  {"<vendor type or value>": "<event kind>"},
     "values": {"<vendor value key>": "<metric>"},
     "fields": {"<vendor field>": {"metric": "<metric>", "scale": 0.001}
                                | {"kinds": {"<field value>": "<event kind>"}}}}
"""

import base64
import hashlib
import hmac
import json

from api.ingest.models import EVENT_KINDS, TELEMETRY_METRICS
from api.ingest.store import Malformed

# What a new integration of each kind starts with; admins edit it.
DEFAULT_MAPPINGS = {
    "generic": {},
    "mqtt": {},
    "onenet": {
        "fields": {
            "alarm_status": {"kinds": {"1": "smoke_alarm", "0": "alarm_cleared"}},
            "fault_status": {"kinds": {"1": "fault", "0": "fault_cleared"}},
            "battery": {"metric": "battery_pct"},
        }
    },
    "ctwing": {
        "fields": {
            "Alarm_Status": {"kinds": {"1": "smoke_alarm", "0": "alarm_cleared", "2": "fault", "3": "low_battery",
                                       "4": "tamper", "5": "self_test", "6": "silenced"}},
            "Battery_Level": {"metric": "battery_pct"},
            "RSRP": {"metric": "signal_dbm"},
        }
    },
}


# --- generic webhook and MQTT -------------------------------------------------

def generic_sign(secret, timestamp, body):
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def generic_events(payload, mapping):
    """{"events": [...]} or one event object → list of events, renamed by the mapping."""
    if isinstance(payload, dict) and "events" in payload:
        events = payload["events"]
    elif isinstance(payload, dict) and "device" in payload:
        events = [payload]
    else:
        raise Malformed('expected {"events": [...]} or one event object')
    if not isinstance(events, list):
        raise Malformed("events: expected a list")
    kinds, value_names = mapping.get("kinds") or {}, mapping.get("values") or {}
    if not kinds and not value_names:
        return events
    out = []
    for raw in events:
        if isinstance(raw, dict):
            raw = dict(raw)
            if raw.get("type") in kinds:
                raw["type"] = kinds[raw["type"]]
            if isinstance(raw.get("values"), dict):
                raw["values"] = {value_names.get(k, k): v for k, v in raw["values"].items()}
        out.append(raw)
    return out


# --- China Mobile OneNET HTTP push --------------------------------------------

def onenet_signature(token, nonce, msg):
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode()).digest()).decode()


def top_level_raw_fields(text):
    """The raw JSON text of each top-level field of an object, as sent.
    OneNET signs `msg` as the text it sent; re-serialising would change it."""
    decoder = json.JSONDecoder()
    out, i, n = {}, 0, len(text)

    def skip(j):
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j

    i = skip(i)
    if i >= n or text[i] != "{":
        raise Malformed("expected a JSON object")
    i = skip(i + 1)
    while i < n and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = skip(i)
        if i >= n or text[i] != ":":
            raise Malformed("malformed JSON object")
        start = skip(i + 1)
        _, end = decoder.raw_decode(text, start)
        out[key] = text[start:end]
        i = skip(end)
        if i < n and text[i] == ",":
            i = skip(i + 1)
    return out


def onenet_verify(token, body_text):
    """Check a data push's signature; return its parsed `msg` (a dict or a list of dicts)."""
    try:
        raw_fields = top_level_raw_fields(body_text)
    except ValueError as exc:
        raise Malformed(f"body is not JSON: {exc}") from None
    nonce = json.loads(raw_fields.get("nonce", "null"))
    signature = json.loads(raw_fields.get("msg_signature") or raw_fields.get("signature") or "null")
    if "msg" not in raw_fields or not isinstance(nonce, str) or not isinstance(signature, str):
        raise Malformed("expected msg, nonce and msg_signature")
    msg_value = json.loads(raw_fields["msg"])
    # msg is signed as the text sent: the object's JSON text, or the string's content.
    signed_text = msg_value if isinstance(msg_value, str) else raw_fields["msg"]
    if not hmac.compare_digest(onenet_signature(token, nonce, signed_text).encode(), signature.encode()):
        return None
    if msg_value is None:  # signed, but nothing in it (None means a bad signature to the caller)
        raise Malformed("msg: expected an object")
    if isinstance(msg_value, str):
        try:
            msg_value = json.loads(msg_value)
        except ValueError:
            raise Malformed("msg is not JSON") from None
    return msg_value


def _field_events(fields_in, mapping, device, base_id, at):
    """Vendor fields → events: mapped kinds become events, metrics one telemetry event."""
    fields = mapping.get("fields") or {}
    events, metrics = [], {}
    for name, value in fields_in.items():
        rule = fields.get(name)
        if rule is None:
            if name in TELEMETRY_METRICS and isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics[name] = value
            elif name in ("event", "type") and value in EVENT_KINDS:
                events.append({"device": device, "id": f"{base_id}:{value}", "at": at, "type": value})
            continue
        if "metric" in rule:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Malformed(f"{name}: expected a number")
            metrics[rule["metric"]] = value * rule.get("scale", 1)
        elif "kinds" in rule:
            kind = rule["kinds"].get(str(value))
            if kind is None:
                raise Malformed(f"{name}: no event kind is mapped for value {value!r}")
            events.append({"device": device, "id": f"{base_id}:{kind}", "at": at, "type": kind})
    if metrics:
        events.append({"device": device, "id": f"{base_id}:telemetry", "at": at, "type": "telemetry",
                       "values": metrics})
    return events


def onenet_events(msg, mapping):
    messages = msg if isinstance(msg, list) else [msg]
    out = []
    for m in messages:
        if not isinstance(m, dict):
            raise Malformed("msg: expected an object")
        device = str(m.get("imei") or m.get("dev_id") or "")
        if not device:
            raise Malformed("msg: no dev_id")
        at = m.get("at")
        if m.get("type") == 1:
            ds_id = m.get("ds_id")
            if not isinstance(ds_id, str):
                raise Malformed("msg: a data point needs ds_id")
            events = _field_events({ds_id: m.get("value")}, mapping, device, f"{ds_id}:{at}", at)
            if not events:
                raise Malformed(f"ds_id {ds_id!r} is not mapped to an event kind or metric")
            out.extend(events)
        elif m.get("type") == 2:
            kind = "online" if m.get("status") == 1 else "offline"
            out.append({"device": device, "id": f"status:{at}:{m.get('status')}", "at": at, "type": kind})
        else:
            raise Malformed(f"msg.type {m.get('type')!r}: expected 1 (data point) or 2 (online/offline)")
    return out


# --- China Telecom CTWing (AEP) subscription push -----------------------------

def ctwing_events(body, mapping):
    if not isinstance(body, dict):
        raise Malformed("expected a JSON object")
    kind = body.get("messageType")
    device = str(body.get("IMEI") or body.get("imei") or body.get("deviceId") or "")
    at = body.get("timestamp")
    if not device:
        raise Malformed("no IMEI or deviceId")
    if not isinstance(at, (int, float)):
        raise Malformed("timestamp: expected epoch milliseconds")
    base = f"{kind}:{at}"
    if kind == "deviceOnlineOfflineReport":
        return [{"device": device, "id": f"{base}:{body.get('eventType')}", "at": at,
                 "type": "online" if body.get("eventType") == 1 else "offline"}]
    if kind in ("dataReport", "eventReport"):
        payload = body.get("payload")
        service = payload.get("serviceData") if isinstance(payload, dict) else None
        if service is None and kind == "eventReport":
            service = body.get("eventContent")  # CTWing's documented eventReport carries its fields here
        if not isinstance(service, dict):
            raise Malformed("payload.serviceData (eventReport: eventContent): expected an object")
        base = f"{base}:{body.get('serviceId', '')}"
        events = _field_events(service, mapping, device, base, at)
        event_kind = (mapping.get("kinds") or {}).get(str(body.get("eventType")))
        if kind == "eventReport" and event_kind:
            events.append({"device": device, "id": f"{base}:{event_kind}", "at": at, "type": event_kind})
        return events or [{"device": device, "id": f"{base}:heartbeat", "at": at, "type": "heartbeat"}]
    if kind == "commandResponse":
        return []
    raise Malformed(f"messageType {str(kind)[:40]!r} is not handled")
