"""Builders for test data. They write through the models directly (not the
services) so a test sets up exactly the world it needs."""

import itertools

from flask_jwt_extended import create_access_token

from api.devices.models import Device
from api.extensions import db
from api.people import auth
from api.people.models import Membership, User
from api.places.models import Organisation, OrgCoverage, Place

_seq = itertools.count(1)
_phone_seq = itertools.count(10000000)


def place(kind, parent=None, **fields):
    n = next(_seq)
    p = Place(kind=kind, parent_id=parent.id if parent else None, code=fields.pop("code", f"{kind}-{n}"),
              name=fields.pop("name", f"{kind} {n}"), **fields)
    if kind == "site" and p.category is None:
        p.category = "high_rise_residential"
    db.session.add(p)
    db.session.flush()
    p.path = (parent.path if parent else "/") + f"{p.id}/"
    return p


def phone():
    return f"+86139{next(_phone_seq):08d}"


def user(role=None, place=None, org=None, password=None, **fields):
    u = User(phone=fields.pop("phone", phone()), name=fields.pop("name", f"user {next(_seq)}"), **fields)
    if password:
        u.password_hash = auth.hash_password(password)
    db.session.add(u)
    if role:
        u.memberships.append(Membership(role=role, place=place, organisation=org))
    db.session.flush()
    return u


def organisation(kind, places=(), **fields):
    o = Organisation(kind=kind, name=fields.pop("name", f"{kind} {next(_seq)}"), **fields)
    if kind == "industry_department" and not o.sector:
        o.sector = "education"
    for p in places:
        o.coverage.append(OrgCoverage(place_id=p.id, place=p))
    db.session.add(o)
    db.session.flush()
    return o


def device(place, type_code="smoke_detector", **fields):
    n = next(_seq)
    d = Device(serial=fields.pop("serial", f"SN{n:08d}"), type_code=type_code, place_id=place.id,
               place_path=place.path, **fields)
    db.session.add(d)
    db.session.flush()
    return d


def token_for(u):
    """An access token without the argon2 cost of a password login."""
    return auth.issue_tokens(u)["access_token"]


def bearer(u):
    return {"Authorization": f"Bearer {token_for(u)}"}


def city_tree(tag):
    """One city with a single branch down to a household, its organisations and devices."""
    t = {}
    t["city"] = place("city", name=f"city {tag}")
    t["district"] = place("district", t["city"])
    t["street"] = place("street", t["district"])
    t["community"] = place("community", t["street"])
    t["grid"] = place("grid", t["community"])
    t["site"] = place("site", t["grid"], address=f"{tag} road 1", lat=27.11, lng=114.99, floors=18)
    t["household"] = place("household", t["site"], floor=3)
    t["property_company"] = organisation("property_company", [t["community"]])
    t["micro_station"] = organisation("micro_station", [t["community"]])
    t["maintenance_company"] = organisation("maintenance_company", [t["site"]])
    t["industry_department"] = organisation("industry_department", [t["site"]])
    t["household_device"] = device(t["household"])
    t["site_device"] = device(t["site"], "electrical_monitor", location_text="B1 配电房")
    return t


ROLE_SCOPE = {
    "resident": ("household", None),
    "property_staff": (None, "property_company"),
    "grid_worker": ("grid", None),
    "station_member": (None, "micro_station"),
    "supervisor": ("district", None),
    "maintainer": (None, "maintenance_company"),
    "operator": ("city", None),
    "admin": (None, None),
}


def people_for(tree):
    """One person per role, each holding the role in the tree's matching scope."""
    out = {}
    for role, (place_key, org_key) in ROLE_SCOPE.items():
        out[role] = user(role, place=tree.get(place_key), org=tree.get(org_key))
    return out


def token(app, user_id):
    with app.app_context():
        return create_access_token(identity=str(user_id))


def integration(kind="generic", **fields):
    from api.ingest.adapters import DEFAULT_MAPPINGS
    from api.ingest.models import Integration

    n = next(_seq)
    i = Integration(kind=kind, name=fields.pop("name", f"{kind} {n}"), key_id=fields.pop("key_id", f"int_test{n}"),
                    secret=fields.pop("secret", f"secret-{n}-0123456789abcdef"),
                    mapping=fields.pop("mapping", DEFAULT_MAPPINGS.get(kind, {})), **fields)
    if kind == "mqtt" and not i.mqtt_topic:
        i.mqtt_topic = f"fa/{i.key_id}/events"
    db.session.add(i)
    db.session.flush()
    return i


def incident(site, device, level=2, condition="smoke"):
    """An open incident at `site` with one active alert on `device`."""
    from api.alerts.models import Alert
    from api.common.clock import utcnow
    from api.incidents.models import Incident

    now = utcnow()
    inc = Incident(site_id=site.id, site_path=site.path, level=level, state="open", opened_at=now)
    db.session.add(inc)
    db.session.flush()
    alert = Alert(device_id=device.id, site_id=site.id, site_path=site.path, device_path=device.place_path,
                  incident_id=inc.id, condition=condition, level=level, active=True, first_at=now, last_at=now,
                  raised_at=now, count=1)
    db.session.add(alert)
    db.session.flush()
    return inc
