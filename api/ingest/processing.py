"""Turning stored messages into device state, alerts and incidents.

Runs right after a message is stored (in the request that stored it, after
the commit) and again from the scheduler's sweep for anything left behind by a
crash. A message is claimed with a conditional update, and its effects and its
`processed_at` commit together, so it is applied once.
"""

import functools
import json
import logging
import threading
import time
from datetime import timedelta, timezone

from sqlalchemy import any_, bindparam, false, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload, lazyload

from api.alerts import services as alerts
from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.devices.models import Device
from api.extensions import db
from api.incidents import services as incidents
from api.ingest.models import DeviceEvent
from api.places.models import Place
from api.rules import engine
from api.rules.engine import judge, rules_for
from api.rules.models import ConditionState, Rule

log = logging.getLogger("ingest")
CLAIM_TIMEOUT = timedelta(seconds=60)

LABELS = {
    "smoke": "烟雾报警", "gas_alarm": "可燃气体报警", "gas_lel_high": "可燃气体浓度超限",
    "gas_lel_very_high": "可燃气体浓度严重超限", "fault": "设备故障", "low_battery": "电量低", "tamper": "防拆报警",
    "residual_current": "剩余电流超限", "cable_temp": "线缆温度超限", "hydrant_pressure_low": "消火栓水压偏低",
    "hydrant_pressure_critical": "消火栓水压过低", "hydrant_tampered": "消火栓被撞/开盖",
    "water_pressure_low": "水压偏低", "water_level_low": "水位低", "panel_fire": "火警（报警主机）",
    "panel_fault": "主机故障", "panel_supervisory": "监管报警", "panel_disabled": "屏蔽", "panel_power_fault": "电源故障",
    "flame_seen": "视频识别到明火", "exit_blocked": "疏散通道堵塞", "control_room_unattended": "消防控制室无人值守",
    "offline": "设备离线",
}


def label(condition):
    return LABELS.get(condition, condition)


@functools.cache
def _claim_statement(returning=False):
    """Built once (its parameters bound at each use): building it cost more than running it."""
    stmt = (update(DeviceEvent)
            .where(DeviceEvent.id == bindparam("event_id"), DeviceEvent.processed_at.is_(None),
                   (DeviceEvent.claimed_at.is_(None)) | (DeviceEvent.claimed_at < bindparam("stale_before")))
            .values(claimed_at=bindparam("now"))
            # Nothing in the session to bring up to date: the returned row loads the event.
            .execution_options(synchronize_session=False))
    return stmt.returning(DeviceEvent) if returning else stmt


def _claim_params(event_id, now):
    return {"event_id": event_id, "now": now, "stale_before": now - CLAIM_TIMEOUT}


def claim(event_id, now):
    """Take the event for this transaction. On PostgreSQL the UPDATE's row lock
    holds until our commit; a second process waits, then finds processed_at set."""
    return db.session.execute(_claim_statement(), _claim_params(event_id, now)).rowcount == 1


def _claim_event(event_id, now):
    """claim(), and the claimed event itself (from the claim's RETURNING: no second
    statement to load it), or None when it is not ours."""
    return db.session.scalars(_claim_statement(returning=True), _claim_params(event_id, now)).one_or_none()


def process_events(event_ids, budget_seconds=None, one_by_one=False):
    """Process the given stored events, oldest first. Stops when the budget is
    spent; the sweep picks up the rest. Returns how many were processed.

    Routine messages (a heartbeat, a reading under every threshold, from a device
    that is online, at a site with no open incident) are applied together, a few
    statements for the whole lot (`_apply_routine`); the rest one by one, each in
    its own transaction, as `process_one` says. `one_by_one`: the caller knows none
    is routine (an alarm, a fault): straight to process_one, without the lot's
    look-ups (about eight statements an alarm spent before going there anyway)."""
    if not event_ids:
        return 0
    started = time.monotonic()
    if one_by_one:
        return _process_each(list(event_ids), started, budget_seconds)
    ids, done, slow, at = list(event_ids), 0, [], 0
    try:
        while at < len(ids):
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                break  # the rest waits for the sweep
            routine, rest = _apply_routine(ids[at:at + ROUTINE_CHUNK])
            at += ROUTINE_CHUNK
            done += routine
            slow.extend(rest)
    except Exception:
        db.session.rollback()
        log.exception("applying routine messages together failed; one by one instead")
        slow.extend(ids[at:])
    return done + _process_each(slow, started, budget_seconds)


def _process_each(event_ids, started, budget_seconds):
    if len(event_ids) > 1:
        rows = [i for (i,) in db.session.query(DeviceEvent.id).filter(DeviceEvent.id.in_(event_ids))
                .order_by(DeviceEvent.occurred_at, DeviceEvent.id)]
    else:  # one (an alarm request): nothing to order; a missing id fails the claim as before
        rows = list(event_ids)
    done = 0
    rules_cache = {}
    for event_id in rows:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        now = utcnow()
        event = _claim_event(event_id, now)
        if event is None:
            db.session.rollback()
            continue
        try:
            touched = {i.id for i in process_one(event, rules_cache) or []}
            db.session.commit()  # the claim, the effects and processed_at together
            done += 1
        except Exception:
            db.session.rollback()
            log.exception("processing device event %s failed; the sweep will retry it", event_id)
            # Remember the attempt so a message that always fails waits CLAIM_TIMEOUT between tries.
            claim(event_id, now)
            db.session.commit()
            continue
        _escalate(touched)  # ids taken before the commit: reading them after would reload each incident
    return done


# --- routine messages, together -------------------------------------------------------

ROUTINE_CHUNK = 500
NO_RULE = "no rule applies"


def _apply_routine(event_ids):
    """Apply the routine messages among `event_ids` in one transaction; return
    (how many were applied, the ids left for process_one, in order).

    Exactly what process_one would do with each, for the messages where that is
    little: device last seen / battery / signal, the integration it spoke through,
    the condition state of each reading a rule watches (no threshold crossed), and
    processed_at with "no rule applies". Everything else — alarms, clears, offline
    devices coming back, readings over (or holding at) a threshold, a reading older
    than the last applied, power-off confirmations, sites with an open incident (the
    message goes on its timeline) — goes to process_one. So do all the messages of a
    site that has any such message in the lot, so that the order of a site's messages
    stays what process_one's would be.

    Locks: the messages (FOR UPDATE SKIP LOCKED: one taken by another processor is
    left to it) and their devices (SKIP LOCKED: a device busy elsewhere goes to
    process_one, which waits for it), as process_one locks the device."""
    now = utcnow()
    ev, dev = DeviceEvent.__table__.c, Device.__table__.c
    events = db.session.execute(
        select(ev.id, ev.device_id, ev.integration_id, ev.kind, ev.occurred_at, ev["values"].label("vals"))
        .where(_in(ev.id, event_ids), ev.processed_at.is_(None),
               or_(ev.claimed_at.is_(None), ev.claimed_at < now - CLAIM_TIMEOUT))
        .order_by(ev.occurred_at, ev.id).with_for_update(skip_locked=True, key_share=True)).all()
    mine = {e.id for e in events}
    # Not ours (processed, claimed, or being processed elsewhere): process_one's claim
    # decides, as it always did.
    slow = [i for i in event_ids if i not in mine]
    if not events:
        db.session.rollback()
        return 0, slow
    devices = {d.id: d._asdict() for d in db.session.execute(
        select(dev.id, dev.type_code, dev.place_id, dev.offline_since, dev.last_seen_at, dev.battery_pct,
               dev.signal_dbm, dev.last_integration_id)
        .where(_in(dev.id, {e.device_id for e in events})).order_by(dev.id)
        .with_for_update(skip_locked=True, key_share=True))}
    sites = _sites({d["place_id"] for d in devices.values()})
    for d in devices.values():
        d["site"] = sites.get(d["place_id"])
    open_sites = _sites_with_open_incident({d["site"][0] for d in devices.values() if d["site"]})
    rules = _rules({(d["type_code"], d["site"]) for d in devices.values() if d["site"]})
    watched = {(d_id, rule.condition) for d_id, d in devices.items() if d["site"]
               for rule in rules.get((d["type_code"], d["site"]), ()) if rule.source == "metric"}
    states = _states(watched)

    by_site = {}
    for e in events:
        d = devices.get(e.device_id)
        by_site.setdefault(d["site"][0] if d and d["site"] else ("device", e.device_id), []).append(e)
    applied, device_rows, state_rows = [], {}, {}
    slow_ids = set()
    for site_key, site_events in by_site.items():
        trial_devices, trial_states, ok = {}, {}, site_key not in open_sites
        for e in site_events if ok else ():
            d = devices.get(e.device_id)
            if d is None or d["site"] is None or e.kind in ("offline", "power_cut_done"):
                ok = False
                break
            d = trial_devices.setdefault(e.device_id, dict(d))
            if d["offline_since"] is not None or not _routine_rules(
                    e, rules.get((d["type_code"], d["site"]), ()), states, trial_states):
                ok = False
                break
            _touch(d, e, now)
        if ok:
            applied.extend(e.id for e in site_events)
            device_rows.update(trial_devices)
            state_rows.update(trial_states)
        else:
            slow_ids.update(e.id for e in site_events)
    if applied:
        db.session.execute(update(DeviceEvent.__table__).where(_in(ev.id, applied))
                           .values(claimed_at=now, processed_at=now, outcome=NO_RULE))
        _write_devices(list(device_rows.values()), now)
        _write_states(state_rows, states)
    db.session.commit()
    return len(applied), [e.id for e in events if e.id in slow_ids] + slow


def _touch(d, e, now):
    """_touch_device and last_integration_id, on a plain dict."""
    seen = min(e.occurred_at, now)
    if d["last_seen_at"] is None or seen >= d["last_seen_at"]:
        d["last_seen_at"] = seen
        values = e.vals or {}
        if isinstance(values.get("battery_pct"), (int, float)):
            d["battery_pct"] = int(values["battery_pct"])
        if isinstance(values.get("signal_dbm"), (int, float)):
            d["signal_dbm"] = int(values["signal_dbm"])
    if e.integration_id:
        d["last_integration_id"] = e.integration_id


def _routine_rules(e, rules, states, trial_states):
    """True when judge() would decide nothing for this message; then the condition
    states it would write are put in `trial_states`. Mirrors api.rules.engine."""
    values = e.vals or {}
    for rule in rules:
        if rule.source == "event":
            if e.kind in (rule.raise_on or []) or e.kind in (rule.clear_on or []):
                return False
            continue
        if rule.metric not in values:
            continue
        try:
            value = float(values[rule.metric])
        except (TypeError, ValueError):
            continue  # judge skips it too
        key = (e.device_id, rule.condition)
        state = trial_states.get(key) or states.get(key)
        if state is not None and (state["active"] or (state["last_at"] is not None and e.occurred_at < state["last_at"])):
            return False  # active (may clear or repeat), or older than the last reading (a "hold")
        if engine._breaches(rule, value):
            return False
        trial_states[key] = dict(state or {"id": None, "active": False}, last_at=e.occurred_at, last_value=value,
                                 pending_since=None)
    return True


def _sites(place_ids):
    """{place id: (site id, site category)}: a device's site is its place, or the
    place's parent (a household's building), as alerts.site_of says."""
    if not place_ids:
        return {}
    p = Place.__table__.c
    rows = {r.id: r for r in db.session.execute(select(p.id, p.kind, p.parent_id, p.category)
                                                .where(_in(p.id, place_ids)))}
    parents = {r.parent_id for r in rows.values() if r.kind != "site" and r.parent_id}
    if parents:
        rows.update({r.id: r for r in db.session.execute(select(p.id, p.kind, p.parent_id, p.category)
                                                         .where(_in(p.id, parents)))})
    out = {}
    for place_id in place_ids:
        r = rows.get(place_id)
        site = r if r is None or r.kind == "site" else rows.get(r.parent_id)
        out[place_id] = (site.id, site.category) if site is not None else None
    return out


def _sites_with_open_incident(site_ids):
    if not site_ids:
        return set()
    i = incidents.Incident.__table__.c
    return set(db.session.execute(select(i.site_id).where(_in(i.site_id, site_ids), i.closed_at.is_(None))).scalars())


def _rules(pairs):
    """rules_for(type, site) for every (type, (site id, category)) pair, in one query."""
    if not pairs:
        return {}
    types = {t for t, _ in pairs}
    site_ids = {site[0] for _, site in pairs}
    categories = {site[1] for _, site in pairs if site[1] is not None}
    rows = Rule.query.filter(
        Rule.active.is_(True), Rule.device_type.in_(types),
        or_(Rule.site_id.is_(None), Rule.site_id.in_(site_ids)),
        or_(Rule.site_category.is_(None), Rule.site_category.in_(categories) if categories else false()),
    ).all()
    out = {}
    for type_code, (site_id, category) in pairs:
        best = {}
        for rule in rows:
            if rule.device_type != type_code or rule.site_id not in (None, site_id) \
                    or rule.site_category not in (None, category):
                continue
            rank = 3 if rule.site_id else 2 if rule.site_category else 1
            if rule.rule_key not in best or rank > best[rule.rule_key][0]:
                best[rule.rule_key] = (rank, rule)
        out[(type_code, (site_id, category))] = [r for _, r in sorted(best.values(), key=lambda p: p[1].rule_key)]
    return out


def _states(keys):
    """{(device id, condition): state dict} for the condition states that exist."""
    if not keys:
        return {}
    c = ConditionState.__table__.c
    rows = db.session.execute(select(c.id, c.device_id, c.condition, c.active, c.pending_since, c.last_value,
                                     c.last_at).where(_in(c.device_id, {k[0] for k in keys})))
    return {(r.device_id, r.condition): r._asdict() for r in rows if (r.device_id, r.condition) in keys}


def _in(column, values):
    """column IN values; on PostgreSQL `= ANY(array)`, one parameter whatever the count
    (psycopg parses a statement with hundreds of placeholders anew each time)."""
    values = list(values)
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _utc_text(dt):
    return None if dt is None else dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat()


_DEVICES_PG = text(
    "UPDATE devices SET last_seen_at = t.seen, battery_pct = t.battery, signal_dbm = t.signal, "
    "last_integration_id = t.integration, updated_at = :now "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(id integer, seen timestamp, battery integer, signal integer, "
    "integration integer) WHERE devices.id = t.id").bindparams(bindparam("now", type_=UTCDateTime()))
_STATES_PG = text(
    "UPDATE condition_states SET last_at = t.at, last_value = t.value, pending_since = NULL "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(id integer, at timestamp, value float8) "
    "WHERE condition_states.id = t.id")
_NEW_STATES_PG = text(
    "INSERT INTO condition_states (device_id, condition, active, last_at, last_value) "
    "SELECT t.device_id, t.condition, false, t.at, t.value "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(device_id integer, condition text, at timestamp, value float8)")


def _write_devices(rows, now):
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(_DEVICES_PG, {"now": now, "rows": json.dumps([
            {"id": d["id"], "seen": _utc_text(d["last_seen_at"]), "battery": d["battery_pct"],
             "signal": d["signal_dbm"], "integration": d["last_integration_id"]} for d in rows])})
        return
    dev = Device.__table__.c
    db.session.execute(
        update(Device.__table__).where(dev.id == bindparam("b_id")).values(
            last_seen_at=bindparam("b_seen"), battery_pct=bindparam("b_battery"), signal_dbm=bindparam("b_signal"),
            last_integration_id=bindparam("b_integration"), updated_at=now),
        [{"b_id": d["id"], "b_seen": d["last_seen_at"], "b_battery": d["battery_pct"], "b_signal": d["signal_dbm"],
          "b_integration": d["last_integration_id"]} for d in rows])


def _write_states(state_rows, existing):
    c = ConditionState.__table__.c
    changed = [s for s in state_rows.values() if s["id"] is not None]
    new = [dict(device_id=k[0], condition=k[1], last_value=s["last_value"], last_at=s["last_at"])
           for k, s in state_rows.items() if s["id"] is None]
    if db.engine.dialect.name == "postgresql":
        if changed:
            db.session.execute(_STATES_PG, {"rows": json.dumps([
                {"id": s["id"], "at": _utc_text(s["last_at"]), "value": s["last_value"]} for s in changed])})
        if new:
            db.session.execute(_NEW_STATES_PG, {"rows": json.dumps([
                {"device_id": s["device_id"], "condition": s["condition"], "at": _utc_text(s["last_at"]),
                 "value": s["last_value"]} for s in new])})
        return
    if changed:
        db.session.execute(update(ConditionState.__table__).where(c.id == bindparam("b_id")).values(
            last_at=bindparam("b_at"), last_value=bindparam("b_value"), pending_since=None),
            [{"b_id": s["id"], "b_at": s["last_at"], "b_value": s["last_value"]} for s in changed])
    if new:
        db.session.execute(ConditionState.__table__.insert(),
                           [dict(s, active=False, pending_since=None) for s in new])


def _escalate(incident_ids):
    """After the commit: start (or speed up) the telling for incidents this message touched.
    A failure here loses nothing: the incident is stored and the scheduler's tick
    runs its steps."""
    from api.notify import escalation

    for incident_id in incident_ids:
        try:
            escalation.on_activity(incident_id)
        except Exception:
            db.session.rollback()
            log.exception("could not start escalation for incident %s now; the tick will", incident_id)


def process_pending(limit=500, older_than=timedelta(seconds=5)):
    """The safety net (and the backlog job): process messages stored but not processed,
    oldest first. Rows another processor holds are skipped (SKIP LOCKED: two workers
    take different lots), and so are messages whose last attempt failed less than
    CLAIM_TIMEOUT ago (they must not starve the others)."""
    now = utcnow()
    cutoff = now - older_than
    ev = DeviceEvent.__table__.c
    ids = list(db.session.execute(
        select(ev.id).where(ev.processed_at.is_(None), ev.received_at < cutoff if older_than else ev.received_at <= cutoff,
                            or_(ev.claimed_at.is_(None), ev.claimed_at < now - CLAIM_TIMEOUT))
        .order_by(ev.received_at).limit(limit).with_for_update(skip_locked=True, key_share=True)).scalars())
    return process_events(ids)


def _touch_device(device, event, now):
    seen = min(event.occurred_at, now)
    # >=: one vendor message often becomes several events with the same time
    # (CTWing: an alarm and its battery/signal telemetry); each may update.
    if device.last_seen_at is None or seen >= device.last_seen_at:
        device.last_seen_at = seen
        values = event.values or {}
        if isinstance(values.get("battery_pct"), (int, float)):
            device.battery_pct = int(values["battery_pct"])
        if isinstance(values.get("signal_dbm"), (int, float)):
            device.signal_dbm = int(values["signal_dbm"])


def process_one(event, rules_cache=None):
    now = utcnow()
    # Locked: the offline sweep must not mark a device offline while its message is being applied.
    # FOR NO KEY UPDATE: excludes the sweep and other processors, not the KEY SHARE lock a new
    # message's foreign-key check takes (storing never waits for processing).
    # Its place and the place's parent come along (joined): site_of needs no statement of its
    # own. Its type does not (nothing here reads it).
    device = db.session.get(Device, event.device_id, with_for_update={"of": Device, "key_share": True},
                            options=[joinedload(Device.place).joinedload(Place.parent),
                                     lazyload(Device.device_type)])
    site = alerts.site_of(device)
    outcome = []
    _touch_device(device, event, now)
    if event.integration_id:
        device.last_integration_id = event.integration_id
    if event.kind == "power_cut_done":
        from api.devices.commands import complete_from_device

        if complete_from_device(device, event) is not None:
            outcome.append("power-off done")

    if event.kind == "offline":
        alert, _ = alerts.raise_alert(device, alerts.OFFLINE_CONDITION, alerts.OFFLINE_LEVEL, event.occurred_at)
        device.offline_since = device.offline_since or event.occurred_at
        outcome.append("raise offline")
    elif device.offline_since is not None:
        device.offline_since = None
        if alerts.clear_alert(device.id, alerts.OFFLINE_CONDITION, event.occurred_at):
            outcome.append("clear offline")

    # The message goes on the timeline before what the rules make of it, so
    # the timeline reads cause → decision (entries at one time sort by id).
    noted = set()
    # The site's open incident as this transaction sees it, kept up to date below and
    # handed to attach_alert (which would look it up again otherwise).
    open_incident = incidents.open_incident_for(site.id)
    if open_incident is not None:
        _note_event(open_incident, device, event, noted)
    touched = []
    key = (device.type_code, site.id)
    if rules_cache is None or key not in rules_cache:
        rules = rules_for(device.type_code, site)
        if rules_cache is not None:
            rules_cache[key] = rules
    else:
        rules = rules_cache[key]
    for decision in judge(event, rules):
        rule = decision.rule
        if decision.action == "raise":
            opened = False
            if rule.opens_incident and open_incident is None:
                # Before the alert, so that a new alert is inserted in it (not updated after).
                open_incident, opened = incidents.open_incident(site.id, site.path, rule.level)
            alert, created = alerts.raise_alert(device, rule.condition, rule.level, event.occurred_at,
                                                rule.id, decision.value,
                                                open_incident.id if rule.opens_incident else None)
            outcome.append(f"raise {rule.condition} L{rule.level}")
            if rule.opens_incident:
                incident, opened = incidents.attach_alert(alert, event.occurred_at, open_incident, opened)
                _note_event(incident, device, event, noted)  # new (or opened by a racing message)
                if opened:
                    incidents.note(incident, "rule", f"{label(rule.condition)}：{device.location_text or device.serial}"
                                   f"，开启 {incident.level} 级事件 · incident opened", at=event.occurred_at,
                                   data={"rule_id": rule.id, "rule_version": rule.version, "alert_id": alert.id})
                touched.append(incident)
        elif decision.action == "clear":
            alert = alerts.clear_alert(device.id, rule.condition, event.occurred_at)
            outcome.append(f"clear {rule.condition}")
            if alert is not None and alert.incident_id:
                incident = db.session.get(incidents.Incident, alert.incident_id)
                incidents.note(incident, "rule", f"{label(rule.condition)}已恢复 · cleared", at=event.occurred_at,
                               data={"alert_id": alert.id})
        elif decision.note:
            outcome.append(f"hold {rule.condition}: {decision.note}")

    event.processed_at = now
    event.outcome = "; ".join(outcome)[:200] or "no rule applies"
    return touched


def _note_event(incident, device, event, noted):
    """The device message on the incident's timeline, once per incident."""
    if incident.id in noted:
        return
    noted.add(incident.id)
    incidents.note(incident, "device_event",
                   f"{device.serial} {event.kind}" + (f" {event.values}" if event.values else ""),
                   at=event.occurred_at, data={"event_id": event.id, "device_id": device.id})


# --- which messages may wait ------------------------------------------------------------

ROUTINE_KINDS = frozenset({"heartbeat", "telemetry", "online", "self_test"})
_WATCH_SECONDS = 30.0
_watch = {"at": -_WATCH_SECONDS, "limits": {}}
_watch_lock = threading.Lock()


def _watched_limits():
    """{metric: [(comparison, threshold)]} of the active metric rules, read at most every
    30 s. It only decides when a reading is processed (here, or by the backlog job a
    moment later), never what processing makes of it: a stale copy costs no correctness."""
    now = time.monotonic()
    if now - _watch["at"] < _WATCH_SECONDS:
        return _watch["limits"]
    with _watch_lock:
        if now - _watch["at"] >= _WATCH_SECONDS:
            r = Rule.__table__.c
            limits = {}
            for metric, comparison, threshold in db.session.execute(
                    select(r.metric, r.comparison, r.threshold).where(r.active.is_(True), r.source == "metric")):
                if metric and threshold is not None:
                    limits.setdefault(metric, []).append((comparison, threshold))
            _watch.update(at=now, limits=limits)
    return _watch["limits"]


def is_routine(raw):
    """A message that may wait for the backlog job: a heartbeat, online, a self-test, or
    a reading that crosses no rule's threshold (any device type's)."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ROUTINE_KINDS:
        return False
    if kind != "telemetry":
        return True
    limits = _watched_limits()
    for metric, value in (raw.get("values") or {}).items():
        for comparison, threshold in limits.get(metric, ()):
            if not isinstance(value, (int, float)) or (value >= threshold if comparison == "gte" else value < threshold):
                return False
    return True
