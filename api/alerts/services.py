"""Alerts: one open alert per (device, condition); repeats count, clears mark it."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from api.alerts.models import Alert
from api.common.pagination import page
from api.errors import AppError, NotFound
from api.extensions import db
from api.people.scopes import current_user, ensure_can_write, ensure_visible, read_scope

OFFLINE_CONDITION = "offline"
OFFLINE_LEVEL = 4
ACT_ROLES = ("resident", "property_staff", "grid_worker", "station_member", "maintainer", "operator", "admin")


def site_of(device):
    place = device.place
    return place if place.kind == "site" else place.parent


def open_alert(device_id, condition):
    # Without the device (and its type and place) joined: the caller has the device.
    return Alert.query.options(lazyload(Alert.device)).filter(
        Alert.device_id == device_id, Alert.condition == condition, Alert.closed_at.is_(None)
    ).one_or_none()


def raise_alert(device, condition, level, at, rule_id=None, value=None, incident_id=None):
    """Raise (or repeat) `condition` on `device`. Returns (alert, created). A new alert is
    inserted in `incident_id` when given (attaching a repeat is attach_alert's)."""
    alert = open_alert(device.id, condition)
    if alert is not None:
        alert.count += 1
        alert.last_at = max(alert.last_at, at)
        alert.last_value = value if value is not None else alert.last_value
        alert.level = min(alert.level, level)
        if not alert.active:
            alert.active, alert.cleared_at, alert.raised_at = True, None, at
        return alert, False
    site = site_of(device)
    alert = Alert(device_id=device.id, device=device, site_id=site.id, site_path=site.path,
                  device_path=device.place_path, incident_id=incident_id, condition=condition,
                  level=level, rule_id=rule_id, active=True, first_at=at, last_at=at, raised_at=at,
                  count=1, last_value=value)
    try:
        with db.session.begin_nested():
            db.session.add(alert)
    except IntegrityError:
        # Another process opened it between our read and our write: repeat theirs.
        return raise_alert(device, condition, level, at, rule_id, value, incident_id)
    return alert, True


def clear_alert(device_id, condition, at):
    alert = open_alert(device_id, condition)
    if alert is None or not alert.active:
        return None
    alert.active, alert.cleared_at, alert.last_at = False, at, max(alert.last_at, at)
    if alert.acknowledged_at is not None and alert.incident_id is None:
        alert.closed_at = at  # cleared and seen by a person: nothing left to do
    return alert


# --- API ---------------------------------------------------------------------

def list_alerts(args):
    query = Alert.query.filter(read_scope().where(Alert.device_path))
    for key in ("level", "device_id", "site_id", "incident_id"):
        if args.get(key) is not None:
            query = query.filter(getattr(Alert, key) == args[key])
    if args.get("active") is not None:
        query = query.filter(Alert.active.is_(args["active"]))
    if args.get("open", True):
        query = query.filter(Alert.closed_at.is_(None))
    if args.get("condition"):
        query = query.filter(Alert.condition == args["condition"])
    return page(query, Alert.id, args)


def get_alert(alert_id):
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound()
    ensure_visible(alert.device_path)
    return alert


def acknowledge_alert(alert_id, now):
    """A person has seen the alert. A cleared, acknowledged alert outside an incident closes."""
    alert = get_alert(alert_id)
    ensure_can_write(alert.device_path, ACT_ROLES)
    if alert.closed_at is not None:
        raise AppError("alert_closed", message=("该告警已关闭", "The alert is already closed"), status=409)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, current_user().id
        if not alert.active and alert.incident_id is None:
            alert.closed_at = now
        db.session.commit()
    return alert
