"""Escalation: steps as data, timers as rows, messages as rows before jobs.

When an incident opens, every step of its community's policy becomes an
EscalationStep row with a due time and the incident's current escalation
token. The scheduler's tick claims due rows (FOR UPDATE SKIP LOCKED on
PostgreSQL) and runs a step only if the incident still carries that token and
nobody has acknowledged it. Acknowledging clears the token, which silences
every pending step at once; a re-escalation check is scheduled in its place.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import insert as sql_insert
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from api.alerts.models import Alert
from api.common.clock import utcnow
from api.devices.models import Device
from api.extensions import db
from api.incidents.models import Incident
from api.incidents.services import note
from api.notify import messages
from api.notify.models import Delivery, EscalationPolicy, EscalationStep, Notification, PushSubscription, new_token
from api.notify.recipients import TIERS, tiers_members

log = logging.getLogger("escalation")

DEFAULT_STEPS = [
    {"delay_s": 0, "notify": [{"tier": "residents", "channels": ["push"]},
                              {"tier": "property", "channels": ["push"]}]},
    {"delay_s": 60, "notify": [{"tier": "residents", "channels": ["sms", "wechat"]},
                               {"tier": "property", "channels": ["sms", "wechat"]},
                               {"tier": "grid", "channels": ["push"]},
                               {"tier": "station", "channels": ["push"]},
                               {"tier": "community_group", "channels": ["wecom"]}]},
    {"delay_s": 180, "notify": [{"tier": "residents", "channels": ["voice"]},
                                {"tier": "property_lead", "channels": ["voice"]},
                                {"tier": "station_lead", "channels": ["sms"]},
                                {"tier": "grid", "channels": ["sms"]},
                                {"tier": "operators", "channels": ["flag"]}]},
]
EVERYONE = [{"tier": t, "channels": ["push", "sms"] if t != "community_group" else ["wecom"]}
            for t in TIERS if t not in ("property_lead", "station_lead")]
FALLBACK = {"push": "sms", "sms": "wechat", "wechat": "sms", "voice": "sms"}


BUILT_IN_RECEIPT_TIMEOUT_S = 20  # the built-in policy's (no community or global policy anywhere)


def policy_for(incident):
    """The community's policy, or the default."""
    ids = [int(p) for p in incident.site_path.strip("/").split("/") if p]
    policies = {p.place_id: p for p in EscalationPolicy.query.filter(
        (EscalationPolicy.place_id.in_(ids)) | EscalationPolicy.place_id.is_(None))}
    for place_id in reversed(ids):
        if place_id in policies:
            return policies[place_id]
    return policies.get(None) or EscalationPolicy(name="built-in", steps=DEFAULT_STEPS,
                                                  receipt_timeout_s=BUILT_IN_RECEIPT_TIMEOUT_S, on_scene_timeout_s=900)


# --- starting and stopping ----------------------------------------------------

def _schedule(incident, now, steps):
    """A new token and (step no, due time) of every step to schedule: level 1 starts at
    step 1, and step 0 is due at once with it."""
    token = new_token()[:24]
    first = 1 if incident.level == 1 and len(steps) > 1 else 0
    offset = steps[first]["delay_s"]
    schedule = [(step_no, now + timedelta(seconds=max(0, step["delay_s"] - offset)))
                for step_no, step in enumerate(steps) if step_no >= first]
    if first == 1:  # the tiers of step 0 are told at once too
        schedule.insert(0, (0, now))
    return token, schedule


def start(incident, now=None, policy=None):
    """Schedule every step of the policy. Level 1 starts at step 1, everyone at once.
    Returns the new step rows (added to the session, not yet committed)."""
    now = now or utcnow()
    token, schedule = _schedule(incident, now, (policy or policy_for(incident)).steps)
    incident.escalation_token = token
    rows = [EscalationStep(incident_id=incident.id, step_no=step_no, token=token, due_at=due)
            for step_no, due in schedule]
    db.session.add_all(rows)
    return rows


def stop(incident):
    """Silence every pending step (they will find the token gone)."""
    incident.escalation_token = None


def schedule_reescalation(incident, now=None):
    """Acknowledged but nobody on scene in time: escalate again."""
    now = now or utcnow()
    token = new_token()[:24]
    incident.escalation_token = token
    wait = policy_for(incident).on_scene_timeout_s
    db.session.add(EscalationStep(incident_id=incident.id, step_no=-1, token=token, reason="reescalate",
                                  due_at=now + timedelta(seconds=wait)))


# --- running due steps -----------------------------------------------------------

def claim_due(now, limit=50, incident_id=None):
    """Claim due pending steps so that one process runs each."""
    query = db.session.query(EscalationStep.id).filter(EscalationStep.state == "pending",
                                                       EscalationStep.due_at <= now)
    if incident_id is not None:
        query = query.filter(EscalationStep.incident_id == incident_id)
    query = query.order_by(EscalationStep.due_at, EscalationStep.step_no).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [i for (i,) in query]
    claimed = []
    for step_id in ids:
        won = db.session.execute(update(EscalationStep).where(EscalationStep.id == step_id,
                                                              EscalationStep.state == "pending")
                                 .values(state="running", ran_at=now)).rowcount
        if won:
            claimed.append(step_id)
    db.session.commit()
    return claimed


def run_due(now=None, incident_id=None):
    """Run every due step; returns delivery ids queued. Called by the scheduler
    tick and right after an incident opens."""
    now = now or utcnow()
    queued = []
    for step_id in claim_due(now, incident_id=incident_id):
        try:
            queued.extend(run_step(step_id, now))
        except Exception:
            db.session.rollback()
            db.session.execute(update(EscalationStep).where(EscalationStep.id == step_id)
                               .values(state="pending"))
            db.session.commit()
            log.exception("escalation step %s failed; it stays due", step_id)
    return queued


def run_step(step_id, now):
    step = db.session.get(EscalationStep, step_id)
    incident = db.session.get(Incident, step.incident_id)
    live = incident.escalation_token == step.token and incident.state != "closed"
    if step.reason == "reescalate":
        live = live and incident.state == "acknowledged"
    elif live:
        live = incident.state == "open"
    if not live:
        step.state = "skipped"
        db.session.commit()
        return []
    delivery_ids = _tell(step, incident, policy_for(incident), now)
    db.session.commit()
    enqueue_deliveries(delivery_ids, f"step{step.id}")
    return delivery_ids


def _tell(step, incident, policy, now):
    """A live step's notifications and deliveries (rows, not yet committed); the step done."""
    steps = policy.steps
    if step.reason == "reescalate":
        plan, step_no = steps[-1]["notify"], len(steps) - 1
        note(incident, "notification", "已接警但未到场，再次升级通知 · not on scene in time: escalating again", at=now)
    else:
        plan, step_no = steps[step.step_no]["notify"], step.step_no
    delivery_ids = notify(incident, plan, kind="alarm", step_no=step_no, now=now)
    step.state, step.ran_at = "done", step.ran_at or now
    return delivery_ids


@dataclass
class _NewStep:
    """A step of an escalation starting in this transaction, before its row is written."""
    step_no: int
    due_at: object
    reason: str = "alarm"
    state: str = "pending"
    ran_at: object = None


def _start_and_run(incident, policy, now):
    """start(), and the steps due now run in that same transaction: no other process can
    see these rows yet, so there is nothing to claim, and one commit makes the steps, the
    notifications and their deliveries visible together (an alarm request: two commits
    and the claim's statements fewer). The step rows are written after the telling, in
    one INSERT, as they end (the ones run: done), not inserted pending and updated.
    A crash before the commit leaves an open incident without a token: the scheduler's
    start_unstarted starts it again, as it would have without this shortcut."""
    token, schedule = _schedule(incident, now, policy.steps)
    incident.escalation_token = token
    steps = [_NewStep(step_no, due) for step_no, due in schedule]
    delivery_ids = Told()
    for step in sorted((s for s in steps if s.due_at <= now), key=lambda s: s.step_no):
        delivery_ids.add(_tell(step, incident, policy, now))
    db.session.execute(sql_insert(EscalationStep.__table__), [
        {"incident_id": incident.id, "step_no": s.step_no, "token": token, "reason": s.reason, "due_at": s.due_at,
         "state": s.state, "ran_at": s.ran_at} for s in steps])
    tag = f"start{incident.id}-{token}"
    db.session.commit()
    enqueue_deliveries(delivery_ids, tag)
    return delivery_ids


# --- notifications and deliveries --------------------------------------------------

class Told(list):
    """New delivery ids, and the channel of each (`channels`), so that queueing them
    after the commit needs no look-up."""

    def __init__(self, ids=(), channels=None):
        super().__init__(ids)
        self.channels = dict(channels or {})

    def add(self, other):
        self.extend(other)
        self.channels.update(getattr(other, "channels", {}))


def _addresses(recipient, channel, subscriptions=None):
    user, group = recipient.user, recipient.group
    if group is not None:
        return [group.url] if channel == group.kind else []
    if channel == "push":
        if subscriptions is not None:
            return subscriptions.get(user.id, [])
        return [s.endpoint for s in PushSubscription.query.filter_by(user_id=user.id).order_by(PushSubscription.id)]
    if channel in ("sms", "voice"):
        return [] if user.phone_invalid_at else [user.phone]
    if channel == "wechat":
        return [user.wechat_openid] if user.wechat_openid else []
    return []


def notify(incident, plan, kind, step_no=None, now=None, only_user_ids=None):
    """Create the Notification and first Delivery rows for a plan; returns new delivery ids.
    A (incident, kind, channel, address) already told is skipped: nobody is told twice.
    Rows are written in bulk: a step for a thousand phones is a few statements."""
    now = now or utcnow()
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    base_url = current_app.config.get("PUBLIC_BASE_URL") or ""
    by_tier = tiers_members(incident, [entry["tier"] for entry in plan])
    members = [(entry, r) for entry in plan for r in by_tier[entry["tier"]]
               if only_user_ids is None or (r.user is not None and r.user.id in only_user_ids)]
    subscriptions = _push_endpoints({r.user.id for entry, r in members if r.user is not None
                                     and "push" in entry["channels"]})
    texts, rows, seen = {}, [], set()
    for entry, recipient in members:
        for channel in entry["channels"]:
            if channel == "flag":
                if incident.flagged_at is None:
                    incident.flagged_at = now
                    note(incident, "notification", "已提醒监控中心值班员 · flagged to operators", at=now)
                continue
            locale = recipient.user.locale if recipient.user else "zh-CN"
            if locale not in texts:
                texts[locale] = messages.text(incident, kind, locale, base_url)
            for address in _addresses(recipient, channel, subscriptions):
                if (channel, address) in seen:  # one person in two tiers is told once
                    continue
                seen.add((channel, address))
                rows.append({"incident_id": incident.id, "user_id": recipient.user.id if recipient.user else None,
                             "kind": kind, "channel": channel, "address": address, "step_no": step_no,
                             "tier": entry["tier"], "text": texts[locale], "created_at": now})
    new_ids = []
    if rows:
        # Core executemany with RETURNING (SQLAlchemy's insertmanyvalues): one compiled
        # statement sent in batches, much cheaper than an ORM insert of a VALUES list.
        notifications, deliveries = Notification.__table__, Delivery.__table__
        stmt = (insert(notifications)
                .on_conflict_do_nothing(index_elements=["incident_id", "kind", "channel", "address"])
                .returning(notifications.c.id, notifications.c.channel))
        channel_of = {n: channel for n, channel in db.session.execute(stmt, rows)}
        if channel_of:
            stmt = sql_insert(deliveries).returning(deliveries.c.id, deliveries.c.notification_id)
            delivered = db.session.execute(stmt, [
                {"notification_id": n, "attempt": 1, "state": "pending", "token": new_token(), "created_at": now,
                 "permanent": False, "fallback_done": False} for n in channel_of]).all()
            new_ids = Told([d for d, _ in delivered], {d: channel_of[n] for d, n in delivered})
    if new_ids:
        told = len(new_ids)
        note(incident, "notification", f"通知 {told} 条（{kind}，第 {step_no} 步）· {told} messages queued",
             at=now, data={"kind": kind, "step": step_no, "count": told})
    return new_ids


def _push_endpoints(user_ids):
    out = {}
    if user_ids:
        for user_id, endpoint in (db.session.query(PushSubscription.user_id, PushSubscription.endpoint)
                                  .filter(PushSubscription.user_id.in_(user_ids)).order_by(PushSubscription.id)):
            out.setdefault(user_id, []).append(endpoint)
    return out


def enqueue_deliveries(delivery_ids, tag):
    """After the commit: one job per channel fans out inside (never one job per message)."""
    if not delivery_ids:
        return
    from workers.delivery import deliver_batch

    by_channel = {}
    known = getattr(delivery_ids, "channels", {})
    if all(d in known for d in delivery_ids):  # told in this process: no look-up
        pairs = [(d, known[d]) for d in delivery_ids]
    else:
        pairs = (db.session.query(Delivery.id, Notification.channel)
                 .join(Notification, Notification.id == Delivery.notification_id)
                 .filter(Delivery.id.in_(delivery_ids)))
    for delivery_id, channel in pairs:
        by_channel.setdefault(channel, []).append(delivery_id)
    for channel, ids in by_channel.items():
        try:
            deliver_batch.enqueue(ids, job_id=f"deliver-{tag}-{channel}-{min(ids)}")
        except Exception:  # the rows are pending: the auditor queues them
            log.exception("could not queue %d %s deliveries; the auditor will", len(ids), channel)


# --- hooks called by the incident transitions ---------------------------------------

def on_acknowledged(incident):
    stop(incident)
    schedule_reescalation(incident)


def on_on_scene(incident):
    stop(incident)


def on_confirmed(incident, now=None):
    """A real fire: everyone in every tier, now (the 119 forward runs beside this)."""
    stop(incident)
    return notify(incident, EVERYONE, kind="fire", now=now)


def on_closed(incident, now=None):
    """All clear to everyone already told of this incident, on the channel that reached them."""
    stop(incident)
    now = now or utcnow()
    reached = (db.session.query(Notification.user_id, Notification.channel, Notification.address)
               .join(Delivery, Delivery.notification_id == Notification.id)
               .filter(Notification.incident_id == incident.id, Notification.kind.in_(("alarm", "fire")),
                       Delivery.state.in_(("sent", "delivered", "sending", "pending")))
               .distinct().all())
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    from api.people.models import User

    new_ids = []
    for user_id, channel, address in reached:
        if channel == "voice":
            channel = "sms"  # an all clear is not worth a phone call at 3 a.m.
        user = db.session.get(User, user_id) if user_id else None
        body = messages.text(incident, "all_clear", user.locale if user else "zh-CN",
                             current_app.config.get("PUBLIC_BASE_URL") or "")
        row = db.session.execute(insert(Notification).values(
            incident_id=incident.id, user_id=user_id, kind="all_clear", channel=channel, address=address,
            text=body, created_at=now).on_conflict_do_nothing(
            index_elements=["incident_id", "kind", "channel", "address"]).returning(Notification.id)).first()
        if row is not None:
            delivery = Delivery(notification_id=row[0], state="pending", created_at=now)
            db.session.add(delivery)
            db.session.flush()
            new_ids.append(delivery.id)
    if new_ids:
        note(incident, "notification", f"解除通知 {len(new_ids)} 条 · all clear to {len(new_ids)}", at=now)
    return new_ids


def on_activity(incident_id, now=None):
    """An alarm opened or joined the incident: start the steps, or restart them
    at step 1 when the incident has just become level 1. Runs what is due now."""
    now = now or utcnow()
    incident = _fresh_incident(incident_id)
    if incident is None or incident.state != "open":
        return []
    if incident.escalation_token is None:
        return _start_and_run(incident, policy_for(incident), now)
    if incident.level == 1:
        step1 = EscalationStep.query.filter_by(incident_id=incident.id, token=incident.escalation_token,
                                               step_no=1).one_or_none()
        if step1 is not None and step1.state == "pending" and step1.due_at > now:
            start(incident, now)  # a new token: the slower schedule's rows skip themselves
            note(incident, "notification", "升级为一级：立即通知所有人 · level 1: everyone now", at=now)
            db.session.commit()
    return run_due(now, incident_id=incident_id)


def _fresh_incident(incident_id):
    """The incident as committed now, with what telling needs, in one statement: its site,
    its alerts, their devices and the devices' places (the default loaders take two,
    and the devices' types besides)."""
    return db.session.get(Incident, incident_id, populate_existing=True, options=[
        joinedload(Incident.alerts).joinedload(Alert.device).lazyload(Device.device_type)])


def start_unstarted(now=None, limit=100):
    """The safety net for `on_activity`: an open incident whose steps were never
    scheduled (the process died between storing the alarm and starting them) is
    started by the scheduler's next tick. Acknowledged or closed incidents are
    not open, so a silenced incident is never restarted."""
    now = now or utcnow()
    ids = [i for (i,) in db.session.query(Incident.id).filter(
        Incident.state == "open", Incident.escalation_token.is_(None)).order_by(Incident.id).limit(limit)]
    for incident_id in ids:
        incident = db.session.get(Incident, incident_id, with_for_update={"of": Incident})
        if incident.state == "open" and incident.escalation_token is None:
            start(incident, now)
            note(incident, "notification", "补启动通知步骤 · escalation started by the scheduler", at=now)
        db.session.commit()
    return ids
