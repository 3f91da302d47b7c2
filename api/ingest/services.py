"""Integrations: created by admins (API or CLI), authenticated per request."""

import hmac
import secrets
import time

from flask import current_app

from api.common.pagination import page
from api.errors import AppError, NotFound
from api.extensions import db
from api.ingest.adapters import DEFAULT_MAPPINGS
from api.ingest.models import Integration, RejectedMessage, UnregisteredDevice
from api.people.scopes import ensure_role

ADMIN = ("admin",)
TIMESTAMP_TOLERANCE = 300


def create_integration(kind, name, mapping=None, mqtt_topic=None):
    key_id = "int_" + secrets.token_hex(6)
    integration = Integration(kind=kind, name=name, key_id=key_id, secret=secrets.token_urlsafe(32),
                              mapping=mapping if mapping is not None else DEFAULT_MAPPINGS.get(kind, {}))
    if kind == "mqtt":
        integration.mqtt_topic = mqtt_topic or f"fa/{key_id}/events"
    db.session.add(integration)
    db.session.commit()
    return integration


def vendor_url(integration, base_url=None):
    """The address to give the vendor."""
    base = (base_url or current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if integration.kind == "onenet":
        return f"{base}/api/v1/ingest/onenet/{integration.key_id}"
    if integration.kind == "ctwing":
        return f"{base}/api/v1/ingest/ctwing/{integration.key_id}/{integration.secret}"
    if integration.kind == "mqtt":
        return f"mqtt topic {integration.mqtt_topic}"
    return f"{base}/api/v1/ingest/events"


def integration_by_key(key_id, kind=None):
    if not key_id or "\x00" in key_id:  # PostgreSQL refuses NUL in text: no key has one
        return None
    integration = Integration.query.filter_by(key_id=key_id).one_or_none()
    if integration is None or not integration.enabled or (kind and integration.kind != kind):
        return None
    return integration


def unauthorised(reason):
    return AppError("bad_signature", message=("签名校验失败", "signature check failed"), status=401,
                    errors={"signature": [reason]})


def authenticate_generic(headers, body):
    integration = integration_by_key(headers.get("X-Integration-Key"))
    if integration is None or integration.kind not in ("generic", "mqtt"):
        raise unauthorised("unknown integration key")
    try:
        stamp = int(headers.get("X-Timestamp", ""))
    except ValueError:
        raise unauthorised("X-Timestamp must be Unix seconds") from None
    if abs(time.time() - stamp) > TIMESTAMP_TOLERANCE:
        raise unauthorised("X-Timestamp is more than 300 s away from our clock")
    from api.ingest.adapters import generic_sign

    expected = generic_sign(integration.secret, stamp, body)
    # bytes: compare_digest refuses non-ASCII str (a 500 instead of a 401)
    if not hmac.compare_digest(expected.encode(), headers.get("X-Signature", "").encode("utf-8", "replace")):
        raise unauthorised("X-Signature does not match")
    return integration


def authenticate_ctwing(key_id, secret):
    integration = integration_by_key(key_id, "ctwing")
    if integration is None or not hmac.compare_digest(integration.secret.encode(), secret.encode("utf-8", "replace")):
        raise unauthorised("unknown callback address")
    return integration


# --- admin API -----------------------------------------------------------------

def list_integrations(args):
    ensure_role(ADMIN)
    return page(Integration.query, Integration.id, args)


def get_integration(integration_id):
    ensure_role(ADMIN)
    integration = db.session.get(Integration, integration_id)
    if integration is None:
        raise NotFound()
    return integration


def update_integration(integration_id, data):
    integration = get_integration(integration_id)
    for key in ("name", "enabled", "mapping", "mqtt_topic"):
        if key in data:
            setattr(integration, key, data[key])
    db.session.commit()
    return integration


def health(integration_id):
    integration = get_integration(integration_id)
    recent = (RejectedMessage.query.filter_by(integration_id=integration.id)
              .order_by(RejectedMessage.id.desc()).limit(20).all())
    return {"integration": integration, "recent_rejections": recent}


def list_unregistered(args):
    ensure_role(ADMIN)
    query = UnregisteredDevice.query
    if args.get("integration_id"):
        query = query.filter_by(integration_id=args["integration_id"])
    return page(query, UnregisteredDevice.id, args)
