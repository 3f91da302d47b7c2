import uuid

from tests.hydrants import factories as hf

WRITERS = ["admin", "supervisor", "maintainer"]


def cases(m):
    sees_site = {**m.everyone(200), "resident": 404}  # the resident's scope is their household
    return [
        m.Case("get", "/api/v1/hydrants", "global", lambda w, s: "/api/v1/hydrants", ok=m.everyone(200)),
        m.Case("get", "/api/v1/hydrants/nearest", "global",
               lambda w, s: "/api/v1/hydrants/nearest?lat=27.11&lng=114.99", ok=m.everyone(200)),
        m.Case("post", "/api/v1/hydrants", "create", lambda w, s: "/api/v1/hydrants",
               body=lambda w, s: {"id": str(uuid.uuid4()), "code": f"XHS-{uuid.uuid4().hex[:10]}",
                                  "kind": "underground", "ownership": "municipal",
                                  "location": {"lat": 27.11, "lng": 114.99},
                                  "place_id": w.side(s)["site"] if s else m.MISSING,
                                  "maintainer_org_id": w.side(s)["maintenance_company"] if s else None},
               ok=m.only(WRITERS, 201, 403), table="hydrants"),
        m.Case("get", "/api/v1/hydrants/<int:hydrant_id>", "read",
               lambda w, s: f"/api/v1/hydrants/{w.fresh(s, hf.site_hydrant)}", ok=sees_site),
        m.Case("patch", "/api/v1/hydrants/<int:hydrant_id>", "write",
               lambda w, s: f"/api/v1/hydrants/{w.fresh(s, hf.site_hydrant)}",
               body=lambda w, s: {"status": "out_of_service"},
               ok={**m.only(WRITERS, 200, 403), "resident": 404}, fresh=hf.site_hydrant),
        m.Case("get", "/api/v1/hydrants/<int:hydrant_id>/pressure", "read",
               lambda w, s: f"/api/v1/hydrants/{w.fresh(s, hf.site_hydrant)}/pressure", ok=sees_site),
        m.Case("get", "/api/v1/hydrant-reports", "global", lambda w, s: "/api/v1/hydrant-reports",
               ok=m.everyone(200)),
        # anyone may report, but only a hydrant they can see by id (others: by location)
        m.Case("post", "/api/v1/hydrant-reports", "create", lambda w, s: "/api/v1/hydrant-reports",
               body=lambda w, s: {"id": str(uuid.uuid4()), "category": "leaking",
                                  "hydrant_id": w.fresh(s, hf.site_hydrant) if s else m.MISSING},
               ok={**m.everyone(201), "resident": 422}, table="hydrant_reports"),
        m.Case("get", "/api/v1/hydrant-reports/<int:report_id>", "read",
               lambda w, s: f"/api/v1/hydrant-reports/{w.fresh(s, hf.site_report)}", ok=sees_site),
        m.Case("get", "/api/v1/work-orders", "global", lambda w, s: "/api/v1/work-orders", ok=m.everyone(200)),
        m.Case("get", "/api/v1/work-orders/<int:work_order_id>", "read",
               lambda w, s: f"/api/v1/work-orders/{w.fresh(s, hf.site_work_order)}", ok=sees_site),
        m.Case("post", "/api/v1/work-orders/<int:work_order_id>/updates", "write",
               lambda w, s: f"/api/v1/work-orders/{w.fresh(s, hf.site_work_order)}/updates",
               body=lambda w, s: {"id": str(uuid.uuid4()), "status": "accepted"},
               ok={**m.only(["admin", "maintainer"], 201, 403), "resident": 404}, fresh=hf.site_work_order),
    ]
