"""Who belongs to each tier of an incident, found from its site up the place tree."""

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import lazyload, load_only

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


def _members(role, place_ids=(), org_ids=None, lead=None, global_ok=False):
    conds = []
    if place_ids:
        conds.append(Membership.place_id.in_(place_ids))
    if org_ids is not None:
        conds.append(Membership.org_id.in_(org_ids))
    if global_ok:
        conds.append(Membership.place_id.is_(None) & Membership.org_id.is_(None))
    if not conds:
        return []
    user_ids = select(Membership.user_id).where(Membership.role == role, or_(*conds))
    if lead is not None:
        user_ids = user_ids.where(Membership.lead.is_(lead))
    # One statement: the people, without their memberships (User loads those eagerly
    # elsewhere) and with only what a message needs: id, locale and addresses.
    return (User.query.options(lazyload(User.memberships), load_only(*_MESSAGE_COLUMNS))
            .filter(User.id.in_(user_ids), User.is_active.is_(True)).order_by(User.id).all())


def tier_members(incident, tier):
    site = incident.site
    ancestors = _ancestor_ids(site)
    if tier == "residents":
        # The alerts' devices and places come loaded with the alerts (joined).
        households = list({a.device.place_id for a in incident.alerts if a.device.place.kind == "household"})
        users = _members("resident", households) if households else []
    elif tier == "site_residents":
        households = [p for (p,) in Place.query.with_entities(Place.id)
                      .filter(Place.kind == "household", Place.path.startswith(site.path, autoescape=True))]
        users = _members("resident", households) if households else []
    elif tier in ("property", "property_lead"):
        users = _members("property_staff", ancestors, _orgs_covering(ancestors),
                         lead=True if tier == "property_lead" else None)
    elif tier == "grid":
        users = _members("grid_worker", ancestors)
    elif tier in ("station", "station_lead"):
        users = _members("station_member", (), _orgs_covering(ancestors),
                         lead=True if tier == "station_lead" else None)
    elif tier == "supervisors":
        users = _members("supervisor", ancestors)
    elif tier == "operators":
        users = _members("operator", ancestors, global_ok=True)
    elif tier == "community_group":
        groups = GroupChannel.query.filter(GroupChannel.place_id.in_(ancestors),
                                           GroupChannel.disabled_at.is_(None)).all()
        return [Recipient(tier, group=g) for g in groups]
    else:
        raise ValueError(f"unknown tier {tier!r}")
    return [Recipient(tier, user=u) for u in users]
