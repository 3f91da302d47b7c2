"""Turning stored messages into device state, alerts and incidents.

Runs right after a message is stored (in the request that stored it, after
the commit) and again from the scheduler's sweep for anything left behind by a
crash. A message is claimed with a conditional update, and its effects and its
`processed_at` commit together, so it is applied once.
"""

import logging
import time
from datetime import timedelta

from sqlalchemy import update

from api.alerts import services as alerts
from api.common.clock import utcnow
from api.devices.models import Device
from api.extensions import db
from api.incidents import services as incidents
from api.ingest.models import DeviceEvent
from api.rules.engine import judge, rules_for

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


def claim(event_id, now):
    """Take the event for this transaction. On PostgreSQL the UPDATE's row lock
    holds until our commit; a second process waits, then finds processed_at set."""
    stmt = (update(DeviceEvent)
            .where(DeviceEvent.id == event_id, DeviceEvent.processed_at.is_(None),
                   (DeviceEvent.claimed_at.is_(None)) | (DeviceEvent.claimed_at < now - CLAIM_TIMEOUT))
            .values(claimed_at=now))
    return db.session.execute(stmt).rowcount == 1


def process_events(event_ids, budget_seconds=None):
    """Process the given stored events, oldest first. Stops when the budget is
    spent; the sweep picks up the rest. Returns how many were processed."""
    started = time.monotonic()
    rows = (db.session.query(DeviceEvent.id).filter(DeviceEvent.id.in_(event_ids))
            .order_by(DeviceEvent.occurred_at, DeviceEvent.id).all()) if event_ids else []
    done = 0
    rules_cache = {}
    for (event_id,) in rows:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        now = utcnow()
        if not claim(event_id, now):
            db.session.rollback()
            continue
        try:
            touched = process_one(db.session.get(DeviceEvent, event_id), rules_cache)
            db.session.commit()  # the claim, the effects and processed_at together
            done += 1
        except Exception:
            db.session.rollback()
            log.exception("processing device event %s failed; the sweep will retry it", event_id)
            # Remember the attempt so a message that always fails waits CLAIM_TIMEOUT between tries.
            claim(event_id, now)
            db.session.commit()
            continue
        _escalate({i.id for i in touched or []})
    return done


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
    """The safety net: process messages stored but never processed."""
    cutoff = utcnow() - older_than
    ids = [i for (i,) in db.session.query(DeviceEvent.id)
           .filter(DeviceEvent.processed_at.is_(None), DeviceEvent.received_at < cutoff)
           .order_by(DeviceEvent.received_at).limit(limit)]
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
    device = db.session.get(Device, event.device_id, with_for_update={"of": Device})
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
    incident = incidents.open_incident_for(site.id)
    if incident is not None:
        _note_event(incident, device, event, noted)
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
            alert, created = alerts.raise_alert(device, rule.condition, rule.level, event.occurred_at,
                                                rule.id, decision.value)
            outcome.append(f"raise {rule.condition} L{rule.level}")
            if rule.opens_incident:
                incident, opened = incidents.attach_alert(alert, event.occurred_at)
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
