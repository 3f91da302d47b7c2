"""Rules: defaults come with the database; admins override them per site
category or per site. Every change is a new version; thresholds are checked
against the ranges the standards allow."""

from api.common.clock import utcnow
from api.common.pagination import page
from api.errors import AppError, NotFound
from api.extensions import db
from api.people.scopes import current_user, ensure_role, read_scope
from api.places.models import SITE_CATEGORIES, Place
from api.rules.models import Rule

ADMIN = ("admin",)
READ_ROLES = ("admin", "operator", "supervisor", "maintainer")

# Settable ranges (GB 14287.2, GB 14287.3, GB 50974 / GB 55036, GB/T 50493).
METRIC_RANGES = {
    "residual_current_ma": (20, 1000),
    "cable_temp_c": (55, 140),
    "pressure_mpa": (0.01, 2.0),
    "gas_lel_pct": (1, 50),
    "water_level_m": (0.0, 100.0),
    "current_a": (0.1, 1000),
    "voltage_v": (1, 1000),
}
EDITABLE = ("threshold", "clear_threshold", "duration_s", "level", "opens_incident", "active")


def list_rules(args):
    ensure_role(READ_ROLES)
    query = Rule.query if args.get("include_retired") else Rule.query.filter(Rule.active.is_(True))
    if args.get("device_type"):
        query = query.filter(Rule.device_type == args["device_type"])
    return page(query, Rule.id, args)


def get_rule(rule_id):
    ensure_role(READ_ROLES)
    rule = db.session.get(Rule, rule_id)
    if rule is None:
        raise NotFound()
    if rule.site_id:
        site = db.session.get(Place, rule.site_id)
        if site is None or not read_scope().covers(site.path):
            raise NotFound()
    return rule


def validate(rule):
    """Refuse settings outside what the standards allow, or that would flap."""
    errors = {}
    if rule.source == "metric":
        lo, hi = METRIC_RANGES.get(rule.metric, (None, None))
        if rule.threshold is None:
            errors["threshold"] = ["a measured rule needs a threshold"]
        elif lo is not None and not lo <= rule.threshold <= hi:
            errors["threshold"] = [f"{rule.metric} must be set between {lo} and {hi}"]
        if rule.clear_threshold is not None and rule.threshold is not None:
            if rule.comparison == "gte" and rule.clear_threshold > rule.threshold:
                errors["clear_threshold"] = ["must not be above the threshold (hysteresis)"]
            if rule.comparison == "lt" and rule.clear_threshold < rule.threshold:
                errors["clear_threshold"] = ["must not be below the threshold (hysteresis)"]
    if not 0 <= (rule.duration_s or 0) <= 3600:
        errors["duration_s"] = ["0 to 3600 seconds"]
    if rule.level not in (1, 2, 3, 4):
        errors["level"] = ["1 (red) to 4 (blue)"]
    if errors:
        raise AppError("validation_error", status=422, errors=errors)


def _copy(rule, **changes):
    fields = {c.name: getattr(rule, c.name) for c in Rule.__table__.columns
              if c.name not in ("id", "created_at", "created_by", "retired_at", "version", "active")}
    fields.update(changes)
    return Rule(**fields)


def override(data):
    """A site-category or site override of a default rule (a new rule key row)."""
    ensure_role(ADMIN)
    base = Rule.query.filter_by(id=data["base_rule_id"]).one_or_none()
    if base is None:
        raise AppError("validation_error", status=422, errors={"base_rule_id": ["no such rule"]})
    category, site_id = data.get("site_category"), data.get("site_id")
    if bool(category) == bool(site_id):
        raise AppError("validation_error", status=422, errors={"site_id": ["give a site or a site category"]})
    if category and category not in SITE_CATEGORIES:
        raise AppError("validation_error", status=422, errors={"site_category": ["unknown category"]})
    if site_id:
        site = db.session.get(Place, site_id)
        if site is None or site.kind != "site" or not read_scope().covers(site.path):
            raise AppError("validation_error", status=422, errors={"site_id": ["no such site"]})
    clash = Rule.query.filter_by(rule_key=base.rule_key, site_category=category, site_id=site_id, active=True).first()
    if clash is not None:
        raise AppError("conflict", status=409, errors={"base_rule_id": [f"override exists: rule {clash.id}"]})
    rule = _copy(base, site_category=category, site_id=site_id,
                 **{k: data[k] for k in EDITABLE if k in data and k != "active"})
    rule.version, rule.active, rule.created_by = 1, True, current_user().id
    validate(rule)
    db.session.add(rule)
    db.session.commit()
    return rule


def revise(rule_id, data):
    """Change a rule: the current version retires, a new version takes over."""
    ensure_role(ADMIN)
    old = get_rule(rule_id)
    # Retired (replaced by a newer version) is final; disabled (active false, the
    # current version) is not: it can be changed and enabled again.
    if old.retired_at is not None:
        raise AppError("conflict", status=409, errors={"id": ["this version is retired; change the current one"]})
    new = _copy(old, **{k: data[k] for k in EDITABLE if k in data and k != "active"})
    new.version, new.created_by = old.version + 1, current_user().id
    new.active = data.get("active", old.active)
    validate(new)
    old.active, old.retired_at = False, utcnow()
    db.session.add(new)
    db.session.commit()
    return new
