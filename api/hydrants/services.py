"""Hydrants: the registry, pressure from the alarm pipeline, nearest-to-a-point;
damage reports and the work orders they open for the maintenance company."""

import hashlib
import json
import uuid
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.pagination import page
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.hydrants.geo import bounding_box, haversine_m, wgs84_to_gcj02
from api.hydrants.models import Hydrant, WorkOrder
from api.people.scopes import roles_of, scope_of
from api.places.models import Organisation, Place

WRITE_ROLES = ("admin", "supervisor", "maintainer")
HYDRANT_PLACE_KINDS = ("street", "community", "grid", "site")
PRESSURE_LOW_MPA = 0.14  # GB 50974-2014: municipal network >= 0.14 MPa
# Days to fix, per category; WORK_ORDER_DAYS in the environment overrides any of them.
DEADLINE_DAYS = {"no_water": 1, "leaking": 2, "broken": 2, "blocked": 2, "cap_missing": 3, "illegal_use": 3}
# Which states an update may move a work order to, from each state.
NEXT = {
    "open": ("accepted", "in_progress", "fixed", "rejected"),
    "accepted": ("in_progress", "fixed", "rejected"),
    "in_progress": ("fixed", "rejected"),
    "fixed": (),
    "rejected": (),
}
CATEGORY_TEXT = {
    "leaking": ("漏水", "leaking"), "broken": ("损坏或被撞倒", "broken or knocked over"),
    "blocked": ("被遮挡或掩埋", "blocked or buried"), "cap_missing": ("盖帽缺失", "cap or cover missing"),
    "no_water": ("无水或水压低", "no water or low pressure"), "illegal_use": ("违规用水", "illegal water use"),
    "other": ("其他问题", "other problem"),
}


# --- who sees what ------------------------------------------------------------------------

def maintainer_orgs(user):
    return {m.org_id for m in user.memberships if m.role == "maintainer" and m.org_id is not None}


def _is_admin(user):
    return "admin" in roles_of(user)


def _visible(user, path_column, org_column):
    orgs = maintainer_orgs(user)
    clauses = [scope_of(user).where(path_column)]
    if orgs:
        clauses.append(org_column.in_(orgs))
    return or_(*clauses)


def _sees(user, path, org_id):
    return scope_of(user).covers(path) or (org_id is not None and org_id in maintainer_orgs(user))


def get_hydrant(user, hydrant_id):
    h = db.session.get(Hydrant, hydrant_id)
    if h is None or not _sees(user, h.place_path, h.maintainer_org_id):
        raise NotFound()
    return h


def _can_write_hydrant(user, place_path, org_id):
    if _is_admin(user):
        return True
    if scope_of(user, ("supervisor",)).covers(place_path):
        return True
    return org_id is not None and org_id in maintainer_orgs(user)


# --- the body's own id: replays ---------------------------------------------------------------

def _fingerprint(data):
    def plain(v):
        if isinstance(v, uuid.UUID):
            return str(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return str(v)

    return hashlib.sha256(json.dumps(data, sort_keys=True, default=plain).encode()).hexdigest()


def _replayed(row, user_id, owner_id, fingerprint):
    """The first row for this client id, if this is the same request again; 409 if not."""
    if row is None:
        return None
    if owner_id != user_id or row.fingerprint != fingerprint:
        raise Conflict("id_conflict", message=("该编号已用于另一条记录", "This id was used for another record"),
                       errors={"id": ["used for a different record"]})
    return row


# --- views ------------------------------------------------------------------------------------

def latest_pressure(device_id):
    """(MPa, at) of the device's newest telemetry that carried a pressure, or (None, None)."""
    from api.ingest.models import DeviceEvent

    if device_id is None:
        return None, None
    row = (db.session.query(DeviceEvent.values, DeviceEvent.occurred_at)
           .filter(DeviceEvent.device_id == device_id, DeviceEvent.kind == "telemetry",
                   DeviceEvent.values["pressure_mpa"].as_float().isnot(None))
           .order_by(DeviceEvent.occurred_at.desc(), DeviceEvent.id.desc()).first())
    if row is None:
        return None, None
    return float(row[0]["pressure_mpa"]), row[1]


def _org_names(ids):
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.query(Organisation.id, Organisation.name).filter(Organisation.id.in_(ids)))


def _open_counts(hydrant_ids):
    if not hydrant_ids:
        return {}
    rows = (db.session.query(WorkOrder.hydrant_id, db.func.count(WorkOrder.id))
            .filter(WorkOrder.hydrant_id.in_(hydrant_ids), WorkOrder.closed_at.is_(None))
            .group_by(WorkOrder.hydrant_id))
    return dict(rows)


def hydrant_views(hydrants, distances=None):
    from api.devices.models import Device

    names = _org_names(h.maintainer_org_id for h in hydrants)
    counts = _open_counts([h.id for h in hydrants])
    device_ids = [h.device_id for h in hydrants if h.device_id]
    online = {}
    if device_ids:
        online = {d: (since is None and seen is not None) for d, since, seen in db.session.query(
            Device.id, Device.offline_since, Device.last_seen_at).filter(Device.id.in_(device_ids))}
    out = []
    for h in hydrants:
        mpa, at = latest_pressure(h.device_id)
        glat, glng = wgs84_to_gcj02(h.lat, h.lng)
        out.append({
            "id": h.id, "client_id": h.client_id, "code": h.code, "kind": h.kind, "ownership": h.ownership,
            "location": {"lat": h.lat, "lng": h.lng}, "gcj02": {"lat": round(glat, 7), "lng": round(glng, 7)},
            "address": h.address, "place_id": h.place_id, "owner": h.owner,
            "maintainer_org_id": h.maintainer_org_id, "maintainer_name": names.get(h.maintainer_org_id),
            "status": h.status, "device_id": h.device_id, "device_online": online.get(h.device_id),
            "latest_pressure_mpa": mpa, "pressure_at": at,
            "pressure_low": None if mpa is None else mpa < PRESSURE_LOW_MPA,
            "distance_m": None if distances is None else round(distances[h.id], 1),
            "note": h.note, "open_work_orders": counts.get(h.id, 0),
            "created_at": h.created_at, "updated_at": h.updated_at,
        })
    return out


def hydrant_view(h):
    return hydrant_views([h])[0]


# --- the registry -------------------------------------------------------------------------------

def _resolve_place(user, place_id):
    place = db.session.get(Place, place_id) if place_id is not None else None
    if place is None or not scope_of(user).covers(place.path):
        raise AppError("validation_error", status=422, errors={"place_id": ["no such place"]})
    if place.kind not in HYDRANT_PLACE_KINDS:
        raise AppError("validation_error", status=422,
                       errors={"place_id": ["a hydrant stands in a street, community, grid or site"]})
    return place


def _resolve_org(org_id):
    if org_id is None:
        return None
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != "maintenance_company":
        raise AppError("validation_error", status=422, errors={"maintainer_org_id": ["no such maintenance company"]})
    return org


def _resolve_device(user, device_id, hydrant_id=None):
    from api.devices.models import Device

    if device_id is None:
        return None
    device = db.session.get(Device, device_id)
    if device is None or not (scope_of(user).covers(device.place_path) or _is_admin(user)):
        raise AppError("validation_error", status=422, errors={"device_id": ["no such device"]})
    if device.type_code != "hydrant_monitor":
        raise AppError("validation_error", status=422, errors={"device_id": ["not a hydrant_monitor device"]})
    other = Hydrant.query.filter(Hydrant.device_id == device_id, Hydrant.id != (hydrant_id or 0)).first()
    if other is not None:
        raise Conflict("conflict", errors={"device_id": [f"already linked to hydrant {other.code}"]})
    return device


def _check_code(code, except_id=None):
    q = Hydrant.query.filter(Hydrant.code == code)
    if except_id:
        q = q.filter(Hydrant.id != except_id)
    if db.session.query(q.exists()).scalar():
        raise Conflict("conflict", errors={"code": ["already registered"]})


def create_hydrant(user, data):
    if not roles_of(user) & set(WRITE_ROLES):
        raise AppError("forbidden", status=403)
    client_id = str(data["id"])
    fp = _fingerprint(data)
    seen = Hydrant.query.filter_by(client_id=client_id).first()
    if _replayed(seen, user.id, seen.created_by if seen else None, fp):
        return seen
    place = _resolve_place(user, data["place_id"])
    _resolve_org(data.get("maintainer_org_id"))
    if not _can_write_hydrant(user, place.path, data.get("maintainer_org_id")):
        raise AppError("forbidden", status=403)
    _resolve_device(user, data.get("device_id"))
    _check_code(data["code"])
    loc = data["location"]
    h = Hydrant(client_id=client_id, fingerprint=fp, code=data["code"], kind=data["kind"],
                ownership=data["ownership"], lat=loc["lat"], lng=loc["lng"], address=data.get("address"),
                place_id=place.id, place_path=place.path, owner=data.get("owner"),
                maintainer_org_id=data.get("maintainer_org_id"), status=data.get("status") or "normal",
                device_id=data.get("device_id"), note=data.get("note"), created_by=user.id, created_at=utcnow())
    db.session.add(h)
    try:
        db.session.commit()
    except IntegrityError:  # the same offline record twice at once, or a code taken meanwhile
        db.session.rollback()
        seen = Hydrant.query.filter_by(client_id=client_id).first()
        if _replayed(seen, user.id, seen.created_by if seen else None, fp):
            return seen
        raise Conflict("conflict", errors={"code": ["already registered"]}) from None
    return h


def update_hydrant(user, hydrant_id, data):
    h = get_hydrant(user, hydrant_id)
    if not _can_write_hydrant(user, h.place_path, h.maintainer_org_id):
        raise AppError("forbidden", status=403)
    if "place_id" in data:
        place = _resolve_place(user, data.pop("place_id"))
        h.place_id, h.place_path = place.id, place.path
    if "maintainer_org_id" in data:
        _resolve_org(data["maintainer_org_id"])
    if not _can_write_hydrant(user, h.place_path, data.get("maintainer_org_id", h.maintainer_org_id)):
        raise AppError("forbidden", status=403)
    if "device_id" in data:
        _resolve_device(user, data["device_id"], h.id)
    if "code" in data:
        _check_code(data["code"], h.id)
    if "location" in data:
        loc = data.pop("location")
        h.lat, h.lng = loc["lat"], loc["lng"]
    for key, value in data.items():
        setattr(h, key, value)
    h.updated_at = utcnow()
    db.session.commit()
    return h


def _filtered(user, args):
    q = Hydrant.query.filter(_visible(user, Hydrant.place_path, Hydrant.maintainer_org_id))
    if args.get("status"):
        q = q.filter(Hydrant.status == args["status"])
    if args.get("q"):
        q = q.filter(Hydrant.code.startswith(args["q"], autoescape=True))
    if args.get("place_id") is not None:
        place = db.session.get(Place, args["place_id"])
        if place is None or not scope_of(user).covers(place.path):
            raise NotFound()
        q = q.filter(Hydrant.place_path.startswith(place.path, autoescape=True))
    return q


def _within(q, lat, lng, radius_m, limit):
    """Rows of `q` within radius_m of the point, nearest first: the indexed box, then haversine."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_m)
    rows = q.filter(Hydrant.lat.between(min_lat, max_lat), Hydrant.lng.between(min_lng, max_lng)).all()
    dist = {h.id: haversine_m(lat, lng, h.lat, h.lng) for h in rows}
    rows = sorted((h for h in rows if dist[h.id] <= radius_m), key=lambda h: (dist[h.id], h.id))
    return rows[:limit], dist


def list_hydrants(user, args):
    q = _filtered(user, args)
    if args.get("near"):
        lat, lng = args["near"]
        rows, dist = _within(q, lat, lng, args["radius_m"], args["limit"])
        return {"items": hydrant_views(rows, dist), "next_after": None}
    result = page(q, Hydrant.id, args)
    result["items"] = hydrant_views(result["items"])
    return result


def nearest_hydrants(user, args):
    """The `limit` nearest visible hydrants within max_m, widening the box until enough are found."""
    q = Hydrant.query.filter(_visible(user, Hydrant.place_path, Hydrant.maintainer_org_id))
    if args.get("usable"):
        q = q.filter(Hydrant.status != "out_of_service")
    radius = min(250.0, args["max_m"])
    while True:
        rows, dist = _within(q, args["lat"], args["lng"], radius, args["limit"])
        if len(rows) >= args["limit"] or radius >= args["max_m"]:
            return {"items": hydrant_views(rows, dist)}
        radius = min(radius * 4, args["max_m"])


def pressure_history(user, hydrant_id, args):
    from api.ingest.models import DeviceEvent

    h = get_hydrant(user, hydrant_id)
    items = []
    mpa, at = latest_pressure(h.device_id)
    if h.device_id is not None:
        until = args.get("until") or utcnow()
        since = args.get("since") or until - timedelta(days=7)
        rows = (db.session.query(DeviceEvent.values, DeviceEvent.occurred_at)
                .filter(DeviceEvent.device_id == h.device_id, DeviceEvent.kind == "telemetry",
                        DeviceEvent.occurred_at >= since, DeviceEvent.occurred_at <= until,
                        DeviceEvent.values["pressure_mpa"].as_float().isnot(None))
                .order_by(DeviceEvent.occurred_at.desc(), DeviceEvent.id.desc()).limit(args["limit"]))
        items = [{"at": occurred, "pressure_mpa": float(values["pressure_mpa"])} for values, occurred in rows]
    return {"hydrant_id": h.id, "device_id": h.device_id, "latest_pressure_mpa": mpa, "pressure_at": at,
            "items": items}
