"""Integrations: created by admins (API or CLI), authenticated per request."""

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from api.common.pagination import page
from api.errors import AppError, NotFound
from api.extensions import db, redis_client, rkey
from api.ingest.adapters import DEFAULT_MAPPINGS
from api.ingest.models import Integration, RejectedMessage, UnregisteredDevice
from api.people.scopes import ensure_role

log = logging.getLogger("ingest")
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


@dataclass(frozen=True)
class IntegrationRef:
    """What a device request needs of its integration, read once and kept."""

    id: int
    kind: str
    name: str
    key_id: str
    secret: str
    mapping: dict
    mqtt_topic: str | None
    enabled: bool


class IntegrationCache:
    """Integrations by key for device requests, kept in each process.

    Every device message used to read its integration row. Now each process reads a
    row once and keeps it. Invalidation: committing any change to an Integration
    through the ORM (create, rename, disable, new mapping, delete) empties this
    process's cache at once and bumps a generation number in Redis; every process
    compares its generation with Redis at most every CHECK_SECONDS, so a disabled
    integration is refused everywhere within that time. Should Redis not answer,
    lookups go to the database until it does."""

    CHECK_SECONDS = 0.5

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}  # key_id -> IntegrationRef | None
        self.generation, self.checked = None, -1e9

    def _current(self):
        """True when the entries may be used (the generation checked recently)."""
        now = time.monotonic()
        if now - self.checked < self.CHECK_SECONDS:
            return True
        try:
            generation = redis_client().get(rkey("ingest", "integrations-generation")) or b"0"
        except Exception:  # Redis down: no caching, the database answers
            with self.lock:
                self.entries.clear()
                self.generation, self.checked = None, -1e9
            return False
        with self.lock:
            if generation != self.generation:
                self.entries.clear()
                self.generation = generation
            self.checked = now
        return True

    def get(self, key_id):
        usable = self._current()
        if usable:
            with self.lock:
                if key_id in self.entries:
                    return self.entries[key_id]
        row = Integration.query.filter_by(key_id=key_id).one_or_none()
        ref = None if row is None else IntegrationRef(
            id=row.id, kind=row.kind, name=row.name, key_id=row.key_id, secret=row.secret,
            mapping=dict(row.mapping or {}), mqtt_topic=row.mqtt_topic, enabled=row.enabled)
        if usable and row is not None:  # unknown keys (scanners) are not kept
            with self.lock:
                self.entries[key_id] = ref
        return ref

    def changed(self):
        """After a commit that changed integrations: forget them here, and everywhere."""
        with self.lock:
            self.entries.clear()
        try:
            redis_client().incr(rkey("ingest", "integrations-generation"))
        except Exception:
            log.warning("could not tell other processes that integrations changed: Redis does not answer, "
                        "and while it does not they read integrations from the database")


integrations = IntegrationCache()


@event.listens_for(Integration, "after_insert")
@event.listens_for(Integration, "after_update")
@event.listens_for(Integration, "after_delete")
def _integration_written(mapper, connection, target):
    session = object_session(target)
    if session is not None:
        session.info["fa_integrations_changed"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    if session.info.pop("fa_integrations_changed", False):
        integrations.changed()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    if not session.in_transaction():
        session.info.pop("fa_integrations_changed", None)


def integration_by_key(key_id, kind=None):
    if not key_id or "\x00" in key_id:  # PostgreSQL refuses NUL in text: no key has one
        return None
    integration = integrations.get(key_id or "")
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
