"""The hydrant registry: create, replay, roles, scope, nearest, pressure."""

from datetime import timedelta

import pytest

from api.common.clock import utcnow
from api.extensions import db
from api.hydrants.models import Hydrant
from api.ingest.models import DeviceEvent
from tests import factories as f
from tests.hydrants import factories as hf
from tests.hydrants.helpers import hydrant_body


def post(client, h, body, **headers):
    return client.post("/api/v1/hydrants", json=body, headers={**h, **headers})


def count(app, model=Hydrant):
    with app.app_context():
        return model.query.count()


def test_supervisor_registers_a_hydrant_with_its_gcj02_position(client, w):
    resp = post(client, w.h["supervisor"], hydrant_body(w, device_id=w.spare_device))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["location"] == {"lat": 27.114, "lng": 114.98}
    assert body["gcj02"]["lat"] != 27.114 and abs(body["gcj02"]["lng"] - 114.98) < 0.01
    assert body["status"] == "normal" and body["device_id"] == w.spare_device
    assert body["maintainer_org_id"] == w.A["maintenance_company"] and body["maintainer_name"]
    assert client.get(f"/api/v1/hydrants/{body['id']}", headers=w.h["grid_worker"]).get_json()["code"] == body["code"]


def test_a_replayed_creation_is_stored_once(app, client, w):
    body = hydrant_body(w)
    first = post(client, w.h["maintainer"], body)
    again = post(client, w.h["maintainer"], body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert count(app) == 3
    # the same id with another body, or from somebody else, is a conflict
    changed = post(client, w.h["maintainer"], {**body, "code": "XHS-OTHER"})
    assert changed.status_code == 409 and changed.get_json()["code"] == "id_conflict"
    stranger = post(client, w.h["supervisor"], body)
    assert stranger.status_code == 409 and stranger.get_json()["code"] == "id_conflict"
    # Idempotency-Key works as well
    key_body = hydrant_body(w)
    a = post(client, w.h["admin"], key_body, **{"Idempotency-Key": "hyd-1"})
    b = post(client, w.h["admin"], key_body, **{"Idempotency-Key": "hyd-1"})
    assert a.get_json() == b.get_json() and b.headers.get("Idempotent-Replayed") == "true"
    assert count(app) == 4


@pytest.mark.parametrize("role", ["resident", "property_staff", "grid_worker", "station_member", "operator"])
def test_only_admin_supervisor_and_maintainer_register(app, client, w, role):
    resp = post(client, w.h[role], hydrant_body(w))
    assert resp.status_code == 403
    assert count(app) == 2


def test_a_maintainer_registers_only_for_their_own_company(client, w):
    resp = post(client, w.h["maintainer"], hydrant_body(w, maintainer_org_id=None))
    assert resp.status_code == 403
    other = post(client, w.h["maintainer"], hydrant_body(w, maintainer_org_id=w.B["maintenance_company"]))
    assert other.status_code == 403


@pytest.mark.parametrize("over,field,status", [
    ({"place_id": "B:site"}, "place_id", 422),  # out of scope: like a missing place
    ({"place_id": 999_999}, "place_id", 422),
    ({"place_id": "A:household"}, "place_id", 422),
    ({"maintainer_org_id": "A:property_company"}, "maintainer_org_id", 422),
    ({"device_id": "smoke"}, "device_id", 422),
    ({"device_id": "linked"}, "device_id", 409),
    ({"code": "XHS-A1"}, "code", 409),
    ({"location": {"lat": 91, "lng": 114.9}}, "location", 422),
    ({"kind": "pillar"}, "kind", 422),
])
def test_bad_hydrant_bodies(client, w, over, field, status):
    values = {"B:site": w.B["site"], "A:household": w.A["household"], "A:property_company": w.A["property_company"],
              "smoke": w.smoke_device, "linked": w.device}
    over = {k: values.get(v, v) if isinstance(v, str) else v for k, v in over.items()}
    resp = post(client, w.h["admin"] if field != "place_id" else w.h["supervisor"], hydrant_body(w, **over))
    assert resp.status_code == status, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_lists_hold_the_callers_scope_and_their_companys_hydrants(app, client, w):
    with app.app_context():
        from api.places.models import Place

        # a street hydrant in city A kept by A's maintenance company, whose coverage is only the site
        street = db.session.get(Place, w.A["street"])
        hf.hydrant(street, db.session.get(__import__("api.places.models", fromlist=["Organisation"]).Organisation,
                                          w.A["maintenance_company"]), code="XHS-STREET")
        db.session.commit()
    codes = lambda role: {h["code"] for h in client.get("/api/v1/hydrants", headers=w.h[role]).get_json()["items"]}  # noqa: E731
    assert codes("grid_worker") == {"XHS-A1"}
    assert codes("supervisor") == {"XHS-A1", "XHS-STREET"}
    assert codes("maintainer") == {"XHS-A1", "XHS-STREET"}
    assert codes("resident") == set()
    assert codes("admin") == {"XHS-A1", "XHS-STREET", "XHS-B1"}
    assert codes("b_maintainer") == {"XHS-B1"}
    assert client.get(f"/api/v1/hydrants/{w.hydrant_b}", headers=w.h["supervisor"]).status_code == 404
    damaged = client.get("/api/v1/hydrants?status=damaged", headers=w.h["admin"]).get_json()["items"]
    assert damaged == []


def test_patch_by_role_and_scope(client, w):
    url = f"/api/v1/hydrants/{w.hydrant_a}"
    assert client.patch(url, json={"status": "out_of_service"}, headers=w.h["grid_worker"]).status_code == 403
    assert client.patch(url, json={"status": "out_of_service"}, headers=w.h["b_supervisor"]).status_code == 404
    resp = client.patch(url, json={"status": "out_of_service", "location": {"lat": 27.12, "lng": 114.99}},
                        headers=w.h["maintainer"])
    assert resp.status_code == 200 and resp.get_json()["status"] == "out_of_service"
    assert resp.get_json()["location"] == {"lat": 27.12, "lng": 114.99}
    moved = client.patch(url, json={"place_id": w.B["site"]}, headers=w.h["supervisor"])
    assert moved.status_code == 422 and "place_id" in moved.get_json()["errors"]


def _hydrants_around(app, w, offsets_m):
    """Hydrants due north of (27.0, 115.0) at the given distances, in city A's site."""
    from api.places.models import Place

    with app.app_context():
        site = db.session.get(Place, w.A["site"])
        for i, d in enumerate(offsets_m):
            hf.hydrant(site, code=f"N-{d}", lat=27.0 + d / 111_195.0, lng=115.0, status="out_of_service" if i == 0
                       else "normal")
        db.session.commit()


def test_nearest_sorted_by_distance_with_latest_pressure(app, client, w):
    _hydrants_around(app, w, [30, 120, 900, 4000, 30_000])
    resp = client.get("/api/v1/hydrants/nearest?lat=27.0&lng=115.0&limit=3", headers=w.h["station_member"])
    items = resp.get_json()["items"]
    assert [h["code"] for h in items] == ["N-30", "N-120", "N-900"]
    assert [round(h["distance_m"]) for h in items] == [30, 120, 900]
    assert all("latest_pressure_mpa" in h for h in items)
    usable = client.get("/api/v1/hydrants/nearest?lat=27.0&lng=115.0&limit=2&usable=true",
                        headers=w.h["station_member"]).get_json()["items"]
    assert [h["code"] for h in usable] == ["N-120", "N-900"]
    # never further than max_m
    far = client.get("/api/v1/hydrants/nearest?lat=27.0&lng=115.0&limit=10&max_m=5000",
                     headers=w.h["station_member"]).get_json()["items"]
    assert [h["code"] for h in far] == ["N-30", "N-120", "N-900", "N-4000"]
    # out of scope: B's supervisor sees none of them
    assert client.get("/api/v1/hydrants/nearest?lat=27.0&lng=115.0", headers=w.h["b_supervisor"]).get_json() == {
        "items": []}


def test_list_near_a_point_within_a_radius(app, client, w):
    _hydrants_around(app, w, [30, 120, 900])
    items = client.get("/api/v1/hydrants?near=27.0,115.0&radius_m=500", headers=w.h["admin"]).get_json()["items"]
    assert [h["code"] for h in items] == ["N-30", "N-120"] and items[0]["distance_m"] == pytest.approx(30, abs=1)
    bad = client.get("/api/v1/hydrants?near=north", headers=w.h["admin"])
    assert bad.status_code == 422 and "near" in bad.get_json()["errors"]


def _telemetry(app, device_id, points):
    with app.app_context():
        now = utcnow()
        for i, (minutes_ago, values) in enumerate(points):
            db.session.add(DeviceEvent(device_id=device_id, message_id=f"m{i}", kind="telemetry",
                                       occurred_at=now - timedelta(minutes=minutes_ago), received_at=now,
                                       values=values))
        db.session.commit()


def test_pressure_history_and_latest_come_from_the_devices_telemetry(app, client, w):
    _telemetry(app, w.device, [(60, {"pressure_mpa": 0.32}), (30, {"pressure_mpa": 0.12}),
                               (10, {"battery_pct": 80}), (60 * 24 * 10, {"pressure_mpa": 0.5})])
    resp = client.get(f"/api/v1/hydrants/{w.hydrant_a}/pressure", headers=w.h["grid_worker"])
    body = resp.get_json()
    assert resp.status_code == 200 and body["device_id"] == w.device
    assert [p["pressure_mpa"] for p in body["items"]] == [0.12, 0.32]  # newest first, last 7 days
    assert body["latest_pressure_mpa"] == 0.12
    one = client.get(f"/api/v1/hydrants/{w.hydrant_a}", headers=w.h["grid_worker"]).get_json()
    assert one["latest_pressure_mpa"] == 0.12 and one["pressure_low"] is True and one["pressure_at"]
    assert client.get(f"/api/v1/hydrants/{w.hydrant_b}/pressure", headers=w.h["grid_worker"]).status_code == 404


def test_pressure_through_the_ingest_pipeline(app, client, w):
    """A hydrant_monitor's message through the real ingest webhook is the hydrant's pressure."""
    from tests.ingest.conftest import event, post_events

    with app.app_context():
        integration = f.integration()
        db.session.commit()
        serial = db.session.get(__import__("api.devices.models", fromlist=["Device"]).Device, w.device).serial
        resp = post_events(client, integration, [event(serial, "p-1", "telemetry", values={"pressure_mpa": 0.28})])
    assert resp.status_code in (200, 202), resp.get_json()
    body = client.get(f"/api/v1/hydrants/{w.hydrant_a}/pressure", headers=w.h["admin"]).get_json()
    assert body["latest_pressure_mpa"] == 0.28 and len(body["items"]) == 1
