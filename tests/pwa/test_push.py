"""Web Push as far as this machine allows: pushManager.subscribe() needs Google's
push service, so the server's half runs against the fake push service (real
protocol, tests/fakes) and its payload is delivered straight to the service worker
over the DevTools protocol (ServiceWorker.deliverPushMessage)."""

from playwright.sync_api import expect

from tests.pwa import helpers as h

NOTIFICATIONS = """(tag) => navigator.serviceWorker.ready
  .then((r) => r.getNotifications(tag ? { tag } : {}))
  .then((list) => list.map((n) => ({ tag: n.tag, title: n.title, body: n.body, requireInteraction: n.requireInteraction,
                                     actions: (n.actions || []).map((a) => a.action),
                                     titles: (n.actions || []).map((a) => a.title), data: n.data })))"""


def test_a_push_reaches_the_service_worker_receipt_notification_and_alarm_screen(app, client, context, page, push,
                                                                                 live_server):
    w = h.world(app)
    endpoint = h.subscribe(app, push, w["people"]["property_staff"])
    context.grant_permissions(["notifications"], origin=live_server)
    h.log_in_with_token(context, w, "property_staff")
    page.goto("/#/settings")
    assert h.sw_ready(page)["state"] == "activated"
    expect(page.locator("#last-receipt")).to_have_text("尚未收到")
    sw = h.ServiceWorkerDevTools(context, page, live_server)

    h.alarm(client, w)
    h.run_notify_worker(app)
    assert push.wait_for(1), push.rejected
    payload = push.payloads_for(endpoint)[0]
    incident_id = h.incidents(client, w)[0]["id"]
    assert payload["incident_id"] == incident_id and payload["kind"] == "alarm" and payload["receipt"]
    assert h.delivery(app, payload["receipt"])["delivered_at"] is None

    sw.deliver(payload)
    # The worker posted the delivery receipt ...
    h.wait_for(lambda: h.delivery(app, payload["receipt"])["state"] == "delivered", what="the receipt", page=page)
    # ... showed a notification that stays, one per incident, with its two buttons ...
    shown = h.wait_for(lambda: page.evaluate(NOTIFICATIONS, f"incident-{incident_id}"), what="the notification", page=page)
    assert len(shown) == 1
    assert shown[0]["title"] == payload["title"] and "阳明花园3栋" in shown[0]["title"]
    assert shown[0]["requireInteraction"] is True
    assert shown[0]["actions"] == ["ack", "open"] and shown[0]["titles"] == ["我在核实", "查看"]
    assert shown[0]["data"]["receipt"] == payload["receipt"]
    # ... and told the open app, which shows the alarm at once (no wait for its next check).
    expect(page.locator("section.alarm-screen")).to_be_visible(timeout=3_000)
    assert page.url.endswith(f"#/incidents/{incident_id}")
    page.goto("/#/settings")
    expect(page.locator("#last-receipt")).not_to_have_text("尚未收到")

    # All clear (the incident is closed elsewhere): the incident's notification goes.
    assert client.post(f"/api/v1/incidents/{incident_id}/close", json={"outcome": "test"},
                       headers=h.auth(w, "operator")).status_code == 200
    h.run_notify_worker(app)
    clear = h.wait_for(lambda: [p for p in push.payloads_for(endpoint) if p["kind"] == "all_clear"], what="all clear")
    sw.deliver(clear[0])
    h.wait_for(lambda: page.evaluate(NOTIFICATIONS, f"incident-{incident_id}") == [], what="the alarm to close", page=page)


def test_im_checking_on_the_notification_acknowledges_with_the_app_closed(app, client, context, page, push,
                                                                          live_server):
    w = h.world(app)
    endpoint = h.subscribe(app, push, w["people"]["resident"])
    context.grant_permissions(["notifications"], origin=live_server)
    page.goto("/")  # installs the worker; nobody is logged in on this phone
    assert h.sw_ready(page)["state"] == "activated"
    sw = h.ServiceWorkerDevTools(context, page, live_server)
    h.alarm(client, w)
    h.run_notify_worker(app)
    assert push.wait_for(1)
    payload = push.payloads_for(endpoint)[0]
    sw.deliver(payload)
    shown = h.wait_for(lambda: page.evaluate(NOTIFICATIONS, None), what="the notification", page=page)
    data = shown[0]["data"]

    # The app is closed: no window of it is left, only the worker.
    worker = context.service_workers[0]
    blank = context.new_page()
    page.close()
    assert worker.evaluate("self.clients.matchAll({ type: 'window' }).then((c) => c.length)") == 0
    # The tap on "我在核实": what the notificationclick handler runs (a synthetic
    # NotificationEvent cannot be dispatched to it).
    answer = worker.evaluate("(data) => handleClick({ data, close() {} }, 'ack')", data)
    assert answer == "acknowledged"
    detail = h.incident(client, w, payload["incident_id"])
    assert detail["state"] == "acknowledged"
    assert any("李住户" in e["message"] and "acknowledged" in e["message"] for e in detail["timeline"])
    blank.close()
