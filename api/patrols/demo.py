"""Demo patrol: the property staff's daily round of the demo resident's estate, three
checkpoints, walked completely yesterday and begun today (so labels, the checklist,
the records and the stats all have something to show)."""

import uuid
from datetime import timedelta

from api.common.clock import utcnow
from api.extensions import db
from api.patrols.models import Checkpoint, PatrolAssignee, PatrolPlan, PatrolRecord
from api.patrols.periods import period_of

DEMO_PLAN = uuid.UUID("6a1d3c52-5b1e-4c1a-9d7e-000000000007")  # fixed: a second seed finds it
CHECKPOINTS = [
    ("1栋大堂消防器材点", 0.0000, 0.0000, [
        ("extinguishers", "灭火器在位、压力正常", "Extinguishers in place, pressure normal", "pass_fail"),
        ("exit_signs", "疏散指示标志完好", "Exit signs working", "pass_fail"),
        ("photo", "现场照片", "Photo", "photo")]),
    ("B1消防水泵房", 0.0004, 0.0003, [
        ("pumps_auto", "消防水泵处于自动状态", "Fire pumps on automatic", "pass_fail"),
        ("valves_open", "阀门常开、无渗漏", "Valves open, no leaks", "pass_fail"),
        ("note", "备注", "Notes", "note")]),
    ("屋顶消防水箱", 0.0008, -0.0002, [
        ("water_level", "水位正常", "Water level normal", "pass_fail"),
        ("heater", "电伴热正常", "Trace heating normal", "pass_fail")]),
]


def seed_patrols(site, owner, patroller, now=None):
    """Nothing happens when the demo plan is already there."""
    if PatrolPlan.query.filter_by(client_id=str(DEMO_PLAN)).first() is not None:
        return None
    now = now or utcnow()
    lat, lng = site.lat or 27.113, site.lng or 114.985
    plan = PatrolPlan(client_id=str(DEMO_PLAN), request_hash="demo", place_id=site.id, place_path=site.path,
                      name=f"{site.name}每日防火巡查", frequency={"kind": "daily", "start": "08:00", "end": "10:00"},
                      assignee_roles=["property_staff"], created_by=owner.id, created_at=now - timedelta(days=7))
    for i, (name, dlat, dlng, items) in enumerate(CHECKPOINTS):
        plan.checkpoints.append(Checkpoint(
            position=i + 1, name=name, lat=round(lat + dlat, 6), lng=round(lng + dlng, 6), radius_m=30.0,
            instructions="逐项检查，不合格项拍照并转隐患",
            items=[{"key": k, "label": zh, "label_en": en, "kind": kind} for k, zh, en, kind in items]))
    plan.assignees.append(PatrolAssignee(user_id=patroller.id))
    db.session.add(plan)
    db.session.flush()
    yesterday, today = period_of(plan.frequency, now - timedelta(days=1)), period_of(plan.frequency, now)
    walks = [(yesterday.opens + timedelta(minutes=30), plan.checkpoints)]
    if now > today.opens + timedelta(minutes=15):
        walks.append((today.opens + timedelta(minutes=10), plan.checkpoints[:1]))
    for n, (start, checkpoints) in enumerate(walks):
        for i, cp in enumerate(checkpoints):
            at = start + timedelta(minutes=4 * i)
            period = period_of(plan.frequency, at)
            results = [{"key": it["key"], "result": "pass" if it["kind"] == "pass_fail" else None, "note": None,
                        "photo_ids": []} for it in cp.items]
            db.session.add(PatrolRecord(
                id=str(uuid.uuid5(DEMO_PLAN, f"{n}:{i}")), request_hash="demo", user_id=patroller.id,
                plan_id=plan.id, checkpoint_id=cp.id, place_path=plan.place_path, scanned=True, at=at,
                period_start=period.start, period_label=period.label, lat=cp.lat, lng=cp.lng, accuracy_m=8.0,
                distance_m=0.0, far_from_checkpoint=False, items=results, created_at=at))
    db.session.flush()
    return plan
