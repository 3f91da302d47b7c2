"""Alerts: one open alert per (device, condition), held by the database;
repeats count; a person acknowledges; active/cleared × acknowledged."""

import pytest
from sqlalchemy.exc import IntegrityError

from api.alerts.models import Alert
from api.extensions import db


def _alert_row(world, device="smoke", condition="smoke", closed=False):
    at = world.at(0)
    return Alert(device_id=world.device_id[device], site_id=world.site_id, site_path="/x/", device_path="/x/",
                 condition=condition, level=2, active=True, first_at=at, last_at=at, raised_at=at, count=1,
                 closed_at=at if closed else None)


def test_the_database_refuses_a_second_open_alert_for_one_device_and_condition(world, app):
    with app.app_context():
        db.session.add(_alert_row(world))
        db.session.commit()
        db.session.add(_alert_row(world))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_database_allows_closed_alerts_beside_the_open_one_and_other_conditions(world, app):
    with app.app_context():
        db.session.add_all([_alert_row(world, closed=True), _alert_row(world, closed=True), _alert_row(world),
                            _alert_row(world, condition="fault"), _alert_row(world, device="corridor_smoke")])
        db.session.commit()
        assert Alert.query.count() == 5


def test_repeats_update_count_last_at_and_last_value_of_the_one_open_alert(world):
    world.reading("gas", 0, gas_lel_pct=30)
    world.reading("gas", 20, gas_lel_pct=35)
    world.reading("gas", 40, gas_lel_pct=28)
    [alert] = world.alerts("gas", condition="gas_lel_high")
    assert (alert.count, alert.first_at, alert.last_at, alert.last_value) == (3, world.at(0), world.at(40), 28)


def _ack(client, world, alert_id, role="property_staff", **headers):
    return client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers={**world.auth(role), **headers})


def test_acknowledging_an_active_alert_records_who_and_when_and_keeps_it_open(world, client):
    world.send("smoke", "fault", 0)
    [alert] = world.alerts("smoke")
    world.set_now(30)
    resp = _ack(client, world, alert.id)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["active"] is True and body["closed_at"] is None
    assert body["acknowledged_at"] is not None
    [alert] = world.alerts("smoke")
    assert alert.acknowledged_at == world.at(30) and alert.acknowledged_by == world.people["property_staff"]


def test_an_acknowledged_alert_closes_when_its_condition_clears(world, client):
    world.send("smoke", "fault", 0)
    alert_id = world.alerts("smoke")[0].id
    assert _ack(client, world, alert_id).status_code == 200
    world.send("smoke", "fault_cleared", 60)
    [alert] = world.alerts("smoke")
    assert not alert.active and alert.cleared_at == world.at(60) and alert.closed_at == world.at(60)


def test_a_cleared_alert_waits_for_a_person_then_closes_when_acknowledged(world, client):
    world.send("smoke", "fault", 0)
    world.send("smoke", "fault_cleared", 60)
    [alert] = world.alerts("smoke")
    assert not alert.active and alert.closed_at is None  # cleared, not yet seen

    listed = client.get("/api/v1/alerts", query_string={"active": "false"}, headers=world.auth("property_staff"))
    assert [a["id"] for a in listed.get_json()["items"]] == [alert.id]

    world.set_now(120)
    assert _ack(client, world, alert.id).status_code == 200
    [alert] = world.alerts("smoke")
    assert alert.closed_at == world.at(120)
    assert client.get("/api/v1/alerts", headers=world.auth("property_staff")).get_json()["items"] == []


def test_acknowledging_twice_is_harmless_and_a_closed_alert_refuses(world, client):
    world.send("smoke", "fault", 0)
    alert_id = world.alerts("smoke")[0].id
    first = _ack(client, world, alert_id)
    world.advance(10)
    second = _ack(client, world, alert_id, role="operator")
    assert second.status_code == 200
    assert second.get_json()["acknowledged_at"] == first.get_json()["acknowledged_at"]
    assert world.alerts("smoke")[0].acknowledged_by == world.people["property_staff"]

    world.send("smoke", "fault_cleared", 60)  # acknowledged and cleared: closed
    resp = _ack(client, world, alert_id)
    assert resp.status_code == 409 and resp.get_json()["code"] == "alert_closed"


def test_a_fault_raised_again_after_its_alert_closed_opens_a_new_alert(world, client):
    world.send("smoke", "fault", 0)
    first = world.alerts("smoke")[0].id
    _ack(client, world, first)
    world.send("smoke", "fault_cleared", 10)
    world.send("smoke", "fault", 20)
    alerts = world.alerts("smoke")
    assert [a.id for a in alerts][0] == first and len(alerts) == 2
    assert alerts[1].active and alerts[1].count == 1 and alerts[1].acknowledged_at is None


def test_an_alarm_in_an_incident_stays_open_when_cleared_and_acknowledged_until_the_incident_closes(world, client):
    world.send("smoke", "smoke_alarm", 0)
    alert_id = world.alerts("smoke")[0].id
    assert _ack(client, world, alert_id).status_code == 200
    world.send("smoke", "alarm_cleared", 30)
    [alert] = world.alerts("smoke")
    assert not alert.active and alert.closed_at is None, "closed while its incident is still open"
    incident = world.incident()
    resp = client.post(f"/api/v1/incidents/{incident.id}/close", json={"outcome": "false_alarm", "reason": "cooking"},
                       headers=world.auth("property_staff"))
    assert resp.status_code == 200, resp.get_json()
    assert world.alerts("smoke")[0].closed_at is not None


def test_a_resident_cannot_acknowledge_an_alert_of_a_device_outside_their_household(world, client):
    world.send("corridor_smoke", "fault", 0)
    alert_id = world.alerts("corridor_smoke")[0].id
    assert _ack(client, world, alert_id, role="resident").status_code == 404
    assert world.alerts("corridor_smoke")[0].acknowledged_at is None


def test_listing_alerts_filters_by_level_and_condition(world, client):
    world.send("smoke", "fault", 0)
    world.send("smoke", "low_battery", 0)
    world.send("corridor_smoke", "smoke_alarm", 0)
    auth = world.auth("operator")
    by_level = client.get("/api/v1/alerts", query_string={"level": 4}, headers=auth).get_json()["items"]
    assert [a["condition"] for a in by_level] == ["low_battery"]
    by_condition = client.get("/api/v1/alerts", query_string={"condition": "smoke"}, headers=auth).get_json()["items"]
    assert [a["device_serial"] for a in by_condition] == [world.serial["corridor_smoke"]]


def test_losing_the_race_to_open_an_alert_repeats_the_winners_alert(world, monkeypatch):
    from api.alerts import services

    world.send("smoke", "fault", 0)
    real, calls = services.open_alert, []

    def racing(device_id, condition):  # the first look misses the alert another worker just opened
        calls.append(condition)
        return None if len(calls) == 1 else real(device_id, condition)

    monkeypatch.setattr(services, "open_alert", racing)
    result = world.send("smoke", "fault", 10)
    [alert] = world.alerts("smoke")
    assert (alert.count, alert.last_at) == (2, world.at(10))
    assert world.device_event(result["event_id"]).processed_at is not None
