"""Delivering notifications: claimed rows, one job per channel per step, every
attempt a row.

A Delivery is claimed (pending → sending) with a conditional update before
anything is sent, so a retried or duplicated job sends nothing twice. A
temporary failure records the attempt and creates the next one with backoff;
a permanent one (dead subscription, invalid number) disables the address and
moves the person to the next channel at once. The auditor re-queues whatever
a flushed Redis or a killed worker left pending.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import or_, update

from api.common.clock import utcnow
from api.extensions import db
from api.incidents.models import Incident
from api.notify import messages
from api.notify.models import Delivery, Notification, PushSubscription
from workers.channels.base import Outgoing, TransportError, channel_for
from workers.queues import job

log = logging.getLogger("delivery")
BACKOFF = (5, 15, 45, 120, 300)  # seconds before attempts 2..6
MAX_ATTEMPTS = len(BACKOFF) + 1
STALE_SENDING = timedelta(seconds=90)
FANOUT_THREADS = 32


def claim(delivery_id, now):
    won = db.session.execute(update(Delivery).where(
        Delivery.id == delivery_id,
        or_(Delivery.state == "pending",
            (Delivery.state == "sending") & (Delivery.claimed_at < now - STALE_SENDING)),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    ).values(state="sending", claimed_at=now)).rowcount == 1
    return won


def _outgoing(delivery):
    n = delivery.notification
    incident = db.session.get(Incident, n.incident_id)
    locale = "zh-CN"
    if n.user_id:
        from api.people.models import User

        user = db.session.get(User, n.user_id)
        locale = user.locale if user else locale
    out = Outgoing(channel=n.channel, address=n.address, text=n.text, kind=n.kind, token=delivery.token,
                   locale=locale, incident_id=n.incident_id)
    if n.channel == "push":
        sub = PushSubscription.query.filter_by(endpoint=n.address).one_or_none()
        if sub is None:
            return None
        out.payload = {"keys": {"p256dh": sub.p256dh, "auth": sub.auth},
                       "data": messages.push_payload(incident, n.kind, delivery.token, locale)}
    else:
        out.payload = {"template": n.kind, "params": {"site": incident.site.name, "level": incident.level,
                                                      "incident": incident.id}}
    return out


def _send(channel_name, outgoing):
    try:
        return channel_for(channel_name).send(outgoing), None
    except TransportError as exc:
        return None, exc
    except Exception as exc:  # a channel bug is a temporary failure: recorded, retried
        log.exception("channel %s raised", channel_name)
        return None, TransportError(f"{type(exc).__name__}: {exc}"[:200])


@job("notify", timeout=120)
def deliver_batch(delivery_ids):
    """Send the given deliveries (one channel), concurrently for push."""
    from flask import current_app

    app = current_app._get_current_object()
    now = utcnow()
    work = []
    for delivery_id in delivery_ids:
        if not claim(delivery_id, now):
            continue
        delivery = db.session.get(Delivery, delivery_id)
        outgoing = _outgoing(delivery)
        if outgoing is None:
            delivery.state, delivery.error, delivery.permanent = "failed", "subscription removed", True
            continue
        work.append((delivery, outgoing))
    db.session.commit()  # claims are visible before anything leaves

    def send_one(item):
        delivery, outgoing = item
        with app.app_context():
            return _send(outgoing.channel, outgoing)

    if len(work) > 1:
        with ThreadPoolExecutor(max_workers=min(FANOUT_THREADS, len(work))) as pool:
            results = list(pool.map(send_one, work))
    else:
        results = [send_one(item) for item in work]

    follow_ups = []
    for (delivery, _message), (provider_id, error) in zip(work, results):
        follow_ups.extend(record(delivery, provider_id, error))
    db.session.commit()
    if follow_ups:
        from api.notify.escalation import enqueue_deliveries

        enqueue_deliveries(follow_ups, f"follow{min(follow_ups)}")
    return {"sent": sum(1 for p, e in results if e is None), "failed": sum(1 for p, e in results if e)}


def record(delivery, provider_id, error):
    """Write the outcome of one attempt; returns new delivery ids (retry or fallback)."""
    now = utcnow()
    n = delivery.notification
    if error is None:
        delivery.state, delivery.provider_id, delivery.sent_at = "sent", (provider_id or "")[:200], now
        if n.channel == "push":
            PushSubscription.query.filter_by(endpoint=n.address).update({"last_sent_at": now})
        return []
    delivery.state, delivery.error, delivery.permanent = "failed", error.message[:300], error.permanent
    if error.permanent:
        _disable_address(n, now)
        return fallback(delivery, now)
    if delivery.attempt >= MAX_ATTEMPTS:
        return fallback(delivery, now)
    retry = Delivery(notification_id=n.id, attempt=delivery.attempt + 1, state="pending", created_at=now,
                     next_attempt_at=now + timedelta(seconds=BACKOFF[delivery.attempt - 1]))
    db.session.add(retry)
    db.session.flush()
    return []  # the auditor queues it when it is due


def _disable_address(notification, now):
    if notification.channel == "push":
        PushSubscription.query.filter_by(endpoint=notification.address).delete()
    elif notification.channel in ("sms", "voice") and notification.user_id:
        from api.people.models import User

        user = db.session.get(User, notification.user_id)
        if user is not None and user.phone == notification.address:
            user.phone_invalid_at = now


def fallback(delivery, now):
    """Move the person to the next channel at once (alarms and fires only)."""
    from api.notify.escalation import FALLBACK, notify

    n = delivery.notification
    delivery.fallback_done = True
    next_channel = FALLBACK.get(n.channel)
    incident = db.session.get(Incident, n.incident_id)
    if next_channel is None or n.user_id is None or n.kind not in ("alarm", "fire"):
        return []
    if n.kind == "alarm" and incident.state != "open":
        return []  # somebody has taken charge already
    return notify(incident, [{"tier": n.tier or "residents", "channels": [next_channel]}], kind=n.kind,
                  step_no=n.step_no, now=now, only_user_ids={n.user_id})


def receipt_sweep(now=None):
    """A push without a receipt in time counts as undelivered: that person goes
    to the next channel now, without waiting for the acknowledgement timeout."""
    from api.notify.escalation import enqueue_deliveries, policy_for

    now = now or utcnow()
    new_ids = []
    rows = (Delivery.query.join(Notification, Notification.id == Delivery.notification_id)
            .filter(Notification.channel == "push", Notification.kind.in_(("alarm", "fire")),
                    Delivery.state == "sent", Delivery.delivered_at.is_(None), Delivery.fallback_done.is_(False))
            .all())
    for delivery in rows:
        incident = db.session.get(Incident, delivery.notification.incident_id)
        if delivery.sent_at > now - timedelta(seconds=policy_for(incident).receipt_timeout_s):
            continue
        new_ids.extend(fallback(delivery, now))
        delivery.fallback_done = True
    db.session.commit()
    enqueue_deliveries(new_ids, f"receipt{int(now.timestamp())}")
    return new_ids


def audit(now=None):
    """Re-queue every delivery left pending (or stuck sending) whose time has come."""
    from api.notify.escalation import enqueue_deliveries

    now = now or utcnow()
    ids = [i for (i,) in db.session.query(Delivery.id).filter(
        or_((Delivery.state == "pending") & (Delivery.created_at < now - timedelta(seconds=10))
            & or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            (Delivery.state == "pending") & (Delivery.next_attempt_at <= now),
            (Delivery.state == "sending") & (Delivery.claimed_at < now - STALE_SENDING)))]
    enqueue_deliveries(ids, f"audit{int(now.timestamp())}")
    return len(ids)


@job("notify", timeout=60)
def escalation_tick():
    from api.notify.escalation import run_due

    return len(run_due())


@job("notify", timeout=60)
def receipt_tick():
    return len(receipt_sweep())


@job("default", timeout=60)
def delivery_audit():
    return audit()
