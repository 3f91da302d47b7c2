"""A small world for the ingest tests, and vendors' signatures computed here
from their documentation (not with the code under test)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from api.extensions import db
from tests import factories as f


@pytest.fixture
def world(app):
    """One city with a smoke detector in a household, an operator of that city,
    an operator of another city, an admin, and one integration of each kind."""
    with app.app_context():
        t = f.city_tree("I")
        other = f.city_tree("J")
        detector = t["household_device"]
        detector.imei = "869012345678901"
        operator = f.user("operator", place=t["city"])
        other_operator = f.user("operator", place=other["city"])
        admin = f.user("admin")
        integrations = {kind: f.integration(kind) for kind in ("generic", "onenet", "ctwing")}
        db.session.commit()
        return SimpleNamespace(
            tree={k: v.id for k, v in t.items()},
            detector=SimpleNamespace(id=detector.id, serial=detector.serial, imei=detector.imei),
            operator=f.bearer(operator), other_operator=f.bearer(other_operator), admin=f.bearer(admin),
            **{kind: SimpleNamespace(id=i.id, key_id=i.key_id, secret=i.secret) for kind, i in integrations.items()},
        )


# --- time ---------------------------------------------------------------------

def now_iso(offset_s=0):
    return datetime.fromtimestamp(time.time() + offset_s, tz=UTC).isoformat()


def now_ms(offset_s=0):
    return int((time.time() + offset_s) * 1000)


# --- generic webhook ------------------------------------------------------------

def event(device, msg_id, kind="smoke_alarm", at=None, values=None):
    out = {"device": device, "id": msg_id, "type": kind, "at": at or now_iso()}
    if values is not None:
        out["values"] = values
    return out


def webhook_headers(integration, body, timestamp=None, secret=None):
    """X-Signature = hex HMAC-SHA256(secret, "<timestamp>." + raw body)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new((secret or integration.secret).encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"X-Integration-Key": integration.key_id, "X-Timestamp": str(timestamp), "X-Signature": mac.hexdigest(),
            "Content-Type": "application/json"}


def post_events(client, integration, events=None, body=None, **sign):
    if body is None:
        body = json.dumps({"events": events}).encode()
    elif isinstance(body, str):
        body = body.encode()
    return client.post("/api/v1/ingest/events", data=body, headers=webhook_headers(integration, body, **sign))


# --- OneNET ---------------------------------------------------------------------

def onenet_signature(token, nonce, msg):
    """OneNET: Base64(MD5(token + nonce + msg))."""
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode("utf-8")).digest()).decode()


def onenet_body(token, msg_text, nonce="abcdefgh", field="msg_signature", sign_text=None, msg_raw=None):
    """A push body with `msg_text` (the JSON text of msg) placed verbatim, signed
    over `sign_text` (default: exactly msg_text)."""
    sig = onenet_signature(token, nonce, msg_text if sign_text is None else sign_text)
    raw = msg_text if msg_raw is None else msg_raw
    return f'{{"msg": {raw}, "nonce": {json.dumps(nonce)}, "{field}": {json.dumps(sig)}}}'


# --- CTWing ---------------------------------------------------------------------

def ctwing_url(integration, secret=None):
    return f"/api/v1/ingest/ctwing/{integration.key_id}/{secret or integration.secret}"


# --- reading back ---------------------------------------------------------------

def rows(app, model, **filters):
    with app.app_context():
        out = model.query.filter_by(**filters).order_by(model.id).all()
        for r in out:
            db.session.expunge(r)
        db.session.remove()
        return out
