"""Device message endpoints (signed per integration, no user login) and the
admin endpoints for integrations, their health and the unregistered inbox."""

import functools
import hmac
import json
import logging
import threading
import time

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from api.errors import AppError
from api.extensions import db
from api.ingest import adapters, backlog, services
from api.ingest.processing import is_routine, process_events
from api.ingest.ratelimit import limiter as key_limiter
from api.ingest.schemas import (
    IngestAnswerSchema,
    IntegrationCreatedSchema,
    IntegrationHealthSchema,
    IntegrationPageSchema,
    IntegrationSchema,
    IntegrationUpdateSchema,
    PageQuerySchema,
    UnregisteredPageSchema,
    UnregisteredQuerySchema,
)
from api.ingest.store import MAX_BATCH, Malformed, record_rejection, store

log = logging.getLogger("ingest")
blp = Blueprint("ingest", __name__, url_prefix="/api/v1", description="Device messages and integrations")
SECURED = [{"bearer": []}]
INLINE_BUDGET_SECONDS = 2.0
INLINE_ROUTINE_MAX = 50  # a batch with more routine messages than this hands them to the backlog job


def _integration_key():
    """Rate limits count per integration key (all its devices together), signed or not."""
    key = (request.view_args or {}).get("key_id") or request.headers.get("X-Integration-Key") or ""
    return "integration:" + key[:64]


def per_key_limit(view):
    """INGEST_RATE_PER_KEY (config.py): generous, so a panel's backlog after an outage
    passes. Counted by api/ingest/ratelimit.py (per process, settled with Redis in bulk),
    not by flask-limiter, which asked Redis three times per request."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        key_limiter.hit(_integration_key())
        return view(*args, **kwargs)

    return limited


def _answer(results):
    """The answer, in IngestAnswerSchema's shape, made here rather than dumped through
    it (a 1,000-message answer took marshmallow longer than storing the messages)."""
    out = {s: 0 for s in ("accepted", "duplicate", "unregistered", "rejected")}
    for r in results:
        out[r["status"]] += 1
    out["results"] = [{k: v for k, v in r.items() if k != "event_id"} for r in results]
    return current_app.json.response(out)


class _Load:
    """How many device requests this process is answering right now, and the average
    gap between their arrivals (a moving average: a long pause lifts it at once)."""

    def __init__(self):
        self.lock, self.n, self.last, self.gap = threading.Lock(), 0, None, None

    def __enter__(self):
        now = time.monotonic()
        with self.lock:
            self.n += 1
            if self.last is not None:
                gap = now - self.last
                self.gap = gap if self.gap is None else 0.9 * self.gap + 0.1 * gap
            self.last = now
            return self.n

    def hot(self, per_s):
        """Arriving faster than per_s a second (never, with 0)."""
        return bool(per_s) and self.gap is not None and self.gap * per_s < 1

    def __exit__(self, *exc):
        with self.lock:
            self.n -= 1


_load = _Load()


def _store_and_process(integration, events, excerpt):
    """Store (committed: from then on nothing is lost), then process.

    What may need someone's attention (alarms, faults, clears, readings over a
    threshold, anything not routine) is processed here before the answer, as the
    first step towards a phone. Routine messages (heartbeats, normal readings, online,
    self-tests) too while this process has nothing else to do; when it is busy with
    other device requests, receives them faster than INGEST_BACKLOG_ABOVE_PER_S, or
    the batch is large, they go to the `ingest` queue's backlog job (applied together,
    a few statements for hundreds) and the answer does not wait for them. The
    scheduler's sweep stays the safety net for both."""
    if len(events) > MAX_BATCH:
        record_rejection(integration.id, f"batch of {len(events)} events; at most {MAX_BATCH}", excerpt)
        db.session.commit()
        raise AppError("batch_too_large", status=413, message=(f"每批最多 {MAX_BATCH} 条", f"at most {MAX_BATCH} events"),
                       errors={"events": [f"{len(events)} given"]})
    with _load as busy:
        results = store(integration, events, busy=busy > 1)  # committed: from here on nothing is lost
        busy = max(busy, _load.n)  # another request may have come in meanwhile
        now, later = [], []
        for r in results:
            if r["status"] == "accepted":
                (later if is_routine(events[r["index"]]) else now).append(r["event_id"])
        hot = busy > 1 or _load.hot(current_app.config["INGEST_BACKLOG_ABOVE_PER_S"])
        if later and (hot or len(later) > INLINE_ROUTINE_MAX) and backlog.kick():
            later = []  # the backlog job has them (no queue to hand them to: here, as the rest)
        # What needs attention first, one by one; then the routine ones kept here, together.
        for ids, one_by_one in ((now, True), (later, False)):
            try:
                process_events(ids, budget_seconds=INLINE_BUDGET_SECONDS, one_by_one=one_by_one)
            except Exception:  # stored already; the sweep processes what we could not
                db.session.rollback()
                log.exception("inline processing failed for %d events", len(ids))
    return results


def _json(text, integration_id):
    try:
        return json.loads(text)
    except ValueError as exc:
        record_rejection(integration_id, f"body is not JSON: {exc}", text[:1000])
        db.session.commit()
        raise AppError("malformed", status=400, message=("消息不是合法的 JSON", "the body is not JSON"),
                       errors={"body": [str(exc)]}) from None


@blp.route("/ingest/events")
class IngestEvents(MethodView):
    decorators = [per_key_limit]

    @blp.doc(parameters=[
        {"in": "header", "name": "X-Integration-Key", "required": True, "schema": {"type": "string"}},
        {"in": "header", "name": "X-Timestamp", "required": True, "schema": {"type": "integer"}},
        {"in": "header", "name": "X-Signature", "required": True, "schema": {"type": "string"},
         "description": "hex HMAC-SHA256(secret, timestamp + '.' + raw body)"},
    ])
    @blp.response(200, IngestAnswerSchema)
    def post(self):
        """Device messages, one or a batch of up to 1,000. Answered only after they are stored."""
        body = request.get_data(cache=True)
        integration = services.authenticate_generic(request.headers, body)
        text = body.decode("utf-8", errors="replace")
        payload = _json(text, integration.id)
        try:
            events = adapters.generic_events(payload, integration.mapping or {})
        except Malformed as exc:
            record_rejection(integration.id, str(exc), text[:1000])
            db.session.commit()
            raise AppError("malformed", status=422, message=str(exc), errors={"events": [str(exc)]}) from None
        return _answer(_store_and_process(integration, events, text[:1000]))


@blp.route("/ingest/onenet/<string:key_id>")
class OneNetPush(MethodView):
    decorators = [per_key_limit]

    def get(self, key_id):
        """OneNET's URL check: answer `msg` when signature = Base64(MD5(token + nonce + msg))."""
        integration = services.integration_by_key(key_id, "onenet")
        msg, nonce, signature = (request.args.get(k, "") for k in ("msg", "nonce", "signature"))
        # OneNET sends the Base64 signature unescaped, so its "+" arrives as a space.
        signature = signature.replace(" ", "+")
        if integration is None or not signature or not hmac.compare_digest(
                adapters.onenet_signature(integration.secret, nonce, msg).encode(), signature.encode()):
            raise services.unauthorised("OneNET verification failed")
        return current_app.response_class(msg, mimetype="text/plain")

    @blp.response(200, IngestAnswerSchema)
    def post(self, key_id):
        """OneNET data push (type 1 data points, type 2 online/offline)."""
        integration = services.integration_by_key(key_id, "onenet")
        if integration is None:
            raise services.unauthorised("unknown integration")
        text = request.get_data(as_text=True)
        try:
            msg = adapters.onenet_verify(integration.secret, text)
        except (Malformed, ValueError) as exc:
            # Signed or not, a broken body will never get better: record it and
            # answer 200 so the platform does not retry it for ever.
            record_rejection(integration.id, str(exc), text[:1000])
            db.session.commit()
            return _answer([{"index": 0, "id": None, "status": "rejected", "reason": str(exc)}])
        if msg is None:
            raise services.unauthorised("msg_signature does not match")
        try:
            events = adapters.onenet_events(msg, integration.mapping or {})
        except Malformed as exc:
            record_rejection(integration.id, str(exc), text[:1000])
            db.session.commit()
            return _answer([{"index": 0, "id": None, "status": "rejected", "reason": str(exc)}])
        return _answer(_store_and_process(integration, events, text[:1000]))


@blp.route("/ingest/ctwing/<string:key_id>/<string:secret>")
class CtwingPush(MethodView):
    decorators = [per_key_limit]

    @blp.response(200, IngestAnswerSchema)
    def post(self, key_id, secret):
        """CTWing (AEP) subscription push: dataReport, deviceOnlineOfflineReport, eventReport."""
        integration = services.authenticate_ctwing(key_id, secret)
        text = request.get_data(as_text=True)
        try:
            events = adapters.ctwing_events(json.loads(text), integration.mapping or {})
        except (Malformed, ValueError) as exc:
            record_rejection(integration.id, str(exc), text[:1000])
            db.session.commit()
            return _answer([{"index": 0, "id": None, "status": "rejected", "reason": str(exc)}])
        return _answer(_store_and_process(integration, events, text[:1000]))


# --- admin -------------------------------------------------------------------

@blp.route("/integrations")
class Integrations(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, IntegrationPageSchema)
    def get(self, args):
        return services.list_integrations(args)

    @blp.doc(security=SECURED)
    @blp.arguments(IntegrationSchema)
    @blp.response(201, IntegrationCreatedSchema)
    def post(self, data):
        """Create an integration; the answer carries its secret and vendor URL, shown once."""
        services.ensure_role(services.ADMIN)
        integration = services.create_integration(data["kind"], data["name"], data.get("mapping"),
                                                  data.get("mqtt_topic"))
        integration.url = services.vendor_url(integration, request.host_url)  # shown once, not stored
        return integration


@blp.route("/integrations/<int:integration_id>")
class IntegrationById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, IntegrationSchema)
    def get(self, integration_id):
        return services.get_integration(integration_id)

    @blp.doc(security=SECURED)
    @blp.arguments(IntegrationUpdateSchema)
    @blp.response(200, IntegrationSchema)
    def patch(self, data, integration_id):
        """Rename, disable, or change the vendor mapping."""
        return services.update_integration(integration_id, data)


@blp.route("/integrations/<int:integration_id>/health")
class IntegrationHealth(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, IntegrationHealthSchema)
    def get(self, integration_id):
        """Counts and the latest rejected messages."""
        return services.health(integration_id)


@blp.route("/ingest/unregistered")
class Unregistered(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(UnregisteredQuerySchema, location="query")
    @blp.response(200, UnregisteredPageSchema)
    def get(self, args):
        """Messages from devices nobody registered, one row per device."""
        return services.list_unregistered(args)
