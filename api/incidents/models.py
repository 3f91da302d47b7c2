"""Incidents (the human case at one site), their timeline, and 119 forwards."""

from sqlalchemy import CheckConstraint, Index

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

STATES = ("open", "acknowledged", "on_scene", "closed")
OUTCOMES = ("real_fire", "false_alarm", "test", "unknown")
FALSE_ALARM_REASONS = ("cooking", "steam", "smoking", "dust", "insects", "device_fault", "other")
OPEN = db.text("closed_at IS NULL")


class Incident(db.Model):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("state IN ('open','acknowledged','on_scene','closed')", name="state"),
        CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        # One open incident per site: a second alarm joins it.
        Index("uq_incidents_open_site", "site_id", unique=True, postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_incidents_site_path", "site_path", postgresql_ops={"site_path": "text_pattern_ops"}),
        Index("ix_incidents_state_level", "state", "level"),
        Index("ix_incidents_opened_at", "opened_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"), nullable=False)
    site_path = db.Column(db.String(255), nullable=False)
    level = db.Column(db.Integer, nullable=False)
    state = db.Column(db.String(16), nullable=False, default="open")
    correlated = db.Column(db.Boolean, nullable=False, default=False)
    opened_at = db.Column(UTCDateTime, nullable=False)
    acknowledged_at = db.Column(UTCDateTime)
    acknowledged_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at = db.Column(UTCDateTime)  # a person confirmed a real fire
    confirmed_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    on_scene_at = db.Column(UTCDateTime)
    on_scene_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    closed_at = db.Column(UTCDateTime)
    closed_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    outcome = db.Column(db.String(16))
    false_alarm_reason = db.Column(db.String(16))
    note = db.Column(db.String(500))
    # escalation: the token pending steps must match, and operators' flag
    escalation_token = db.Column(db.String(32))
    flagged_at = db.Column(UTCDateTime)
    # response times, seconds from opening
    seconds_to_acknowledge = db.Column(db.Integer)
    seconds_to_scene = db.Column(db.Integer)
    seconds_to_close = db.Column(db.Integer)

    site = db.relationship("Place", lazy="joined")
    alerts = db.relationship("Alert", lazy="selectin", order_by="Alert.id")


class TimelineEntry(db.Model):
    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "at", "id"),)

    id = db.Column(db.Integer, primary_key=True)
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    kind = db.Column(db.String(32), nullable=False)  # device_event | rule | action | notification | forward
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    message = db.Column(db.String(500), nullable=False)
    data = db.Column(db.JSON)


class FireForward(db.Model):
    """A confirmed fire forwarded to the 119 command centre: a row before a job."""

    __tablename__ = "fire_forwards"
    __table_args__ = (CheckConstraint("state IN ('pending','sending','sent','failed')", name="state"),)

    id = db.Column(db.Integer, primary_key=True)
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, unique=True)
    state = db.Column(db.String(8), nullable=False, default="pending")
    attempts = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = db.Column(UTCDateTime)
    sent_at = db.Column(UTCDateTime)
    response_status = db.Column(db.Integer)
    last_error = db.Column(db.String(300))
