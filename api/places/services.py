"""Place tree and organisation rules. Routes, CLI and the demo loader call these."""

from sqlalchemy import func

from api.common.pagination import page
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.people.scopes import current_user, ensure_can_write, ensure_role, ensure_visible, read_scope
from api.places.models import PARENT_KIND, Organisation, OrgCoverage, Place

WRITE_ROLES = ("admin",)
# Which kinds of place each kind of organisation may act for.
ORG_PLACE_KINDS = {
    "micro_station": ("community",),
    "maintenance_company": ("site",),
    "industry_department": ("site",),
    "property_company": ("community", "site"),
}


def get_place(place_id):
    place = db.session.get(Place, place_id)
    if place is None:
        raise NotFound()
    ensure_visible(place.path)
    return place


def list_places(args):
    query = Place.query.filter(read_scope().where(Place.path))
    if args.get("kind"):
        query = query.filter(Place.kind == args["kind"])
    if args.get("parent_id") is not None:
        query = query.filter(Place.parent_id == args["parent_id"])
    if args.get("q"):
        query = query.filter(Place.name.contains(args["q"], autoescape=True))
    return page(query, Place.id, args)


def _check_site_fields(kind, data):
    errors = {}
    if kind == "site" and not data.get("category"):
        errors["category"] = ["a site needs a category from the installation standard"]
    if kind != "site" and data.get("category"):
        errors["category"] = ["only sites have a category"]
    if errors:
        raise AppError("validation_error", errors=errors, status=422)


def _ensure_code_free(code, except_id=None):
    q = Place.query.filter(Place.code == code)
    if except_id:
        q = q.filter(Place.id != except_id)
    if db.session.query(q.exists()).scalar():
        raise Conflict("conflict", errors={"code": ["already used by another place"]})


def create_place(data, commit=True):
    kind = data["kind"]
    want_parent = PARENT_KIND[kind]
    parent = None
    if want_parent is None:
        if data.get("parent_id") is not None:
            raise AppError("validation_error", errors={"parent_id": ["a city has no parent"]}, status=422)
        ensure_role(WRITE_ROLES)
        if not read_scope().everything:
            raise AppError("forbidden", status=403)
    else:
        if data.get("parent_id") is None:
            raise AppError("validation_error", errors={"parent_id": [f"a {kind} needs a {want_parent}"]}, status=422)
        parent = db.session.get(Place, data["parent_id"])
        if parent is None:
            raise NotFound()
        ensure_can_write(parent.path, WRITE_ROLES)
        if parent.kind != want_parent:
            raise AppError(
                "validation_error", errors={"parent_id": [f"a {kind} belongs under a {want_parent}"]}, status=422
            )
    _check_site_fields(kind, data)
    _ensure_code_free(data["code"])
    fields = {k: v for k, v in data.items() if k != "parent_id"}
    place = Place(parent_id=parent.id if parent else None, **fields)
    db.session.add(place)
    db.session.flush()
    place.path = (parent.path if parent else "/") + f"{place.id}/"
    if commit:
        db.session.commit()
    return place


def update_place(place_id, data):
    place = get_place(place_id)
    ensure_can_write(place.path, WRITE_ROLES)
    if "category" in data:
        _check_site_fields(place.kind, {**data})
    if "code" in data:
        _ensure_code_free(data["code"], except_id=place.id)
    for key, value in data.items():
        setattr(place, key, value)
    db.session.commit()
    return place


def delete_place(place_id):
    from api.devices.models import Device

    place = get_place(place_id)
    ensure_can_write(place.path, WRITE_ROLES)
    if db.session.query(Place.query.filter(Place.parent_id == place.id).exists()).scalar():
        raise Conflict("conflict", message=None, errors={"id": ["the place still has children"]})
    if db.session.query(Device.query.filter(Device.place_id == place.id).exists()).scalar():
        raise Conflict("conflict", errors={"id": ["the place still has devices"]})
    db.session.delete(place)
    db.session.commit()


def count_subtree(place):
    return db.session.query(func.count(Place.id)).filter(Place.path.startswith(place.path)).scalar()


# --- organisations -----------------------------------------------------------

def _org_visible(org, user=None):
    """An organisation is visible to its members, to those whose scope holds a
    place it acts for, and to those living or working under such a place (a
    resident sees the property company and station responsible for them)."""
    user = user or current_user()
    scope = read_scope(user)
    if scope.everything:
        return True
    if any(m.org_id == org.id for m in user.memberships):
        return True
    return any(
        scope.covers(c.place.path) or any(p.startswith(c.place.path) for p in scope.prefixes)
        for c in org.coverage
    )


def get_organisation(org_id):
    org = db.session.get(Organisation, org_id)
    if org is None or not _org_visible(org):
        raise NotFound()
    return org


def list_organisations(args):
    scope = read_scope()
    query = Organisation.query
    if not scope.everything:
        user = current_user()
        member_of = [m.org_id for m in user.memberships if m.org_id]
        # Places an organisation may act for: inside the scope, or above it.
        above = {int(part) for p in scope.prefixes for part in p.strip("/").split("/") if part}
        covering = (
            db.session.query(OrgCoverage.org_id)
            .join(Place, Place.id == OrgCoverage.place_id)
            .filter(scope.where(Place.path) | Place.id.in_(above or [-1]))
        )
        query = query.filter(Organisation.id.in_(covering) | Organisation.id.in_(member_of or [-1]))
    if args.get("kind"):
        query = query.filter(Organisation.kind == args["kind"])
    return page(query, Organisation.id, args)


def _set_coverage(org, place_ids):
    allowed = ORG_PLACE_KINDS[org.kind]
    places = []
    bad = []
    for pid in dict.fromkeys(place_ids):
        place = db.session.get(Place, pid)
        if place is None or not read_scope().covers(place.path) or place.kind not in allowed:
            bad.append(pid)
        else:
            places.append(place)
    if bad:
        raise AppError(
            "validation_error",
            errors={"place_ids": [f"not a visible {' or '.join(allowed)}: {bad}"]},
            status=422,
        )
    org.coverage = [OrgCoverage(place_id=p.id, place=p) for p in places]


def create_organisation(data, commit=True):
    ensure_role(WRITE_ROLES)
    if data["kind"] == "industry_department" and not data.get("sector"):
        raise AppError("validation_error", errors={"sector": ["an industry department needs a sector"]}, status=422)
    org = Organisation(kind=data["kind"], name=data["name"], sector=data.get("sector"))
    db.session.add(org)
    _set_coverage(org, data.get("place_ids") or [])
    if commit:
        db.session.commit()
    return org


def update_organisation(org_id, data):
    org = get_organisation(org_id)
    ensure_role(WRITE_ROLES)
    for key in ("name", "sector"):
        if key in data:
            setattr(org, key, data[key])
    if "place_ids" in data:
        _set_coverage(org, data["place_ids"])
    db.session.commit()
    return org


def org_dump(org):
    return {
        "id": org.id,
        "kind": org.kind,
        "name": org.name,
        "sector": org.sector,
        "place_ids": [c.place_id for c in org.coverage],
        "created_at": org.created_at,
    }
