"""Scope rows for checklist templates, inspections and hazards (see tests/test_scope_matrix.py).

A site's hazards and inspections are seen by whoever's scope covers the site: every role
of city A except the resident, whose scope is one household."""

import uuid


def _hazard(state):
    def build(site, household):
        from tests.hazards import factories as hf

        return hf.hazard(site, state=state)

    return build


def _inspection(site, household):
    from tests.hazards import factories as hf

    return hf.inspection(site)


def cases(m):
    sees_site = {**m.everyone(200), "resident": 404}
    reporters = ["supervisor", "admin", "grid_worker", "property_staff", "station_member"]
    open_hazard, submitted = _hazard("open"), _hazard("submitted")
    return [
        # checklist templates are reference data: everyone reads, supervisors and admins add
        m.Case("get", "/api/v1/checklist-templates", "global", lambda w, s: "/api/v1/checklist-templates",
               ok=m.everyone(200)),
        m.Case("post", "/api/v1/checklist-templates", "global", lambda w, s: "/api/v1/checklist-templates",
               body=lambda w, s: {"kind": "patrol", "name": "巡查表", "items": [{"key": "a", "label": "甲"}]},
               ok=m.only(["admin", "supervisor"], 201, 403)),
        m.Case("get", "/api/v1/checklist-templates/<int:template_id>", "global",
               lambda w, s: f"/api/v1/checklist-templates/{_default_template(w)}", ok=m.everyone(200)),
        # inspections
        m.Case("get", "/api/v1/inspections", "global", lambda w, s: "/api/v1/inspections", ok=m.everyone(200)),
        m.Case("post", "/api/v1/inspections", "create", lambda w, s: "/api/v1/inspections",
               body=lambda w, s: {"id": str(uuid.uuid4()), "site_id": w.side(s)["site"] if s else m.MISSING,
                                  "items": [{"key": "exits_clear", "result": "fail", "severity": "minor"}]},
               ok=m.only(["supervisor", "admin"], 201, 403), table="inspections"),
        m.Case("get", "/api/v1/inspections/<int:inspection_id>", "read",
               lambda w, s: f"/api/v1/inspections/{w.fresh(s, _inspection)}", ok=sees_site, fresh=_inspection),
        # hazards
        m.Case("get", "/api/v1/hazards", "global", lambda w, s: "/api/v1/hazards?overdue=true", ok=m.everyone(200)),
        m.Case("post", "/api/v1/hazards", "create", lambda w, s: "/api/v1/hazards",
               body=lambda w, s: {"id": str(uuid.uuid4()), "site_id": w.side(s)["site"] if s else m.MISSING,
                                  "title": "消防通道堵塞", "severity": "major"},
               ok={**m.only(reporters, 201, 403), "resident": 422}, table="hazards"),
        m.Case("get", "/api/v1/hazards/<int:hazard_id>", "read",
               lambda w, s: f"/api/v1/hazards/{w.fresh(s, open_hazard)}", ok=sees_site, fresh=open_hazard),
        # the photo check comes after scope and role: staff of the site get 422 for an empty list
        m.Case("post", "/api/v1/hazards/<int:hazard_id>/rectifications", "write",
               lambda w, s: f"/api/v1/hazards/{w.fresh(s, open_hazard)}/rectifications",
               body=lambda w, s: {"id": str(uuid.uuid4()), "note": "已整改", "photo_ids": []},
               ok={**m.only(["property_staff", "maintainer", "admin"], 422, 403), "resident": 404},
               fresh=open_hazard),
        m.Case("post", "/api/v1/hazards/<int:hazard_id>/review", "write",
               lambda w, s: f"/api/v1/hazards/{w.fresh(s, submitted)}/review",
               body=lambda w, s: {"decision": "accept"},
               ok={**m.only(["supervisor", "admin"], 200, 403), "resident": 404}, fresh=submitted),
        m.Case("get", "/api/v1/hazards/responsible-candidates", "read",
               lambda w, s: f"/api/v1/hazards/responsible-candidates?site_id={w.side(s)['site']}",
               ok={**m.only(reporters, 200, 403), "resident": 404}),
    ]


def _default_template(w):
    from api.hazards.models import ChecklistTemplate

    with w.app.app_context():
        return ChecklistTemplate.query.filter_by(code="default_inspection").one().id
