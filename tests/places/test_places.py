"""The place tree and organisations through the API."""

import pytest

from api.extensions import db
from tests import factories as f


@pytest.fixture
def admin(app):
    with app.app_context():
        u = f.user("admin")
        db.session.commit()
        return f.bearer(u)


def post(client, h, **body):
    return client.post("/api/v1/places", json=body, headers=h)


def test_build_a_branch_of_the_tree(client, admin):
    ids = {}
    parent = None
    for kind in ("city", "district", "street", "community", "grid", "site", "household"):
        body = {"kind": kind, "code": f"T-{kind}", "name": f"测试{kind}", "parent_id": parent}
        if kind == "site":
            body.update(category="high_rise_residential", address="吉州区井冈山大道88号",
                        lat=27.1136, lng=114.9795, floors=26)
        if kind == "household":
            body.update(floor=12)
        resp = post(client, admin, **body)
        assert resp.status_code == 201, resp.get_json()
        parent = ids[kind] = resp.get_json()["id"]
    site = client.get(f"/api/v1/places/{ids['site']}", headers=admin).get_json()
    assert site["path"] == "/" + "/".join(str(ids[k]) for k in ("city", "district", "street", "community", "grid", "site")) + "/"
    assert site["category"] == "high_rise_residential" and site["floors"] == 26
    children = client.get(f"/api/v1/places?parent_id={ids['site']}", headers=admin).get_json()
    assert [c["id"] for c in children["items"]] == [ids["household"]]


@pytest.fixture
def community(app):
    with app.app_context():
        t = f.city_tree("X")
        db.session.commit()
        return {k: v.id for k, v in t.items()}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "site", "parent_key": "community", "category": "dormitory"}, "parent_id"),  # skips the grid
        ({"kind": "site", "parent_key": "grid"}, "category"),
        ({"kind": "grid", "parent_key": "community", "category": "dormitory"}, "category"),
        ({"kind": "site", "parent_key": "grid", "category": "castle"}, "category"),
        ({"kind": "site", "parent_key": "grid", "category": "dormitory", "lat": 27.1}, "lat"),
        ({"kind": "site", "parent_key": "grid", "category": "dormitory", "lat": 95.0, "lng": 114.9}, "lat"),
        ({"kind": "household"}, "parent_id"),
        ({"kind": "planet", "parent_key": "grid"}, "kind"),
    ],
)
def test_bad_places_are_refused_with_the_field(client, admin, community, body, field):
    body = dict(body)
    key = body.pop("parent_key", None)
    body.update(code="NEW-1", name="新场所", parent_id=community[key] if key else None)
    resp = post(client, admin, **body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]


def test_codes_are_unique(client, admin, community):
    body = {"kind": "household", "parent_id": community["site"], "code": "DUP", "name": "1-101"}
    assert post(client, admin, **body).status_code == 201
    again = post(client, admin, **body)
    assert again.status_code == 409
    assert "code" in again.get_json()["errors"]


def test_a_place_with_children_or_devices_is_not_deleted(client, admin, community):
    assert client.delete(f"/api/v1/places/{community['grid']}", headers=admin).status_code == 409
    assert client.delete(f"/api/v1/places/{community['household']}", headers=admin).status_code == 409


def test_unknown_place_is_404(client, admin):
    resp = client.get("/api/v1/places/424242", headers=admin)
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"


def test_organisation_coverage_follows_its_kind(client, admin, community):
    ok = client.post("/api/v1/organisations", headers=admin,
                     json={"kind": "micro_station", "name": "文山微型消防站", "place_ids": [community["community"]]})
    assert ok.status_code == 201
    assert ok.get_json()["place_ids"] == [community["community"]]
    wrong = client.post("/api/v1/organisations", headers=admin,
                        json={"kind": "micro_station", "name": "x", "place_ids": [community["site"]]})
    assert wrong.status_code == 422 and "place_ids" in wrong.get_json()["errors"]
    no_sector = client.post("/api/v1/organisations", headers=admin,
                            json={"kind": "industry_department", "name": "教育局", "place_ids": [community["site"]]})
    assert no_sector.status_code == 422 and "sector" in no_sector.get_json()["errors"]


def test_resident_sees_who_is_responsible_for_them(app, client, community):
    with app.app_context():
        from api.places.models import Place

        resident = f.user("resident", place=db.session.get(Place, community["household"]))
        db.session.commit()
        h = f.bearer(resident)
    kinds = {o["kind"] for o in client.get("/api/v1/organisations", headers=h).get_json()["items"]}
    assert kinds == {"property_company", "micro_station", "maintenance_company", "industry_department"}


def test_site_categories_are_those_of_the_standard(client, admin):
    codes = {c["code"] for c in client.get("/api/v1/site-categories", headers=admin).get_json()}
    assert {"high_rise_residential", "nine_small_places", "shanty_area", "city_road", "automatic_facilities"} <= codes
    assert len(codes) == 11
