"""Shared set-up for notification tests: VAPID keys, a fake push service, a
signed alarm through the ingest webhook, and the real RQ worker."""

import json
import time
import uuid

from rq import SimpleWorker

from api.extensions import db, redis_client
from api.ingest.adapters import generic_sign
from tests import factories as f
from tests.fakes.push_service import FakePushService
from workers.queues import get_queue


def vapid(app):
    from api.notify.cli import generate_vapid_keys

    public, private = generate_vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.cn")
    return public


def push_service(app):
    return FakePushService(vapid(app)).start()


def world(app, push=None, subscribe_roles=("resident", "property_staff")):
    """A city with one person per role; the given roles get a push subscription each."""
    with app.app_context():
        t = f.city_tree("N")
        t["site"].name = "阳明花园3栋"
        t["site_device"].location_text = "3F走廊"
        t["household_device"].location_text = "厨房"
        people = f.people_for(t)
        integration = f.integration()
        subs = {}
        if push is not None:
            from api.notify.models import PushSubscription

            for role in subscribe_roles:
                sub = push.subscribe()
                db.session.add(PushSubscription(user_id=people[role].id, endpoint=sub["endpoint"],
                                                p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]))
                subs[role] = sub["endpoint"]
        db.session.commit()
        return {
            "tree": {k: v.id for k, v in t.items()},
            "serials": {"household": t["household_device"].serial, "site": t["site_device"].serial},
            "people": {r: u.id for r, u in people.items()},
            "phones": {r: u.phone for r, u in people.items()},
            "tokens": {r: f.token_for(u) for r, u in people.items()},
            "integration": (integration.key_id, integration.secret),
            "subs": subs,
        }


def alarm(client, w, serial=None, kind="smoke_alarm", at=None, msg_id=None):
    key, secret = w["integration"]
    event = {"device": serial or w["serials"]["household"], "id": msg_id or uuid.uuid4().hex,
             "at": at or "2026-12-01T03:00:00+08:00", "type": kind}
    body = json.dumps({"events": [event]}).encode()
    ts = int(time.time())
    resp = client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": key, "X-Timestamp": str(ts), "X-Signature": generic_sign(secret, ts, body)})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def auth(w, role):
    return {"Authorization": f"Bearer {w['tokens'][role]}"}


def run_worker(app, *queues):
    with app.app_context():
        SimpleWorker([get_queue(q) for q in (queues or ("notify", "alarms", "default"))],
                     connection=redis_client()).work(burst=True)


def the_incident(client, w, role="operator"):
    items = client.get("/api/v1/incidents", headers=auth(w, role)).get_json()["items"]
    assert len(items) == 1
    return items[0]["id"]


def notifications(app, **filters):
    with app.app_context():
        from api.notify.models import Notification

        rows = Notification.query.filter_by(**filters).order_by(Notification.id).all()
        return [{"user_id": n.user_id, "channel": n.channel, "kind": n.kind, "tier": n.tier, "step": n.step_no,
                 "states": [d.state for d in n.deliveries], "text": n.text} for n in rows]
