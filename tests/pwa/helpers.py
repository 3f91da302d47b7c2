"""A small world for the browser tests, a signed alarm through the ingest webhook,
and helpers that read the server's side of things."""

import json
import time
import uuid

from api.extensions import db
from api.ingest.adapters import generic_sign
from tests import factories as f

PASSWORD = "fire-test-pass-1"


def world(app, login_roles=("property_staff", "resident")):
    """A city down to one household, one person per role; those in login_roles have PASSWORD."""
    from api.common.clock import utcnow
    from api.people import auth

    with app.app_context():
        t = f.city_tree("PWA")
        t["site"].name = "阳明花园3栋"
        t["site"].address = "长沙市岳麓区阳明路 18 号"
        t["household_device"].location_text = "3 楼 302 厨房"
        t["household_device"].battery_pct, t["household_device"].signal_dbm = 86, -83
        t["household_device"].last_seen_at = utcnow()
        t["site_device"].battery_pct, t["site_device"].signal_dbm = 15, -101
        people = f.people_for(t)
        people["property_staff"].name = "王物业"
        people["resident"].name = "李住户"
        hashed = auth.hash_password(PASSWORD)
        for role in login_roles:
            people[role].password_hash = hashed
        integration = f.integration()
        db.session.commit()
        return {
            "serials": {"household": t["household_device"].serial, "site": t["site_device"].serial},
            "people": {r: u.id for r, u in people.items()},
            "phones": {r: u.phone for r, u in people.items()},
            "tokens": {r: f.token_for(u) for r, u in people.items()},
            "integration": (integration.key_id, integration.secret),
        }


def alarm(client, w, serial=None, kind="smoke_alarm"):
    """A detector's alarm through POST /api/v1/ingest/events, signed as the integration."""
    key, secret = w["integration"]
    event = {"device": serial or w["serials"]["household"], "id": uuid.uuid4().hex,
             "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "type": kind}
    body = json.dumps({"events": [event]}).encode()
    ts = int(time.time())
    resp = client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": key, "X-Timestamp": str(ts), "X-Signature": generic_sign(secret, ts, body)})
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 1, resp.get_json()
    return resp.get_json()


def auth(w, role):
    return {"Authorization": f"Bearer {w['tokens'][role]}"}


def incidents(client, w, role="operator"):
    resp = client.get("/api/v1/incidents", headers=auth(w, role))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def incident(client, w, incident_id, role="operator"):
    resp = client.get(f"/api/v1/incidents/{incident_id}", headers=auth(w, role))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def wait_for(predicate, timeout=10.0, interval=0.1, what="condition", page=None):
    """Poll predicate until truthy. With a page, wait through Playwright, which lets
    its events (CDP, console) arrive meanwhile; time.sleep would hold them back."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)


def log_in_with_token(context, w, role):
    """Skip the login screen: the tokens a login would have stored (the login test logs in for real)."""
    context.add_init_script(f"localStorage.setItem('fa.access', {json.dumps(w['tokens'][role])})")


SW_READY = """async () => {
  const reg = await navigator.serviceWorker.ready;
  const worker = reg.active;
  if (worker.state !== 'activated') {
    await new Promise((done) => worker.addEventListener('statechange', () => worker.state === 'activated' && done()));
  }
  if (!navigator.serviceWorker.controller) {
    await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done, { once: true }));
  }
  return { state: worker.state, scope: reg.scope, controlled: Boolean(navigator.serviceWorker.controller) };
}"""


def sw_ready(page):
    """navigator.serviceWorker.ready, once its worker is activated and controls the page."""
    return page.evaluate(SW_READY)


class ServiceWorkerDevTools:
    """The service worker through the DevTools protocol: ServiceWorker.enable, the
    registration id from workerRegistrationUpdated, then deliverPushMessage (a push
    as the push service would bring it) or dispatchSyncEvent (a Background Sync)."""

    def __init__(self, context, page, origin):
        self.origin = origin
        self.page = page
        self.registrations = {}
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", self._updated)
        self.cdp.send("ServiceWorker.enable")

    def _updated(self, event):
        for reg in event["registrations"]:
            if not reg.get("isDeleted"):
                self.registrations[reg["scopeURL"]] = reg["registrationId"]

    def registration_id(self):
        return wait_for(lambda: self.registrations.get(f"{self.origin}/"), what="the service worker registration",
                        page=self.page)

    def deliver(self, payload):
        self.cdp.send("ServiceWorker.deliverPushMessage",
                      {"origin": self.origin, "registrationId": self.registration_id(), "data": json.dumps(payload)})

    def sync(self, tag="outbox"):
        self.cdp.send("ServiceWorker.dispatchSyncEvent",
                      {"origin": self.origin, "registrationId": self.registration_id(), "tag": tag, "lastChance": False})


def subscribe(app, push, user_id):
    from api.extensions import db
    from api.notify.models import PushSubscription

    sub = push.subscribe()
    with app.app_context():
        db.session.add(PushSubscription(user_id=user_id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                                        auth=sub["keys"]["auth"]))
        db.session.commit()
    return sub["endpoint"]


def run_notify_worker(app):
    from rq import SimpleWorker

    from api.extensions import redis_client
    from workers.queues import get_queue

    with app.app_context():
        SimpleWorker([get_queue("notify")], connection=redis_client()).work(burst=True)


def delivery(app, token):
    from api.notify.models import Delivery

    with app.app_context():
        d = Delivery.query.filter_by(token=token).one()
        return {"state": d.state, "delivered_at": d.delivered_at}
