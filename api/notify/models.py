"""Who is told what, on which channel, and what became of each attempt."""

import secrets

from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

CHANNELS = ("push", "sms", "wechat", "voice", "wecom", "flag")
DELIVERY_STATES = ("pending", "sending", "sent", "delivered", "failed")


def new_token():
    return secrets.token_urlsafe(18)


class PushSubscription(db.Model):
    __tablename__ = "push_subscriptions"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    endpoint = db.Column(db.String(1000), nullable=False, unique=True)
    p256dh = db.Column(db.String(200), nullable=False)
    auth = db.Column(db.String(100), nullable=False)
    user_agent = db.Column(db.String(300))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_sent_at = db.Column(UTCDateTime)
    last_receipt_at = db.Column(UTCDateTime)


class GroupChannel(db.Model):
    """A community's group channel, e.g. its WeCom group robot."""

    __tablename__ = "group_channels"

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False, default="wecom")
    url = db.Column(db.String(500), nullable=False)
    disabled_at = db.Column(UTCDateTime)


class EscalationPolicy(db.Model):
    """Steps as data: per community, or the default (place_id NULL)."""

    __tablename__ = "escalation_policies"

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), unique=True)
    name = db.Column(db.String(100), nullable=False)
    steps = db.Column(db.JSON, nullable=False)
    receipt_timeout_s = db.Column(db.Integer, nullable=False, default=20)
    on_scene_timeout_s = db.Column(db.Integer, nullable=False, default=900)


class EscalationStep(db.Model):
    """A pending escalation timer: survives restarts, runs only while the
    incident still carries its token."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        CheckConstraint("state IN ('pending','running','done','skipped')", name="state"),
        Index("ix_escalation_steps_due", "due_at", postgresql_where=db.text("state = 'pending'"),
              sqlite_where=db.text("state = 'pending'")),
        UniqueConstraint("incident_id", "token", "step_no"),
    )

    id = db.Column(db.Integer, primary_key=True)
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False)
    step_no = db.Column(db.Integer, nullable=False)
    token = db.Column(db.String(32), nullable=False)
    reason = db.Column(db.String(16), nullable=False, default="alarm")  # alarm | reescalate
    due_at = db.Column(UTCDateTime, nullable=False)
    state = db.Column(db.String(8), nullable=False, default="pending")
    ran_at = db.Column(UTCDateTime)


class Notification(db.Model):
    """One message meant for one person (or group) on one channel and address.
    Unique, so a step run twice or a retried job never tells anyone twice."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "channel", "address"),
                      UniqueConstraint("notice_id", "channel", "address"))

    id = db.Column(db.Integer, primary_key=True)
    # None for a test alarm a person sends themself from the PWA's settings
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    # set for a notice (api/notices): a patrol overdue, a hazard past its deadline…
    notice_id = db.Column(db.Integer, db.ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind = db.Column(db.String(16), nullable=False)  # alarm | fire | all_clear | test | notice
    channel = db.Column(db.String(8), nullable=False)
    address = db.Column(db.String(1000), nullable=False)  # endpoint, phone, openid, webhook
    step_no = db.Column(db.Integer)
    tier = db.Column(db.String(32))
    text = db.Column(db.String(500), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    deliveries = db.relationship("Delivery", lazy="selectin", order_by="Delivery.id", back_populates="notification")


class Delivery(db.Model):
    """One attempt: pending → sending → sent → delivered / failed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending','sending','sent','delivered','failed')", name="state"),
        Index("ix_deliveries_pending", "created_at", postgresql_where=db.text("state IN ('pending','sending')"),
              sqlite_where=db.text("state IN ('pending','sending')")),
    )

    id = db.Column(db.Integer, primary_key=True)
    notification_id = db.Column(db.Integer, db.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False,
                                index=True)
    attempt = db.Column(db.Integer, nullable=False, default=1)
    state = db.Column(db.String(10), nullable=False, default="pending")
    token = db.Column(db.String(32), nullable=False, unique=True, default=new_token)  # receipts and callbacks
    provider_id = db.Column(db.String(200), index=True)
    error = db.Column(db.String(300))
    permanent = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = db.Column(UTCDateTime)
    sent_at = db.Column(UTCDateTime)
    delivered_at = db.Column(UTCDateTime)
    next_attempt_at = db.Column(UTCDateTime)
    fallback_done = db.Column(db.Boolean, nullable=False, default=False)

    notification = db.relationship("Notification", back_populates="deliveries")
