"""Incidents: opened by alarms, moved by people. Each transition has one owner function here."""

from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from api.alerts.models import Alert
from api.common.clock import utcnow
from api.common.pagination import page
from api.errors import AppError, NotFound
from api.extensions import db
from api.incidents.models import FALSE_ALARM_REASONS, FireForward, Incident, TimelineEntry
from api.people.scopes import current_user, read_scope, scope_of

CORRELATION_WINDOW = timedelta(minutes=2)
ACT_ROLES = ("resident", "property_staff", "grid_worker", "station_member", "operator", "admin")
CONFIRM_ROLES = ACT_ROLES


def note(incident, kind, message, actor_id=None, at=None, data=None):
    """Add a line to the incident's timeline."""
    entry = TimelineEntry(incident_id=incident.id, kind=kind, message=message, actor_id=actor_id,
                          at=at or utcnow(), data=data)
    db.session.add(entry)
    return entry


def open_incident_for(site_id):
    # Without its site and alerts (a join and, for an incident with alerts, a statement):
    # processing a message reads neither; what tells people loads the incident afresh.
    return (Incident.query.options(lazyload(Incident.site), lazyload(Incident.alerts))
            .filter(Incident.site_id == site_id, Incident.closed_at.is_(None)).one_or_none())


_LOOK = object()
OPEN_ATTEMPTS = 3


def open_incident(site_id, site_path, level):
    """Open the site's incident at `level`. Returns (incident, opened): when another
    message of the site opened one first (the unique index refuses ours), theirs and
    False; when theirs is not to be seen (closed again since), ours is tried again."""
    for attempt in range(OPEN_ATTEMPTS):
        incident = Incident(site_id=site_id, site_path=site_path, level=level, state="open", opened_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(incident)
            return incident, True
        except IntegrityError:  # opened concurrently by another message of the same site
            if attempt == OPEN_ATTEMPTS - 1:
                raise
            incident = open_incident_for(site_id)
            if incident is not None:
                return incident, False


def attach_alert(alert, at, incident=_LOOK, opened=False):
    """Put an alarm into its site's open incident, opening one if there is none.
    Returns (incident, opened). `incident`: the site's open incident (or None) as the
    caller has just seen it in this transaction, looked up when not given; `opened`:
    the caller opened it (open_incident) for this alert. Another process opening one
    meanwhile is caught by the unique index, as before."""
    if incident is _LOOK:
        incident = open_incident_for(alert.site_id)
    if incident is None:
        incident, opened = open_incident(alert.site_id, alert.site_path, alert.level)
    if alert.incident_id != incident.id:
        alert.incident_id = incident.id
    if alert.level < incident.level:
        incident.level = alert.level
        if not opened:
            note(incident, "rule", f"升级为{alert.level}级 · raised to level {alert.level}", at=at)
    if not opened:
        # An incident opened in this transaction holds only alerts attached in it, all of
        # one message's device: one device, never the two that correlation needs.
        _correlate(incident, alert, at)
    return incident, opened


def _correlate(incident, alert, at):
    """Two or more detectors of one site in alarm within 2 minutes: level 1."""
    if incident.level == 1:
        return
    devices = (
        db.session.query(func.count(func.distinct(Alert.device_id)))
        .filter(Alert.incident_id == incident.id, Alert.active.is_(True), Alert.closed_at.is_(None),
                # both sides: a late-delivered older alarm must not pair with one minutes after it
                Alert.raised_at >= at - CORRELATION_WINDOW, Alert.raised_at <= at + CORRELATION_WINDOW)
        .scalar()
    )
    if devices >= 2:
        incident.level, incident.correlated = 1, True
        note(incident, "rule", f"{devices} 个探测器 2 分钟内报警，升级为一级 · "
                               f"{devices} detectors in alarm within 2 minutes: level 1", at=at,
             data={"devices": devices})


# --- reading -----------------------------------------------------------------

def _paths(incident):
    """Whoever sees the site, or a device in alarm there (a resident's own
    detector), sees the incident."""
    return [incident.site_path] + [a.device_path for a in incident.alerts]


def get_incident(incident_id, for_update=False):
    """The incident if the caller may see it. `for_update` locks its row (PostgreSQL) so two
    requests acting on it at once run one after the other and the second sees the first."""
    lock = {"of": Incident} if for_update else None
    incident = db.session.get(Incident, incident_id, with_for_update=lock)
    if incident is None or not any(read_scope().covers(p) for p in _paths(incident)):
        raise NotFound()
    return incident


def _ensure_can_act(incident, roles):
    scope = scope_of(current_user(), roles)
    if not any(scope.covers(p) for p in _paths(incident)):
        raise AppError("forbidden", status=403)


def visible_filter(scope):
    via_alerts = (db.session.query(Alert.incident_id)
                  .filter(Alert.incident_id.isnot(None), scope.where(Alert.device_path)))
    return scope.where(Incident.site_path) | Incident.id.in_(via_alerts)


def list_incidents(args):
    query = Incident.query.filter(visible_filter(read_scope()))
    if args.get("level"):
        query = query.filter(Incident.level == args["level"])
    if args.get("state"):
        query = query.filter(Incident.state.in_(args["state"].split(",")))
    if args.get("site_id"):
        query = query.filter(Incident.site_id == args["site_id"])
    if args.get("since"):
        query = query.filter(Incident.opened_at >= args["since"])
    if args.get("until"):
        query = query.filter(Incident.opened_at < args["until"])
    return page(query, Incident.id, args)


def timeline(incident):
    return TimelineEntry.query.filter_by(incident_id=incident.id).order_by(TimelineEntry.at, TimelineEntry.id).all()


# --- transitions (one owner each) --------------------------------------------

def _refuse(incident, action):
    if incident.state == "closed":
        raise AppError("incident_closed", status=409,
                       message=("该事件已由他人关闭", "The incident was already closed"),
                       errors={"state": [incident.state]})
    raise AppError("invalid_transition", status=409,
                   message=(f"事件处于 {incident.state} 状态，不能{action[0]}", f"cannot {action[1]} from {incident.state}"),
                   errors={"state": [incident.state]})


def _seconds(since, now):
    return max(0, int((now - since).total_seconds()))


def _record_ack(incident, user, now):
    incident.state, incident.acknowledged_at, incident.acknowledged_by = "acknowledged", now, user.id
    incident.seconds_to_acknowledge = _seconds(incident.opened_at, now)
    for alert in incident.alerts:
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, user.id
    from api.notify import escalation

    escalation.on_acknowledged(incident)  # stops the steps; schedules the not-on-scene check


def acknowledge_incident(incident_id):
    """open → acknowledged. Acknowledging again is harmless and changes nothing."""
    incident = get_incident(incident_id, for_update=True)
    _ensure_can_act(incident, ACT_ROLES)
    user, now = current_user(), utcnow()
    if incident.state in ("acknowledged", "on_scene"):
        return incident
    if incident.state != "open":
        _refuse(incident, ("确认接警", "acknowledge"))
    _record_ack(incident, user, now)
    note(incident, "action", f"{user.name} 已接警，正在核实 · acknowledged", actor_id=user.id, at=now)
    db.session.commit()
    return incident


def arrive_on_scene(incident_id):
    """acknowledged → on_scene (an open incident is acknowledged on the way)."""
    incident = get_incident(incident_id, for_update=True)
    _ensure_can_act(incident, ACT_ROLES)
    user, now = current_user(), utcnow()
    if incident.state == "on_scene":
        return incident
    if incident.state not in ("open", "acknowledged"):
        _refuse(incident, ("到场", "arrive"))
    if incident.state == "open":
        _record_ack(incident, user, now)
    incident.state, incident.on_scene_at, incident.on_scene_by = "on_scene", now, user.id
    incident.seconds_to_scene = _seconds(incident.opened_at, now)
    note(incident, "action", f"{user.name} 已到场 · on scene", actor_id=user.id, at=now)
    from api.notify import escalation

    escalation.on_on_scene(incident)
    db.session.commit()
    return incident


def confirm_fire(incident_id):
    """A person confirms a real fire: level 1, and the 119 forward starts.
    The forward is a row first; its job is queued after the commit."""
    incident = get_incident(incident_id, for_update=True)
    _ensure_can_act(incident, CONFIRM_ROLES)
    user, now = current_user(), utcnow()
    if incident.state == "closed":
        _refuse(incident, ("确认火情", "confirm"))
    if incident.confirmed_at is not None:
        return incident
    if incident.state == "open":
        _record_ack(incident, user, now)
    incident.confirmed_at, incident.confirmed_by, incident.level = now, user.id, 1
    note(incident, "action", f"{user.name} 确认为真实火情 · confirmed real fire", actor_id=user.id, at=now)
    forward = FireForward(incident_id=incident.id, state="pending")
    db.session.add(forward)
    from api.notify import escalation

    told = escalation.on_confirmed(incident, now)
    db.session.commit()
    from workers.forward119 import queue_forward

    queue_forward(forward.id)
    escalation.enqueue_deliveries(told, f"fire{incident.id}")
    return incident


def close_incident(incident_id, outcome, reason=None, text=None):
    """any open state → closed, with an outcome; its alerts close with it."""
    incident = get_incident(incident_id, for_update=True)
    _ensure_can_act(incident, ACT_ROLES)
    user, now = current_user(), utcnow()
    if incident.state == "closed":
        if incident.outcome == outcome and incident.closed_by == user.id:
            return incident  # the same phone saying it again
        _refuse(incident, ("关闭", "close"))
    if outcome == "false_alarm" and reason not in FALSE_ALARM_REASONS:
        raise AppError("validation_error", status=422,
                       errors={"reason": [f"a false alarm needs a reason: {', '.join(FALSE_ALARM_REASONS)}"]})
    if outcome != "false_alarm" and reason:
        raise AppError("validation_error", status=422, errors={"reason": ["only false alarms have a reason"]})
    if incident.acknowledged_at is None:
        _record_ack(incident, user, now)
    incident.state, incident.closed_at, incident.closed_by = "closed", now, user.id
    incident.outcome, incident.false_alarm_reason, incident.note = outcome, reason, text
    incident.seconds_to_close = _seconds(incident.opened_at, now)
    for alert in incident.alerts:
        alert.closed_at = alert.closed_at or now
    label = {"real_fire": "真实火情", "false_alarm": "误报", "test": "测试", "unknown": "原因不明"}[outcome]
    note(incident, "action", f"{user.name} 关闭事件：{label} · closed: {outcome}"
         + (f" ({reason})" if reason else ""), actor_id=user.id, at=now,
         data={"outcome": outcome, "reason": reason})
    from api.notify import escalation

    all_clear = escalation.on_closed(incident, now)
    db.session.commit()
    escalation.enqueue_deliveries(all_clear, f"clear{incident.id}")
    if outcome == "real_fire" and incident.confirmed_at is None:
        _forward_after_close(incident, user, now)
    return incident


def _forward_after_close(incident, user, now):
    """Closing as a real fire that nobody confirmed before still reaches 119."""
    incident.confirmed_at, incident.confirmed_by = now, user.id
    forward = FireForward(incident_id=incident.id, state="pending")
    db.session.add(forward)
    db.session.commit()
    from workers.forward119 import queue_forward

    queue_forward(forward.id)
