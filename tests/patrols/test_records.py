import uuid

import pytest

from api.extensions import db
from api.patrols.models import PatrolRecord
from tests.patrols.conftest import plan_body


@pytest.fixture
def plan(client, town):
    resp = client.post("/api/v1/patrol-plans", json=plan_body(town.A["site"]), headers=town.h["property_staff"])
    return resp.get_json()


def _record(cp, **fields):
    body = {"id": str(uuid.uuid4()), "checkpoint_id": cp["id"], "code": cp["code"],
            "at": "2026-11-30T09:05:00+08:00",
            "location": {"lat": cp["location"]["lat"], "lng": cp["location"]["lng"], "accuracy_m": 6},
            "items": [{"key": cp["items"][0]["key"], "result": "pass", "note": None, "photo_ids": []}],
            "note": "一切正常"}
    body.update(fields)
    return body


def test_a_scan_is_recorded_with_who_when_where(client, town, clock, plan):
    clock.at(3 * 3600)  # 2026-11-30 06:00 UTC, 14:00 in Shanghai
    cp = plan["checkpoints"][0]
    body = _record(cp)
    resp = client.post("/api/v1/patrol-records", json=body, headers=town.h["property_staff"])
    assert resp.status_code == 201, resp.get_json()
    r = resp.get_json()
    assert r["id"] == body["id"] and r["checkpoint_id"] == cp["id"] and r["plan_id"] == plan["id"]
    assert r["user_id"] == town.people["property_staff"] and r["user_name"]
    assert r["scanned"] is True
    assert r["at"].startswith("2026-11-30T01:05:00") and r["created_at"].startswith("2026-11-30T22:00:00")
    assert r["period"] == "2026-11-30"
    assert r["location"] == {"lat": 27.11, "lng": 114.99, "accuracy_m": 6}
    assert r["distance_m"] == 0 and r["far_from_checkpoint"] is False
    assert r["items"][0]["key"] == "extinguisher" and r["items"][0]["label"] == "灭火器压力正常"
    assert r["note"] == "一切正常"


def test_far_from_the_checkpoint_is_flagged_beyond_radius_plus_accuracy(client, town, plan):
    cp = plan["checkpoints"][0]  # radius 25 m
    h = town.h["property_staff"]
    # ~0.00036° of latitude is ~40 m
    near = _record(cp, location={"lat": cp["location"]["lat"] + 0.00036, "lng": cp["location"]["lng"],
                                 "accuracy_m": 20})
    far = _record(cp, location={"lat": cp["location"]["lat"] + 0.00036, "lng": cp["location"]["lng"],
                                "accuracy_m": 5})
    a = client.post("/api/v1/patrol-records", json=near, headers=h).get_json()
    b = client.post("/api/v1/patrol-records", json=far, headers=h).get_json()
    assert 39 < a["distance_m"] < 41 and a["far_from_checkpoint"] is False  # 40 < 25 + 20
    assert b["far_from_checkpoint"] is True  # 40 > 25 + 5
    blind = client.post("/api/v1/patrol-records", json=_record(cp, location=None), headers=h).get_json()
    assert blind["distance_m"] is None and blind["far_from_checkpoint"] is False


def test_offline_replay_is_stored_once(app, client, town, plan):
    body = _record(plan["checkpoints"][1])
    h = town.h["grid_worker"]
    first = client.post("/api/v1/patrol-records", json=body, headers=h)
    again = client.post("/api/v1/patrol-records", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    clash = client.post("/api/v1/patrol-records", json={**body, "note": "changed"}, headers=h)
    assert clash.status_code == 409 and clash.get_json()["code"] == "id_conflict"
    other = client.post("/api/v1/patrol-records", json=body, headers=town.h["property_staff"])
    assert other.status_code == 409 and other.get_json()["code"] == "id_conflict"
    keyed = {**h, "Idempotency-Key": "rec-7"}
    body2 = _record(plan["checkpoints"][2])
    assert client.post("/api/v1/patrol-records", json=body2, headers=keyed).status_code == 201
    assert client.post("/api/v1/patrol-records", json=body2, headers=keyed).status_code == 201
    with app.app_context():
        assert PatrolRecord.query.count() == 2


def test_late_record_counts_for_the_period_of_its_phone_time(client, town, clock, plan):
    clock.at(2 * 86400)  # two days after t0
    body = _record(plan["checkpoints"][0], at="2026-11-29T09:00:00+08:00")
    r = client.post("/api/v1/patrol-records", json=body, headers=town.h["property_staff"]).get_json()
    assert r["period"] == "2026-11-29"
    assert r["at"].startswith("2026-11-29T01:00:00")


def test_a_phone_time_in_the_future_is_clamped_to_now(client, town, clock, plan):
    now = clock.at(0)
    body = _record(plan["checkpoints"][0], at="2027-01-01T00:00:00+08:00")
    r = client.post("/api/v1/patrol-records", json=body, headers=town.h["property_staff"]).get_json()
    assert r["at"] == r["created_at"] == now.isoformat()


def test_a_tampered_code_is_an_unknown_checkpoint(client, town, plan):
    cp = plan["checkpoints"][0]
    cid, sig = cp["code"].split(".")
    resp = client.post("/api/v1/patrol-records", json=_record(cp, code=f"{cid}.{'x' * len(sig)}"),
                       headers=town.h["property_staff"])
    assert resp.status_code == 404 and resp.get_json()["code"] == "unknown_checkpoint"
    other = plan["checkpoints"][1]
    mismatch = client.post("/api/v1/patrol-records", json=_record(cp, code=other["code"]),
                           headers=town.h["property_staff"])
    assert mismatch.status_code == 422 and "code" in mismatch.get_json()["errors"]
    unscanned = _record(cp)
    del unscanned["code"]
    r = client.post("/api/v1/patrol-records", json=unscanned, headers=town.h["property_staff"]).get_json()
    assert r["scanned"] is False


def test_items_must_be_the_checkpoints(client, town, plan):
    cp = plan["checkpoints"][0]
    resp = client.post("/api/v1/patrol-records", json=_record(cp, items=[{"key": "nope", "result": "pass"}]),
                       headers=town.h["property_staff"])
    assert resp.status_code == 422 and "items" in resp.get_json()["errors"]
    bad = client.post("/api/v1/patrol-records", json=_record(cp, items=[{"key": "extinguisher", "result": "ok"}]),
                      headers=town.h["property_staff"])
    assert bad.status_code == 422
    for fields, field in (({"location": {"lat": 91, "lng": 114.99}}, "location"),
                          ({"location": {"lat": 27.1, "lng": 181}}, "location"),
                          ({"location": {"lat": 27.1, "lng": 114.9, "accuracy_m": -1}}, "location"),
                          ({"id": "not-a-uuid"}, "id"), ({"at": "2026-11-30T09:00:00"}, "at")):
        resp = client.post("/api/v1/patrol-records", json=_record(cp, **fields), headers=town.h["property_staff"])
        assert resp.status_code == 422 and field in resp.get_json()["errors"], fields


def test_wrong_role_is_403_and_out_of_scope_like_a_missing_checkpoint(client, town, plan):
    cp = plan["checkpoints"][0]
    for role in ("maintainer", "operator"):
        assert client.post("/api/v1/patrol-records", json=_record(cp), headers=town.h[role]).status_code == 403
    resident = client.post("/api/v1/patrol-records", json=_record(cp, code=None), headers=town.h["resident"])
    missing = client.post("/api/v1/patrol-records", json=_record(cp, code=None, checkpoint_id=999999),
                          headers=town.h["resident"])
    assert resident.status_code == missing.status_code == 422
    assert resident.get_json()["errors"] == missing.get_json()["errors"]


def test_photos_are_claimed_and_shown(app, client, town, plan):
    from api.photos.models import Photo

    pid = str(uuid.uuid4())
    with app.app_context():
        db.session.add(Photo(id=pid, user_id=town.people["property_staff"], upload_sha256="0" * 64,
                             source_format="JPEG", source_bytes=10, sha256="1" * 64, thumb_sha256="2" * 64,
                             width=10, height=10, bytes=10, thumb_width=10, thumb_height=10))
        db.session.commit()
    cp = plan["checkpoints"][0]
    items = [{"key": "photo", "result": None, "photo_ids": [pid]}]
    theirs = client.post("/api/v1/patrol-records", json=_record(cp, items=items), headers=town.h["grid_worker"])
    assert theirs.status_code == 422 and "items" in theirs.get_json()["errors"]
    mine = client.post("/api/v1/patrol-records", json=_record(cp, items=items), headers=town.h["property_staff"])
    assert mine.status_code == 201, mine.get_json()
    item = mine.get_json()["items"][0]
    assert item["photo_ids"] == [pid] and item["photos"][0]["id"] == pid
    assert "sig=" in item["photos"][0]["url"] and "sig=" in item["photos"][0]["thumb_url"]


def test_list_filters_and_pages(client, town, plan):
    h = town.h["property_staff"]
    ids = [client.post("/api/v1/patrol-records", json=_record(cp), headers=h).get_json()["id"]
           for cp in plan["checkpoints"]]
    client.post("/api/v1/patrol-records", json=_record(plan["checkpoints"][0]), headers=town.h["grid_worker"])
    page = client.get(f"/api/v1/patrol-records?plan_id={plan['id']}&limit=2", headers=town.h["supervisor"]).get_json()
    assert len(page["items"]) == 2 and page["next_before"]
    rest = client.get(f"/api/v1/patrol-records?plan_id={plan['id']}&limit=2&before={page['next_before']}",
                      headers=town.h["supervisor"]).get_json()
    assert len(rest["items"]) == 2 and rest["next_before"] is None
    assert {r["id"] for r in page["items"] + rest["items"]} >= set(ids)
    mine = client.get(f"/api/v1/patrol-records?user_id={town.people['property_staff']}",
                      headers=town.h["supervisor"]).get_json()["items"]
    assert {r["id"] for r in mine} == set(ids)
    by_site = client.get(f"/api/v1/patrol-records?site_id={town.A['site']}", headers=h).get_json()["items"]
    assert len(by_site) == 4
    assert client.get(f"/api/v1/patrol-records?site_id={town.B['site']}", headers=h).status_code == 404
    assert client.get("/api/v1/patrol-records", headers=town.h["resident"]).get_json()["items"] == []


def test_the_same_scan_sent_twice_at_once_is_stored_once(app, client, town, plan):
    """On both databases: PostgreSQL's loser fails in its savepoint, SQLite's (writers
    serialised, no savepoint) after the winner's commit; both answer the first answer."""
    import threading

    body = _record(plan["checkpoints"][0])
    barrier, answers = threading.Barrier(2), []

    def send():
        c = app.test_client()
        barrier.wait()
        resp = c.post("/api/v1/patrol-records", json=body, headers=town.h["property_staff"])
        answers.append((resp.status_code, resp.get_json()["id"]))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert answers == [(201, body["id"])] * 2
    with app.app_context():
        assert PatrolRecord.query.count() == 1
