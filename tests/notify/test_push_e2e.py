"""End to end: a detector's alarm over the ingest webhook ends as a decrypted
push at the (fake, real-protocol) push service, with the right text."""

from tests.notify import helpers as h


def test_alarm_reaches_the_residents_phone_as_a_decrypted_push(app, client, push):
    w = h.world(app, push)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert push.wait_for(2), push.rejected
    resident = push.payloads_for(w["subs"]["resident"])
    staff = push.payloads_for(w["subs"]["property_staff"])
    assert len(resident) == 1 and len(staff) == 1
    payload = resident[0]
    incident_id = h.the_incident(client, w)
    assert payload["incident_id"] == incident_id and payload["level"] == 2
    assert "阳明花园3栋" in payload["title"] and "烟雾报警" in payload["body"] and "厨房" in payload["body"]
    assert payload["receipt"]
    headers = push.received[0]["headers"]
    assert int(headers["TTL"]) > 0 and headers["Urgency"] == "high" and headers["Topic"]
    assert all(r["size"] < 4096 for r in push.received)
    assert push.rejected == []


def test_receipt_marks_the_push_delivered(app, client, push):
    w = h.world(app, push)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert push.wait_for(2)
    token = push.payloads_for(w["subs"]["resident"])[0]["receipt"]
    assert client.post("/api/v1/push/receipts", json={"token": token}).status_code == 200
    resident = [n for n in h.notifications(app) if n["user_id"] == w["people"]["resident"]]
    assert resident[0]["states"] == ["delivered"]
    # unknown tokens are answered alike and change nothing
    assert client.post("/api/v1/push/receipts", json={"token": "x" * 24}).status_code == 200


def test_a_gone_subscription_is_removed_and_the_person_gets_sms(app, client, push):
    w = h.world(app, push)
    push.set_status(w["subs"]["resident"], 410)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    with app.app_context():
        from api.notify.models import PushSubscription

        assert PushSubscription.query.filter_by(endpoint=w["subs"]["resident"]).count() == 0
    resident = [n for n in h.notifications(app) if n["user_id"] == w["people"]["resident"]]
    assert [(n["channel"], n["states"]) for n in resident] == [("push", ["failed"]), ("sms", ["sent"])]


def test_subscribe_and_unsubscribe(app, client, push):
    w = h.world(app, None)
    sub = push.subscribe()
    resp = client.post("/api/v1/push/subscriptions", json={**sub, "expirationTime": None}, headers=h.auth(w, "resident"))
    assert resp.status_code == 201
    again = client.post("/api/v1/push/subscriptions", json=sub, headers=h.auth(w, "resident"))
    assert again.status_code == 201 and again.get_json()["id"] == resp.get_json()["id"]
    bad = client.post("/api/v1/push/subscriptions", json={"endpoint": "not a url", "keys": {}},
                      headers=h.auth(w, "resident"))
    assert bad.status_code == 422 and "endpoint" in bad.get_json()["errors"]
    gone = client.delete("/api/v1/push/subscriptions", json={"endpoint": sub["endpoint"]}, headers=h.auth(w, "resident"))
    assert gone.status_code == 204
    assert client.delete("/api/v1/push/subscriptions", json={"endpoint": sub["endpoint"]},
                         headers=h.auth(w, "resident")).status_code == 404


def test_vapid_public_key_is_served(app, client, push):
    assert client.get("/api/v1/push/vapid-public-key").get_json()["public_key"] == app.config["VAPID_PUBLIC_KEY"]


def test_acknowledge_from_the_notification_without_a_login(app, client, push):
    w = h.world(app, push)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert push.wait_for(2)
    token = push.payloads_for(w["subs"]["resident"])[0]["receipt"]
    resp = client.post("/api/v1/push/actions", json={"token": token, "action": "acknowledge"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "acknowledged"
    incident = client.get(f"/api/v1/incidents/{resp.get_json()['id']}", headers=h.auth(w, "operator")).get_json()
    assert incident["timeline"][-1]["actor_id"] == w["people"]["resident"]
    assert client.post("/api/v1/push/actions", json={"token": "y" * 24, "action": "acknowledge"}).status_code == 404


def test_send_me_a_test_alarm_goes_through_the_real_path(app, client, push):
    w = h.world(app, push)
    resp = client.post("/api/v1/me/test-alarm", headers=h.auth(w, "resident"))
    assert resp.status_code == 202 and resp.get_json() == {"queued": 1}
    h.run_worker(app, "notify")
    assert push.wait_for(1)
    payload = push.payloads_for(w["subs"]["resident"])[0]
    assert payload["kind"] == "test" and payload["incident_id"] is None and "测试" in payload["title"]
    client.post("/api/v1/push/receipts", json={"token": payload["receipt"]})
    subs = client.get("/api/v1/push/subscriptions", headers=h.auth(w, "resident")).get_json()
    assert subs[0]["last_receipt_at"] is not None
    nobody = client.post("/api/v1/me/test-alarm", headers=h.auth(w, "grid_worker"))
    assert nobody.status_code == 409 and nobody.get_json()["code"] == "no_subscription"
