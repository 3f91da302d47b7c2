"""Hazards (隐患) and their rectification (整改). Each state change has one owner here:
`create_hazard` (→ open), `submit_rectification` (open → submitted),
`review_hazard` (submitted → closed | open), `sweep_overdue_hazards` (warnings).

Records sent from a phone carry its UUID (`client_id`): a replay by the same person
with the same body returns what the first one stored; the same id with another body,
or from another person, is refused with 409 `id_conflict`.
"""

import hashlib
import json
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.pagination import page
from api.common.savepoint import insert_savepoint
from api.errors import AppError, NotFound
from api.extensions import db
from api.hazards.models import SEVERITIES, SOURCES, Hazard, HazardEvent
from api.notices.services import close_notices, raise_notice
from api.people.models import User
from api.people.scopes import current_user, read_scope, scope_of
from api.places.models import Place

# Rectification deadlines by severity when the finder sets none, in days from when the
# hazard was found: a critical one (blocked exit, panel disabled) is fixed within days,
# a minor one (a missing sign) within the month. Local practice; a finder may set any.
DEADLINE_DAYS = {"critical": 3, "major": 7, "minor": 30}

REPORT_ROLES = ("supervisor", "admin", "grid_worker", "property_staff", "station_member")
REVIEW_ROLES = ("supervisor", "admin")
# Besides the responsible person, staff of the site may send its rectification.
RECTIFY_ROLES = ("property_staff", "maintainer", "admin")


STATE_ZH = {"open": "待整改", "submitted": "已提交整改、待复查", "closed": "已整改销号"}


# --- helpers -----------------------------------------------------------------

def fingerprint(data):
    """A stable digest of a request body, to tell a replay from a reused id."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def id_conflict():
    return AppError("id_conflict", status=409,
                    message=("该编号已用于另一条记录", "This id was already used for another record"),
                    errors={"id": ["already used for a different record"]})


def wrong_state(hazard, action):
    return AppError("wrong_state", status=409,
                    message=(f"隐患{STATE_ZH.get(hazard.state, hazard.state)}，不能{action[0]}",
                             f"The hazard is {hazard.state}: cannot {action[1]}"),
                    errors={"state": [hazard.state]})


def field_error(field, message):
    return AppError("validation_error", status=422, errors={field: [message]})


def resolve_site(site_id, roles, user=None):
    """The site to record something at: 422 like a missing one when out of sight, 403
    when seen but the caller holds none of `roles` there."""
    user = user or current_user()
    site = db.session.get(Place, site_id) if site_id is not None else None
    if site is None or not read_scope(user).covers(site.path):
        raise field_error("site_id", "no such place")
    if site.kind != "site":
        raise field_error("site_id", "inspections and hazards belong to a site")
    if not scope_of(user, roles).covers(site.path):
        raise AppError("forbidden", status=403)
    return site


def resolve_responsible(user_id):
    if user_id is None:
        return None
    person = db.session.get(User, user_id)
    if person is None or not person.is_active:
        raise field_error("responsible_user_id", "no such user")
    return person


def claim(photo_ids, user, field="photo_ids"):
    """Check the photos were uploaded by `user`; their ids as stored on the record."""
    photo_ids = list(photo_ids or ())
    if not photo_ids:
        return []
    from api.photos.services import claim_photos

    try:
        photos = claim_photos(photo_ids, user)
    except AppError as exc:
        if field != "photo_ids" and "photo_ids" in exc.errors:
            exc.errors = {field: exc.errors.pop("photo_ids"), **exc.errors}
        raise
    return [p.id for p in photos]


def default_deadline(severity, found_at):
    return found_at + timedelta(days=DEADLINE_DAYS[severity])


def is_overdue(hazard, now=None):
    return hazard.state == "open" and hazard.deadline < (now or utcnow())


def _event(hazard, kind, actor_id, at, note=None, photo_ids=(), client_id=None, fp=None, client_at=None,
           data=None):
    event = HazardEvent(hazard_id=hazard.id, kind=kind, actor_id=actor_id, at=at, note=note,
                        photo_ids=list(photo_ids), client_id=client_id, fingerprint=fp, client_at=client_at,
                        data=data)
    db.session.add(event)
    return event


def _link(hazard):
    return f"#/hazards/{hazard.id}"


def _tell_assigned(hazard, now):
    if hazard.responsible_user_id in (None, hazard.created_by):  # nobody, or the finder themself
        return
    raise_notice("hazard_assigned", f"hazard_assigned:{hazard.id}:{hazard.responsible_user_id}",
                 [hazard.responsible_user_id],
                 (f"{hazard.site.name}：请在 {_local(hazard.deadline)} 前整改隐患“{hazard.title}”",
                  f"{hazard.site.name}: rectify the hazard \"{hazard.title}\" by {_local(hazard.deadline)}"),
                 place=hazard.site, link=_link(hazard), subject=("hazard", hazard.id), now=now)


def _local(dt):
    from api.common.clock import to_local

    return to_local(dt).strftime("%Y-%m-%d %H:%M")


# --- creation ------------------------------------------------------------------

def create_hazard(user, site, title, severity, photo_ids=(), source=("report", None), deadline=None,
                  responsible_user_id=None, client_id=None, *, description=None, item_key=None, at=None,
                  inspection=None, commit=True):
    """A hazard found at `site` by `user`, open until its rectification is accepted.

    For other domains too (a failed patrol item becomes a hazard in one tap:
    `create_hazard(user, site, title, severity, source=("patrol", record_id), item_key=key,
    client_id=body_id)`). The caller has checked that `user` may record it at `site`.
    With `client_id`, a replay returns the first hazard and a reused id raises 409
    `id_conflict`. The deadline defaults by severity (DEADLINE_DAYS) from `at`.
    Commits unless `commit=False` (then the caller commits; the notice joins its transaction).
    """
    if severity not in SEVERITIES:
        raise field_error("severity", f"one of {', '.join(SEVERITIES)}")
    source_type, source_id = source if source else ("report", None)
    if source_type not in SOURCES:
        raise field_error("source", f"one of {', '.join(SOURCES)}")
    now = utcnow()
    fp = None
    if client_id is not None:
        fp = fingerprint({"site": site.id, "title": title, "severity": severity, "photo_ids": list(photo_ids or ()),
                          "source": [source_type, source_id], "deadline": deadline,
                          "responsible_user_id": responsible_user_id, "description": description,
                          "item_key": item_key, "at": at})
        seen = _replay(Hazard, client_id, fp, user, "created_by")
        if seen is not None:
            return seen
    at = at or now
    responsible = resolve_responsible(responsible_user_id)
    photos = claim(photo_ids, user)
    hazard = Hazard(client_id=client_id, fingerprint=fp, site_id=site.id, site_path=site.path, site=site,
                    title=title, description=description, severity=severity, state="open", photo_ids=photos,
                    source_type=source_type, source_id=str(source_id) if source_id is not None else None,
                    item_key=item_key, inspection_id=inspection.id if inspection is not None else None,
                    created_by=user.id, responsible_user_id=responsible.id if responsible else None,
                    deadline=deadline or default_deadline(severity, at), at=at, created_at=now)
    try:
        with insert_savepoint():  # added inside: a failed insert leaves nothing pending
            db.session.add(hazard)  # the same phone twice at once: the second insert fails alone
            db.session.flush()
    except IntegrityError:
        seen = _replay(Hazard, client_id, fp, user, "created_by")
        if seen is None:
            raise
        return seen
    _event(hazard, "created", user.id, now, note=description, photo_ids=photos, client_at=at,
           data={"severity": severity, "deadline": hazard.deadline.isoformat(),
                 "responsible_user_id": hazard.responsible_user_id,
                 "source": {"type": source_type, "id": hazard.source_id}})
    _tell_assigned(hazard, now)
    if commit:
        db.session.commit()
    return hazard


def _replay(model, client_id, fp, user, owner_column):
    """The record a phone already sent under `client_id`, or None; 409 if that id
    holds somebody else's record or another body."""
    if client_id is None:
        return None
    seen = model.query.filter_by(client_id=client_id).one_or_none()
    if seen is None:
        return None
    if getattr(seen, owner_column) != user.id or seen.fingerprint != fp:
        raise id_conflict()
    return seen


def report_hazard(data):
    """POST /hazards: a hazard reported by hand (or from a patrol or inspection already sent)."""
    user = current_user()
    site = resolve_site(data["site_id"], REPORT_ROLES, user)
    source = data.get("source") or {}
    return create_hazard(user, site, data["title"], data["severity"], photo_ids=data.get("photo_ids") or (),
                         source=(source.get("type", "report"), source.get("id")), deadline=data.get("deadline"),
                         responsible_user_id=data.get("responsible_user_id"), client_id=data["id"],
                         description=data.get("description"), at=data.get("at"))


# --- reading -------------------------------------------------------------------

def visible_filter(user):
    """Whoever sees the site sees its hazards; so does the person responsible for one."""
    return or_(read_scope(user).where(Hazard.site_path), Hazard.responsible_user_id == user.id)


def can_see(hazard, user):
    return hazard.responsible_user_id == user.id or read_scope(user).covers(hazard.site_path)


def get_hazard(hazard_id, for_update=False, user=None):
    """The hazard if the caller may see it, else 404. `for_update` locks its row
    (PostgreSQL): two reviews at once run one after the other, the second sees the first."""
    user = user or current_user()
    lock = {"of": Hazard} if for_update else None
    hazard = db.session.get(Hazard, hazard_id, with_for_update=lock, populate_existing=for_update)
    if hazard is None or not can_see(hazard, user):
        raise NotFound()
    return hazard


def list_hazards(args, now=None):
    user = current_user()
    now = now or utcnow()
    query = Hazard.query.filter(visible_filter(user))
    if args.get("state"):
        query = query.filter(Hazard.state.in_(args["state"].split(",")))
    if args.get("site_id") is not None:
        query = query.filter(Hazard.site_id == args["site_id"])
    if args.get("severity"):
        query = query.filter(Hazard.severity == args["severity"])
    if args.get("mine"):
        query = query.filter(Hazard.responsible_user_id == user.id)
    if args.get("inspection_id") is not None:
        query = query.filter(Hazard.inspection_id == args["inspection_id"])
    if args.get("overdue") is True:
        query = query.filter(Hazard.state == "open", Hazard.deadline < now)
    elif args.get("overdue") is False:
        query = query.filter(or_(Hazard.state != "open", Hazard.deadline >= now))
    return page(query, Hazard.id, args)


def history(hazard):
    return HazardEvent.query.filter_by(hazard_id=hazard.id).order_by(HazardEvent.id).all()


# --- rectification and review ----------------------------------------------------

def may_rectify(hazard, user):
    return hazard.responsible_user_id == user.id or scope_of(user, RECTIFY_ROLES).covers(hazard.site_path)


def submit_rectification(hazard_id, data):
    """open → submitted, with what was done and photos of it. The supervisor who found
    it is told. A replay of the same rectification answers as the first did."""
    user = current_user()
    now = utcnow()
    fp = fingerprint({"hazard": hazard_id, "note": data.get("note"), "photo_ids": data.get("photo_ids") or [],
                      "at": data.get("at")})
    # Locked first: the same rectification sent twice at once finds the first one here.
    hazard = get_hazard(hazard_id, for_update=True, user=user)
    seen = HazardEvent.query.filter_by(client_id=data["id"]).one_or_none()
    if seen is not None:
        if seen.actor_id != user.id or seen.fingerprint != fp or seen.hazard_id != hazard_id:
            raise id_conflict()
        return hazard
    if not may_rectify(hazard, user):
        raise AppError("forbidden", status=403)
    if hazard.state != "open":
        raise wrong_state(hazard, ("提交整改", "submit a rectification"))
    photos = claim(data.get("photo_ids"), user)
    if not photos:
        raise field_error("photo_ids", "a rectification needs at least one photo")
    hazard.state, hazard.submitted_at = "submitted", now
    _event(hazard, "submitted", user.id, now, note=data.get("note"), photo_ids=photos, client_id=data["id"],
           fp=fp, client_at=data.get("at"))
    if hazard.created_by and hazard.created_by != user.id:
        # key per submission: each new rectification is news to the supervisor
        raise_notice("rectification_submitted", f"rectification_submitted:{hazard.id}:{data['id']}",
                     [hazard.created_by],
                     (f"{hazard.site.name}：隐患“{hazard.title}”已提交整改，请复查",
                      f"{hazard.site.name}: rectification of \"{hazard.title}\" submitted, please review"),
                     place=hazard.site, link=_link(hazard), subject=("hazard", hazard.id), now=now)
    try:
        db.session.commit()
    except IntegrityError:  # the same rectification sent twice at once: the first stored it
        db.session.rollback()
        return submit_rectification(hazard_id, data)
    return hazard


def review_hazard(hazard_id, decision, note=None, deadline=None):
    """submitted → closed (accept) or → open (reject, with a note; the deadline stays
    unless a new one is given). The row is locked, so two reviews at once cannot both
    win: the second finds the hazard no longer submitted and gets 409 wrong_state."""
    user = current_user()
    now = utcnow()
    hazard = get_hazard(hazard_id, for_update=True, user=user)
    if not scope_of(user, REVIEW_ROLES).covers(hazard.site_path):
        raise AppError("forbidden", status=403)
    if hazard.state != "submitted":
        raise wrong_state(hazard, ("复查", "review"))
    if decision == "accept":
        hazard.state, hazard.closed_at, hazard.closed_by = "closed", now, user.id
        _event(hazard, "accepted", user.id, now, note=note)
        close_notices("hazard", hazard.id, now=now)
    else:
        if not (note or "").strip():
            raise field_error("note", "say what is still wrong")
        data = None
        if deadline is not None and deadline != hazard.deadline:
            data = {"deadline": {"from": hazard.deadline.isoformat(), "to": deadline.isoformat()}}
            hazard.deadline = deadline
            # the old deadline's warning is over; a new one may be raised for the new deadline
            close_notices("hazard", hazard.id, kinds=("hazard_overdue",), now=now)
        hazard.state, hazard.submitted_at = "open", None
        _event(hazard, "rejected", user.id, now, note=note, data=data)
        if hazard.responsible_user_id:
            n = db.session.query(HazardEvent.id).filter_by(hazard_id=hazard.id, kind="rejected").count()
            raise_notice("rectification_rejected", f"rectification_rejected:{hazard.id}:{n}",
                         [hazard.responsible_user_id],
                         (f"{hazard.site.name}：隐患“{hazard.title}”整改未通过：{note}",
                          f"{hazard.site.name}: rectification of \"{hazard.title}\" rejected: {note}"),
                         place=hazard.site, link=_link(hazard), subject=("hazard", hazard.id), now=now)
    db.session.commit()
    return hazard


# --- overdue sweep -----------------------------------------------------------------

def sweep_overdue_hazards(now=None, batch=500):
    """Warn (level 3) the responsible person and the finder once per hazard whose deadline
    passed with no rectification sent. The notice's key (hazard and deadline) makes a
    second sweep, or two schedulers, a no-op. Returns how many were raised."""
    now = now or utcnow()
    raised, after = 0, 0
    while True:
        rows = (Hazard.query.filter(Hazard.state == "open", Hazard.deadline < now, Hazard.id > after)
                .order_by(Hazard.id).limit(batch).all())
        if not rows:
            break
        for hazard in rows:
            notice = raise_notice(
                "hazard_overdue", f"hazard_overdue:{hazard.id}:{int(hazard.deadline.timestamp())}",
                [hazard.responsible_user_id, hazard.created_by],
                (f"{hazard.site.name}：隐患“{hazard.title}”已超过整改期限（{_local(hazard.deadline)}）",
                 f"{hazard.site.name}: the hazard \"{hazard.title}\" is past its deadline ({_local(hazard.deadline)})"),
                level=3, place=hazard.site, link=_link(hazard), subject=("hazard", hazard.id), now=now)
            raised += notice is not None
        db.session.commit()
        after = rows[-1].id
    return raised


def hazards_of_inspection(inspection):
    return Hazard.query.filter_by(inspection_id=inspection.id).order_by(Hazard.id).all()


# People a hazard may be given to: staff whose scope covers the site.
RESPONSIBLE_ROLES = ("property_staff", "maintainer")


def responsible_candidates(site_id):
    """Property staff and maintainers of the site, for the finder's picker (names only)."""
    from sqlalchemy import literal

    from api.people.models import Membership
    from api.places.models import OrgCoverage

    user = current_user()
    site = db.session.get(Place, site_id)
    if site is None or site.kind != "site" or not read_scope(user).covers(site.path):
        raise NotFound()
    if not scope_of(user, REPORT_ROLES).covers(site.path):
        raise AppError("forbidden", status=403)
    covers = literal(site.path).like(Place.path + "%")
    by_place = (db.session.query(Membership.user_id, Membership.role).join(Place, Place.id == Membership.place_id)
                .filter(Membership.role.in_(RESPONSIBLE_ROLES), covers))
    by_org = (db.session.query(Membership.user_id, Membership.role)
              .join(OrgCoverage, OrgCoverage.org_id == Membership.org_id).join(Place, Place.id == OrgCoverage.place_id)
              .filter(Membership.role.in_(RESPONSIBLE_ROLES), covers))
    roles = {}
    for user_id, role in by_place.union(by_org).all():
        roles.setdefault(user_id, set()).add(role)
    people = User.query.filter(User.id.in_(roles), User.is_active.is_(True)).order_by(User.id).all() if roles else []
    return {"items": [{"id": p.id, "name": p.name, "roles": sorted(roles[p.id])} for p in people]}
