"""Forwarding a confirmed fire to the 119 command centre (GB 50440: within 3 s).

The forward is a FireForward row before it is a job. The job claims the row
with a conditional update, posts a signed JSON to the configured webhook, and
records each attempt on the incident's timeline. A failed attempt goes back
to pending; the auditor re-queues pending forwards every few seconds, so a
lost Redis or a killed worker delays a forward but never loses or doubles it.
"""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import or_, update

from api.common.clock import utcnow
from api.extensions import db
from api.incidents.models import FireForward, Incident
from api.incidents.services import note
from workers.queues import job

log = logging.getLogger("forward119")
MAX_ATTEMPTS = 20
CLAIM_TIMEOUT = timedelta(seconds=60)
_session = None


def _http():
    global _session
    if _session is None:
        _session = requests.Session()
    return _session


def sign(secret, timestamp, body):
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def queue_forward(forward_id):
    """Queue the job after the row is committed. If Redis is away the auditor queues it later."""
    try:
        send_fire_forward.enqueue(forward_id, job_id=f"fire119-{forward_id}")
    except Exception:  # the row is the truth; requeue_fire_forwards picks it up
        log.exception("could not queue 119 forward %s now; the auditor will", forward_id)


def payload(incident):
    site = incident.site
    return {
        "incident_id": incident.id,
        "level": incident.level,
        "confirmed_at": incident.confirmed_at.isoformat() if incident.confirmed_at else None,
        "opened_at": incident.opened_at.isoformat(),
        "site": {"id": site.id, "name": site.name, "address": site.address, "category": site.category,
                 "lat": site.lat, "lng": site.lng, "floors": site.floors},
        "alerts": [{"device": a.device.serial, "type": a.device.type_code, "location": a.device.location_text,
                    "condition": a.condition, "first_at": a.first_at.isoformat()} for a in incident.alerts],
    }


def _claim(forward_id, now):
    stmt = (update(FireForward)
            .where(FireForward.id == forward_id,
                   or_(FireForward.state == "pending",
                       (FireForward.state == "sending") & (FireForward.claimed_at < now - CLAIM_TIMEOUT)))
            .values(state="sending", claimed_at=now, attempts=FireForward.attempts + 1))
    won = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return won


@job("alarms", timeout=30)
def send_fire_forward(forward_id):
    now = utcnow()
    if not _claim(forward_id, now):
        return "not claimed"
    forward = db.session.get(FireForward, forward_id)
    incident = db.session.get(Incident, forward.incident_id)
    url = current_app.config.get("FIRE_119_URL")
    error = None
    if not url:
        error = "FIRE_119_URL is not configured"
    else:
        body = json.dumps(payload(incident), ensure_ascii=False).encode()
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Timestamp": str(stamp),
                   "X-Signature": sign(current_app.config["FIRE_119_SECRET"], stamp, body),
                   "Idempotency-Key": f"incident-{incident.id}"}
        try:
            resp = _http().post(url, data=body, headers=headers, timeout=current_app.config["FIRE_119_TIMEOUT"])
            forward.response_status = resp.status_code
            if not 200 <= resp.status_code < 300:
                error = f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
    if error is None:
        forward.state, forward.sent_at, forward.last_error = "sent", utcnow(), None
        note(incident, "forward", "已推送至119指挥中心 · forwarded to 119", data={"attempt": forward.attempts})
    elif not url:
        # Nothing was sent, so this is no attempt: the forward waits, visibly, for the
        # URL instead of running out of attempts; the timeline says so once, not every pass.
        forward.attempts -= 1
        if forward.last_error != error:
            note(incident, "forward", f"未配置119推送地址，等待配置：{error} · 119 forward waiting", data={"error": error})
        forward.state, forward.last_error = "pending", error
    else:
        forward.last_error = error
        forward.state = "failed" if forward.attempts >= MAX_ATTEMPTS else "pending"
        note(incident, "forward", f"推送119失败（第{forward.attempts}次）：{error} · 119 forward failed",
             data={"attempt": forward.attempts, "error": error})
    db.session.commit()
    return forward.state


@job("default", timeout=60)
def requeue_fire_forwards():
    """The auditor: queue every forward still pending (or stuck sending)."""
    now = utcnow()
    ids = [i for (i,) in db.session.query(FireForward.id).filter(
        or_(FireForward.state == "pending",
            (FireForward.state == "sending") & (FireForward.claimed_at < now - CLAIM_TIMEOUT)))]
    for forward_id in ids:
        send_fire_forward.enqueue(forward_id, job_id=f"fire119-{forward_id}-{int(now.timestamp())}")
    return len(ids)
