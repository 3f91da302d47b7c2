import uuid

import pytest

from api.extensions import db
from tests.patrols.conftest import plan_body


@pytest.fixture
def failed(client, town):
    """A record of the property staff with one failed and one passed item."""
    body = plan_body(town.A["site"])
    body["checkpoints"][0]["items"].append({"key": "door", "label": "防火门常闭", "kind": "pass_fail"})
    plan = client.post("/api/v1/patrol-plans", json=body, headers=town.h["property_staff"]).get_json()
    cp = plan["checkpoints"][0]
    rec = {"id": str(uuid.uuid4()), "checkpoint_id": cp["id"], "code": cp["code"], "at": "2026-11-30T09:00:00+08:00",
           "items": [{"key": "extinguisher", "result": "fail", "note": "压力表指针在红区"},
                     {"key": "door", "result": "pass"}]}
    resp = client.post("/api/v1/patrol-records", json=rec, headers=town.h["property_staff"])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_a_failed_item_becomes_a_hazard_in_one_tap(app, client, town, failed):
    url = f"/api/v1/patrol-records/{failed['id']}/items/extinguisher/hazard"
    h = town.h["property_staff"]
    first = client.post(url, json={"id": str(uuid.uuid4()), "severity": "major"}, headers=h)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["item_key"] == "extinguisher" and answer["record_id"] == failed["id"]
    hazard_id = answer["hazard_id"]
    assert answer["hazard"]["severity"] == "major" and answer["hazard"]["state"] == "open"
    assert answer["hazard"]["site_id"] == town.A["site"]
    # a second tap, even with another client id, returns the same hazard
    second = client.post(url, json={"id": str(uuid.uuid4()), "severity": "minor"}, headers=h)
    assert second.status_code == 200 and second.get_json()["hazard_id"] == hazard_id
    with app.app_context():
        from api.hazards.models import Hazard

        hazards = Hazard.query.all()
        assert len(hazards) == 1
        assert (hazards[0].source_type, hazards[0].source_id, hazards[0].item_key) == (
            "patrol", failed["id"], "extinguisher")
        assert hazards[0].description == "压力表指针在红区"
    listed = client.get(f"/api/v1/patrol-records?plan_id={failed['plan_id']}", headers=h).get_json()["items"]
    assert listed[0]["items"][0]["hazard_id"] == hazard_id and listed[0]["items"][1]["hazard_id"] is None
    hazard = client.get(f"/api/v1/hazards/{hazard_id}", headers=town.h["supervisor"])
    assert hazard.status_code == 200


def test_replay_with_the_same_id_and_key(app, client, town, failed):
    url = f"/api/v1/patrol-records/{failed['id']}/items/extinguisher/hazard"
    body = {"id": str(uuid.uuid4()), "severity": "critical"}
    h = {**town.h["property_staff"], "Idempotency-Key": "tap-1"}
    a = client.post(url, json=body, headers=h)
    b = client.post(url, json=body, headers=h)
    assert a.status_code == b.status_code == 201 and a.get_json() == b.get_json()


def test_only_a_failed_item_and_only_a_known_one(client, town, failed):
    h = town.h["property_staff"]
    passed = client.post(f"/api/v1/patrol-records/{failed['id']}/items/door/hazard",
                         json={"id": str(uuid.uuid4())}, headers=h)
    assert passed.status_code == 409 and passed.get_json()["code"] == "wrong_state"
    unknown = client.post(f"/api/v1/patrol-records/{failed['id']}/items/nope/hazard",
                          json={"id": str(uuid.uuid4())}, headers=h)
    assert unknown.status_code == 404
    missing = client.post(f"/api/v1/patrol-records/{uuid.uuid4()}/items/extinguisher/hazard",
                          json={"id": str(uuid.uuid4())}, headers=h)
    assert missing.status_code == 404


def test_wrong_role_and_wrong_scope(app, client, town, failed):
    url = f"/api/v1/patrol-records/{failed['id']}/items/extinguisher/hazard"
    assert client.post(url, json={"id": str(uuid.uuid4())}, headers=town.h["maintainer"]).status_code == 403
    assert client.post(url, json={"id": str(uuid.uuid4())}, headers=town.h["resident"]).status_code == 404
    with app.app_context():
        from api.hazards.models import Hazard

        assert db.session.query(Hazard).count() == 0
