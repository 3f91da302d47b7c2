"""Who belongs to each tier of an incident, found from its site up the place tree."""

from dataclasses import dataclass

from sqlalchemy import String, literal, or_, select, union
from sqlalchemy.orm import lazyload, load_only

from api.extensions import db
from api.notify.models import GroupChannel
from api.people.models import Membership, User
from api.places.models import OrgCoverage, Place

TIERS = ("residents", "site_residents", "property", "property_lead", "grid", "station", "station_lead",
         "supervisors", "operators", "community_group")


@dataclass(frozen=True)
class Recipient:
    tier: str
    user: object = None  # a User, or None for a group channel
    group: object = None  # a GroupChannel


_MESSAGE_COLUMNS = (User.id, User.locale, User.phone, User.phone_invalid_at, User.wechat_openid)


def _ancestor_ids(site):
    return [int(part) for part in site.path.strip("/").split("/") if part]


def _orgs_covering(place_ids):
    """The organisations covering any of the places: a subquery of the members' statement."""
    return select(OrgCoverage.org_id).where(OrgCoverage.place_id.in_(place_ids))


def _member_ids(role, place_ids=(), org_ids=None, lead=None, global_ok=False):
    """The statement selecting the user ids of a role's members there, or None (nobody)."""
    conds = []
    if place_ids:
        conds.append(Membership.place_id.in_(place_ids))
    if org_ids is not None:
        conds.append(Membership.org_id.in_(org_ids))
    if global_ok:
        conds.append(Membership.place_id.is_(None) & Membership.org_id.is_(None))
    if not conds:
        return None
    user_ids = select(Membership.user_id).where(Membership.role == role, or_(*conds))
    if lead is not None:
        user_ids = user_ids.where(Membership.lead.is_(lead))
    return user_ids


def _tier_user_ids(incident, tier):
    site = incident.site
    ancestors = _ancestor_ids(site)
    if tier == "residents":
        # The alerts' devices and places come loaded with the alerts (joined).
        households = list({a.device.place_id for a in incident.alerts if a.device.place.kind == "household"})
        return _member_ids("resident", households) if households else None
    if tier == "site_residents":
        households = [p for (p,) in Place.query.with_entities(Place.id)
                      .filter(Place.kind == "household", Place.path.startswith(site.path, autoescape=True))]
        return _member_ids("resident", households) if households else None
    if tier in ("property", "property_lead"):
        return _member_ids("property_staff", ancestors, _orgs_covering(ancestors),
                           lead=True if tier == "property_lead" else None)
    if tier == "grid":
        return _member_ids("grid_worker", ancestors)
    if tier in ("station", "station_lead"):
        return _member_ids("station_member", (), _orgs_covering(ancestors),
                           lead=True if tier == "station_lead" else None)
    if tier == "supervisors":
        return _member_ids("supervisor", ancestors)
    if tier == "operators":
        return _member_ids("operator", ancestors, global_ok=True)
    raise ValueError(f"unknown tier {tier!r}")


def tiers_members(incident, tiers):
    """{tier: [Recipient]} for each of `tiers`. The people of all of them come in one
    statement, without their memberships (User loads those eagerly elsewhere) and with
    only what a message needs (id, locale and addresses); each tier's in user id order."""
    out, selects = {}, []
    for tier in dict.fromkeys(tiers):
        if tier == "community_group":
            groups = GroupChannel.query.filter(GroupChannel.place_id.in_(_ancestor_ids(incident.site)),
                                               GroupChannel.disabled_at.is_(None)).all()
            out[tier] = [Recipient(tier, group=g) for g in groups]
            continue
        out[tier] = []
        user_ids = _tier_user_ids(incident, tier)
        if user_ids is not None:
            selects.append(user_ids.add_columns(literal(tier, String).label("tier")))
    if selects:
        # UNION (and DISTINCT for one): a person with two memberships in a tier is in it once.
        pairs = (union(*selects) if len(selects) > 1 else selects[0].distinct()).subquery()
        rows = (db.session.query(User, pairs.c.tier)
                .options(lazyload(User.memberships), load_only(*_MESSAGE_COLUMNS))
                .join(pairs, pairs.c.user_id == User.id).filter(User.is_active.is_(True)).order_by(User.id))
        for user, tier in rows:
            out[tier].append(Recipient(tier, user=user))
    return out
