"""Damage reports and work orders. A report opens one work order for the hydrant's
maintenance company, with a deadline by category; the maintainer moves it through
accepted → in_progress → fixed (with a closing photo) or rejected; the reporter is
told when it is fixed, and a sweep warns the maintainer of an order past its deadline."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.pagination import page
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.hydrants.geo import bounding_box, haversine_m
from api.hydrants.models import CLOSED_STATUSES, Hydrant, HydrantReport, WorkOrder, WorkOrderUpdate
from api.hydrants.services import (
    CATEGORY_TEXT,
    DEADLINE_DAYS,
    NEXT,
    _fingerprint,
    _is_admin,
    _org_names,
    _replayed,
    _sees,
    _visible,
    get_hydrant,
    hydrant_view,
    maintainer_orgs,
)
from api.notices.services import close_notices, raise_notice
from api.people.models import Membership, User
from api.photos.services import claim_photos, photo_urls, photos_by_ids

MATCH_RADIUS_M = 50  # a report without hydrant_id is for the nearest hydrant this close
AREA_RADIUS_M = 2000
SWEEP_BATCH = 500


def deadline_for(category, now):
    days = current_app.config.get("WORK_ORDER_DAYS", {}).get(category) or DEADLINE_DAYS.get(category) \
        or current_app.config.get("WORK_ORDER_DEFAULT_DAYS", 7)
    return now + timedelta(days=days)


def _maintainer_ids(org_id):
    if org_id is None:
        return []
    return [uid for (uid,) in db.session.query(Membership.user_id).filter(
        Membership.role == "maintainer", Membership.org_id == org_id)]


def _photo_links(ids):
    return [photo_urls(p) for p in photos_by_ids(ids)]


def _brief(wo, now=None):
    now = now or utcnow()
    return {"id": wo.id, "status": wo.status, "deadline": wo.deadline,
            "overdue": wo.closed_at is None and wo.deadline < now, "maintainer_org_id": wo.maintainer_org_id,
            "maintainer_name": _org_names([wo.maintainer_org_id]).get(wo.maintainer_org_id),
            "closed_at": wo.closed_at}


def report_view(r, wo=None):
    wo = wo or WorkOrder.query.filter_by(report_id=r.id).first()
    hydrant = db.session.get(Hydrant, r.hydrant_id) if r.hydrant_id else None
    location = None if r.lat is None else {"lat": r.lat, "lng": r.lng, "accuracy_m": r.accuracy_m}
    return {"id": r.id, "client_id": r.client_id, "hydrant_id": r.hydrant_id,
            "hydrant_code": hydrant.code if hydrant else None, "category": r.category, "note": r.note,
            "photos": _photo_links(r.photo_ids), "location": location, "reporter_id": r.reporter_id,
            "at": r.at, "created_at": r.created_at, "work_order": _brief(wo) if wo else None}


def work_order_view(wo):
    names = dict(db.session.query(User.id, User.name).filter(User.id.in_({u.user_id for u in wo.updates})))
    hydrant = db.session.get(Hydrant, wo.hydrant_id) if wo.hydrant_id else None
    return {**_brief(wo), "hydrant": hydrant_view(hydrant) if hydrant else None,
            "report": report_view(wo.report, wo), "created_at": wo.created_at, "updated_at": wo.updated_at,
            "updates": [{"id": u.id, "client_id": u.client_id, "status": u.status, "note": u.note,
                         "photos": _photo_links(u.photo_ids), "user_id": u.user_id,
                         "user_name": names.get(u.user_id), "at": u.at, "created_at": u.created_at}
                        for u in wo.updates]}


# --- reports -----------------------------------------------------------------------------------

def _hydrant_for(user, data):
    if data.get("hydrant_id"):
        try:
            return get_hydrant(user, data["hydrant_id"])
        except NotFound:
            raise AppError("validation_error", status=422, errors={"hydrant_id": ["no such hydrant"]}) from None
    # Any passer-by may report what they see on the street: match the nearest hydrant
    # whatever the reporter's scope, so the report reaches its maintainer.
    near = _nearest(data["location"], MATCH_RADIUS_M)
    return near[1] if near else None


def _nearest(loc, radius_m):
    """(distance, hydrant) of the nearest hydrant within radius_m of `loc`, any scope."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(loc["lat"], loc["lng"], radius_m)
    rows = Hydrant.query.filter(Hydrant.lat.between(min_lat, max_lat), Hydrant.lng.between(min_lng, max_lng)).all()
    near = [(haversine_m(loc["lat"], loc["lng"], h.lat, h.lng), h.id, h) for h in rows]
    near = [n for n in near if n[0] <= radius_m]
    return (min(near)[0], min(near)[2]) if near else None


def _area_path(loc):
    """No hydrant at the spot (a missing one, or not registered yet): the report belongs to the
    place of the nearest hydrant around, so that area's staff and centre see it; else to nobody
    but the admins."""
    if not loc:
        return None
    near = _nearest(loc, AREA_RADIUS_M)
    return near[1].place_path if near else None


def create_report(user, data):
    client_id = str(data["id"])
    fp = _fingerprint(data)
    seen = HydrantReport.query.filter_by(client_id=client_id).first()
    if _replayed(seen, user.id, seen.reporter_id if seen else None, fp):
        return seen
    photos = claim_photos(data.get("photo_ids"), user)
    hydrant = _hydrant_for(user, data)
    now = utcnow()
    loc = data.get("location") or {}
    report = HydrantReport(client_id=client_id, fingerprint=fp, hydrant_id=hydrant.id if hydrant else None,
                           reporter_id=user.id, category=data["category"], note=data.get("note"),
                           photo_ids=[p.id for p in photos], lat=loc.get("lat"), lng=loc.get("lng"),
                           accuracy_m=loc.get("accuracy_m"),
                           place_path=hydrant.place_path if hydrant else _area_path(data.get("location")),
                           at=data.get("at") or now, created_at=now)
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # the same report arriving twice at once
        db.session.rollback()
        seen = HydrantReport.query.filter_by(client_id=client_id).first()
        if _replayed(seen, user.id, seen.reporter_id if seen else None, fp):
            return seen
        raise
    org_id = hydrant.maintainer_org_id if hydrant else None
    wo = WorkOrder(report_id=report.id, hydrant_id=report.hydrant_id, maintainer_org_id=org_id,
                   place_path=report.place_path, status="open", deadline=deadline_for(report.category, now),
                   created_at=now, updated_at=now)
    db.session.add(wo)
    if hydrant is not None and hydrant.status == "normal" and report.category != "illegal_use":
        hydrant.status = "damaged"
        hydrant.updated_at = now
    db.session.flush()
    zh, en = CATEGORY_TEXT[report.category]
    code = hydrant.code if hydrant else "?"
    raise_notice("work_order_assigned", f"work_order_assigned:{wo.id}", _maintainer_ids(org_id),
                 (f"新的消火栓维修工单：{code} {zh}", f"New hydrant work order: {code} {en}"),
                 place=hydrant.place if hydrant else None, link=f"#/work-orders/{wo.id}",
                 subject=("work_order", wo.id), now=now)
    db.session.commit()
    return report


def _report_filter(user):
    return or_(HydrantReport.reporter_id == user.id, _visible(user, WorkOrder.place_path, WorkOrder.maintainer_org_id))


def list_reports(user, args):
    q = HydrantReport.query.join(WorkOrder, WorkOrder.report_id == HydrantReport.id)
    q = q.filter(HydrantReport.reporter_id == user.id) if args.get("mine") else q.filter(_report_filter(user))
    if args.get("hydrant_id"):
        q = q.filter(HydrantReport.hydrant_id == args["hydrant_id"])
    result = page(q, HydrantReport.id, args)
    result["items"] = [report_view(r) for r in result["items"]]
    return result


def get_report(user, report_id):
    r = db.session.get(HydrantReport, report_id)
    if r is None:
        raise NotFound()
    if r.reporter_id != user.id:
        wo = WorkOrder.query.filter_by(report_id=r.id).first()
        if wo is None or not _sees(user, wo.place_path, wo.maintainer_org_id):
            raise NotFound()
    return r


# --- work orders ---------------------------------------------------------------------------------

def get_work_order(user, wo_id, for_update=False):
    q = WorkOrder.query.filter(WorkOrder.id == wo_id)
    if for_update:
        q = q.with_for_update(of=WorkOrder)
    wo = q.first()
    if wo is None or not _sees(user, wo.place_path, wo.maintainer_org_id):
        raise NotFound()
    return wo


def list_work_orders(user, args, now=None):
    q = WorkOrder.query.filter(_visible(user, WorkOrder.place_path, WorkOrder.maintainer_org_id))
    if args.get("status"):
        q = q.filter(WorkOrder.status == args["status"])
    if args.get("open"):
        q = q.filter(WorkOrder.closed_at.is_(None))
    if args.get("overdue"):
        q = q.filter(WorkOrder.closed_at.is_(None), WorkOrder.deadline < (now or utcnow()))
    if args.get("hydrant_id"):
        q = q.filter(WorkOrder.hydrant_id == args["hydrant_id"])
    result = page(q, WorkOrder.id, args)
    result["items"] = [work_order_view(w) for w in result["items"]]
    return result


def _wrong_state(wo, status):
    return Conflict("wrong_state", message=(f"工单当前为“{wo.status}”，不能改为“{status}”",
                                            f"The work order is {wo.status}; it cannot become {status}"),
                    errors={"status": [f"not allowed from {wo.status}"]})


def add_update(user, wo_id, data):
    """The one owner of a work order's status. Returns the work order."""
    client_id = str(data["id"])
    fp = _fingerprint({**data, "work_order_id": wo_id})
    seen = WorkOrderUpdate.query.filter_by(client_id=client_id).first()
    if _replayed(seen, user.id, seen.user_id if seen else None, fp):
        return get_work_order(user, seen.work_order_id)
    wo = get_work_order(user, wo_id, for_update=True)
    if not (_is_admin(user) or (wo.maintainer_org_id is not None and wo.maintainer_org_id in maintainer_orgs(user))):
        raise AppError("forbidden", status=403, message=("只有维保单位可以处理工单",
                                                         "Only the maintenance company may update this work order"))
    status = data["status"]
    if status not in NEXT[wo.status]:
        raise _wrong_state(wo, status)
    photos = claim_photos(data.get("photo_ids"), user)
    if status == "fixed" and not photos:
        raise AppError("validation_error", status=422,
                       message=("修复完成需要上传现场照片", "A closing photo is required to mark it fixed"),
                       errors={"photo_ids": ["a closing photo is required"]})
    now = utcnow()
    db.session.add(WorkOrderUpdate(client_id=client_id, fingerprint=fp, work_order_id=wo.id, user_id=user.id,
                                   status=status, note=data.get("note"), photo_ids=[p.id for p in photos],
                                   at=data.get("at"), created_at=now))
    wo.status, wo.updated_at = status, now
    if status in CLOSED_STATUSES:
        _close(wo, now)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        seen = WorkOrderUpdate.query.filter_by(client_id=client_id).first()
        if _replayed(seen, user.id, seen.user_id if seen else None, fp):
            return get_work_order(user, seen.work_order_id)
        raise
    db.session.refresh(wo)
    return wo


def _close(wo, now):
    wo.closed_at = now
    close_notices("work_order", wo.id, now=now)
    hydrant = db.session.get(Hydrant, wo.hydrant_id) if wo.hydrant_id else None
    if hydrant is not None and hydrant.status == "damaged":
        still_open = (WorkOrder.query.filter(WorkOrder.hydrant_id == hydrant.id, WorkOrder.id != wo.id,
                                             WorkOrder.closed_at.is_(None)).count())
        if not still_open:
            hydrant.status, hydrant.updated_at = "normal", now
    if wo.status == "fixed" and wo.report.reporter_id is not None:
        code = hydrant.code if hydrant else ""
        raise_notice("report_fixed", f"report_fixed:{wo.report_id}", [wo.report.reporter_id],
                     (f"您报告的消火栓 {code} 已修复，谢谢！", f"The hydrant {code} you reported has been fixed. Thank you!"),
                     place=hydrant.place if hydrant else None, link=f"#/hydrant-reports/{wo.report_id}",
                     subject=("hydrant_report", wo.report_id), now=now)


def sweep_overdue_work_orders(now=None):
    """Warn the maintainer (level 3) once per work order past its deadline. Returns how many were raised."""
    now = now or utcnow()
    raised = 0
    rows = (WorkOrder.query.filter(WorkOrder.closed_at.is_(None), WorkOrder.deadline < now)
            .order_by(WorkOrder.deadline, WorkOrder.id).limit(SWEEP_BATCH).all())
    for wo in rows:
        hydrant = db.session.get(Hydrant, wo.hydrant_id) if wo.hydrant_id else None
        code = hydrant.code if hydrant else f"#{wo.id}"
        notice = raise_notice(
            "work_order_overdue", f"work_order_overdue:{wo.id}", _maintainer_ids(wo.maintainer_org_id),
            (f"消火栓维修工单已超期：{code}", f"Hydrant work order overdue: {code}"), level=3,
            place=hydrant.place if hydrant else None, link=f"#/work-orders/{wo.id}",
            subject=("work_order", wo.id), now=now)
        raised += notice is not None
    db.session.commit()
    return raised
