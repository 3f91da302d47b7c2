"""Hazards: reported, rectified with photos, accepted or rejected; who may do what; replays."""

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from api.extensions import db
from api.hazards.models import Hazard, HazardEvent
from api.places.models import Place
from tests.hazards import factories as hf


def _report(client, w, role="supervisor", **over):
    body = {"id": str(uuid.uuid4()), "site_id": w["A"]["site"], "title": "消防通道堆放杂物", "severity": "major",
            "description": "1栋北侧消防车道停满电动车", "responsible_user_id": w["people"]["responsible"],
            "at": "2026-12-01T10:00:00+08:00"}
    body.update(over)
    return client.post("/api/v1/hazards", json=body, headers=w["h"][role]), body


def _hazard(client, w, **over):
    resp, _ = _report(client, w, **over)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _rectify(client, w, hazard_id, role="responsible", photo=None, **over):
    photo = photo or hf.upload(client, w["h"][role])
    body = {"id": str(uuid.uuid4()), "note": "已清理，设置禁停标志", "photo_ids": [photo],
            "at": "2026-12-02T15:00:00+08:00", **over}
    return client.post(f"/api/v1/hazards/{hazard_id}/rectifications", json=body, headers=w["h"][role]), body


def _review(client, w, hazard_id, decision, role="supervisor", **body):
    return client.post(f"/api/v1/hazards/{hazard_id}/review", json={"decision": decision, **body},
                       headers=w["h"][role])


def _kinds(client, headers):
    return [(n["kind"], n["closed_at"] is not None)
            for n in client.get("/api/v1/me/notices", headers=headers).get_json()["items"]]


def test_rectify_reject_rectify_accept_keeps_the_whole_history(client, w):
    h = _hazard(client, w)
    assert h["state"] == "open" and h["source"]["type"] == "report"
    assert datetime.fromisoformat(h["deadline"]) == datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc)  # major: 7 days
    resp, first = _rectify(client, w, h["id"])
    assert resp.status_code == 201 and resp.get_json()["state"] == "submitted"
    assert _kinds(client, w["h"]["supervisor"]) == [("rectification_submitted", False)]
    new_deadline = "2026-12-10T18:00:00+08:00"
    resp = _review(client, w, h["id"], "reject", note="标志未安装", deadline=new_deadline)
    assert resp.status_code == 200 and resp.get_json()["state"] == "open"
    assert datetime.fromisoformat(resp.get_json()["deadline"]) == datetime.fromisoformat(new_deadline)
    assert ("rectification_rejected", False) in _kinds(client, w["h"]["responsible"])
    # a staff member of the property company sends the second one
    resp, _ = _rectify(client, w, h["id"], role="property_staff")
    assert resp.status_code == 201
    resp = _review(client, w, h["id"], "accept", note="合格")
    body = resp.get_json()
    assert resp.status_code == 200 and body["state"] == "closed" and body["closed_at"]
    kinds = [(e["kind"], e["actor"]["id"]) for e in body["history"]]
    p = w["people"]
    assert kinds == [("created", p["supervisor"]), ("submitted", p["responsible"]), ("rejected", p["supervisor"]),
                     ("submitted", p["property_staff"]), ("accepted", p["supervisor"])]
    submitted = body["history"][1]
    assert submitted["note"] == first["note"] and submitted["photos"][0]["id"] == first["photo_ids"][0]
    assert submitted["client_at"].startswith("2026-12-02T07:00:00")
    assert body["history"][2]["note"] == "标志未安装" and body["history"][2]["data"]["deadline"]["to"]
    # closing the hazard closes its notices
    assert all(closed for _, closed in _kinds(client, w["h"]["responsible"]))
    # the site's history: every state, through the list
    _hazard(client, w, title="灭火器过期")
    items = client.get(f"/api/v1/hazards?site_id={w['A']['site']}", headers=w["h"]["grid_worker"]).get_json()["items"]
    assert [i["state"] for i in items] == ["closed", "open"]
    assert [i["state"] for i in client.get("/api/v1/hazards?state=closed", headers=w["h"]["supervisor"])
            .get_json()["items"]] == ["closed"]


def test_wrong_state_is_409(client, w):
    h = _hazard(client, w)
    resp = _review(client, w, h["id"], "accept")  # nothing submitted yet
    assert resp.status_code == 409 and resp.get_json()["code"] == "wrong_state"
    _rectify(client, w, h["id"])
    again, _ = _rectify(client, w, h["id"])  # a second, different rectification while one waits
    assert again.status_code == 409 and again.get_json()["code"] == "wrong_state"
    assert _review(client, w, h["id"], "accept").status_code == 200
    twice = _review(client, w, h["id"], "accept", role="supervisor2")
    assert twice.status_code == 409 and twice.get_json()["code"] == "wrong_state"
    assert twice.get_json()["message"] == "隐患已整改销号，不能复查"
    assert _review(client, w, h["id"], "reject", note="x").status_code == 409
    late, _ = _rectify(client, w, h["id"])
    assert late.status_code == 409


def test_a_rejection_needs_a_note_and_keeps_the_deadline(client, w):
    h = _hazard(client, w)
    _rectify(client, w, h["id"])
    resp = _review(client, w, h["id"], "reject")
    assert resp.status_code == 422 and "note" in resp.get_json()["errors"]
    resp = _review(client, w, h["id"], "reject", note="照片看不清")
    assert resp.status_code == 200 and resp.get_json()["deadline"] == h["deadline"]


def test_who_may_rectify_and_review(app, client, w):
    h = _hazard(client, w)
    # seen but not theirs: 403; out of sight: 404
    for role in ("grid_worker", "station_member", "operator", "supervisor"):
        resp, _ = _rectify(client, w, h["id"], role=role)
        assert resp.status_code == 403, role
    out, _ = _rectify(client, w, h["id"], role="outsider")
    assert out.status_code == 404 and out.get_json()["code"] == "not_found"
    resp, _ = _rectify(client, w, h["id"], role="maintainer")  # the site's maintenance company
    assert resp.status_code == 201
    for role in ("responsible", "property_staff", "grid_worker", "operator", "maintainer"):
        assert _review(client, w, h["id"], "accept", role=role).status_code == 403, role
    assert _review(client, w, h["id"], "accept", role="b_supervisor").status_code == 404
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=w["h"]["resident"]).status_code == 404
    with app.app_context():
        assert db.session.get(Hazard, h["id"]).state == "submitted"


def test_a_rectification_needs_photos_of_my_own(client, w):
    h = _hazard(client, w)
    resp, _ = _rectify(client, w, h["id"], photo_ids=[])
    assert resp.status_code == 422 and "photo_ids" in resp.get_json()["errors"]
    somebody_elses = hf.upload(client, w["h"]["supervisor"])
    resp, _ = _rectify(client, w, h["id"], photo_ids=[somebody_elses])
    assert resp.status_code == 422 and "photo_ids" in resp.get_json()["errors"]
    resp, _ = _rectify(client, w, h["id"], photo_ids=[str(uuid.uuid4())])
    assert resp.status_code == 422


def test_the_responsible_person_sees_a_hazard_outside_their_scope(client, w):
    h = _hazard(client, w, responsible_user_id=w["people"]["outsider"])
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=w["h"]["outsider"]).status_code == 200
    listed = client.get("/api/v1/hazards", headers=w["h"]["outsider"]).get_json()["items"]
    assert [i["id"] for i in listed] == [h["id"]]
    resp, _ = _rectify(client, w, h["id"], role="outsider")
    assert resp.status_code == 201
    # others of city B still see nothing
    assert client.get(f"/api/v1/hazards/{h['id']}", headers=w["h"]["b_supervisor"]).status_code == 404
    assert client.get("/api/v1/hazards", headers=w["h"]["b_supervisor"]).get_json()["items"] == []


def test_reporting_roles_and_scope(app, client, w):
    for role in ("grid_worker", "property_staff", "station_member", "admin"):
        assert _report(client, w, role=role)[0].status_code == 201, role
    for role in ("maintainer", "operator"):
        assert _report(client, w, role=role)[0].status_code == 403, role
    out, _ = _report(client, w, role="b_supervisor")
    missing, _ = _report(client, w, role="b_supervisor", site_id=999_999)
    assert out.status_code == missing.status_code == 422
    assert out.get_json()["errors"] == missing.get_json()["errors"]
    nobody, _ = _report(client, w, responsible_user_id=999_999)
    assert nobody.status_code == 422 and "responsible_user_id" in nobody.get_json()["errors"]
    with app.app_context():
        assert Hazard.query.count() == 4


def test_replayed_hazards_and_rectifications_are_stored_once(app, client, w):
    first, body = _report(client, w)
    again = client.post("/api/v1/hazards", json=body, headers=w["h"]["supervisor"])
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    changed = client.post("/api/v1/hazards", json={**body, "severity": "minor"}, headers=w["h"]["supervisor"])
    stolen = client.post("/api/v1/hazards", json=body, headers=w["h"]["supervisor2"])
    for resp in (changed, stolen):
        assert resp.status_code == 409 and resp.get_json()["code"] == "id_conflict"
    hazard_id = first.get_json()["id"]
    photo = hf.upload(client, w["h"]["responsible"])
    r1, rbody = _rectify(client, w, hazard_id, photo=photo)
    r2 = client.post(f"/api/v1/hazards/{hazard_id}/rectifications", json=rbody, headers=w["h"]["responsible"])
    assert r1.status_code == r2.status_code == 201 and r2.get_json() == r1.get_json()
    r3 = client.post(f"/api/v1/hazards/{hazard_id}/rectifications", json={**rbody, "note": "另一份"},
                     headers=w["h"]["responsible"])
    assert r3.status_code == 409 and r3.get_json()["code"] == "id_conflict"
    # after the review, the phone's late replay still gets its answer, not an error
    _review(client, w, hazard_id, "accept")
    late = client.post(f"/api/v1/hazards/{hazard_id}/rectifications", json=rbody, headers=w["h"]["responsible"])
    assert late.status_code == 201 and late.get_json()["state"] == "closed"
    with app.app_context():
        assert Hazard.query.count() == 1
        assert HazardEvent.query.filter_by(kind="submitted").count() == 1
    # Idempotency-Key on a review: the retry answers as the first
    h2 = _hazard(client, w)
    _rectify(client, w, h2["id"])
    keyed = {**w["h"]["supervisor"], "Idempotency-Key": "review-1"}
    a = client.post(f"/api/v1/hazards/{h2['id']}/review", json={"decision": "accept"}, headers=keyed)
    b = client.post(f"/api/v1/hazards/{h2['id']}/review", json={"decision": "accept"}, headers=keyed)
    assert a.status_code == b.status_code == 200 and b.headers.get("Idempotent-Replayed") == "true"


def test_overdue_filter_powers_the_supervisors_home(app, client, w, clock):
    with app.app_context():
        site = db.session.get(Place, w["A"]["site"])
        late = hf.hazard(site, deadline=clock.now - timedelta(hours=1), responsible=w["people"]["responsible"])
        hf.hazard(site, deadline=clock.now + timedelta(days=2))
        hf.hazard(site, state="submitted", deadline=clock.now - timedelta(days=1))
        db.session.commit()
        late_id = late.id
    items = client.get("/api/v1/hazards?overdue=true", headers=w["h"]["supervisor"]).get_json()["items"]
    assert [(i["id"], i["overdue"]) for i in items] == [(late_id, True)]
    rest = client.get("/api/v1/hazards?overdue=false", headers=w["h"]["supervisor"]).get_json()["items"]
    assert len(rest) == 2 and not any(i["overdue"] for i in rest)
    assert client.get("/api/v1/hazards?overdue=true", headers=w["h"]["b_supervisor"]).get_json()["items"] == []


def test_responsible_candidates_are_the_sites_staff(client, w):
    resp = client.get(f"/api/v1/hazards/responsible-candidates?site_id={w['A']['site']}",
                      headers=w["h"]["supervisor"])
    assert resp.status_code == 200
    got = {c["id"]: c["roles"] for c in resp.get_json()["items"]}
    p = w["people"]
    assert got == {p["property_staff"]: ["property_staff"], p["responsible"]: ["property_staff"],
                   p["maintainer"]: ["maintainer"]}
    assert client.get(f"/api/v1/hazards/responsible-candidates?site_id={w['A']['site']}",
                      headers=w["h"]["b_supervisor"]).status_code == 404


def test_create_hazard_for_a_failed_patrol_item(app, client, w):
    """The service the patrols domain calls: one tap, replay-safe by the phone's id."""
    from api.hazards.services import create_hazard
    from api.people.models import User

    client_id = str(uuid.uuid4())
    with app.test_request_context():
        user = db.session.get(User, w["people"]["grid_worker"])
        site = db.session.get(Place, w["A"]["site"])
        h1 = create_hazard(user, site, "灭火器压力不足", "minor", source=("patrol", "rec-7"), item_key="extinguisher",
                           client_id=client_id, responsible_user_id=w["people"]["responsible"])
        h2 = create_hazard(user, site, "灭火器压力不足", "minor", source=("patrol", "rec-7"), item_key="extinguisher",
                           client_id=client_id, responsible_user_id=w["people"]["responsible"])
        assert h1.id == h2.id and h1.source_type == "patrol" and h1.deadline - h1.at == timedelta(days=30)
        other = db.session.get(User, w["people"]["supervisor"])
        with pytest.raises(Exception) as exc:
            create_hazard(other, site, "灭火器压力不足", "minor", source=("patrol", "rec-7"), client_id=client_id)
        assert getattr(exc.value, "code", None) == "id_conflict"
        db.session.remove()
    assert [n["kind"] for n in client.get("/api/v1/me/notices", headers=w["h"]["responsible"])
            .get_json()["items"]] == ["hazard_assigned"]


def test_simultaneous_reviews_do_not_both_win(app, client, w, backend):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
    h = _hazard(client, w)
    _rectify(client, w, h["id"])
    barrier, answers = threading.Barrier(2), []

    def review(role, decision):
        c = app.test_client()
        barrier.wait()
        answers.append(_review(c, w, h["id"], decision, role=role, note="复查").status_code)

    threads = [threading.Thread(target=review, args=a) for a in (("supervisor", "accept"), ("supervisor2", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [200, 409]
    with app.app_context():
        assert HazardEvent.query.filter(HazardEvent.kind.in_(("accepted", "rejected"))).count() == 1


def test_the_same_rectification_sent_twice_at_once_is_stored_once(app, client, w, backend):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers")
    h = _hazard(client, w)
    photo = hf.upload(client, w["h"]["responsible"])
    body = {"id": str(uuid.uuid4()), "note": "已整改", "photo_ids": [photo]}
    barrier, answers = threading.Barrier(2), []

    def send():
        c = app.test_client()
        barrier.wait()
        answers.append(c.post(f"/api/v1/hazards/{h['id']}/rectifications", json=body,
                              headers=w["h"]["responsible"]).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [201, 201]
    with app.app_context():
        assert HazardEvent.query.filter_by(kind="submitted").count() == 1
