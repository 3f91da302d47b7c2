"""The device registry, device types and the installation standard."""

import pytest

from api.extensions import db
from tests import factories as f


@pytest.fixture
def world(app):
    with app.app_context():
        t = f.city_tree("D")
        other = f.city_tree("E")
        operator = f.user("operator", place=t["city"])
        db.session.commit()
        return {"t": {k: v.id for k, v in t.items()}, "other": {k: v.id for k, v in other.items()},
                "h": f.bearer(operator)}


def create(client, world, **body):
    data = {"serial": "NB-0001", "type_code": "smoke_detector", "place_id": world["t"]["household"]}
    data.update(body)
    return client.post("/api/v1/devices", json=data, headers=world["h"])


def test_operator_registers_a_device(client, world):
    resp = create(client, world, imei="869012345678901", location_text="厨房", lat=27.11, lng=114.99,
                  installed_at="2026-11-30T10:00:00+08:00")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["site_id"] == world["t"]["site"]
    assert body["installed_at"].startswith("2026-11-30T02:00:00")  # stored and answered in UTC
    listed = client.get(f"/api/v1/devices?place_id={world['t']['site']}&limit=500", headers=world["h"]).get_json()
    assert body["id"] in {d["id"] for d in listed["items"]}


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"type_code": "toaster"}, 422, "type_code"),
        ({"imei": "12345"}, 422, "imei"),
        ({"serial": "有空格 的"}, 422, "serial"),
        ({"place_key": "grid"}, 422, "place_id"),
        ({"place_id": 987654}, 422, "place_id"),
        ({"installed_at": "2026-11-30T10:00:00"}, 422, "installed_at"),  # naive: ambiguous
        ({"status": "exploded"}, 422, "status"),
    ],
)
def test_bad_devices_are_refused_with_the_field(client, world, body, status, field):
    body = dict(body)
    if "place_key" in body:
        body["place_id"] = world["t"][body.pop("place_key")]
    resp = create(client, world, **body)
    assert resp.status_code == status, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_serial_and_imei_are_unique(client, world):
    assert create(client, world, imei="869012345678901").status_code == 201
    dup = create(client, world, imei="869012345678901")
    assert dup.status_code == 409
    assert set(dup.get_json()["errors"]) == {"serial", "imei"}


def test_moving_a_device_moves_its_scope(client, app, world):
    dev = create(client, world).get_json()
    resp = client.patch(f"/api/v1/devices/{dev['id']}", json={"place_id": world["t"]["site"]}, headers=world["h"])
    assert resp.status_code == 200 and resp.get_json()["site_id"] == world["t"]["site"]
    with app.app_context():
        from api.devices.models import Device
        from api.places.models import Place

        d = db.session.get(Device, dev["id"])
        assert d.place_path == db.session.get(Place, world["t"]["site"]).path
    away = client.patch(f"/api/v1/devices/{dev['id']}", json={"place_id": world["other"]["site"]},
                        headers=world["h"])
    assert away.status_code == 422  # another city's site is unknown to this operator


def test_device_types_carry_heartbeats(client, world):
    types = {t["code"]: t for t in client.get("/api/v1/device-types", headers=world["h"]).get_json()}
    assert set(types) == {"smoke_detector", "gas_detector", "electrical_monitor", "hydrant_monitor",
                          "water_monitor", "uitd", "video_camera"}
    assert types["uitd"]["heartbeat_seconds"] <= 7200  # GB 50440: patrol at least every 2 h
    assert all(t["heartbeat_seconds"] > 0 for t in types.values())


def test_admin_changes_a_heartbeat(client, app):
    with app.app_context():
        h = f.bearer(f.user("admin"))
        db.session.commit()
    resp = client.patch("/api/v1/device-types/video_camera", json={"heartbeat_seconds": 900}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["heartbeat_seconds"] == 900
    assert client.patch("/api/v1/device-types/video_camera", json={"heartbeat_seconds": 1}, headers=h).status_code == 422
    assert client.patch("/api/v1/device-types/nope", json={"heartbeat_seconds": 900}, headers=h).status_code == 404
    client.patch("/api/v1/device-types/video_camera", json={"heartbeat_seconds": 600}, headers=h)


def test_installation_standard_is_the_jian_table(client, world):
    rows = client.get("/api/v1/installation-standard", headers=world["h"]).get_json()
    cell = {(r["category"], r["equipment"]): r["requirement"] for r in rows}
    assert len(rows) == 77
    assert cell[("high_rise_residential", "uitd")] == "M"
    assert cell[("automatic_facilities", "detector")] == "O"
    assert cell[("dormitory", "evacuation_video")] == "M"
    assert cell[("nine_small_places", "uitd")] == "-"
    assert cell[("shanty_area", "water_monitor")] == "M"
    assert cell[("city_road", "hydrant_monitor")] == "M"
    assert cell[("low_rise_residential", "electrical_monitor")] == "O"


def test_admin_edits_the_standard(client, app):
    with app.app_context():
        h = f.bearer(f.user("admin"))
        db.session.commit()
    body = {"category": "group_rental", "equipment": "water_monitor", "requirement": "M"}
    assert client.put("/api/v1/installation-standard", json=body, headers=h).status_code == 200
    rows = client.get("/api/v1/installation-standard", headers=h).get_json()
    assert {"category": "group_rental", "equipment": "water_monitor", "requirement": "M"} in rows
    bad = client.put("/api/v1/installation-standard", json={**body, "requirement": "maybe"}, headers=h)
    assert bad.status_code == 422 and "requirement" in bad.get_json()["errors"]
    body["requirement"] = "O"
    client.put("/api/v1/installation-standard", json=body, headers=h)
