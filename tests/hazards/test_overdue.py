"""The overdue sweep: a level-3 warning to the responsible person and the finder, once per
hazard, closed with the hazard; run with an injected `now`."""

import uuid
from datetime import timedelta

from api.extensions import db
from api.hazards.services import sweep_overdue_hazards
from api.notices.models import Notice
from api.places.models import Place
from tests.hazards import factories as hf


def _hazards(app, w, clock):
    with app.app_context():
        site = db.session.get(Place, w["A"]["site"])
        p = w["people"]
        late = hf.hazard(site, deadline=clock.t0 + timedelta(days=3), responsible=p["responsible"],
                         created_by=p["supervisor"], title="疏散通道堵塞")
        later = hf.hazard(site, deadline=clock.t0 + timedelta(days=10), responsible=p["responsible"],
                          created_by=p["supervisor"])
        sent = hf.hazard(site, state="submitted", deadline=clock.t0 + timedelta(days=1),
                         responsible=p["responsible"], created_by=p["supervisor"])
        db.session.commit()
        return late.id, later.id, sent.id


def _sweep(app, now):
    with app.app_context():
        return sweep_overdue_hazards(now=now)


def test_an_overdue_hazard_warns_its_people_once(app, client, w, clock):
    late, later, sent = _hazards(app, w, clock)
    assert _sweep(app, clock.t0 + timedelta(days=2)) == 0
    now = clock.t0 + timedelta(days=4)
    assert _sweep(app, now) == 1
    assert _sweep(app, now + timedelta(hours=1)) == 0  # the next sweep: already told
    with app.app_context():
        [n] = Notice.query.filter_by(kind="hazard_overdue").all()
        assert (n.level, n.subject_type, n.subject_id, n.link) == (3, "hazard", str(late), f"#/hazards/{late}")
        assert {r.user_id for r in n.recipients} == {w["people"]["responsible"], w["people"]["supervisor"]}
        assert "疏散通道堵塞" in n.text
    for who in ("responsible", "supervisor"):
        items = client.get("/api/v1/me/notices", headers=w["h"][who]).get_json()["items"]
        assert [(i["kind"], i["level"]) for i in items] == [("hazard_overdue", 3)]
    assert client.get("/api/v1/me/notices", headers=w["h"]["grid_worker"]).get_json()["items"] == []


def test_closing_the_hazard_closes_its_warning(app, client, w, clock):
    late, _, _ = _hazards(app, w, clock)
    _sweep(app, clock.t0 + timedelta(days=4))
    clock.at(4 * 86400 + 60)
    photo = hf.upload(client, w["h"]["responsible"])
    resp = client.post(f"/api/v1/hazards/{late}/rectifications",
                       json={"id": str(uuid.uuid4()), "photo_ids": [photo]}, headers=w["h"]["responsible"])
    assert resp.status_code == 201
    assert client.post(f"/api/v1/hazards/{late}/review", json={"decision": "accept"},
                       headers=w["h"]["supervisor"]).status_code == 200
    with app.app_context():
        n = Notice.query.filter_by(kind="hazard_overdue").one()
        assert n.closed_at == clock.now


def test_a_new_deadline_after_a_rejection_may_warn_again(app, client, w, clock):
    late, _, _ = _hazards(app, w, clock)
    _sweep(app, clock.t0 + timedelta(days=4))
    clock.at(4 * 86400)
    photo = hf.upload(client, w["h"]["responsible"])
    client.post(f"/api/v1/hazards/{late}/rectifications", json={"id": str(uuid.uuid4()), "photo_ids": [photo]},
                headers=w["h"]["responsible"])
    new_deadline = (clock.t0 + timedelta(days=6)).isoformat()
    resp = client.post(f"/api/v1/hazards/{late}/review", json={"decision": "reject", "note": "未整改到位",
                                                                "deadline": new_deadline},
                       headers=w["h"]["supervisor"])
    assert resp.status_code == 200
    assert _sweep(app, clock.t0 + timedelta(days=5)) == 0
    assert _sweep(app, clock.t0 + timedelta(days=7)) == 1
    with app.app_context():
        notices = Notice.query.filter_by(kind="hazard_overdue").order_by(Notice.id).all()
        assert [n.closed_at is not None for n in notices] == [True, False]


def test_the_job_runs_the_sweep(app, w, clock):
    from workers.hazards import hazard_overdue_sweep
    from workers.scheduler import PERIODIC

    assert "workers.hazards.hazard_overdue_sweep" in {p.func for p in PERIODIC}
    _hazards(app, w, clock)
    clock.at(5 * 86400)
    with app.app_context():
        assert hazard_overdue_sweep() == 1
