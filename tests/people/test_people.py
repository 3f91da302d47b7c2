"""Accounts, memberships, masking."""

import pytest
from flask import g

from api.extensions import db
from api.people.phones import mask, phone_for_viewer
from tests import factories as f


@pytest.fixture
def world(app):
    with app.app_context():
        t = f.city_tree("P")
        admin = f.user("admin")
        station = t["micro_station"]
        db.session.commit()
        return {"tree": {k: v.id for k, v in t.items()}, "admin": f.bearer(admin), "station": station.id}


def test_admin_creates_a_person_with_roles(client, world):
    t = world["tree"]
    resp = client.post("/api/v1/users", headers=world["admin"], json={
        "phone": "+86 150 0000 1234", "name": "王网格", "password": "long-enough-1",
        "memberships": [{"role": "grid_worker", "place_id": t["grid"]},
                        {"role": "station_member", "org_id": world["station"]}],
    })
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["phone"] == "15000001234"  # admins see full numbers
    assert sorted(m["role"] for m in body["memberships"]) == ["grid_worker", "station_member"]
    login = client.post("/api/v1/auth/login", json={"phone": "15000001234", "password": "long-enough-1"})
    assert login.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + login.get_json()["access_token"]})
    assert {m["role"] for m in me.get_json()["memberships"]} == {"grid_worker", "station_member"}


@pytest.mark.parametrize(
    "membership,field",
    [
        ({"role": "resident", "place_key": "grid"}, "place_id"),
        ({"role": "grid_worker", "place_key": "household"}, "place_id"),
        ({"role": "station_member", "org_key": "property_company"}, "org_id"),
        ({"role": "resident"}, "place_id"),
        ({"role": "resident", "place_key": "household", "org_key": "micro_station"}, "place_id"),
        ({"role": "pilot", "place_key": "grid"}, "memberships"),
    ],
)
def test_roles_are_held_in_fitting_scopes(client, world, membership, field):
    t = world["tree"]
    m = {"role": membership["role"]}
    if "place_key" in membership:
        m["place_id"] = t[membership["place_key"]]
    if "org_key" in membership:
        m["org_id"] = t[membership["org_key"]]
    resp = client.post("/api/v1/users", headers=world["admin"],
                       json={"phone": "15000005678", "name": "x", "memberships": [m]})
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_duplicate_phone_is_a_conflict(client, world):
    body = {"phone": "15000009999", "name": "a"}
    assert client.post("/api/v1/users", headers=world["admin"], json=body).status_code == 201
    again = client.post("/api/v1/users", headers=world["admin"], json=body)
    assert again.status_code == 409 and "phone" in again.get_json()["errors"]


@pytest.mark.parametrize("phone", ["12345678901", "0791-1234567", "+1 415 555 0100", ""])
def test_phone_must_be_a_mainland_mobile(client, world, phone):
    resp = client.post("/api/v1/users", headers=world["admin"], json={"phone": phone, "name": "a"})
    assert resp.status_code == 422 and "phone" in resp.get_json()["errors"]


def test_phones_are_masked_except_for_owner_and_admins(app):
    with app.test_request_context():
        owner = f.user("resident", place=None, phone="+8613812341234")
        other = f.user("grid_worker")
        admin = f.user("admin")
        g.current_user = other
        assert phone_for_viewer(owner.phone, owner.id) == "138****1234"
        g.current_user = owner
        assert phone_for_viewer(owner.phone, owner.id) == "13812341234"
        g.current_user = admin
        assert phone_for_viewer(owner.phone, owner.id) == "13812341234"
        db.session.rollback()
    assert mask("+8615000001234") == "150****1234"


def test_me_can_change_language(client, app):
    with app.app_context():
        u = f.user("operator")
        db.session.commit()
        h = f.bearer(u)
    resp = client.patch("/api/v1/me", headers=h, json={"locale": "en"})
    assert resp.status_code == 200 and resp.get_json()["locale"] == "en"
    assert client.patch("/api/v1/me", headers=h, json={"locale": "fr"}).status_code == 422


def test_removing_a_membership_removes_the_access(client, app):
    with app.app_context():
        t = f.city_tree("R")
        admin = f.user("admin")
        worker = f.user("grid_worker", place=t["grid"])
        db.session.commit()
        ids = {"worker": worker.id, "m": worker.memberships[0].id, "device": t["household_device"].id}
        ha, hw = f.bearer(admin), f.bearer(worker)
    assert client.get(f"/api/v1/devices/{ids['device']}", headers=hw).status_code == 200
    assert client.delete(f"/api/v1/users/{ids['worker']}/memberships/{ids['m']}", headers=ha).status_code == 204
    assert client.get(f"/api/v1/devices/{ids['device']}", headers=hw).status_code == 404
