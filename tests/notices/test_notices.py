"""Notices: told once by key, pushed through the real delivery path, read per person."""

from api.extensions import db
from api.notices.models import Notice
from api.notices.services import close_notices, raise_notice
from api.notify.models import Delivery, Notification, PushSubscription
from tests import factories as f
from tests.notify import helpers as h


def _people(app, push=None):
    with app.app_context():
        t = f.city_tree("T")
        people = f.people_for(t)
        endpoint = None
        if push is not None:
            sub = push.subscribe()
            endpoint = sub["endpoint"]
            db.session.add(PushSubscription(user_id=people["grid_worker"].id, endpoint=endpoint,
                                            p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"]))
        db.session.commit()
        return ({r: u.id for r, u in people.items()}, {r: f.token_for(u) for r, u in people.items()},
                t["site"].id, endpoint)


def _raise(app, key, user_ids, site_id):
    with app.app_context():
        from api.places.models import Place

        site = db.session.get(Place, site_id)
        notice = raise_notice("patrol_overdue", key, user_ids, ("巡查已超时：3栋", "Patrol overdue: block 3"),
                              level=4, place=site, link="#/patrols/plans/7", subject=("patrol_plan", 7))
        db.session.commit()
        return notice.id if notice else None


def test_a_notice_reaches_the_phone_once_with_its_link(app, push):
    ids, _, site_id, endpoint = _people(app, push)
    first = _raise(app, "patrol_overdue:plan:7:2026-12-01", [ids["grid_worker"]], site_id)
    again = _raise(app, "patrol_overdue:plan:7:2026-12-01", [ids["grid_worker"]], site_id)
    assert first is not None and again is None
    h.run_worker(app, "notify")
    [payload] = push.payloads_for(endpoint)
    assert payload["kind"] == "notice" and payload["notice_id"] == first and payload["level"] == 4
    assert payload["body"] == "巡查已超时：3栋" and payload["url"] == "/#/patrols/plans/7"
    with app.app_context():
        assert Notice.query.count() == 1
        [d] = Delivery.query.join(Notification).filter(Notification.notice_id == first).all()
        assert d.state == "sent"


def test_a_rolled_back_notice_sends_nothing(app, push):
    ids, _, site_id, endpoint = _people(app, push)
    with app.app_context():
        from api.places.models import Place

        raise_notice("hazard_overdue", "hazard_overdue:1", [ids["grid_worker"]], ("隐患逾期", "Hazard overdue"),
                     level=3, place=db.session.get(Place, site_id))
        db.session.rollback()
        db.session.commit()  # a later, unrelated commit must not queue the rolled-back rows
        assert Notice.query.count() == 0 and Notification.query.count() == 0
    h.run_worker(app, "notify")
    assert push.payloads_for(endpoint) == []


def test_my_notices_lists_mine_and_marks_read(app, client):
    ids, tokens, site_id, _ = _people(app)
    notice_id = _raise(app, "k1", [ids["grid_worker"], ids["property_staff"]], site_id)
    grid = {"Authorization": f"Bearer {tokens['grid_worker']}"}
    resident = {"Authorization": f"Bearer {tokens['resident']}"}

    [item] = client.get("/api/v1/me/notices", headers=grid).get_json()["items"]
    assert item["id"] == notice_id and item["text"] == "巡查已超时：3栋" and item["read_at"] is None
    assert client.get("/api/v1/me/notices", headers=resident).get_json()["items"] == []
    # somebody else's notice is as good as missing
    resp = client.post(f"/api/v1/me/notices/{notice_id}/read", headers=resident)
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"

    read = client.post(f"/api/v1/me/notices/{notice_id}/read", headers=grid).get_json()
    assert read["read_at"] is not None
    assert client.get("/api/v1/me/notices?unread=true", headers=grid).get_json()["items"] == []
    with app.app_context():
        assert close_notices("patrol_plan", 7) == 1
        db.session.commit()
    assert client.get("/api/v1/me/notices?open=true", headers=grid).get_json()["items"] == []
    [closed] = client.get("/api/v1/me/notices", headers=grid).get_json()["items"]
    assert closed["closed_at"] is not None


def test_english_readers_get_the_english_text(app, client):
    ids, tokens, site_id, _ = _people(app)
    with app.app_context():
        from api.people.models import User

        db.session.get(User, ids["grid_worker"]).locale = "en"
        db.session.commit()
    _raise(app, "k2", [ids["grid_worker"]], site_id)
    [item] = client.get("/api/v1/me/notices", headers={"Authorization": f"Bearer {tokens['grid_worker']}"}
                        ).get_json()["items"]
    assert item["text"] == "Patrol overdue: block 3"


def test_paging_back_through_notices(app, client):
    ids, tokens, site_id, _ = _people(app)
    made = [_raise(app, f"page-{i}", [ids["grid_worker"]], site_id) for i in range(3)]
    grid = {"Authorization": f"Bearer {tokens['grid_worker']}"}
    page = client.get("/api/v1/me/notices?limit=2", headers=grid).get_json()
    assert [i["id"] for i in page["items"]] == [made[2], made[1]] and page["next_before"] == made[1]
    rest = client.get(f"/api/v1/me/notices?limit=2&before={page['next_before']}", headers=grid).get_json()
    assert [i["id"] for i in rest["items"]] == [made[0]] and rest["next_before"] is None
