"""Escalation policies as data: the default and per-community overrides, edited by admins."""

from api.errors import AppError, NotFound
from api.extensions import db
from api.notify.models import CHANNELS, EscalationPolicy
from api.notify.recipients import TIERS
from api.people.scopes import ensure_role, read_scope
from api.places.models import Place

READ_ROLES = ("admin", "operator")


def validate_steps(steps):
    """Steps in time order, each naming known tiers and channels."""
    errors = []
    if not isinstance(steps, list) or not steps:
        raise AppError("validation_error", status=422, errors={"steps": ["at least one step"]})
    last = -1
    for i, step in enumerate(steps):
        delay = step.get("delay_s") if isinstance(step, dict) else None
        if not isinstance(delay, int) or delay < 0 or delay > 3600:
            errors.append(f"step {i}: delay_s must be 0-3600 seconds")
        elif delay <= last and i:
            errors.append(f"step {i}: delay_s must grow from step to step")
        else:
            last = delay
        entries = (step.get("notify") or []) if isinstance(step, dict) else []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            errors.append(f"step {i}: notify must be a list of {{tier, channels}}")
            continue
        for entry in entries:
            if not isinstance(entry.get("tier"), str) or entry["tier"] not in TIERS:
                errors.append(f"step {i}: unknown tier {entry.get('tier')!r}; one of {', '.join(TIERS)}")
            channels = entry.get("channels")
            if not isinstance(channels, list) or not channels or any(
                    not isinstance(c, str) or c not in CHANNELS for c in channels):
                errors.append(f"step {i}: channels must be some of {', '.join(CHANNELS)}")
    if errors:
        raise AppError("validation_error", status=422, errors={"steps": errors})


def list_policies():
    ensure_role(READ_ROLES)
    scope = read_scope()
    rows = EscalationPolicy.query.order_by(EscalationPolicy.id).all()
    visible = []
    for p in rows:
        if p.place_id is None:
            visible.append(p)
        else:
            place = db.session.get(Place, p.place_id)
            if place is not None and scope.covers(place.path):
                visible.append(p)
    return visible


def put_policy(data):
    """Set the default (no place_id) or a community's policy."""
    ensure_role(("admin",))
    validate_steps(data["steps"])
    place_id = data.get("place_id")
    if place_id is not None:
        place = db.session.get(Place, place_id)
        if place is None or place.kind != "community":
            raise NotFound()
    policy = EscalationPolicy.query.filter_by(place_id=place_id).one_or_none()
    if policy is None:
        policy = EscalationPolicy(place_id=place_id)
        db.session.add(policy)
    policy.name = data.get("name") or ("默认 · default" if place_id is None else "社区 · community")
    policy.steps = data["steps"]
    for key in ("receipt_timeout_s", "on_scene_timeout_s"):
        if key in data:
            setattr(policy, key, data[key])
    db.session.commit()
    return policy
