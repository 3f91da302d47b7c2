"""Escalation with a controlled clock: steps at their times, stopped by an
acknowledgement, sped up by a missing receipt or a level-1 incident, and an
all clear for everyone who was told."""

from api.extensions import db
from tests.notify import helpers as h
from workers.channels.devlog import DevLogChannel
from workers.channels.sms import LogSms


def tick(app, clock, seconds):
    """The scheduler's work at t0 + seconds: due steps, receipts, then the worker."""
    clock.at(seconds)
    with app.app_context():
        from api.notify.escalation import run_due
        from workers.delivery import receipt_sweep

        run_due()
        receipt_sweep()
    h.run_worker(app, "notify")


def told(app, kind="alarm"):
    return {(n["tier"], n["channel"], n["user_id"]) for n in h.notifications(app, kind=kind)}


def make_leads(app, w):
    with app.app_context():
        from api.people.models import Membership

        for role in ("property_staff", "station_member"):
            Membership.query.filter_by(user_id=w["people"][role]).update({"lead": True})
        db.session.commit()


def test_steps_fire_at_their_times(app, client, push, clock):
    w = h.world(app, push)
    make_leads(app, w)
    p = w["people"]
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert told(app) == {("residents", "push", p["resident"]), ("property", "push", p["property_staff"])}
    for payload in (m["payload"] for m in push.received):  # the phones confirm the pushes arrived
        client.post("/api/v1/push/receipts", json={"token": payload["receipt"]})

    tick(app, clock, 59)
    assert len(told(app)) == 2  # nothing more before 60 s

    tick(app, clock, 61)
    step1 = told(app) - {("residents", "push", p["resident"]), ("property", "push", p["property_staff"])}
    assert step1 == {("residents", "sms", p["resident"]), ("property", "sms", p["property_staff"])}
    # grid worker and station member have no push subscription: nothing to send on push yet

    tick(app, clock, 181)
    step2 = {t for t in told(app) if t[1] in ("voice",) or t[0] in ("grid", "station_lead")}
    assert ("residents", "voice", p["resident"]) in step2
    assert ("property_lead", "voice", p["property_staff"]) in step2
    assert ("station_lead", "sms", p["station_member"]) in step2
    assert ("grid", "sms", p["grid_worker"]) in step2
    incident = client.get(f"/api/v1/incidents/{h.the_incident(client, w)}", headers=h.auth(w, "operator")).get_json()
    assert any("flagged to operators" in e["message"] for e in incident["timeline"])
    # nobody was told the same thing twice on the same channel
    rows = h.notifications(app, kind="alarm")
    keys = [(n["user_id"], n["channel"]) for n in rows]
    assert len(keys) == len(set(keys))


def test_acknowledgement_stops_further_steps(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    incident_id = h.the_incident(client, w)
    clock.at(30)
    assert client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=h.auth(w, "resident")).status_code == 200
    before = told(app)
    for t in (61, 181, 400):
        tick(app, clock, t)
    assert told(app) == before
    with app.app_context():
        from api.notify.models import EscalationStep

        states = sorted(s.state for s in EscalationStep.query.filter(EscalationStep.step_no >= 0))
    assert states == ["done", "skipped", "skipped"]


def test_acknowledged_but_not_on_scene_escalates_again(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    incident_id = h.the_incident(client, w)
    clock.at(10)
    client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=h.auth(w, "property_staff"))
    tick(app, clock, 10 + 901)
    assert ("grid", "sms", w["people"]["grid_worker"]) in told(app)


def test_on_scene_in_time_means_no_reescalation(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    incident_id = h.the_incident(client, w)
    clock.at(10)
    client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=h.auth(w, "property_staff"))
    clock.at(300)
    client.post(f"/api/v1/incidents/{incident_id}/on-scene", headers=h.auth(w, "station_member"))
    before = told(app)
    tick(app, clock, 1000)
    assert told(app) == before


def test_a_missing_receipt_moves_the_person_to_sms_early(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    # the property manager's phone confirms; the resident's (FCM blocked) never does
    token = push.payloads_for(w["subs"]["property_staff"])[0]["receipt"]
    client.post("/api/v1/push/receipts", json={"token": token})
    tick(app, clock, 19)
    assert ("residents", "sms", w["people"]["resident"]) not in told(app)
    tick(app, clock, 21)
    assert ("residents", "sms", w["people"]["resident"]) in told(app)
    assert ("property", "sms", w["people"]["property_staff"]) not in told(app)
    assert any(m["to"] == w["phones"]["resident"] for m in LogSms.outbox)


def test_a_community_policy_with_a_shorter_receipt_time(app, client, push, clock):
    """The sweep reads only pushes older than the shortest receipt time of any policy:
    a community's 8 s moves its resident and its property manager (no receipt from
    either phone) at 9 s, not at the built-in 20 s."""
    from api.notify.escalation import DEFAULT_STEPS
    from api.notify.models import EscalationPolicy

    w = h.world(app, push)
    with app.app_context():
        db.session.add(EscalationPolicy(place_id=w["tree"]["site"], name="8 s", steps=DEFAULT_STEPS,
                                        receipt_timeout_s=8, on_scene_timeout_s=900))
        db.session.commit()
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 7)
    assert ("residents", "sms", w["people"]["resident"]) not in told(app)
    tick(app, clock, 9)
    assert ("residents", "sms", w["people"]["resident"]) in told(app)
    assert ("property", "sms", w["people"]["property_staff"]) in told(app)


def test_level_one_starts_at_step_one_with_everyone_at_once(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w, serial=w["serials"]["household"])
    clock.at(30)
    with app.app_context():
        from api.devices.models import Device
        from api.places.models import Place

        site = db.session.get(Place, w["tree"]["site"])
        second = Device(serial="SMOKE-2", type_code="smoke_detector", place_id=site.id, place_path=site.path)
        db.session.add(second)
        db.session.commit()
    h.alarm(client, w, serial="SMOKE-2", at="2026-12-01T03:00:30+08:00")
    h.run_worker(app, "notify")
    incident = client.get(f"/api/v1/incidents/{h.the_incident(client, w)}", headers=h.auth(w, "operator")).get_json()
    assert incident["level"] == 1 and incident["correlated"]
    now = told(app)
    assert ("residents", "sms", w["people"]["resident"]) in now  # step 1 at 30 s, not 60 s
    assert ("property", "push", w["people"]["property_staff"]) in now


def test_all_clear_goes_to_everyone_told(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)
    incident_id = h.the_incident(client, w)
    clock.at(90)
    resp = client.post(f"/api/v1/incidents/{incident_id}/close", headers=h.auth(w, "resident"),
                       json={"outcome": "false_alarm", "reason": "cooking"})
    assert resp.status_code == 200
    h.run_worker(app, "notify")
    alarm_told = {(u, c) for _, c, u in told(app, "alarm")}
    clear_told = {(u, c) for _, c, u in told(app, "all_clear")}
    assert clear_told == alarm_told
    clears = [p for p in push.received if p["payload"]["kind"] == "all_clear"]
    assert len(clears) == 2
    tick(app, clock, 200)
    assert {(u, c) for _, c, u in told(app, "all_clear")} == clear_told  # and only once


def test_confirmed_fire_tells_every_tier(app, client, push, clock):
    w = h.world(app, push)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    clock.at(20)
    incident_id = h.the_incident(client, w)
    assert client.post(f"/api/v1/incidents/{incident_id}/confirm-fire",
                       headers=h.auth(w, "property_staff")).status_code == 200
    h.run_worker(app, "notify")
    fire = told(app, "fire")
    users = {u for _, _, u in fire}
    for role in ("resident", "property_staff", "grid_worker", "station_member", "supervisor", "operator"):
        assert w["people"][role] in users, role
    assert all(c in ("push", "sms") for _, c, _ in fire)
    assert DevLogChannel is not None


def test_an_incident_whose_steps_were_never_started_is_started_by_the_tick(app, client, push, clock):
    """The process died between storing the alarm and scheduling the steps: nothing is lost."""
    from api.places.models import Place
    from tests import factories as f

    w = h.world(app, push)
    clock.at(0)
    with app.app_context():
        from api.devices.models import Device

        site = db.session.get(Place, w["tree"]["site"])
        device = db.session.get(Device, w["tree"]["household_device"])
        f.incident(site, device)  # stored, but no escalation token and no steps
        db.session.commit()
    assert told(app) == set()
    with app.app_context():
        from workers.delivery import escalation_tick

        escalation_tick()
    h.run_worker(app, "notify")
    assert ("residents", "push", w["people"]["resident"]) in told(app)
    with app.app_context():
        from workers.delivery import escalation_tick

        escalation_tick()  # a second tick starts nothing twice
    h.run_worker(app, "notify")
    assert len([n for n in h.notifications(app, kind="alarm") if n["channel"] == "push"]) == 2


def test_a_step_that_fails_as_the_incident_opens_leaves_nothing_half_told(app, client, push, clock, monkeypatch):
    """The steps due when an incident opens run in the transaction that created them: a
    failure half-way (here, after the notification rows were written) rolls all of it
    back, so the incident is open without a token, and the tick starts it once."""
    from api.notify import escalation

    w = h.world(app, push)
    clock.at(0)
    real_notify = escalation.notify

    def notify_then_fail(*args, **kwargs):
        real_notify(*args, **kwargs)
        raise RuntimeError("the process fell over here")

    monkeypatch.setattr(escalation, "notify", notify_then_fail)
    h.alarm(client, w)  # stored and answered; the telling failed
    monkeypatch.setattr(escalation, "notify", real_notify)
    with app.app_context():
        from api.incidents.models import Incident
        from api.notify.models import EscalationStep

        incident = Incident.query.one()
        assert incident.state == "open" and incident.escalation_token is None
        assert EscalationStep.query.count() == 0
    assert told(app) == set()
    with app.app_context():
        from workers.delivery import escalation_tick

        escalation_tick()
    h.run_worker(app, "notify")
    assert {("residents", "push"), ("property", "push")} <= {(t, c) for t, c, _ in told(app)}
    assert push.wait_for(2)
    assert len(push.payloads_for(w["subs"]["resident"])) == 1
