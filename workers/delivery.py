"""Delivering notifications: claimed rows, one job per channel per step (a push
fan-out in jobs of PUSH_JOB_SIZE, for several worker processes), every attempt a row.

A Delivery is claimed (pending → sending) with a conditional update before
anything is sent, so a retried or duplicated job sends nothing twice. A
temporary failure records the attempt and creates the next one with backoff;
a permanent one (dead subscription, invalid number) disables the address and
moves the person to the next channel at once. The auditor re-queues whatever
a flushed Redis or a killed worker left pending.

A fan-out of 1,000 (bench/push_fanout.py) is claimed with one UPDATE … RETURNING
per 500 rows, read with a handful of IN queries (not ~5 queries a row), sent
from FANOUT_THREADS threads, and recorded as results come in, committed every
COMMIT_EVERY results or COMMIT_INTERVAL seconds. So a worker killed mid-way
leaves "sending" only the rows in flight or not yet committed: those are the
ones the auditor sends again (at least once; the push Topic lets the push
service replace rather than add a copy still undelivered).
"""

import logging
import queue
import threading
import time
from datetime import timedelta

from sqlalchemy import bindparam, case, or_, select, text, update
from sqlalchemy.orm import joinedload, lazyload

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db
from api.incidents.models import Incident
from api.notify import messages
from api.notify.models import Delivery, GroupChannel, Notification, PushSubscription
from workers.channels.base import Outgoing, TransportError, channel_for
from workers.queues import job

log = logging.getLogger("delivery")
BACKOFF = (5, 15, 45, 120, 300)  # seconds before attempts 2..6
MAX_ATTEMPTS = len(BACKOFF) + 1
STALE_SENDING = timedelta(seconds=180)  # longer than deliver_batch's timeout: a live job is never raced
FANOUT_THREADS = 64  # a push service 50 ms away: 1,000 in ~0.8 s of waiting; loopback is CPU-bound either way
CHUNK = 500  # ids per IN (…) list
# Push deliveries per job: a 1,000-phone step is 2 jobs, one for each of make run's 2 worker
# processes. Each job is a forked work horse that first pays ~0.1 CPU-s (quiet machine) of
# start-up (imports, a database connection, statements compiled again), so on 2 cores jobs of
# 500 beat jobs of 250 (bench/push_fanout.py, measured in one load window: worker CPU per
# 1,000-push fan-out 2.96 s against 3.64 s, last push 5.9 s against 6.8 s under load 10-14).
PUSH_JOB_SIZE = 500
COMMIT_EVERY, COMMIT_INTERVAL = 50, 0.25  # results recorded before a commit; seconds at most between commits


def _chunks(items, size=CHUNK):
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]


def claim_many(delivery_ids, now):
    """Claim (pending → sending) those of `delivery_ids` nobody holds; returns the ids won.
    A row stuck "sending" longer than STALE_SENDING (its worker died) may be claimed again."""
    t = Delivery.__table__
    claimable = (
        or_(t.c.state == "pending", (t.c.state == "sending") & (t.c.claimed_at < now - STALE_SENDING)),
        or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
    )
    won = []
    for chunk in _chunks(sorted(set(delivery_ids))):
        ids = t.c.id.in_(chunk)
        if db.engine.dialect.name == "postgresql":
            # lock in id order and skip rows another worker is claiming: two jobs over the
            # same rows (a job and the auditor's copy) neither deadlock nor both win one
            ids = t.c.id.in_(select(t.c.id).where(t.c.id.in_(chunk), *claimable).order_by(t.c.id)
                             .with_for_update(skip_locked=True))
        stmt = update(t).where(ids, *claimable).values(state="sending", claimed_at=now).returning(t.c.id)
        won.extend(i for (i,) in db.session.execute(stmt))
    return won


def claim(delivery_id, now):
    return claim_many([delivery_id], now) == [delivery_id]


class _Lookups:
    """What building the messages needs, read in bulk for a batch."""

    def __init__(self, deliveries):
        from api.people.models import User

        notes = [d.notification for d in deliveries]
        self.incidents = {i.id: i for chunk in _chunks({n.incident_id for n in notes})
                          for i in Incident.query.filter(Incident.id.in_(chunk))}
        # only the locale: a User row loads its memberships (and their places) eagerly
        self.locales = {i: loc for chunk in _chunks({n.user_id for n in notes if n.user_id})
                        for i, loc in db.session.query(User.id, User.locale).filter(User.id.in_(chunk))}
        self.subs = {s.endpoint: s for chunk in _chunks({n.address for n in notes if n.channel == "push"})
                     for s in PushSubscription.query.filter(PushSubscription.endpoint.in_(chunk))}


def _outgoing(delivery, lookups=None):
    lookups = lookups or _Lookups([delivery])
    n = delivery.notification
    incident = lookups.incidents.get(n.incident_id)
    locale = lookups.locales.get(n.user_id) or "zh-CN"
    out = Outgoing(channel=n.channel, address=n.address, text=n.text, kind=n.kind, token=delivery.token,
                   locale=locale, incident_id=n.incident_id)
    if n.channel == "push":
        sub = lookups.subs.get(n.address)
        if sub is None:
            return None
        if incident is not None:
            data = messages.push_payload(incident, n.kind, delivery.token, locale)
        elif n.kind == "notice":
            data = messages.notice_payload(n, delivery.token, locale)
        else:
            data = messages.test_payload(n.text, delivery.token, locale)
        out.payload = {"keys": {"p256dh": sub.p256dh, "auth": sub.auth}, "data": data}
    elif incident is None:
        out.payload = {"template": n.kind, "params": {}}
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
    """Send the given deliveries (one channel), concurrently."""
    from flask import current_app

    app = current_app._get_current_object()
    now = utcnow()
    won = claim_many(delivery_ids, now)
    db.session.commit()  # claims are visible before anything leaves
    deliveries = [d for chunk in _chunks(won) for d in Delivery.query.options(
        joinedload(Delivery.notification).options(lazyload(Notification.deliveries))).filter(Delivery.id.in_(chunk))]
    lookups = _Lookups(deliveries) if deliveries else None
    work = []  # (delivery id, outgoing): plain values, so the commits below need not reload rows
    for delivery in sorted(deliveries, key=lambda d: d.id):
        outgoing = _outgoing(delivery, lookups)
        if outgoing is None:
            delivery.state, delivery.error, delivery.permanent = "failed", "subscription removed", True
            continue
        work.append((delivery.id, outgoing))
    db.session.commit()
    db.session.expunge_all()  # else every commit below would expire thousands of loaded rows

    follow_ups, counts = [], {"sent": 0, "failed": 0}
    sent_rows, pending = [], {"n": 0, "at": time.monotonic()}

    def take(item, result):
        (delivery_id, outgoing), (provider_id, error) = item, result
        pending["n"] += 1
        if error is None:
            counts["sent"] += 1
            sent_rows.append({"d_id": delivery_id, "p_id": (provider_id or "")[:200],
                              "endpoint": outgoing.address if outgoing.channel == "push" else None})
        else:
            counts["failed"] += 1
            follow_ups.extend(record(db.session.get(Delivery, delivery_id), None, error))

    def commit():
        if pending["n"]:
            _mark_sent_rows(sent_rows, utcnow())
            db.session.commit()
        pending["n"], pending["at"] = 0, time.monotonic()

    if len(work) > 1:
        # FANOUT_THREADS senders, each in one app context for all its messages (a context
        # per message, and a pool future per message, cost more CPU than the encryption)
        todo, done = queue.SimpleQueue(), queue.SimpleQueue()
        for item in work:
            todo.put(item)

        def sender():
            with app.app_context():
                while True:
                    try:
                        item = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        result = _send(item[1].channel, item[1])
                    except BaseException as exc:  # noqa: BLE001  (never leave the loop below waiting)
                        result = (None, TransportError(type(exc).__name__))
                    done.put((item, result))

        threads = [threading.Thread(target=sender, name=f"fanout-{n}", daemon=True)
                   for n in range(min(FANOUT_THREADS, len(work)))]
        for t in threads:
            t.start()
        for _ in range(len(work)):
            while True:  # commit what is recorded while waiting, so a crash re-sends little
                try:
                    item, result = done.get(timeout=COMMIT_INTERVAL)
                    break
                except queue.Empty:
                    commit()
            take(item, result)
            if pending["n"] >= COMMIT_EVERY or time.monotonic() - pending["at"] >= COMMIT_INTERVAL:
                commit()
        for t in threads:
            t.join()
    else:
        for item in work:
            with app.app_context():  # as the senders do: the channel's own context, not this session's
                result = _send(item[1].channel, item[1])
            take(item, result)
    commit()
    if follow_ups:
        from api.notify.escalation import enqueue_deliveries

        enqueue_deliveries(follow_ups, f"follow{min(follow_ups)}")
    return counts


_enqueue_one = deliver_batch.enqueue


def job_chunks(delivery_ids, size=None):
    """A fan-out's deliveries in jobs of PUSH_JOB_SIZE, by id: the same ids always make the
    same chunks (and so the same job ids)."""
    size = size or PUSH_JOB_SIZE
    ids = sorted(set(delivery_ids))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def enqueue_batch(delivery_ids, job_id=None):
    """`deliver_batch.enqueue(ids, job_id=…)`: push deliveries beyond PUSH_JOB_SIZE become
    several jobs, so several worker processes send one fan-out at once (one job is bound to
    one core by the GIL: encryption, TLS, HTTP). The job ids stay deterministic: the given
    id for one job, "<id>-<first delivery id>" for each of several. Every row exists and is
    pending before its job is queued, and each job claims its rows, so a chunk queued twice
    (a step re-run, the auditor's copy) sends nothing twice. Other channels stay one job
    (their providers have rate limits of their own)."""
    ids = list(delivery_ids)
    if len(ids) > PUSH_JOB_SIZE:
        channels = {c for (c,) in db.session.query(Notification.channel).join(
            Delivery, Delivery.notification_id == Notification.id).filter(Delivery.id.in_(ids)).distinct()}
        if channels == {"push"}:
            return [_enqueue_one(chunk, job_id=f"{job_id}-{chunk[0]}" if job_id else None)
                    for chunk in job_chunks(ids)]
    return [_enqueue_one(ids, job_id=job_id)]


deliver_batch.enqueue = enqueue_batch

_SENT = None
# PostgreSQL: a commit's results in one statement, one round trip — the rows sent, and
# last_sent_at of the push subscriptions they went to (arrays unnested, not an executemany)
_SENT_PG = text(
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:pids AS varchar[])) AS v(id, p_id)), "
    "d AS (UPDATE deliveries AS d SET state = CASE WHEN d.state = 'sending' THEN 'sent' ELSE d.state END, "
    "provider_id = v.p_id, sent_at = :now FROM v WHERE d.id = v.id RETURNING d.notification_id) "
    "UPDATE push_subscriptions SET last_sent_at = :now WHERE endpoint IN "
    "(SELECT n.address FROM notifications AS n JOIN d ON n.id = d.notification_id WHERE n.channel = 'push')"
).bindparams(bindparam("now", type_=UTCDateTime()))


def _mark_sent_rows(rows, now):
    """sending → sent for the rows just accepted, and last_sent_at of their push
    subscriptions; a row a receipt or a report has already answered ("delivered",
    "failed") keeps its state."""
    global _SENT
    if not rows:
        return
    if db.engine.dialect.name == "postgresql":
        db.session.execute(_SENT_PG, {"ids": [r["d_id"] for r in rows], "pids": [r["p_id"] for r in rows],
                                      "now": now})
        rows.clear()
        return
    if _SENT is None:
        t = Delivery.__table__
        _SENT = update(t).where(t.c.id == bindparam("d_id")).values(
            state=case((t.c.state == "sending", "sent"), else_=t.c.state), provider_id=bindparam("p_id"),
            sent_at=bindparam("now"))
    db.session.execute(_SENT, [{**r, "now": now} for r in rows])
    _mark_sent([r["endpoint"] for r in rows if r.get("endpoint")], now)
    rows.clear()


def _mark_sent(endpoints, now):
    """last_sent_at for the subscriptions just pushed to: one UPDATE, not one per push."""
    for chunk in _chunks(set(endpoints)):
        db.session.execute(update(PushSubscription.__table__).where(
            PushSubscription.__table__.c.endpoint.in_(chunk)).values(last_sent_at=now))


def record(delivery, provider_id, error):
    """Write the outcome of one attempt; returns new delivery ids (retry or fallback).
    A receipt or delivery report can come in before the sender records its result:
    the row then says "delivered" (or "failed"), and that stands."""
    now = utcnow()
    n = delivery.notification
    t = Delivery.__table__
    if error is None:
        _mark_sent_rows([{"d_id": delivery.id, "p_id": provider_id or "",
                          "endpoint": n.address if n.channel == "push" else None}], now)
        return []
    state = db.session.execute(update(t).where(t.c.id == delivery.id, t.c.state == "sending").values(
        state="failed", error=error.message[:300], permanent=error.permanent).returning(t.c.id)).first()
    if state is None:  # already answered by a receipt or a report: nothing more to do here
        return []
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
    elif notification.channel == "wecom":  # the robot's key is invalid: later incidents skip it
        GroupChannel.query.filter(GroupChannel.url == notification.address, GroupChannel.disabled_at.is_(None)) \
            .update({"disabled_at": now}, synchronize_session=False)


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
    to the next channel now, without waiting for the acknowledgement timeout.

    Every few seconds, on the urgent `notify` queue: only pushes sent longer ago than
    the shortest receipt timeout any policy has are read (not every push of the last
    minute, again and again), with their incidents in the same statement, and each
    community's policy looked up once."""
    from sqlalchemy import func

    from api.notify.escalation import BUILT_IN_RECEIPT_TIMEOUT_S, enqueue_deliveries, policy_for
    from api.notify.models import EscalationPolicy

    now = now or utcnow()
    shortest = db.session.query(func.min(EscalationPolicy.receipt_timeout_s)).scalar()
    shortest = min(shortest or BUILT_IN_RECEIPT_TIMEOUT_S, BUILT_IN_RECEIPT_TIMEOUT_S)
    rows = (db.session.query(Delivery, Incident)
            .join(Notification, Notification.id == Delivery.notification_id)
            .join(Incident, Incident.id == Notification.incident_id)
            .options(joinedload(Delivery.notification))
            .filter(Notification.channel == "push", Notification.kind.in_(("alarm", "fire")),
                    Delivery.state == "sent", Delivery.delivered_at.is_(None), Delivery.fallback_done.is_(False),
                    Delivery.sent_at <= now - timedelta(seconds=shortest))
            .all())
    timeouts, new_ids = {}, []
    for delivery, incident in rows:
        if incident.site_path not in timeouts:
            timeouts[incident.site_path] = policy_for(incident).receipt_timeout_s
        if delivery.sent_at > now - timedelta(seconds=timeouts[incident.site_path]):
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
    from api.notify.escalation import run_due, start_unstarted

    start_unstarted()
    return len(run_due())


@job("notify", timeout=60)
def receipt_tick():
    return len(receipt_sweep())


@job("default", timeout=60)
def delivery_audit():
    return audit()
