"""Overdue and missed patrols, with an injected `now`. The clock's t0 is
2026-11-30 19:00 UTC, 03:00 on Tuesday 2026-12-01 in Shanghai."""

from datetime import datetime, timedelta, timezone

import pytest

from api.extensions import db
from api.notices.models import Notice
from api.patrols.services import sweep_patrols
from tests import factories as f
from tests.patrols import factories as pf

SH = timezone(timedelta(hours=8))


def local(day, hh, mm=0):
    return datetime(2026, 12, day, hh, mm, tzinfo=SH).astimezone(timezone.utc)


@pytest.fixture
def setting(app, ctx, clock):
    tree = f.city_tree("A")
    people = f.people_for(tree)
    plan = pf.plan(tree["site"], created_by=people["supervisor"], roles=["property_staff"],
                   user_ids=[people["grid_worker"]])
    db.session.commit()
    return tree, people, plan


def _notices(kind=None):
    q = Notice.query.order_by(Notice.id)
    return q.filter_by(kind=kind).all() if kind else q.all()


def test_overdue_once_to_the_owners_after_the_window(setting):
    tree, people, plan = setting
    assert sweep_patrols(now=local(1, 9, 59)) == 0  # the window (08:00-10:00) is still open
    assert sweep_patrols(now=local(1, 10, 5)) == 1
    assert sweep_patrols(now=local(1, 10, 10)) == 0  # told once per plan and period
    [notice] = _notices()
    assert notice.kind == "patrol_overdue" and notice.level == 4
    assert notice.key == f"patrol_overdue:plan:{plan.id}:2026-12-01"
    assert notice.link == f"#/patrols/plans/{plan.id}" and notice.place_path == plan.place_path
    assert "3/3" in notice.text and notice.closed_at is None
    # the named assignee, the property staff (by role) and the creator; not the resident or the maintainer
    assert {r.user_id for r in notice.recipients} == {
        people["grid_worker"].id, people["property_staff"].id, people["supervisor"].id}


def test_completed_late_closes_the_warning(app, setting, clock):
    tree, people, plan = setting
    sweep_patrols(now=local(1, 10, 5))
    client = app.test_client()
    h = f.bearer(people["property_staff"])
    clock.now = local(1, 10, 40)
    for i, cp in enumerate(plan.checkpoints):
        body = {"id": f"00000000-0000-4000-8000-00000000000{i}", "checkpoint_id": cp.id,
                "at": local(1, 10, 30 + i).isoformat(), "items": []}
        assert client.post("/api/v1/patrol-records", json=body, headers=h).status_code == 201
        db.session.expire_all()
        closed = _notices("patrol_overdue")[0].closed_at
        assert (closed is None) == (i < 2)
    assert sweep_patrols(now=local(1, 23, 0)) == 0
    assert sweep_patrols(now=local(2, 0, 30)) == 0  # done: not missed either


def test_missed_when_the_day_ends_and_a_late_offline_scan_still_counts(app, setting, clock):
    tree, people, plan = setting
    pf.record(plan.checkpoints[0], people["grid_worker"], local(1, 8, 30))
    db.session.commit()
    assert sweep_patrols(now=local(1, 10, 5)) == 1
    assert sweep_patrols(now=local(2, 0, 30)) == 1  # Dec 1 missed; Dec 2's window not over yet
    overdue, missed = _notices("patrol_overdue")[0], _notices("patrol_missed")[0]
    assert missed.key == f"patrol_missed:plan:{plan.id}:2026-12-01" and missed.level == 4
    assert "2/3" in missed.text
    assert overdue.closed_at is not None  # the missed warning supersedes it
    # the phone was offline: its two scans of Dec 1 arrive on Dec 2 and complete that day
    client = app.test_client()
    clock.now = local(2, 7, 0)
    for i, cp in enumerate(plan.checkpoints[1:]):
        body = {"id": f"10000000-0000-4000-8000-00000000000{i}", "checkpoint_id": cp.id,
                "at": local(1, 9, 10 + i).isoformat(), "items": []}
        resp = client.post("/api/v1/patrol-records", json=body, headers=f.bearer(people["grid_worker"]))
        assert resp.get_json()["period"] == "2026-12-01"
    db.session.expire_all()
    assert _notices("patrol_missed")[0].closed_at is not None


def test_weekly_plans_are_due_on_their_weekdays_only(setting):
    tree, people, _ = setting
    wed = pf.plan(tree["site"], frequency={"kind": "weekly", "weekdays": [3], "start": "14:00", "end": "16:00"},
                  created_by=people["supervisor"])
    db.session.commit()
    assert [n.key for n in _notices()] == []
    sweep_patrols(now=local(1, 17, 0))  # Tuesday
    assert not [n for n in _notices() if f":{wed.id}:" in n.key]
    sweep_patrols(now=local(2, 16, 30))  # Wednesday after the window
    assert [n.key for n in _notices() if f":{wed.id}:" in n.key] == [f"patrol_overdue:plan:{wed.id}:2026-12-02"]


def test_custom_periods_are_missed_when_they_end(setting):
    tree, people, _ = setting
    every4 = pf.plan(tree["site"], frequency={"kind": "custom", "every_hours": 4}, created_by=people["supervisor"])
    db.session.commit()
    sweep_patrols(now=local(1, 4, 30))
    keys = [n.key for n in _notices() if f":{every4.id}:" in n.key]
    assert keys == [f"patrol_missed:plan:{every4.id}:2026-12-01T00:00"]


def test_a_period_due_before_the_plan_existed_is_not_warned(setting, clock):
    tree, people, _ = setting
    late = pf.plan(tree["site"], created_by=people["supervisor"], created_at=local(1, 11, 0))
    db.session.commit()
    sweep_patrols(now=local(1, 12, 0))
    assert not [n for n in _notices() if f":{late.id}:" in n.key]


def test_inactive_plans_are_not_swept(setting):
    tree, people, plan = setting
    plan.active = False
    db.session.commit()
    assert sweep_patrols(now=local(1, 10, 5)) == 0


def test_the_job_runs_the_sweep(setting, monkeypatch):
    from workers import patrols

    seen = []
    monkeypatch.setattr("api.patrols.services.sweep_patrols", lambda: seen.append(1) or 7)
    assert patrols.patrol_sweep() == 7 and seen == [1]
    assert patrols.patrol_sweep.queue == "default"
