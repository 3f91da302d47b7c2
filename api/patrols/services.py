"""Patrols: plans and their checkpoints, scans recorded on a phone (often offline,
so they may arrive late), one-tap hazards from failed items, and the sweep that
warns the patrol's owners when a period's checkpoints were not all scanned."""

import hashlib
import json
import math
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.savepoint import insert_savepoint
from api.errors import AppError, NotFound
from api.extensions import db
from api.notices.models import Notice
from api.notices.services import close_notices, raise_notice
from api.patrols import codes
from api.patrols.models import Checkpoint, PatrolAssignee, PatrolItemHazard, PatrolPlan, PatrolRecord
from api.patrols.periods import local_zone, period_of, periods_between
from api.patrols.schemas import PATROL_ROLES, clean_frequency
from api.people.models import Membership, User
from api.people.scopes import current_user, read_scope, scope_of
from api.places.models import Place

PLAN_PLACE_KINDS = ("site", "community")
SWEEP_LOOKBACK = timedelta(days=2)  # a scheduler down for a while still warns about these
MAX_STATS_DAYS = 366
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # record cursors count microseconds from it


# --- small helpers ---------------------------------------------------------------

def fingerprint(data):
    """A stable digest of a request body, to tell a replay from a reused id."""
    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def id_conflict():
    return AppError("id_conflict", status=409,
                    message=("该编号已用于另一条记录", "This id was already used for another record"),
                    errors={"id": ["already used for another record"]})


def field_error(field, message):
    return AppError("validation_error", status=422, errors={field: [message]})


def unknown_checkpoint():
    return AppError("unknown_checkpoint", status=404,
                    message=("无法识别的巡查点二维码", "Unknown checkpoint code"))


def distance_m(lat1, lng1, lat2, lng2):
    """Great-circle distance (haversine), metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _ancestor_paths(user):
    """Paths of every place at or above one of the user's membership places."""
    out = set()
    for m in user.memberships:
        if m.place is None:
            continue
        parts = [p for p in m.place.path.split("/") if p]
        for i in range(1, len(parts) + 1):
            out.add("/" + "/".join(parts[:i]) + "/")
    return out


def _role_matches(plan, user):
    return _roles_match(plan.assignee_roles, plan.place_path, user)


def _roles_match(plan_roles, place_path, user):
    """The user holds one of the plan's roles at, above or below the plan's place."""
    roles = set(plan_roles or ())
    if not roles:
        return False
    if scope_of(user, roles).covers(place_path):
        return True
    return any(m.role in roles and m.place is not None and m.place.path.startswith(place_path)
               for m in user.memberships)


def is_assignee(plan, user):
    return any(a.user_id == user.id for a in plan.assignees) or _role_matches(plan, user)


def can_see_plan(plan, user):
    return read_scope(user).covers(plan.place_path) or is_assignee(plan, user)


def may_manage(plan, user):
    return scope_of(user, PATROL_ROLES).covers(plan.place_path)


def may_record(plan, user):
    return is_assignee(plan, user) or scope_of(user, PATROL_ROLES).covers(plan.place_path)


def _assigned_plan_ids(user):
    """Plans the user is assigned to without seeing their place (named, or by a role held below it)."""
    ids = {pid for (pid,) in db.session.query(PatrolAssignee.plan_id).filter_by(user_id=user.id)}
    ancestors = _ancestor_paths(user)
    if ancestors:
        for plan in PatrolPlan.query.filter(PatrolPlan.place_path.in_(ancestors)):
            if _role_matches(plan, user):
                ids.add(plan.id)
    return ids


def _my_plan_ids(user):
    """Plans the user is assigned to, by name or by a role, wherever they are."""
    ids = {pid for (pid,) in db.session.query(PatrolAssignee.plan_id).filter_by(user_id=user.id)}
    candidates = (db.session.query(PatrolPlan.id, PatrolPlan.place_path, PatrolPlan.assignee_roles)
                  .filter(or_(read_scope(user).where(PatrolPlan.place_path),
                              PatrolPlan.place_path.in_(_ancestor_paths(user) or [""]))))
    ids.update(pid for pid, path, roles in candidates if _roles_match(roles, path, user))
    return ids


def owners(plan):
    """Who is told when the plan's patrol is overdue: its assignees and its creator."""
    ids = {a.user_id for a in plan.assignees}
    if plan.created_by:
        ids.add(plan.created_by)
    roles = list(plan.assignee_roles or ())
    if roles:
        for m in Membership.query.filter(Membership.role.in_(roles)).join(User).filter(User.is_active.is_(True)):
            paths = []
            if m.place is not None:
                paths.append(m.place.path)
            elif m.organisation is not None:
                paths.extend(c.place.path for c in m.organisation.coverage)
            if any(plan.place_path.startswith(p) or p.startswith(plan.place_path) for p in paths):
                ids.add(m.user_id)
    return ids


# --- plans -----------------------------------------------------------------------

def get_plan(plan_id, user=None):
    user = user or current_user()
    plan = db.session.get(PatrolPlan, plan_id)
    if plan is None or not can_see_plan(plan, user):
        raise NotFound()
    return plan


def list_plans(args):
    user = current_user()
    visible = or_(read_scope(user).where(PatrolPlan.place_path), PatrolPlan.id.in_(_assigned_plan_ids(user) or [0]))
    q = PatrolPlan.query.filter(visible)
    if args.get("mine"):
        q = q.filter(PatrolPlan.id.in_(_my_plan_ids(user) or [0]))
    if args.get("active") is not None:
        q = q.filter(PatrolPlan.active.is_(args["active"]))
    if args.get("place_id") is not None:
        place = db.session.get(Place, args["place_id"])
        if place is None or not read_scope(user).covers(place.path):
            raise NotFound()
        q = q.filter(PatrolPlan.place_path.startswith(place.path, autoescape=True))
    if args.get("after"):
        q = q.filter(PatrolPlan.id > args["after"])
    rows = q.order_by(PatrolPlan.id).limit(args["limit"] + 1).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    return {"items": plan_views(rows), "next_after": rows[-1].id if more and rows else None}


def _resolve_plan_place(place_id, user):
    place = db.session.get(Place, place_id) if place_id is not None else None
    if place is None or not read_scope(user).covers(place.path):
        raise field_error("place_id", "no such place")
    if place.kind not in PLAN_PLACE_KINDS:
        raise field_error("place_id", "a patrol plan belongs to a site or a community")
    if not scope_of(user, PATROL_ROLES).covers(place.path):
        raise AppError("forbidden", status=403)
    return place


def _template_items(template_id):
    try:
        from api.hazards.models import ChecklistTemplate
    except ImportError:  # the templates' domain not there: only inline items
        ChecklistTemplate = None
    template = db.session.get(ChecklistTemplate, template_id) if ChecklistTemplate is not None else None
    if template is None:
        raise field_error("checkpoints", f"no such checklist template: {template_id}")
    return [{"key": i["key"], "label": i["label"], "label_en": i.get("label_en"), "kind": i.get("kind", "pass_fail")}
            for i in template.items]


def _checkpoint_fields(cp, place, position):
    site_id = cp.get("site_id")
    if site_id is not None:
        site = db.session.get(Place, site_id)
        if site is None or site.kind != "site" or not site.path.startswith(place.path):
            raise field_error("checkpoints", f"site {site_id} is not a site of the plan's place")
    items = _template_items(cp["template_id"]) if cp.get("template_id") else cp.get("items") or []
    loc = cp["location"]
    return {"position": position, "name": cp["name"], "site_id": site_id, "lat": loc["lat"], "lng": loc["lng"],
            "radius_m": cp.get("radius_m") or 30.0, "instructions": cp.get("instructions"),
            "items": [{"key": i["key"], "label": i["label"], "label_en": i.get("label_en"),
                       "kind": i.get("kind") or "pass_fail"} for i in items]}


def _set_assignees(plan, assignees):
    user_ids = sorted(set(assignees.get("user_ids") or ()))
    if user_ids:
        found = {i for (i,) in db.session.query(User.id).filter(User.id.in_(user_ids))}
        missing = [u for u in user_ids if u not in found]
        if missing:
            raise field_error("assignees", f"no such user: {missing[0]}")
    plan.assignee_roles = sorted(set(assignees.get("roles") or ()))
    plan.assignees = [PatrolAssignee(user_id=u) for u in user_ids]


def create_plan(data):
    user = current_user()
    client_id = str(data["id"]) if data.get("id") else None
    fp = fingerprint(data)
    if client_id:
        seen = PatrolPlan.query.filter_by(client_id=client_id).one_or_none()
        if seen is not None:
            if seen.created_by != user.id or seen.request_hash != fp:
                raise id_conflict()
            return seen
    place = _resolve_plan_place(data["place_id"], user)
    plan = PatrolPlan(client_id=client_id, request_hash=fp, place_id=place.id, place_path=place.path, place=place,
                      name=data["name"], frequency=clean_frequency(data["frequency"]), created_by=user.id)
    _set_assignees(plan, data.get("assignees") or {})
    for i, cp in enumerate(data["checkpoints"]):
        if cp.get("id") is not None:
            raise field_error("checkpoints", "a new plan's checkpoints have no id")
        plan.checkpoints.append(Checkpoint(**_checkpoint_fields(cp, place, i + 1)))
    try:
        with insert_savepoint():  # the same phone twice at once: the second insert fails alone
            db.session.add(plan)  # inside the savepoint, so a failed insert leaves the session clean
            db.session.flush()
    except IntegrityError:
        seen = PatrolPlan.query.filter_by(client_id=client_id).one_or_none() if client_id else None
        if seen is None:
            raise
        if seen.created_by != user.id or seen.request_hash != fp:
            raise id_conflict() from None
        return seen
    db.session.commit()
    return plan


def update_plan(plan_id, data):
    user = current_user()
    plan = get_plan(plan_id, user)
    if not may_manage(plan, user):
        raise AppError("forbidden", status=403)
    if "name" in data:
        plan.name = data["name"]
    if "active" in data:
        plan.active = data["active"]
    if "frequency" in data:
        plan.frequency = clean_frequency(data["frequency"])
    if "assignees" in data:
        _set_assignees(plan, data["assignees"])
    if "checkpoints" in data:
        existing = {cp.id: cp for cp in plan.checkpoints}
        kept = set()
        for i, given in enumerate(data["checkpoints"]):
            fields = _checkpoint_fields(given, plan.place, i + 1)
            if given.get("id") is not None:
                cp = existing.get(given["id"])
                if cp is None:
                    raise field_error("checkpoints", f"checkpoint {given['id']} is not on this plan")
                for k, v in fields.items():
                    setattr(cp, k, v)
                cp.active = True
                kept.add(cp.id)
            else:
                plan.checkpoints.append(Checkpoint(**fields))
        for cp_id, cp in existing.items():
            if cp_id not in kept:
                cp.active = False  # its records stay; it is no longer due
                cp.position = 1000 + cp.position
    plan.updated_at = utcnow()
    db.session.commit()
    return plan


def active_checkpoints(plan):
    return [cp for cp in plan.checkpoints if cp.active]


def checkpoint_view(cp):
    return {"id": cp.id, "position": cp.position, "name": cp.name, "site_id": cp.site_id,
            "location": {"lat": cp.lat, "lng": cp.lng}, "radius_m": cp.radius_m, "instructions": cp.instructions,
            "items": cp.items or [], "code": codes.sign(cp.id), "scan_url": codes.scan_url(cp.id)}


def _scanned(plan_ids, starts):
    """{(plan_id, period_start): {checkpoint ids scanned}} for those plans and period starts."""
    out = {}
    if not plan_ids or not starts:
        return out
    starts = list(starts)
    # one range scan of (plan_id, period_start) rather than a long IN list of times
    rows = (db.session.query(PatrolRecord.plan_id, PatrolRecord.period_start, PatrolRecord.checkpoint_id)
            .filter(PatrolRecord.plan_id.in_(plan_ids), PatrolRecord.period_start >= min(starts),
                    PatrolRecord.period_start <= max(starts)).distinct())
    for plan_id, start, cp_id in rows:
        out.setdefault((plan_id, start), set()).add(cp_id)
    return out


def plan_views(plans, now=None):
    now = now or utcnow()
    current = {p.id: period_of(p.frequency, now) for p in plans}
    done = _scanned([p.id for p in plans], list({c.start for c in current.values() if c}))
    out = []
    for plan in plans:
        period = current[plan.id]
        view = {"id": plan.id, "client_id": plan.client_id, "place_id": plan.place_id,
                "place_name": plan.place.name if plan.place else None, "name": plan.name, "active": plan.active,
                "checkpoints": [checkpoint_view(cp) for cp in active_checkpoints(plan)],
                "frequency": plan.frequency,
                "assignees": {"roles": list(plan.assignee_roles or ()),
                              "user_ids": sorted(a.user_id for a in plan.assignees)},
                "created_by": plan.created_by, "created_at": plan.created_at, "current_period": None}
        if period is not None:
            scanned = done.get((plan.id, period.start), set())
            due = {cp.id for cp in active_checkpoints(plan)}
            view["current_period"] = {"label": period.label, "opens": period.opens.isoformat(),
                                      "due": period.due.isoformat(), "end": period.end.isoformat(),
                                      "done": sorted(scanned & due), "complete": due <= scanned}
        out.append(view)
    return out


def plan_view(plan):
    return plan_views([plan])[0]


def plan_labels(plan_id, fmt):
    from api.patrols import labels

    plan = get_plan(plan_id)
    sheet = labels.labels_for(plan)
    return labels.sheet_svg(plan, sheet) if fmt == "svg" else labels.sheet_pdf(plan, sheet)


# --- scanning and records ----------------------------------------------------------

def scan(code):
    """The checkpoint a label names, with its plan: 404 unknown_checkpoint for a forged
    or garbled code; not_found, as for any id, when it is not the caller's to see."""
    checkpoint_id = codes.verify(code)
    if checkpoint_id is None:
        raise unknown_checkpoint()
    cp = db.session.get(Checkpoint, checkpoint_id)
    if cp is None or not cp.active or not can_see_plan(cp.plan, current_user()):
        raise NotFound()
    return {"checkpoint": checkpoint_view(cp), "plan": plan_view(cp.plan)}


def _resolve_checkpoint(data, user):
    if data.get("code"):
        checkpoint_id = codes.verify(data["code"])
        if checkpoint_id is None:
            raise unknown_checkpoint()
        if data.get("checkpoint_id") is not None and data["checkpoint_id"] != checkpoint_id:
            raise field_error("code", "names another checkpoint than checkpoint_id")
        cp = db.session.get(Checkpoint, checkpoint_id)
        if cp is None or not can_see_plan(cp.plan, user):
            raise unknown_checkpoint()
        return cp, True
    cp = db.session.get(Checkpoint, data["checkpoint_id"])
    if cp is None or not can_see_plan(cp.plan, user):
        raise field_error("checkpoint_id", "no such checkpoint")
    return cp, False


def _claim(photo_ids, user):
    if not photo_ids:
        return []
    from api.photos.services import claim_photos

    return [p.id for p in claim_photos(photo_ids, user)]


def _replayed_record(record_id, user, fp):
    seen = db.session.get(PatrolRecord, record_id)
    if seen is None:
        return None
    if seen.user_id != user.id or seen.request_hash != fp:
        raise id_conflict()
    return seen


def create_record(data):
    """A scan. Stored once per client id; counts for the period its phone time falls in."""
    user = current_user()
    record_id = str(data["id"])
    fp = fingerprint(data)
    seen = _replayed_record(record_id, user, fp)
    if seen is not None:
        return seen
    cp, scanned = _resolve_checkpoint(data, user)
    plan = cp.plan
    if not may_record(plan, user):
        raise AppError("forbidden", status=403)
    defs = {i["key"]: i for i in cp.items or ()}
    items, errors = [], {}
    for n, given in enumerate(data.get("items") or ()):
        if given["key"] not in defs:
            errors[str(n)] = {"key": ["not an item of this checkpoint"]}
            continue
        items.append({"key": given["key"], "result": given.get("result"), "note": given.get("note"),
                      "photo_ids": list(given.get("photo_ids") or ())})
    if errors:
        raise AppError("validation_error", status=422, errors={"items": errors})
    for item in items:
        try:
            item["photo_ids"] = _claim(item["photo_ids"], user)
        except AppError as exc:
            raise AppError(exc.code, status=exc.status, message=exc.message, errors={"items": exc.errors}) from None
    now = utcnow()
    at = min(data["at"], now)  # a phone whose clock runs ahead does not scan the future
    period = period_of(plan.frequency, at)
    loc = data.get("location")
    dist = far = None
    if loc:
        dist = round(distance_m(cp.lat, cp.lng, loc["lat"], loc["lng"]), 1)
        far = dist > cp.radius_m + (loc.get("accuracy_m") or 0)
    record = PatrolRecord(id=record_id, request_hash=fp, user_id=user.id, plan_id=plan.id, checkpoint_id=cp.id,
                          place_path=plan.place_path, scanned=scanned, at=at,
                          period_start=period.start if period else None,
                          period_label=period.label if period else None,
                          lat=loc["lat"] if loc else None, lng=loc["lng"] if loc else None,
                          accuracy_m=loc.get("accuracy_m") if loc else None, distance_m=dist,
                          far_from_checkpoint=bool(far), items=items, note=data.get("note"), created_at=now)
    try:
        with insert_savepoint():  # the same phone twice at once: the second insert fails alone
            db.session.add(record)  # inside the savepoint, so a failed insert leaves the session clean
            db.session.flush()
    except IntegrityError:
        seen = _replayed_record(record_id, user, fp)
        if seen is None:
            raise
        return seen
    if period is not None and _period_complete(plan, period):
        close_notices("patrol_period", _subject_id(plan, period), now=now)
    db.session.commit()
    return record


def _period_complete(plan, period):
    due = {cp.id for cp in active_checkpoints(plan)}
    return due <= _scanned([plan.id], [period.start]).get((plan.id, period.start), set())


def _visible_records(user):
    return or_(read_scope(user).where(PatrolRecord.place_path), PatrolRecord.user_id == user.id,
               PatrolRecord.plan_id.in_(_assigned_plan_ids(user) or [0]))


def list_records(args):
    user = current_user()
    q = PatrolRecord.query.filter(_visible_records(user))
    if args.get("plan_id") is not None:
        q = q.filter(PatrolRecord.plan_id == args["plan_id"])
    if args.get("user_id") is not None:
        q = q.filter(PatrolRecord.user_id == args["user_id"])
    if args.get("site_id") is not None:
        site = db.session.get(Place, args["site_id"])
        if site is None or not read_scope(user).covers(site.path):
            raise NotFound()
        q = q.join(Checkpoint, Checkpoint.id == PatrolRecord.checkpoint_id).filter(
            or_(PatrolRecord.place_path.startswith(site.path, autoescape=True), Checkpoint.site_id == site.id))
    if args.get("before"):
        try:
            micros, rid = args["before"].split("_", 1)
            before_at = EPOCH + timedelta(microseconds=int(micros))
        except ValueError:
            raise field_error("before", "not a cursor from next_before") from None
        q = q.filter(or_(PatrolRecord.created_at < before_at,
                         and_(PatrolRecord.created_at == before_at, PatrolRecord.id < rid)))
    rows = q.order_by(PatrolRecord.created_at.desc(), PatrolRecord.id.desc()).limit(args["limit"] + 1).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    nxt = f"{(rows[-1].created_at - EPOCH) // timedelta(microseconds=1)}_{rows[-1].id}" if more and rows else None
    return {"items": record_views(rows), "next_before": nxt}


def record_views(records):
    names = dict(db.session.query(User.id, User.name).filter(User.id.in_({r.user_id for r in records}))) \
        if records else {}
    all_photo_ids = [p for r in records for i in r.items or () for p in i.get("photo_ids") or ()]
    photos = {}
    if all_photo_ids:
        from api.photos.services import photo_urls, photos_by_ids

        photos = {p.id: photo_urls(p) for p in photos_by_ids(all_photo_ids)}
    out = []
    for r in records:
        defs = {i["key"]: i for i in r.checkpoint.items or ()}
        hazards = {h.item_key: h.hazard_id for h in r.hazards}
        items = [{**i, "label": defs.get(i["key"], {}).get("label"), "kind": defs.get(i["key"], {}).get("kind"),
                  "photos": [photos[p] for p in i.get("photo_ids") or () if p in photos],
                  "hazard_id": hazards.get(i["key"])} for i in r.items or ()]
        out.append({"id": r.id, "plan_id": r.plan_id, "checkpoint_id": r.checkpoint_id,
                    "checkpoint_name": r.checkpoint.name, "user_id": r.user_id, "user_name": names.get(r.user_id),
                    "scanned": r.scanned, "at": r.at, "created_at": r.created_at, "period": r.period_label,
                    "location": ({"lat": r.lat, "lng": r.lng, "accuracy_m": r.accuracy_m}
                                 if r.lat is not None else None),
                    "distance_m": r.distance_m, "far_from_checkpoint": r.far_from_checkpoint, "items": items,
                    "note": r.note})
    return out


def record_view(record):
    return record_views([record])[0]


# --- a failed item becomes a hazard ---------------------------------------------

def _hazard_site(record, data, user):
    cp, plan = record.checkpoint, record.checkpoint.plan
    if cp.site_id:
        return db.session.get(Place, cp.site_id)
    if plan.place.kind == "site":
        return plan.place
    site = db.session.get(Place, data["site_id"]) if data.get("site_id") is not None else None
    if site is None or site.kind != "site" or not site.path.startswith(plan.place_path):
        raise field_error("site_id", "the site of the hazard (a site of the plan's community)")
    return site


def item_hazard(record_id, key, data):
    """(answer, created): the hazard a failed item became; a second tap returns the same one."""
    from api.hazards.services import create_hazard

    user = current_user()
    lock = {"of": PatrolRecord}
    record = db.session.get(PatrolRecord, record_id, with_for_update=lock, populate_existing=True)
    if record is None or not (record.user_id == user.id or read_scope(user).covers(record.place_path)
                              or is_assignee(record.checkpoint.plan, user)):
        raise NotFound()
    item = next((i for i in record.items or () if i["key"] == key), None)
    if item is None:
        raise NotFound()
    link = PatrolItemHazard.query.filter_by(record_id=record.id, item_key=key).one_or_none()
    if link is not None:
        return _hazard_answer(link), False
    if item.get("result") != "fail":
        raise AppError("wrong_state", status=409, message=("只有不合格的检查项可转为隐患", "Only a failed item becomes a hazard"))
    plan = record.checkpoint.plan
    if record.user_id != user.id and not may_manage(plan, user):
        raise AppError("forbidden", status=403)
    site = _hazard_site(record, data, user)
    label = next((d.get("label") for d in record.checkpoint.items or () if d["key"] == key), key)
    title = data.get("title") or f"{record.checkpoint.name}：{label}"
    # The photos are the patroller's own uploads: only they can attach them.
    photo_ids = item.get("photo_ids") or () if record.user_id == user.id else ()
    hazard = create_hazard(user, site, title[:200], data["severity"], photo_ids=photo_ids,
                           source=("patrol", record.id), deadline=data.get("deadline"), client_id=str(data["id"]),
                           description=item.get("note"), item_key=key, at=record.at, commit=False)
    link = PatrolItemHazard(record_id=record.id, item_key=key, hazard_id=hazard.id)
    try:
        with insert_savepoint():  # the same phone twice at once: the second insert fails alone
            db.session.add(link)  # inside the savepoint, so a failed insert leaves the session clean
            db.session.flush()
    except IntegrityError:  # another tap linked one first: drop this hazard, answer with theirs
        db.session.rollback()
        link = PatrolItemHazard.query.filter_by(record_id=record_id, item_key=key).one()
        return _hazard_answer(link), False
    db.session.commit()
    return _hazard_answer(link), True


def _hazard_answer(link):
    from api.hazards.models import Hazard

    h = db.session.get(Hazard, link.hazard_id)
    hazard = {"id": h.id, "title": h.title, "severity": h.severity, "state": h.state,
              "deadline": h.deadline.isoformat() if h.deadline else None, "site_id": h.site_id} if h else {}
    return {"record_id": link.record_id, "item_key": link.item_key, "hazard_id": link.hazard_id, "hazard": hazard}


# --- overdue and missed patrols ----------------------------------------------------

def _subject_id(plan, period):
    return f"{plan.id}:{period.label}"


def _due_periods(plan, t0, t1, now):
    """The plan's periods in [t0, t1) whose due time has passed and that began its life."""
    return [p for p in periods_between(plan.frequency, t0, t1) if p.due <= now and p.due > plan.created_at]


def sweep_patrols(now=None, lookback=SWEEP_LOOKBACK, batch=500):
    """Warn (level 4) a plan's owners once per period whose window passed with
    checkpoints unscanned (patrol_overdue), and once more when the period ended so
    (patrol_missed). Returns the number of notices raised."""
    now = now or utcnow()
    raised = 0
    last_id = 0
    while True:
        plans = (PatrolPlan.query.filter(PatrolPlan.active.is_(True), PatrolPlan.id > last_id)
                 .order_by(PatrolPlan.id).limit(batch).all())
        if not plans:
            break
        last_id = plans[-1].id
        due = {plan.id: _due_periods(plan, now - lookback, now, now) for plan in plans}
        done = _scanned(list(due), {p.start for ps in due.values() for p in ps})
        pending = []  # (plan, period, kind, missing, expected)
        for plan in plans:
            expected = {cp.id for cp in active_checkpoints(plan)}
            for period in due[plan.id] if expected else ():
                missing = expected - done.get((plan.id, period.start), set())
                if missing:
                    kind = "patrol_missed" if now >= period.end else "patrol_overdue"
                    pending.append((plan, period, kind, len(missing), len(expected)))
        # Most of these were told on an earlier sweep: find them in one query, skip them.
        keys = [_key(kind, plan, period) for plan, period, kind, _, _ in pending]
        told = {k for (k,) in db.session.query(Notice.key).filter(Notice.key.in_(keys))} if keys else set()
        people = {}
        for plan, period, kind, missing, total in pending:
            if _key(kind, plan, period) in told:
                continue
            if plan.id not in people:
                people[plan.id] = owners(plan)
            raised += _warn(plan, period, kind, missing, total, people[plan.id], now)
        db.session.commit()
    return raised


def _key(kind, plan, period):
    return f"{kind}:plan:{plan.id}:{period.label}"


def _warn(plan, period, kind, missing, total, people, now):
    subject = ("patrol_period", _subject_id(plan, period))
    link = f"#/patrols/plans/{plan.id}"
    if kind == "patrol_missed":
        text = (f"巡查漏检：「{plan.name}」{period.label} 有 {missing}/{total} 个巡查点未巡查",
                f"Patrol missed: '{plan.name}' {period.label}, {missing} of {total} checkpoints not scanned")
    else:
        text = (f"巡查逾期：「{plan.name}」{period.label} 还有 {missing}/{total} 个巡查点未巡查",
                f"Patrol overdue: '{plan.name}' {period.label}, {missing} of {total} checkpoints still to scan")
    notice = raise_notice(kind, _key(kind, plan, period), people, text, level=4, place=plan.place,
                          link=link, subject=subject, now=now)
    if notice is not None and kind == "patrol_missed":
        close_notices(*subject, kinds=["patrol_overdue"], now=now)  # the missed warning supersedes it
    return 1 if notice is not None else 0


# --- completion over time ------------------------------------------------------------

def patrol_stats(args, now=None):
    user = current_user()
    now = now or utcnow()
    tz = local_zone()
    today = now.astimezone(tz).date()
    d_to = args.get("date_to") or today
    d_from = args.get("date_from") or (d_to - timedelta(days=29))
    if d_from > d_to:
        raise field_error("from", "must not be after to")
    if (d_to - d_from).days >= MAX_STATS_DAYS:
        raise field_error("from", f"at most {MAX_STATS_DAYS} days")
    t0 = datetime.combine(d_from, time(0), tz)
    t1 = datetime.combine(d_to + timedelta(days=1), time(0), tz)
    q = PatrolPlan.query.filter(or_(read_scope(user).where(PatrolPlan.place_path),
                                    PatrolPlan.id.in_(_assigned_plan_ids(user) or [0])))
    if args.get("place_id") is not None:
        place = db.session.get(Place, args["place_id"])
        if place is None or not read_scope(user).covers(place.path):
            raise NotFound()
        q = q.filter(PatrolPlan.place_path.startswith(place.path, autoescape=True))
    plans = q.order_by(PatrolPlan.id).all()
    due = {p.id: _due_periods(p, t0, t1, now) for p in plans}
    done = _scanned(list(due), {p.start for ps in due.values() for p in ps})
    zero = {"due": 0, "completed": 0, "partial": 0, "missed": 0}
    totals, by_place, by_plan, by_day = dict(zero), {}, [], {}
    for plan in plans:
        expected = {cp.id for cp in active_checkpoints(plan)}
        row = {"plan_id": plan.id, "name": plan.name, "place_id": plan.place_id, **zero}
        for period in due[plan.id]:
            n = len(expected & done.get((plan.id, period.start), set()))
            status = "completed" if expected and n == len(expected) else ("partial" if n else "missed")
            day = by_day.setdefault(period.label[:10], {"date": period.label[:10], **zero})
            place = by_place.setdefault(plan.place_id, {"place_id": plan.place_id, "name": plan.place.name,
                                                        "plans": set(), **zero})
            place["plans"].add(plan.id)
            for bucket in (row, day, place, totals):
                bucket["due"] += 1
                bucket[status] += 1
        row["completion"] = round(row["completed"] / row["due"], 3) if row["due"] else None
        by_plan.append(row)
    places = []
    for place in by_place.values():
        place["plans"] = len(place["plans"])
        place["completion"] = round(place["completed"] / place["due"], 3) if place["due"] else None
        places.append(place)
    totals["completion"] = round(totals["completed"] / totals["due"], 3) if totals["due"] else None
    people = _people_stats([p.id for p in plans], t0, t1)
    return {"date_from": d_from, "date_to": d_to, "totals": totals, "places": places, "plans": by_plan,
            "people": people, "days": [by_day[k] for k in sorted(by_day)]}


def _people_stats(plan_ids, t0, t1):
    if not plan_ids:
        return []
    rows = (db.session.query(PatrolRecord.user_id, PatrolRecord.plan_id, PatrolRecord.period_label,
                             PatrolRecord.far_from_checkpoint)
            .filter(PatrolRecord.plan_id.in_(plan_ids), PatrolRecord.at >= t0, PatrolRecord.at < t1).all())
    people = {}
    for user_id, plan_id, label, far in rows:
        p = people.setdefault(user_id, {"user_id": user_id, "scans": 0, "far_scans": 0, "periods": set()})
        p["scans"] += 1
        p["far_scans"] += 1 if far else 0
        if label:
            p["periods"].add((plan_id, label))
    names = dict(db.session.query(User.id, User.name).filter(User.id.in_(list(people)))) if people else {}
    out = []
    for p in sorted(people.values(), key=lambda p: (-p["scans"], p["user_id"])):
        out.append({**p, "periods": len(p["periods"]), "name": names.get(p["user_id"])})
    return out
