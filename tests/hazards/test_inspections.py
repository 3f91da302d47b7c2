"""Supervisors' inspections: a checklist per site, failed items become hazards, replays stored once."""

import uuid
from datetime import datetime, timedelta

from api.extensions import db
from api.hazards.models import ChecklistTemplate, Hazard, Inspection
from tests.hazards import factories as hf

AT = "2026-12-01T09:30:00+08:00"


def _body(w, **over):
    body = {"id": str(uuid.uuid4()), "site_id": w["A"]["site"], "at": AT,
            "location": {"lat": 27.1101, "lng": 114.9902, "accuracy_m": 8.5},
            "items": [{"key": "exits_clear", "result": "pass"},
                      {"key": "ebike_charging", "result": "fail", "severity": "critical", "note": "3栋楼道充电",
                       "responsible_user_id": w["people"]["responsible"]},
                      {"key": "exit_signs_lighting", "result": "fail", "severity": "minor"},
                      {"key": "training_records", "result": "na"}]}
    body.update(over)
    return body


def _notices(client, headers):
    return client.get("/api/v1/me/notices", headers=headers).get_json()["items"]


def test_failed_items_become_hazards_with_deadlines_by_severity(client, w):
    photo = hf.upload(client, w["h"]["supervisor"])
    body = _body(w)
    body["items"][1]["photo_ids"] = [photo]
    resp = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
    assert resp.status_code == 201, resp.get_json()
    insp = resp.get_json()
    assert insp["client_id"] == body["id"] and insp["failed"] == 2
    assert insp["location"] == {"lat": 27.1101, "lng": 114.9902, "accuracy_m": 8.5}
    # in the checklist's order, with its labels
    assert [i["key"] for i in insp["items"]] == ["exits_clear", "exit_signs_lighting", "ebike_charging",
                                                 "training_records"]
    assert insp["items"][2]["label"].startswith("电动自行车")
    assert insp["items"][2]["photos"][0]["id"] == photo
    critical, minor = sorted(insp["hazards"], key=lambda h: h["severity"])
    assert critical["severity"] == "critical" and minor["severity"] == "minor"
    found = datetime.fromisoformat(AT)
    assert datetime.fromisoformat(critical["deadline"]) == found + timedelta(days=3)
    assert datetime.fromisoformat(minor["deadline"]) == found + timedelta(days=30)
    assert critical["responsible"]["id"] == w["people"]["responsible"] and minor["responsible"] is None
    assert critical["source"] == {"type": "inspection", "id": str(insp["id"]), "item_key": "ebike_charging"}
    assert critical["photos"][0]["thumb_url"] and critical["state"] == "open"
    assert insp["items"][2]["hazard_id"] == critical["id"]
    # the responsible person is told, and sees it among their hazards
    [notice] = _notices(client, w["h"]["responsible"])
    assert notice["kind"] == "hazard_assigned" and notice["link"] == f"#/hazards/{critical['id']}"
    mine = client.get("/api/v1/hazards?mine=true", headers=w["h"]["responsible"]).get_json()["items"]
    assert [h["id"] for h in mine] == [critical["id"]]
    # the site's inspections and the detail
    listed = client.get(f"/api/v1/inspections?site_id={w['A']['site']}", headers=w["h"]["grid_worker"]).get_json()
    assert [i["id"] for i in listed["items"]] == [insp["id"]]
    detail = client.get(f"/api/v1/inspections/{insp['id']}", headers=w["h"]["operator"]).get_json()
    assert detail["inspector"]["id"] == w["people"]["supervisor"] and len(detail["hazards"]) == 2


def test_a_replayed_inspection_is_stored_once_and_a_reused_id_conflicts(app, client, w):
    body = _body(w)
    first = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
    again = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    other_body = client.post("/api/v1/inspections", json={**body, "note": "改了"}, headers=w["h"]["supervisor"])
    other_user = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor2"])
    for resp in (other_body, other_user):
        assert resp.status_code == 409 and resp.get_json()["code"] == "id_conflict"
    with app.app_context():
        assert Inspection.query.count() == 1 and Hazard.query.count() == 2
    # Idempotency-Key works too
    keyed = {**w["h"]["supervisor"], "Idempotency-Key": "k-1"}
    body2 = _body(w)
    a = client.post("/api/v1/inspections", json=body2, headers=keyed)
    b = client.post("/api/v1/inspections", json=body2, headers=keyed)
    assert a.status_code == b.status_code == 201 and b.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        assert Inspection.query.count() == 2 and Hazard.query.count() == 4


def test_only_supervisors_in_scope_inspect(app, client, w):
    for role in ("grid_worker", "property_staff", "operator", "resident"):
        resp = client.post("/api/v1/inspections", json=_body(w), headers=w["h"][role])
        assert resp.status_code == 403, (role, resp.get_json())
    # another district's supervisor: the site is as unknown as a missing one
    out = client.post("/api/v1/inspections", json=_body(w), headers=w["h"]["b_supervisor"])
    missing = client.post("/api/v1/inspections", json=_body(w, site_id=999_999), headers=w["h"]["b_supervisor"])
    assert out.status_code == missing.status_code == 422
    assert out.get_json()["errors"] == missing.get_json()["errors"] == {"site_id": ["没有该场所"]}
    not_a_site = client.post("/api/v1/inspections", json=_body(w, site_id=w["A"]["grid"]),
                             headers=w["h"]["supervisor"])
    assert not_a_site.status_code == 422 and "site_id" in not_a_site.get_json()["errors"]
    with app.app_context():
        assert Inspection.query.count() == 0


def test_items_must_belong_to_the_checklist_and_photos_to_the_inspector(app, client, w):
    body = _body(w, items=[{"key": "no_such_item", "result": "fail"}])
    resp = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
    assert resp.status_code == 422 and "items" in resp.get_json()["errors"]
    twice = _body(w, items=[{"key": "exits_clear", "result": "pass"}, {"key": "exits_clear", "result": "fail"}])
    assert client.post("/api/v1/inspections", json=twice, headers=w["h"]["supervisor"]).status_code == 422
    someone_elses = hf.upload(client, w["h"]["grid_worker"])
    body = _body(w)
    body["items"][1]["photo_ids"] = [someone_elses]
    resp = client.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
    assert resp.status_code == 422 and "photo_ids" in resp.get_json()["errors"]
    bad_location = _body(w, location={"lat": 95, "lng": 114.9})
    assert client.post("/api/v1/inspections", json=bad_location, headers=w["h"]["supervisor"]).status_code == 422
    with app.app_context():
        assert Inspection.query.count() == 0 and Hazard.query.count() == 0


def test_inspections_are_visible_in_scope_only(app, client, w):
    resp = client.post("/api/v1/inspections", json=_body(w), headers=w["h"]["supervisor"])
    insp_id = resp.get_json()["id"]
    assert client.get(f"/api/v1/inspections/{insp_id}", headers=w["h"]["b_supervisor"]).status_code == 404
    assert client.get(f"/api/v1/inspections/{insp_id}", headers=w["h"]["resident"]).status_code == 404
    assert client.get("/api/v1/inspections", headers=w["h"]["b_supervisor"]).get_json()["items"] == []


def test_checklist_templates(app, client, w):
    listed = client.get("/api/v1/checklist-templates?kind=inspection", headers=w["h"]["resident"]).get_json()
    [default] = [t for t in listed["items"] if t["code"] == "default_inspection"]
    keys = {i["key"] for i in default["items"]}
    assert {"exits_clear", "extinguishers_valid", "fire_doors_closed", "alarm_panel_normal", "electrical_wiring",
            "combustibles_storage"} <= keys
    assert all(i["label"] and i["label_en"] and i["kind"] in ("pass_fail", "note", "photo") for i in default["items"])
    body = {"kind": "patrol", "name": "楼道巡查", "items": [
        {"key": "corridor_clear", "label": "楼道畅通", "label_en": "Corridor clear"},
        {"key": "photo", "label": "照片", "kind": "photo"}]}
    resp = client.post("/api/v1/checklist-templates", json=body, headers=w["h"]["supervisor"])
    assert resp.status_code == 201 and resp.get_json()["items"][0]["kind"] == "pass_fail"
    assert client.post("/api/v1/checklist-templates", json=body, headers=w["h"]["grid_worker"]).status_code == 403
    dup = {**body, "items": [body["items"][0], body["items"][0]]}
    assert client.post("/api/v1/checklist-templates", json=dup, headers=w["h"]["admin"]).status_code == 422
    patrol = client.get("/api/v1/checklist-templates?kind=patrol", headers=w["h"]["resident"]).get_json()["items"]
    assert [t["name"] for t in patrol] == ["楼道巡查"]
    # a patrol checklist cannot be used for an inspection
    wrong = _body(w, template_id=resp.get_json()["id"], items=[{"key": "corridor_clear", "result": "pass"}])
    resp = client.post("/api/v1/inspections", json=wrong, headers=w["h"]["supervisor"])
    assert resp.status_code == 422 and "template_id" in resp.get_json()["errors"]
    with app.app_context():
        assert db.session.query(ChecklistTemplate).count() == 2


def test_the_same_inspection_sent_twice_at_once_is_stored_once(app, w):
    """On both databases (api/common/savepoint.py: SQLite's loser rolls back and answers
    with the winner's row)."""
    import threading

    body, barrier, answers = _body(w), threading.Barrier(2), []

    def send():
        c = app.test_client()
        barrier.wait()
        resp = c.post("/api/v1/inspections", json=body, headers=w["h"]["supervisor"])
        answers.append((resp.status_code, resp.get_json()["id"]))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a[0] for a in answers] == [201, 201] and answers[0][1] == answers[1][1]
    with app.app_context():
        assert Inspection.query.count() == 1 and Hazard.query.count() == 2
