"""`Idempotency-Key`: a phone that sends the same action three times gets the
first answer three times, and the action happens once.

Successful answers are kept per (user, key) for a day. A key reused for a
different request is refused rather than answered with the wrong thing.
"""

import functools
import hashlib
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.errors import AppError
from api.extensions import db

KEEP = timedelta(days=1)


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key = db.Column(db.String(100), nullable=False)
    fingerprint = db.Column(db.String(64), nullable=False)
    status = db.Column(db.Integer, nullable=False)
    body = db.Column(db.Text, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


def _fingerprint():
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotent(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        user = getattr(g, "current_user", None)
        if not key or user is None:
            return view(*args, **kwargs)
        if len(key) > 100 or not key.isprintable():  # control characters (NUL) cannot be stored
            raise AppError("validation_error", status=422,
                           errors={"Idempotency-Key": ["at most 100 printable characters"]})
        fingerprint = _fingerprint()
        seen = IdempotencyRecord.query.filter_by(user_id=user.id, key=key).one_or_none()
        if seen is not None and seen.created_at > utcnow() - KEEP:
            if seen.fingerprint != fingerprint:
                raise AppError("idempotency_key_reused", status=422,
                               message=("该幂等键已用于另一个请求", "this Idempotency-Key was used for another request"),
                               errors={"Idempotency-Key": ["used for a different request"]})
            resp = current_app.response_class(seen.body, status=seen.status, mimetype="application/json")
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        resp = view(*args, **kwargs)
        if 200 <= resp.status_code < 300:
            try:
                with db.session.begin_nested():
                    if seen is not None:
                        db.session.delete(seen)
                        db.session.flush()
                    db.session.add(IdempotencyRecord(user_id=user.id, key=key, fingerprint=fingerprint,
                                                     status=resp.status_code, body=resp.get_data(as_text=True)))
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # a parallel retry stored it first; both answers are the same action
        return resp

    return wrapper


def purge_old(now=None):
    cutoff = (now or utcnow()) - KEEP
    n = IdempotencyRecord.query.filter(IdempotencyRecord.created_at < cutoff).delete(synchronize_session=False)
    db.session.commit()
    return n


