"""Scope-matrix rows for patrols. Each plan is made fresh at the tree's site with the
household's resident named on it, so every role of city A has a reason to see it
(the resident as an assignee) and nobody of city A sees city B's."""

import uuid

PATROLLERS = ["property_staff", "grid_worker", "station_member", "supervisor", "admin"]


def _resident_of(household):
    from api.people.models import Membership

    return Membership.query.filter_by(place_id=household.id, role="resident").first().user_id


def _plan(site, household):
    from tests.patrols import factories as pf

    return pf.plan(site, user_ids=[_resident_of(household)])


def _record(site, household):
    """A record with a failed item, made by the resident named on the plan."""
    from api.common.clock import utcnow
    from tests.patrols import factories as pf

    plan = _plan(site, household)
    return pf.record(plan.checkpoints[0], _resident_of(household), utcnow(),
                     items=[{"key": "extinguisher", "result": "fail", "note": "压力不足", "photo_ids": []}])


def _remember(w, s, key, value):
    w.side(s)[key] = value  # the lists' rows look for it in the tree
    return value


def _plan_id(w, s):
    return _remember(w, s, "patrol_plan", w.fresh(s, _plan))


def _checkpoint_id(w, s):
    from api.extensions import db
    from api.patrols.models import PatrolPlan

    plan_id = w.fresh(s, _plan)
    with w.app.app_context():
        return db.session.get(PatrolPlan, plan_id).checkpoints[0].id


def _code(w, s):
    from api.patrols import codes

    cp = _checkpoint_id(w, s)
    with w.app.app_context():
        return codes.sign(cp)


def cases(m):
    m.LIST_KEYS.setdefault("patrol_plan", ("patrol_plan",))
    m.LIST_KEYS.setdefault("patrol_record", ("patrol_record",))
    manage = {**m.only(PATROLLERS, 200, 403)}
    return [
        m.Case("get", "/api/v1/patrol-plans", "list", lambda w, s: (_plan_id(w, s), "/api/v1/patrol-plans")[1],
               ok=m.everyone(200), listed="patrol_plan"),
        m.Case("post", "/api/v1/patrol-plans", "create", lambda w, s: "/api/v1/patrol-plans",
               body=lambda w, s: {"id": str(uuid.uuid4()), "place_id": w.side(s)["site"] if s else m.MISSING,
                                  "name": "每日巡查", "frequency": {"kind": "daily", "start": "08:00", "end": "10:00"},
                                  "checkpoints": [{"name": "大堂", "location": {"lat": 27.11, "lng": 114.99}}]},
               ok={**m.only(PATROLLERS, 201, 403), "resident": 422}, table="patrol_plans"),
        m.Case("get", "/api/v1/patrol-plans/<int:plan_id>", "read",
               lambda w, s: f"/api/v1/patrol-plans/{w.fresh(s, _plan)}", ok=m.everyone(200)),
        m.Case("patch", "/api/v1/patrol-plans/<int:plan_id>", "write",
               lambda w, s: f"/api/v1/patrol-plans/{w.fresh(s, _plan)}", body=lambda w, s: {"name": "改名"},
               ok=manage, fresh=_plan),
        m.Case("get", "/api/v1/patrol-plans/<int:plan_id>/labels.svg", "read",
               lambda w, s: f"/api/v1/patrol-plans/{w.fresh(s, _plan)}/labels.svg", ok=m.everyone(200)),
        m.Case("get", "/api/v1/patrol-plans/<int:plan_id>/labels.pdf", "read",
               lambda w, s: f"/api/v1/patrol-plans/{w.fresh(s, _plan)}/labels.pdf", ok=m.everyone(200)),
        m.Case("get", "/api/v1/checkpoints/scan/<string:code>", "read",
               lambda w, s: f"/api/v1/checkpoints/scan/{_code(w, s)}", ok=m.everyone(200)),
        m.Case("get", "/api/v1/patrol-records", "list",
               lambda w, s: (_remember(w, s, "patrol_record", w.fresh(s, _record)), "/api/v1/patrol-records")[1],
               ok=m.everyone(200), listed="patrol_record"),
        m.Case("post", "/api/v1/patrol-records", "create", lambda w, s: "/api/v1/patrol-records",
               body=lambda w, s: {"id": str(uuid.uuid4()), "checkpoint_id": _checkpoint_id(w, s) if s else m.MISSING,
                                  "at": "2026-11-30T09:00:00+08:00",
                                  "location": {"lat": 27.11, "lng": 114.99, "accuracy_m": 8},
                                  "items": [{"key": "extinguisher", "result": "pass"}]},
               ok={**m.only(PATROLLERS + ["resident"], 201, 403)}, table="patrol_records"),
        m.Case("post", "/api/v1/patrol-records/<string:record_id>/items/<string:key>/hazard", "write",
               lambda w, s: f"/api/v1/patrol-records/{w.fresh(s, _record)}/items/extinguisher/hazard",
               body=lambda w, s: {"id": str(uuid.uuid4()), "severity": "major"},
               ok={**m.only(PATROLLERS + ["resident"], 201, 403)}, fresh=_record),
        m.Case("get", "/api/v1/patrol-stats", "global", lambda w, s: "/api/v1/patrol-stats", ok=m.everyone(200)),
    ]
