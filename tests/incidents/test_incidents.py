"""Incidents: opened by alarms, correlated into level 1, joined by later
alarms of the site, moved by people with response times, and visible to whom
they concern."""

import pytest
from sqlalchemy.exc import IntegrityError

from api.extensions import db
from api.incidents.models import FireForward, Incident


def _post(client, world, incident_id, action, role="property_staff", json=None, headers=None):
    return client.post(f"/api/v1/incidents/{incident_id}/{action}", json=json,
                       headers={**world.auth(role), **(headers or {})})


def _get(client, world, incident_id, role="operator"):
    return client.get(f"/api/v1/incidents/{incident_id}", headers=world.auth(role))


# --- opening and correlation ------------------------------------------------------------

def test_one_smoke_detector_in_alarm_opens_a_level_2_incident(world):
    world.send("smoke", "smoke_alarm", 0)
    incident = world.incident()
    assert (incident.level, incident.state, incident.correlated) == (2, "open", False)
    assert incident.opened_at == world.at(0)
    assert [a.incident_id for a in world.alerts("smoke")] == [incident.id]


@pytest.mark.parametrize("gap,level,correlated", [(30, 1, True), (120, 1, True), (121, 2, False), (180, 2, False)])
def test_two_detectors_of_one_site_within_two_minutes_make_it_level_1(world, gap, level, correlated):
    world.send("smoke", "smoke_alarm", 0)
    world.send("corridor_smoke", "smoke_alarm", gap)
    incident = world.incident()
    assert (incident.level, incident.correlated) == (level, correlated)
    assert len(world.alerts(incident_id=incident.id)) == 2, "the second alarm did not join the open incident"
    rule_notes = [e.message for e in world.timeline(incident.id) if e.kind == "rule"]
    assert any("within 2 minutes" in m for m in rule_notes) == correlated


def test_two_alarms_three_minutes_apart_stay_level_2_when_the_earlier_one_is_delivered_last(world):
    world.send("smoke", "smoke_alarm", 180)
    world.send("corridor_smoke", "smoke_alarm", 0)  # NB-IoT retry: delivered after the later alarm
    incident = world.incident()
    assert (incident.level, incident.correlated) == (2, False)


def test_two_alarms_within_two_minutes_correlate_whatever_order_they_are_delivered_in(world):
    world.send("smoke", "smoke_alarm", 90)
    world.send("corridor_smoke", "smoke_alarm", 0)
    assert (world.incident().level, world.incident().correlated) == (1, True)


def test_a_detector_already_cleared_does_not_count_towards_correlation(world):
    world.send("smoke", "smoke_alarm", 0)
    world.send("smoke", "alarm_cleared", 20)
    world.send("corridor_smoke", "smoke_alarm", 40)
    assert world.incident().level == 2


def test_one_detector_alarming_repeatedly_is_not_two_detectors(world):
    for at in (0, 10, 20):
        world.send("smoke", "smoke_alarm", at)
    assert (world.incident().level, world.incident().correlated) == (2, False)


def test_detectors_of_different_sites_are_not_correlated(world):
    other_site, other = world.add_site()
    world.send("smoke", "smoke_alarm", 0)
    world.send(other["smoke_detector"][1], "smoke_alarm", 10)
    assert world.incident().level == 2
    assert world.incident(other_site).level == 2


def test_a_panel_fire_and_a_flame_on_video_at_one_site_are_one_correlated_incident(world):
    world.send("uitd", "fire", 0)
    world.send("camera", "flame_seen", 50)
    incident = world.incident()
    assert (incident.level, incident.correlated) == (1, True)


def test_the_database_refuses_a_second_open_incident_for_one_site(world, app):
    with app.app_context():
        for _ in range(2):
            db.session.add(Incident(site_id=world.site_id, site_path="/x/", level=2, state="open",
                                    opened_at=world.at(0)))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_after_an_incident_closes_the_next_alarm_opens_a_new_one(world, client):
    world.send("smoke", "smoke_alarm", 0)
    first = world.incident()
    assert _post(client, world, first.id, "close", json={"outcome": "test"}).status_code == 200
    world.send("smoke", "smoke_alarm", 60)
    incidents = world.incidents()
    assert [i.id for i in incidents][0] == first.id and len(incidents) == 2
    assert incidents[1].closed_at is None and incidents[1].level == 2


def test_a_fault_does_not_open_an_incident_but_joins_the_timeline_of_an_open_one(world):
    world.send("smoke", "fault", 0)
    assert world.incidents() == []
    world.send("corridor_smoke", "smoke_alarm", 10)
    world.send("smoke", "fault", 20)
    incident = world.incident()
    assert world.alerts("smoke")[0].incident_id is None
    assert any(e.kind == "device_event" and "fault" in e.message for e in world.timeline(incident.id))


# --- transitions and response times ------------------------------------------------------

def test_open_acknowledged_on_scene_closed_records_who_when_and_response_times(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id

    world.set_now(45)
    resp = _post(client, world, incident_id, "acknowledge", role="property_staff")
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["state"], resp.get_json()["seconds_to_acknowledge"]) == ("acknowledged", 45)

    world.set_now(300)
    resp = _post(client, world, incident_id, "on-scene", role="station_member")
    assert (resp.get_json()["state"], resp.get_json()["seconds_to_scene"]) == ("on_scene", 300)

    world.set_now(900)
    resp = _post(client, world, incident_id, "close", role="station_member",
                 json={"outcome": "false_alarm", "reason": "cooking", "note": "锅烧干了"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["state"], body["outcome"], body["false_alarm_reason"], body["note"]) == \
           ("closed", "false_alarm", "cooking", "锅烧干了")
    assert (body["seconds_to_acknowledge"], body["seconds_to_scene"], body["seconds_to_close"]) == (45, 300, 900)

    incident = world.incident()
    assert (incident.acknowledged_by, incident.acknowledged_at) == (world.people["property_staff"], world.at(45))
    assert (incident.on_scene_by, incident.on_scene_at) == (world.people["station_member"], world.at(300))
    assert (incident.closed_by, incident.closed_at) == (world.people["station_member"], world.at(900))
    actions = [(e.actor_id, e.at) for e in world.timeline(incident_id) if e.kind == "action"]
    assert actions == [(world.people["property_staff"], world.at(45)), (world.people["station_member"], world.at(300)),
                       (world.people["station_member"], world.at(900))]


def test_arriving_on_an_open_incident_acknowledges_it_on_the_way(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(120)
    body = _post(client, world, incident_id, "on-scene", role="station_member").get_json()
    assert (body["state"], body["seconds_to_acknowledge"], body["seconds_to_scene"]) == ("on_scene", 120, 120)


def test_closing_an_open_incident_acknowledges_it_and_its_alerts(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(60)
    body = _post(client, world, incident_id, "close", json={"outcome": "test"}).get_json()
    assert (body["seconds_to_acknowledge"], body["seconds_to_close"], body["seconds_to_scene"]) == (60, 60, None)
    [alert] = world.alerts("smoke")
    assert alert.acknowledged_at == world.at(60) and alert.closed_at == world.at(60)


def test_acknowledging_again_is_harmless(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(30)
    first = _post(client, world, incident_id, "acknowledge", role="property_staff")
    world.set_now(90)
    second = _post(client, world, incident_id, "acknowledge", role="operator")
    assert second.status_code == 200
    assert second.get_json()["seconds_to_acknowledge"] == 30
    assert second.get_json()["acknowledged_at"] == first.get_json()["acknowledged_at"]
    assert world.incident().acknowledged_by == world.people["property_staff"]
    assert sum(e.kind == "action" for e in world.timeline(incident_id)) == 1


def test_acknowledging_after_arrival_does_not_move_the_incident_back(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    _post(client, world, incident_id, "on-scene")
    assert _post(client, world, incident_id, "acknowledge").get_json()["state"] == "on_scene"


@pytest.mark.parametrize("action,body", [
    ("acknowledge", None), ("on-scene", None), ("confirm-fire", None), ("close", {"outcome": "false_alarm",
                                                                                   "reason": "steam"}),
])
def test_acting_on_an_incident_someone_else_closed_is_refused_with_incident_closed(world, client, action, body):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _post(client, world, incident_id, "close", role="property_staff", json={"outcome": "test"}).status_code == 200
    resp = _post(client, world, incident_id, action, role="station_member", json=body)
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["code"] == "incident_closed"
    incident = world.incident()
    assert (incident.outcome, incident.closed_by) == ("test", world.people["property_staff"])


def test_closing_again_with_another_outcome_is_refused_and_keeps_the_first(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    _post(client, world, incident_id, "close", json={"outcome": "test"})
    resp = _post(client, world, incident_id, "close", json={"outcome": "real_fire"})
    assert resp.status_code == 409 and resp.get_json()["code"] == "incident_closed"
    assert world.incident().outcome == "test"
    assert _forward_count(world) == 0


def test_the_same_person_closing_again_with_the_same_outcome_gets_the_closed_incident_back(world, client):
    # A phone retrying without an Idempotency-Key: not an error, and not a second close.
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(60)
    _post(client, world, incident_id, "close", json={"outcome": "test"})
    world.set_now(90)
    again = _post(client, world, incident_id, "close", json={"outcome": "test"})
    assert again.status_code == 200 and again.get_json()["seconds_to_close"] == 60
    assert sum(e.kind == "action" for e in world.timeline(incident_id)) == 1


def _forward_count(world):
    with world.app.app_context():
        n = FireForward.query.count()
        db.session.remove()
    return n


@pytest.mark.parametrize("body,field", [
    ({"outcome": "false_alarm"}, "reason"),
    ({"outcome": "false_alarm", "reason": None}, "reason"),
    ({"outcome": "false_alarm", "reason": "aliens"}, "reason"),
    ({"outcome": "test", "reason": "cooking"}, "reason"),
    ({"outcome": "extinguished"}, "outcome"),
    ({}, "outcome"),
])
def test_a_close_without_a_valid_outcome_and_reason_is_refused_naming_the_field(world, client, body, field):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    resp = _post(client, world, incident_id, "close", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]
    assert world.incident().state == "open"


def test_people_outside_the_site_cannot_act_on_its_incident(world, client):
    world.send("corridor_smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _post(client, world, incident_id, "acknowledge", role="resident").status_code == 404
    assert _post(client, world, incident_id, "acknowledge", role="supervisor").status_code == 403
    assert world.incident().state == "open"


# --- confirm fire ---------------------------------------------------------------------------

def test_confirming_a_fire_sets_level_1_and_queues_a_119_forward_and_the_timeline_says_so(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(40)
    resp = _post(client, world, incident_id, "confirm-fire", role="property_staff")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["level"], body["state"], body["seconds_to_acknowledge"]) == (1, "acknowledged", 40)
    assert body["confirmed_at"] is not None
    with world.app.app_context():
        forwards = [(f.incident_id, f.state) for f in FireForward.query.all()]
        db.session.remove()
    assert forwards == [(incident_id, "pending")]
    confirm = [e for e in world.timeline(incident_id) if e.kind == "action" and "confirmed real fire" in e.message]
    assert len(confirm) == 1 and confirm[0].actor_id == world.people["property_staff"]
    assert confirm[0].at == world.at(40)
    incident = world.incident()
    assert (incident.confirmed_by, incident.confirmed_at) == (world.people["property_staff"], world.at(40))

    again = _post(client, world, incident_id, "confirm-fire", role="operator")
    assert again.status_code == 200 and _forward_count(world) == 1


def test_closing_as_a_real_fire_without_a_confirmation_still_reaches_119(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _post(client, world, incident_id, "close", json={"outcome": "real_fire"}).status_code == 200
    assert _forward_count(world) == 1


# --- timeline -------------------------------------------------------------------------------

def test_the_timeline_lists_device_events_rule_decisions_and_human_actions_in_order(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    world.set_now(30)
    _post(client, world, incident_id, "acknowledge", role="property_staff")
    world.send("corridor_smoke", "smoke_alarm", 60)
    world.set_now(200)
    _post(client, world, incident_id, "on-scene", role="station_member")
    world.send("smoke", "alarm_cleared", 250)
    world.set_now(300)
    _post(client, world, incident_id, "close", role="station_member", json={"outcome": "false_alarm",
                                                                          "reason": "smoking"})

    resp = _get(client, world, incident_id)
    assert resp.status_code == 200
    timeline = resp.get_json()["timeline"]
    got = [(e["kind"], e["message"].split(" · ")[-1]) for e in timeline]
    smoke, corridor = world.serial["smoke"], world.serial["corridor_smoke"]
    assert [k for k, _ in got] == ["device_event", "rule", "action", "device_event", "rule", "action",
                                   "device_event", "rule", "action"], got
    assert got[0][1] == f"{smoke} smoke_alarm" and got[1][1] == "incident opened"
    assert got[3][1] == f"{corridor} smoke_alarm" and "level 1" in got[4][1]
    assert got[6][1] == f"{smoke} alarm_cleared" and got[7][1] == "cleared"
    assert got[8][1] == "closed: false_alarm (smoking)"
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert timeline[1]["data"]["alert_id"] == world.alerts("smoke")[0].id


# --- listing and visibility ----------------------------------------------------------------

def _list(client, world, role="operator", **query):
    resp = client.get("/api/v1/incidents", query_string=query, headers=world.auth(role))
    assert resp.status_code == 200, resp.get_json()
    return [i["id"] for i in resp.get_json()["items"]]


def test_incidents_are_filtered_by_level_state_site_and_time(world, client):
    site_b, b = world.add_site()
    site_c, c = world.add_site()
    world.send("smoke", "smoke_alarm", 0)                      # A: level 2, acknowledged below
    world.send(b["smoke_detector"][1], "smoke_alarm", 600)     # B: level 2, closed below
    world.send(c["smoke_detector"][1], "smoke_alarm", 1200)    # C: level 1 after confirm
    a_id, b_id, c_id = world.incident().id, world.incident(site_b).id, world.incident(site_c).id
    _post(client, world, a_id, "acknowledge")
    _post(client, world, b_id, "close", json={"outcome": "test"})
    _post(client, world, c_id, "confirm-fire")

    assert _list(client, world) == [a_id, b_id, c_id]
    assert _list(client, world, level=1) == [c_id]
    assert _list(client, world, level=2) == [a_id, b_id]
    assert _list(client, world, state="open,acknowledged") == [a_id, c_id]
    assert _list(client, world, state="closed") == [b_id]
    assert _list(client, world, site_id=site_b) == [b_id]
    assert _list(client, world, since=world.at(600).isoformat()) == [b_id, c_id]
    assert _list(client, world, until=world.at(600).isoformat()) == [a_id]
    assert _list(client, world, since=world.at(300).isoformat(), until=world.at(900).isoformat()) == [b_id]
    bad = client.get("/api/v1/incidents", query_string={"state": "open,burning"}, headers=world.auth("operator"))
    assert bad.status_code == 422 and "state" in bad.get_json()["errors"]


def test_a_resident_sees_the_incident_of_their_own_detector(world, client):
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _list(client, world, role="resident") == [incident_id]
    assert _get(client, world, incident_id, role="resident").status_code == 200
    assert _post(client, world, incident_id, "acknowledge", role="resident").status_code == 200


def test_a_resident_does_not_see_an_incident_raised_only_by_a_corridor_device_of_their_building(world, client):
    world.send("corridor_smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _list(client, world, role="resident") == []
    assert _get(client, world, incident_id, role="resident").status_code == 404
    assert _list(client, world, role="property_staff") == [incident_id]


def test_a_resident_of_another_household_does_not_see_a_neighbours_incident(world, client):
    from api.places.models import Place
    from tests import factories as f

    with world.app.app_context():
        site = db.session.get(Place, world.site_id)
        neighbour = f.user("resident", place=f.place("household", site, floor=4))
        db.session.commit()
        neighbour_id = neighbour.id
        db.session.remove()
    world.send("smoke", "smoke_alarm", 0)
    incident_id = world.incident().id
    assert _list(client, world, role=neighbour_id) == []
    assert _get(client, world, incident_id, role=neighbour_id).status_code == 404


def test_losing_the_race_to_open_an_incident_joins_the_winners_incident(world, monkeypatch):
    from api.incidents import services

    world.send("smoke", "smoke_alarm", 0)
    real, calls = services.open_incident_for, []

    def racing(site_id):  # the message does not see the incident another worker just opened
        calls.append(site_id)
        return None if len(calls) <= 2 else real(site_id)

    monkeypatch.setattr(services, "open_incident_for", racing)
    world.send("corridor_smoke", "smoke_alarm", 30)
    incident = world.incident()
    assert len(world.alerts(incident_id=incident.id)) == 2
    assert (incident.level, incident.correlated) == (1, True)
    events = [e.message for e in world.timeline(incident.id) if e.kind == "device_event"]
    assert events == [f"{world.serial['smoke']} smoke_alarm", f"{world.serial['corridor_smoke']} smoke_alarm"]
