"""Damage reports → work orders: replay, photos, states, notices, scope, the overdue sweep."""

from datetime import timedelta

import pytest

from api.hydrants.models import HydrantReport, WorkOrder, WorkOrderUpdate
from api.hydrants.work_orders import sweep_overdue_work_orders
from api.notices.models import Notice
from tests.hydrants.helpers import notices, report_body, upload


def report(client, h, **over):
    return client.post("/api/v1/hydrant-reports", json=report_body(**over), headers=h)


def update(client, h, wo_id, status, photo_ids=(), **over):
    import uuid

    body = {"id": str(uuid.uuid4()), "status": status, "note": "处理", "photo_ids": list(photo_ids), **over}
    return client.post(f"/api/v1/work-orders/{wo_id}/updates", json=body, headers=h)


def rows(app, model, **filters):
    with app.app_context():
        return model.query.filter_by(**filters).count()


def test_a_report_opens_a_work_order_for_the_maintainer(app, client, w, clock):
    photo = upload(client, w.h["grid_worker"])
    resp = report(client, w.h["grid_worker"], hydrant_id=w.hydrant_a, photo_ids=[photo],
                  location={"lat": 27.1136, "lng": 114.9795, "accuracy_m": 8})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["hydrant_code"] == "XHS-A1" and body["category"] == "leaking"
    assert [p["id"] for p in body["photos"]] == [photo] and body["photos"][0]["thumb_url"]
    assert body["at"].startswith("2026-11-30T10:55:00")  # the phone's time, kept in UTC
    wo = body["work_order"]
    assert wo["status"] == "open" and wo["maintainer_org_id"] == w.A["maintenance_company"]
    assert wo["deadline"].startswith((clock.now + timedelta(days=2)).date().isoformat())  # leaking: 2 days
    hydrant = client.get(f"/api/v1/hydrants/{w.hydrant_a}", headers=w.h["admin"]).get_json()
    assert hydrant["status"] == "damaged" and hydrant["open_work_orders"] == 1
    told = notices(client, w.h["maintainer"])
    assert [n["kind"] for n in told] == ["work_order_assigned"] and "XHS-A1" in told[0]["text"]
    assert notices(client, w.h["b_maintainer"]) == []


def test_a_replayed_report_is_stored_once(app, client, w):
    body = report_body(hydrant_id=w.hydrant_a)
    first = client.post("/api/v1/hydrant-reports", json=body, headers=w.h["station_member"])
    again = client.post("/api/v1/hydrant-reports", json=body, headers=w.h["station_member"])
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert rows(app, HydrantReport) == 1 and rows(app, WorkOrder) == 1 and rows(app, Notice) == 1
    changed = client.post("/api/v1/hydrant-reports", json={**body, "note": "another"}, headers=w.h["station_member"])
    assert changed.status_code == 409 and changed.get_json()["code"] == "id_conflict"
    other = client.post("/api/v1/hydrant-reports", json=body, headers=w.h["grid_worker"])
    assert other.status_code == 409
    keyed = report_body(hydrant_id=w.hydrant_a)
    for _ in range(2):
        r = client.post("/api/v1/hydrant-reports", json=keyed, headers={**w.h["grid_worker"], "Idempotency-Key": "k"})
        assert r.status_code == 201
    assert rows(app, HydrantReport) == 2


def test_a_report_by_location_finds_the_hydrant_whoever_reports(app, client, w):
    # a resident cannot see the road hydrant, but standing next to it may report it
    resp = report(client, w.h["resident"], location={"lat": 28.50009, "lng": 115.9, "accuracy_m": 10},
                  category="broken")
    body = resp.get_json()
    assert resp.status_code == 201 and body["hydrant_id"] == w.hydrant_b
    assert body["work_order"]["maintainer_org_id"] == w.B["maintenance_company"]
    # the reporter always sees their own report; B's maintainer sees it; A's staff do not
    assert client.get(f"/api/v1/hydrant-reports/{body['id']}", headers=w.h["resident"]).status_code == 200
    assert client.get(f"/api/v1/hydrant-reports/{body['id']}", headers=w.h["b_maintainer"]).status_code == 200
    assert client.get(f"/api/v1/hydrant-reports/{body['id']}", headers=w.h["supervisor"]).status_code == 404
    mine = client.get("/api/v1/hydrant-reports?mine=true", headers=w.h["resident"]).get_json()["items"]
    assert [r["id"] for r in mine] == [body["id"]]
    assert client.get("/api/v1/hydrant-reports", headers=w.h["supervisor"]).get_json()["items"] == []


def test_a_report_away_from_any_hydrant_belongs_to_the_area_around(client, w):
    # 500 m north of XHS-A1: no hydrant matched, no maintainer, but city A's centre sees it
    resp = report(client, w.h["grid_worker"], location={"lat": 27.1136 + 500 / 111_195, "lng": 114.9795},
                  category="other")
    body = resp.get_json()
    assert resp.status_code == 201 and body["hydrant_id"] is None and body["work_order"]["maintainer_org_id"] is None
    url = f"/api/v1/work-orders/{body['work_order']['id']}"
    assert client.get(url, headers=w.h["operator"]).status_code == 200
    assert client.get(url, headers=w.h["b_supervisor"]).status_code == 404
    # nowhere near anything: only the admins see it (and the reporter, their report)
    far = report(client, w.h["grid_worker"], location={"lat": 30.0, "lng": 116.0}, category="other").get_json()
    url = f"/api/v1/work-orders/{far['work_order']['id']}"
    assert client.get(url, headers=w.h["operator"]).status_code == 404
    assert client.get(url, headers=w.h["admin"]).status_code == 200
    assert client.get(f"/api/v1/hydrant-reports/{far['id']}", headers=w.h["grid_worker"]).status_code == 200


@pytest.mark.parametrize("over,field", [
    ({"category": "exploded"}, "category"),
    ({"hydrant_id": None}, "location"),
    ({"hydrant_id": 999_999}, "hydrant_id"),
    ({"hydrant_id": "B"}, "hydrant_id"),  # out of scope answers like a missing one
    ({"location": {"lat": 27.1, "lng": 200}}, "location"),
    ({"photo_ids": ["not-a-uuid"]}, "photo_ids"),
    ({"at": "2026-11-30T18:55:00"}, "at"),  # a time without its zone is refused
])
def test_bad_reports_are_refused(app, client, w, over, field):
    over = {k: (w.hydrant_b if v == "B" else v) for k, v in over.items()}
    resp = report(client, w.h["grid_worker"], **{"hydrant_id": w.hydrant_a, **over})
    assert resp.status_code == 422 and field in resp.get_json()["errors"], resp.get_json()
    assert rows(app, HydrantReport) == 0


def test_somebody_elses_photo_cannot_be_attached(app, client, w):
    theirs = upload(client, w.h["supervisor"])
    resp = report(client, w.h["grid_worker"], hydrant_id=w.hydrant_a, photo_ids=[theirs])
    assert resp.status_code == 422 and "photo_ids" in resp.get_json()["errors"]
    assert rows(app, HydrantReport) == 0


def _open_order(client, w, role="grid_worker"):
    body = report(client, w.h[role], hydrant_id=w.hydrant_a).get_json()
    return body["id"], body["work_order"]["id"]


def test_the_maintainer_fixes_it_with_a_closing_photo_and_the_reporter_is_told(app, client, w):
    report_id, wo = _open_order(client, w)
    assert update(client, w.h["maintainer"], wo, "accepted").status_code == 201
    assert update(client, w.h["maintainer"], wo, "in_progress").status_code == 201
    no_photo = update(client, w.h["maintainer"], wo, "fixed")
    assert no_photo.status_code == 422 and "photo_ids" in no_photo.get_json()["errors"]
    assert notices(client, w.h["grid_worker"]) == []
    photo = upload(client, w.h["maintainer"])
    fixed = update(client, w.h["maintainer"], wo, "fixed", [photo])
    body = fixed.get_json()
    assert fixed.status_code == 201 and body["status"] == "fixed" and body["closed_at"]
    assert [u["status"] for u in body["updates"]] == ["accepted", "in_progress", "fixed"]
    assert body["updates"][-1]["photos"][0]["id"] == photo and body["updates"][-1]["user_name"]
    told = notices(client, w.h["grid_worker"])
    assert [n["kind"] for n in told] == ["report_fixed"] and told[0]["link"] == f"#/hydrant-reports/{report_id}"
    # the assignment notice is closed; the hydrant is back to normal
    assert notices(client, w.h["maintainer"])[0]["closed_at"]
    assert client.get(f"/api/v1/hydrants/{w.hydrant_a}", headers=w.h["admin"]).get_json()["status"] == "normal"
    again = update(client, w.h["maintainer"], wo, "fixed", [photo])
    assert again.status_code == 409 and again.get_json()["code"] == "wrong_state"
    assert update(client, w.h["maintainer"], wo, "in_progress").status_code == 409


def test_a_replayed_update_is_stored_once_even_after_the_state_moved_on(app, client, w):
    import uuid

    _, wo = _open_order(client, w)
    photo = upload(client, w.h["maintainer"])
    body = {"id": str(uuid.uuid4()), "status": "fixed", "photo_ids": [photo]}
    first = client.post(f"/api/v1/work-orders/{wo}/updates", json=body, headers=w.h["maintainer"])
    again = client.post(f"/api/v1/work-orders/{wo}/updates", json=body, headers=w.h["maintainer"])
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert rows(app, WorkOrderUpdate) == 1
    assert len(notices(client, w.h["grid_worker"])) == 1
    other = client.post(f"/api/v1/work-orders/{wo}/updates", json={**body, "note": "x"}, headers=w.h["maintainer"])
    assert other.status_code == 409 and other.get_json()["code"] == "id_conflict"


def test_who_may_update_a_work_order(client, w):
    _, wo = _open_order(client, w)
    for role in ("grid_worker", "supervisor", "operator", "property_staff"):
        resp = update(client, w.h[role], wo, "accepted")
        assert resp.status_code == 403, role
    assert update(client, w.h["b_maintainer"], wo, "accepted").status_code == 404
    assert update(client, w.h["resident"], wo, "accepted").status_code == 404
    assert update(client, w.h["admin"], wo, "rejected", note="重复报告").status_code == 201
    assert client.get(f"/api/v1/hydrants/{w.hydrant_a}", headers=w.h["admin"]).get_json()["status"] == "normal"


def test_work_order_lists(client, w):
    _, wo = _open_order(client, w)
    _, wo2 = _open_order(client, w, role="station_member")
    ids = lambda role, q="": [x["id"] for x in client.get(f"/api/v1/work-orders{q}", headers=w.h[role]).get_json()["items"]]  # noqa: E731
    assert ids("maintainer") == [wo, wo2] and ids("supervisor") == [wo, wo2]
    assert ids("b_maintainer") == [] and ids("resident") == []
    photo = upload(client, w.h["maintainer"])
    update(client, w.h["maintainer"], wo, "fixed", [photo])
    assert ids("maintainer", "?open=true") == [wo2]
    assert ids("maintainer", "?status=fixed") == [wo]
    # the hydrant stays damaged while another order is open
    assert client.get(f"/api/v1/hydrants/{w.hydrant_a}", headers=w.h["admin"]).get_json()["status"] == "damaged"


def test_overdue_work_orders_warn_the_maintainer_once(app, client, w, clock):
    _, wo = _open_order(client, w)  # leaking: 2 days
    _, done = _open_order(client, w)
    photo = upload(client, w.h["maintainer"])
    update(client, w.h["maintainer"], done, "fixed", [photo])
    with app.app_context():
        assert sweep_overdue_work_orders(clock.now + timedelta(days=1)) == 0
        assert sweep_overdue_work_orders(clock.now + timedelta(days=2, minutes=1)) == 1
        assert sweep_overdue_work_orders(clock.now + timedelta(days=3)) == 0  # told once
    told = [n for n in notices(client, w.h["maintainer"]) if n["kind"] == "work_order_overdue"]
    assert len(told) == 1 and told[0]["level"] == 3 and told[0]["link"] == f"#/work-orders/{wo}"
    clock.now = clock.now + timedelta(days=3)
    assert client.get("/api/v1/work-orders?overdue=true", headers=w.h["maintainer"]).get_json()["items"][0]["id"] == wo
    update(client, w.h["maintainer"], wo, "fixed", [photo])
    told = [n for n in notices(client, w.h["maintainer"]) if n["kind"] == "work_order_overdue"]
    assert told[0]["closed_at"]


def test_deadline_days_come_from_config(app, client, w, clock):
    app.config["WORK_ORDER_DAYS"], saved = {"leaking": 5}, app.config["WORK_ORDER_DAYS"]
    try:
        body = report(client, w.h["grid_worker"], hydrant_id=w.hydrant_a).get_json()
    finally:
        app.config["WORK_ORDER_DAYS"] = saved
    assert body["work_order"]["deadline"].startswith((clock.now + timedelta(days=5)).date().isoformat())


def test_the_sweep_job_is_scheduled():
    from workers.scheduler import PERIODIC

    assert "workers.hydrants.work_order_overdue_sweep" in {p.func for p in PERIODIC}


def test_config_rejects_bad_work_order_days(monkeypatch):
    from config import ConfigError, load_config

    monkeypatch.setenv("WORK_ORDER_DAYS", '{"leaking": 0}')
    with pytest.raises(ConfigError):
        load_config("testing")
    monkeypatch.setenv("WORK_ORDER_DAYS", '{"melted": 2}')
    with pytest.raises(ConfigError):
        load_config("testing")
    monkeypatch.setenv("WORK_ORDER_DAYS", '{"leaking": 3}')
    assert load_config("testing").WORK_ORDER_DAYS == {"leaking": 3}


def test_the_sweep_job_runs_on_a_worker(app, client, w):
    from rq import SimpleWorker

    from api.extensions import redis_client
    from workers.hydrants import work_order_overdue_sweep
    from workers.queues import get_queue

    _, wo = _open_order(client, w)
    with app.app_context():
        from api.extensions import db

        order = db.session.get(WorkOrder, wo)
        order.deadline = order.created_at - timedelta(hours=1)
        db.session.commit()
        job = work_order_overdue_sweep.enqueue()
        SimpleWorker([get_queue("default")], connection=redis_client()).work(burst=True)
        job.refresh()
        assert job.get_status() == "finished" and job.return_value() == 1
    assert [n["kind"] for n in notices(client, w.h["maintainer"])] == ["work_order_overdue", "work_order_assigned"]


def test_the_same_report_sent_twice_at_once_is_stored_once(app, client, w):
    """On both databases (api/common/savepoint.py: SQLite's loser rolls back and answers
    with the winner's row)."""
    from concurrent.futures import ThreadPoolExecutor

    body = report_body(hydrant_id=w.hydrant_a)

    def send(_):
        return app.test_client().post("/api/v1/hydrant-reports", json=body, headers=w.h["grid_worker"])

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert [r.status_code for r in answers] == [201] * 4, [r.get_json() for r in answers]
    assert len({r.get_json()["id"] for r in answers}) == 1
    assert rows(app, HydrantReport) == 1 and rows(app, WorkOrder) == 1 and rows(app, Notice) == 1
