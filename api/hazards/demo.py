"""Demo field work: one inspection of the demo resident's estate, two hazards found,
one of them past its deadline (so the supervisor's home screen has work to show)."""

import uuid
from datetime import timedelta

from api.common.clock import utcnow
from api.extensions import db
from api.hazards import inspections, services
from api.hazards.models import ChecklistTemplate, Inspection

DEMO_INSPECTION = uuid.UUID("6a1d3c52-5b1e-4c1a-9d7e-000000000006")  # fixed: a second seed finds it


def seed_hazards(site, supervisor, responsible, now=None):
    """Nothing happens when the demo inspection is already there or the checklist is gone."""
    if Inspection.query.filter_by(client_id=str(DEMO_INSPECTION)).first() is not None:
        return None
    template = ChecklistTemplate.query.filter_by(code=inspections.DEFAULT_TEMPLATE).one_or_none()
    if template is None:
        return None
    now = now or utcnow()
    at = now - timedelta(days=5)
    failed = {"ebike_charging": ("critical", "2栋1单元楼道有电动自行车充电"),  # 3 days: overdue
              "extinguishers_valid": ("minor", "3栋5F灭火器压力不足")}  # 30 days
    items = [{"key": i["key"], "label": i["label"], "label_en": i.get("label_en"), "kind": i.get("kind"),
              "result": "fail" if i["key"] in failed else ("pass" if i.get("kind") == "pass_fail" else "na"),
              "note": failed[i["key"]][1] if i["key"] in failed else None, "photo_ids": [], "hazard_id": None}
             for i in template.items]
    inspection = Inspection(client_id=str(DEMO_INSPECTION), fingerprint=services.fingerprint({"demo": True}),
                            site_id=site.id, site_path=site.path, template_id=template.id,
                            inspector_id=supervisor.id, at=at, created_at=at, lat=site.lat, lng=site.lng,
                            accuracy_m=12.0, note="年度消防安全检查", items=items)
    db.session.add(inspection)
    db.session.flush()
    for item in items:
        if item["result"] == "fail":
            severity, note = failed[item["key"]]
            hazard = services.create_hazard(supervisor, site, item["label"], severity,
                                            source=("inspection", inspection.id), responsible_user_id=responsible.id,
                                            description=note, item_key=item["key"], at=at, inspection=inspection,
                                            commit=False)
            item["hazard_id"] = hazard.id
    inspection.items = [dict(i) for i in items]  # a new list: the JSON column sees the change
    return inspection
