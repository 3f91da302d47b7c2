"""Escalation policies are data: a community's own policy replaces the default for its sites."""

from tests.notify import helpers as h


def test_a_community_policy_replaces_the_default(app, client, push, clock):
    w = h.world(app, push)
    body = {"place_id": w["tree"]["community"], "steps": [
        {"delay_s": 0, "notify": [{"tier": "residents", "channels": ["push", "sms"]},
                                  {"tier": "grid", "channels": ["sms"]}]}]}
    resp = client.put("/api/v1/escalation-policies", json=body, headers=h.auth(w, "admin"))
    assert resp.status_code == 200, resp.get_json()
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    told = {(n["tier"], n["channel"]) for n in h.notifications(app, kind="alarm")}
    assert told == {("residents", "push"), ("residents", "sms"), ("grid", "sms")}


def test_bad_policies_are_refused_with_the_reason(app, client):
    w = h.world(app)
    for steps in ([], [{"delay_s": 0, "notify": [{"tier": "aliens", "channels": ["push"]}]}],
                  [{"delay_s": 0, "notify": [{"tier": "residents", "channels": ["pigeon"]}]}],
                  [{"delay_s": 60, "notify": []}, {"delay_s": 30, "notify": []}]):
        resp = client.put("/api/v1/escalation-policies", json={"steps": steps}, headers=h.auth(w, "admin"))
        assert resp.status_code == 422 and "steps" in resp.get_json()["errors"], steps
    listed = client.get("/api/v1/escalation-policies", headers=h.auth(w, "operator")).get_json()
    assert [p["place_id"] for p in listed] == [None]
