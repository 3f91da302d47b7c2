from datetime import datetime, timedelta, timezone

from api.extensions import db
from tests import factories as f
from tests.patrols import factories as pf

SH = timezone(timedelta(hours=8))


def local(day, hh, mm=0):
    return datetime(2026, 11, day, hh, mm, tzinfo=SH).astimezone(timezone.utc)


def test_completion_per_site_plan_person_and_day(app, client, clock):
    clock.now = local(30, 12, 0)  # Monday 2026-11-30, after the day's 08:00-10:00 window
    with app.app_context():
        tree = f.city_tree("A")
        people = f.people_for(tree)
        other_site = f.place("site", tree["grid"], name="second site")
        daily = pf.plan(tree["site"], created_at=local(26, 0, 0))  # due 26, 27, 28, 29, 30
        single = pf.plan(other_site, checkpoints=1, created_at=local(26, 0, 0))
        a, b, c = daily.checkpoints
        staff, grid = people["property_staff"], people["grid_worker"]
        for cp in (a, b, c):  # 26th: complete, by two people
            pf.record(cp, staff if cp is not c else grid, local(26, 9, 0))
        pf.record(a, staff, local(27, 9, 0))  # 27th: partial
        pf.record(b, staff, local(27, 9, 30), far_from_checkpoint=True)
        # 28th, 29th: nothing. 30th: complete, one of them late in the day
        for cp in (a, b, c):
            pf.record(cp, grid, local(30, 11, 0))
        pf.record(single.checkpoints[0], grid, local(29, 20, 0))
        db.session.commit()
        h = f.bearer(people["supervisor"])
        tree_ids = {k: v.id for k, v in tree.items()}
        daily_id, single_id, other_id = daily.id, single.id, other_site.id
        staff_id, grid_id = staff.id, grid.id
        resident_h = f.bearer(people["resident"])
    resp = client.get("/api/v1/patrol-stats?from=2026-11-24&to=2026-11-30", headers=h)
    assert resp.status_code == 200, resp.get_json()
    s = resp.get_json()
    assert s["from"] == "2026-11-24" and s["to"] == "2026-11-30"
    plans = {p["plan_id"]: p for p in s["plans"]}
    assert {k: plans[daily_id][k] for k in ("due", "completed", "partial", "missed")} == {
        "due": 5, "completed": 2, "partial": 1, "missed": 2}
    assert plans[daily_id]["completion"] == 0.4
    assert {k: plans[single_id][k] for k in ("due", "completed", "missed")} == {"due": 5, "completed": 1, "missed": 4}
    places = {p["place_id"]: p for p in s["places"]}
    assert places[tree_ids["site"]]["due"] == 5 and places[other_id]["completed"] == 1
    assert s["totals"] == {"due": 10, "completed": 3, "partial": 1, "missed": 6, "completion": 0.3}
    days = {d["date"]: d for d in s["days"]}
    assert sorted(days) == ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    assert days["2026-11-29"] == {"date": "2026-11-29", "due": 2, "completed": 1, "partial": 0, "missed": 1}
    people_rows = {p["user_id"]: p for p in s["people"]}
    assert people_rows[staff_id]["scans"] == 4 and people_rows[staff_id]["far_scans"] == 1
    assert people_rows[staff_id]["periods"] == 2
    assert people_rows[grid_id]["scans"] == 5 and people_rows[grid_id]["periods"] == 3
    assert people_rows[grid_id]["name"]
    # one site only; the window narrowed
    one = client.get(f"/api/v1/patrol-stats?place_id={other_id}&from=2026-11-29&to=2026-11-29", headers=h).get_json()
    assert [p["plan_id"] for p in one["plans"]] == [single_id] and one["totals"]["completed"] == 1
    # the resident sees none of it; a place out of sight is not found; a bad range is refused
    assert client.get("/api/v1/patrol-stats", headers=resident_h).get_json()["totals"]["due"] == 0
    assert client.get(f"/api/v1/patrol-stats?place_id={tree_ids['site']}", headers=resident_h).status_code == 404
    assert client.get("/api/v1/patrol-stats?from=2026-11-30&to=2026-11-01", headers=h).status_code == 422
    assert client.get("/api/v1/patrol-stats?from=2024-01-01&to=2026-11-01", headers=h).status_code == 422
