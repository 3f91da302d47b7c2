from api.extensions import db
from api.patrols.models import PatrolPlan
from tests import factories as f
from tests.patrols.conftest import plan_body


def test_property_staff_creates_a_plan_for_their_site(client, town):
    body = plan_body(town.A["site"])
    resp = client.post("/api/v1/patrol-plans", json=body, headers=town.h["property_staff"])
    assert resp.status_code == 201, resp.get_json()
    plan = resp.get_json()
    assert plan["client_id"] == body["id"]
    assert [c["name"] for c in plan["checkpoints"]] == ["一楼大堂", "B1 配电房", "楼顶水箱"]
    assert [c["position"] for c in plan["checkpoints"]] == [1, 2, 3]
    first = plan["checkpoints"][0]
    assert first["radius_m"] == 25 and first["location"] == {"lat": 27.11, "lng": 114.99}
    assert first["items"][1] == {"key": "photo", "label": "photo" and "现场照片", "label_en": None, "kind": "photo"}
    assert first["code"].startswith(f"{first['id']}.") and first["scan_url"].endswith("/#/scan/" + first["code"])
    assert plan["frequency"] == {"kind": "daily", "start": "08:00", "end": "10:00"}
    assert plan["assignees"] == {"roles": ["property_staff"], "user_ids": []}
    assert plan["created_by"] == town.people["property_staff"]
    assert client.get(f"/api/v1/patrol-plans/{plan['id']}", headers=town.h["grid_worker"]).get_json() == plan


def test_replayed_create_is_stored_once_and_answers_the_same(app, client, town):
    body = plan_body(town.A["site"])
    first = client.post("/api/v1/patrol-plans", json=body, headers=town.h["grid_worker"])
    again = client.post("/api/v1/patrol-plans", json=body, headers=town.h["grid_worker"])
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    with app.app_context():
        assert PatrolPlan.query.count() == 1
    changed = client.post("/api/v1/patrol-plans", json={**body, "name": "另一个"}, headers=town.h["grid_worker"])
    assert changed.status_code == 409 and changed.get_json()["code"] == "id_conflict"
    other = client.post("/api/v1/patrol-plans", json=body, headers=town.h["supervisor"])
    assert other.status_code == 409 and other.get_json()["code"] == "id_conflict"
    with app.app_context():
        assert PatrolPlan.query.count() == 1


def test_idempotency_key_replays_a_create(app, client, town):
    body = plan_body(town.A["site"])
    del body["id"]
    h = {**town.h["supervisor"], "Idempotency-Key": "plan-1"}
    first = client.post("/api/v1/patrol-plans", json=body, headers=h)
    again = client.post("/api/v1/patrol-plans", json=body, headers=h)
    assert first.status_code == again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        assert PatrolPlan.query.count() == 1


def test_wrong_role_is_403_and_out_of_scope_is_like_a_missing_place(client, town):
    for role in ("maintainer", "operator"):
        resp = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"]), headers=town.h[role])
        assert resp.status_code == 403, role
    out = client.post("/api/v1/patrol-plans", json=plan_body(town.B["site"]), headers=town.h["supervisor"])
    missing = client.post("/api/v1/patrol-plans", json=plan_body(999999), headers=town.h["supervisor"])
    assert out.status_code == missing.status_code == 422
    assert out.get_json()["errors"] == missing.get_json()["errors"]
    household = client.post("/api/v1/patrol-plans", json=plan_body(town.A["household"]), headers=town.h["admin"])
    assert household.status_code == 422 and "place_id" in household.get_json()["errors"]


def test_frequency_is_validated(client, town):
    h = town.h["admin"]
    for freq, field in (({"kind": "weekly", "start": "08:00", "end": "09:00"}, "weekdays"),
                        ({"kind": "custom"}, "every_hours"),
                        ({"kind": "daily", "start": "10:00", "end": "09:00"}, "end"),
                        ({"kind": "daily", "start": "25:00"}, "start")):
        resp = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"], frequency=freq), headers=h)
        assert resp.status_code == 422, freq
        assert field in resp.get_json()["errors"]["frequency"], resp.get_json()
    weekly = {"kind": "weekly", "weekdays": [5, 1, 1], "start": "14:00", "end": "16:00"}
    resp = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"], frequency=weekly), headers=h)
    assert resp.get_json()["frequency"] == {"kind": "weekly", "weekdays": [1, 5], "start": "14:00", "end": "16:00"}


def test_patch_keeps_checkpoint_ids_and_retires_the_dropped_ones(client, town):
    h = town.h["supervisor"]
    plan = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"]), headers=h).get_json()
    c1, c2, c3 = plan["checkpoints"]
    new = {"checkpoints": [
        {"id": c3["id"], "name": "楼顶水箱", "location": c3["location"], "items": c3["items"]},
        {"id": c1["id"], "name": "大堂", "location": c1["location"], "radius_m": 40, "items": c1["items"]},
        {"name": "消防控制室", "location": {"lat": 27.1, "lng": 114.9}},
    ], "name": "改后的计划", "assignees": {"roles": [], "user_ids": [town.people["grid_worker"]]}}
    resp = client.patch(f"/api/v1/patrol-plans/{plan['id']}", json=new, headers=h)
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert [c["id"] for c in got["checkpoints"][:2]] == [c3["id"], c1["id"]]
    assert [c["name"] for c in got["checkpoints"]] == ["楼顶水箱", "大堂", "消防控制室"]
    assert got["checkpoints"][0]["code"] == c3["code"]  # its printed label stays good
    assert c2["id"] not in [c["id"] for c in got["checkpoints"]]
    assert got["assignees"] == {"roles": [], "user_ids": [town.people["grid_worker"]]}
    foreign = client.patch(f"/api/v1/patrol-plans/{plan['id']}", headers=h, json={
        "checkpoints": [{"id": 999999, "name": "x", "location": {"lat": 1, "lng": 1}}]})
    assert foreign.status_code == 422
    assert client.patch(f"/api/v1/patrol-plans/{plan['id']}", json={"name": "x"},
                        headers=town.h["maintainer"]).status_code == 403


def test_named_assignee_outside_the_scope_sees_their_plan(app, client, town):
    with app.app_context():
        from api.places.models import Place

        # a grid worker of city B, named on city A's plan
        outsider = f.user("grid_worker", place=db.session.get(Place, town.B["grid"]))
        db.session.commit()
        outsider_id, h_out = outsider.id, f.bearer(outsider)
    body = plan_body(town.A["site"], assignees={"roles": [], "user_ids": [outsider_id]})
    plan = client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).get_json()
    other = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"]), headers=town.h["admin"]).get_json()
    assert client.get(f"/api/v1/patrol-plans/{plan['id']}", headers=h_out).status_code == 200
    assert client.get(f"/api/v1/patrol-plans/{other['id']}", headers=h_out).status_code == 404
    listed = client.get("/api/v1/patrol-plans", headers=h_out).get_json()["items"]
    assert [p["id"] for p in listed] == [plan["id"]]
    mine = client.get("/api/v1/patrol-plans?mine=true", headers=town.h["property_staff"]).get_json()["items"]
    assert {p["id"] for p in mine} == {other["id"]}  # by role (property_staff) on the second plan only


def test_role_assignee_below_a_community_plan_sees_it(client, town):
    body = plan_body(town.A["community"], assignees={"roles": ["grid_worker"], "user_ids": []})
    plan = client.post("/api/v1/patrol-plans", json=body, headers=town.h["supervisor"]).get_json()
    # the grid worker's scope is a grid inside the community: the plan is theirs all the same
    assert client.get(f"/api/v1/patrol-plans/{plan['id']}", headers=town.h["grid_worker"]).status_code == 200
    ids = [p["id"] for p in client.get("/api/v1/patrol-plans?mine=true",
                                       headers=town.h["grid_worker"]).get_json()["items"]]
    assert ids == [plan["id"]]


def test_checkpoint_site_must_lie_in_the_plan_place(client, town):
    body = plan_body(town.A["community"])
    body["checkpoints"][0]["site_id"] = town.A["site"]
    assert client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).status_code == 201
    body = plan_body(town.A["community"])
    body["checkpoints"][0]["site_id"] = town.B["site"]
    assert client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).status_code == 422


def test_a_checkpoint_can_take_its_items_from_a_checklist_template(app, client, town):
    from api.hazards.models import ChecklistTemplate

    with app.app_context():
        template = ChecklistTemplate.query.filter_by(code="default_inspection").one()
        template_id, keys = template.id, [i["key"] for i in template.items]
    body = plan_body(town.A["site"])
    body["checkpoints"][1] = {"name": "消防控制室", "location": {"lat": 27.11, "lng": 114.99},
                              "template_id": template_id}
    plan = client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).get_json()
    assert [i["key"] for i in plan["checkpoints"][1]["items"]] == keys
    body = plan_body(town.A["site"])
    body["checkpoints"][0]["template_id"] = 999999
    assert client.post("/api/v1/patrol-plans", json=body, headers=town.h["admin"]).status_code == 422
