"""SQL and HTML injection strings in the text people type are data: stored as typed,
answered as typed (JSON-escaped, never interpreted), found by search only literally.
(That the PWA shows them as text: tests/pwa/test_security_browser.py.)"""

import pytest

from api.extensions import db
from tests import factories as f

HOSTILE = [
    "<img src=x onerror=window.__xss=1>",
    "<script>alert('xss')</script>",
    "'; DROP TABLE places; --",
    "' OR '1'='1",
    '" onmouseover="alert(1)',
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "%_\\ 100% 真实",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "阳明花园 <b>3栋</b> &amp; &lt;",
]


@pytest.fixture
def admin_world(app):
    with app.app_context():
        tree = f.city_tree("INJ")
        admin = f.user("admin")
        incident = f.incident(tree["site"], tree["site_device"])
        db.session.commit()
        return {"auth": f.bearer(admin), "grid": tree["grid"].id, "site": tree["site"].id,
                "incident": incident.id, "community": tree["community"].id}


@pytest.mark.parametrize("text", HOSTILE)
def test_place_names_and_addresses_are_stored_and_answered_verbatim(client, admin_world, text):
    auth = admin_world["auth"]
    made = client.post("/api/v1/places", headers=auth, json={
        "kind": "site", "parent_id": admin_world["grid"], "code": f"inj-{HOSTILE.index(text)}", "name": text,
        "address": text, "category": "high_rise_residential"})
    assert made.status_code == 201, made.get_json()
    place = made.get_json()
    assert (place["name"], place["address"]) == (text, text)
    again = client.get(f"/api/v1/places/{place['id']}", headers=auth).get_json()
    assert (again["name"], again["address"]) == (text, text)
    raw = client.get(f"/api/v1/places/{place['id']}", headers=auth)
    assert raw.mimetype == "application/json" and raw.headers["X-Content-Type-Options"] == "nosniff"  # never HTML
    found = client.get("/api/v1/places", headers=auth, query_string={"q": text}).get_json()["items"]
    assert [p["id"] for p in found] == [place["id"]]  # the search matched the text, not everything


def test_search_with_sql_and_wildcards_matches_only_literally(client, admin_world):
    auth = admin_world["auth"]
    for q in ("' OR '1'='1", "%", "_", "\\", "') OR 1=1 --"):
        resp = client.get("/api/v1/places", headers=auth, query_string={"q": q})
        assert resp.status_code == 200 and resp.get_json()["items"] == [], q
    assert client.get("/api/v1/places", headers=auth).get_json()["items"]  # the places are there


@pytest.mark.parametrize("text", HOSTILE[:4])
def test_device_locations_are_stored_and_answered_verbatim(client, admin_world, text):
    auth = admin_world["auth"]
    made = client.post("/api/v1/devices", headers=auth, json={
        "serial": f"INJ-{HOSTILE.index(text):04d}", "type_code": "smoke_detector", "place_id": admin_world["site"],
        "location_text": text})
    assert made.status_code == 201, made.get_json()
    device_id = made.get_json()["id"]
    assert client.get(f"/api/v1/devices/{device_id}", headers=auth).get_json()["location_text"] == text
    patched = client.patch(f"/api/v1/devices/{device_id}", headers=auth, json={"location_text": text + " 2"})
    assert patched.get_json()["location_text"] == text + " 2"


def test_an_incident_close_note_is_stored_and_answered_verbatim(client, admin_world):
    text = "<img src=x onerror=window.__xss=1> '; DROP TABLE incidents; --"
    resp = client.post(f"/api/v1/incidents/{admin_world['incident']}/close", headers=admin_world["auth"],
                       json={"outcome": "real_fire", "note": text})
    assert resp.status_code == 200, resp.get_json()
    detail = client.get(f"/api/v1/incidents/{admin_world['incident']}", headers=admin_world["auth"]).get_json()
    assert detail["note"] == text


def test_people_and_organisation_names_are_stored_verbatim(client, admin_world):
    auth = admin_world["auth"]
    text = HOSTILE[0]
    user = client.post("/api/v1/users", headers=auth, json={"phone": "13700001111", "name": text})
    assert user.status_code == 201, user.get_json()
    assert client.get(f"/api/v1/users/{user.get_json()['id']}", headers=auth).get_json()["name"] == text
    org = client.post("/api/v1/organisations", headers=auth, json={
        "kind": "property_company", "name": HOSTILE[2], "place_ids": [admin_world["community"]]})
    assert org.status_code == 201, org.get_json()
    assert client.get(f"/api/v1/organisations/{org.get_json()['id']}", headers=auth).get_json()["name"] == HOSTILE[2]
