"""Rules as data: which device messages or readings raise which condition at which level."""

from sqlalchemy import CheckConstraint, Index

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db


class Rule(db.Model):
    """One version of one rule. Editing a rule writes a new version and retires
    the old one; the most specific active rule wins (site > site category > default)."""

    __tablename__ = "rules"
    __table_args__ = (
        CheckConstraint("source IN ('event','metric')", name="source"),
        CheckConstraint("comparison IS NULL OR comparison IN ('gte','lt')", name="comparison"),
        CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        Index("ix_rules_active_type", "active", "device_type"),
    )

    id = db.Column(db.Integer, primary_key=True)
    rule_key = db.Column(db.String(64), nullable=False)  # stable name across versions and overrides
    version = db.Column(db.Integer, nullable=False, default=1)
    active = db.Column(db.Boolean, nullable=False, default=True)
    device_type = db.Column(db.String(32), db.ForeignKey("device_types.code"), nullable=False)
    condition = db.Column(db.String(64), nullable=False)
    source = db.Column(db.String(8), nullable=False)
    raise_on = db.Column(db.JSON)  # event kinds that raise the condition
    clear_on = db.Column(db.JSON)  # event kinds that clear it
    metric = db.Column(db.String(32))
    comparison = db.Column(db.String(3))  # gte: value >= threshold breaches; lt: value < threshold
    threshold = db.Column(db.Float)
    clear_threshold = db.Column(db.Float)  # hysteresis: clears only past this value
    duration_s = db.Column(db.Integer, nullable=False, default=0)  # must hold this long
    level = db.Column(db.Integer, nullable=False)
    opens_incident = db.Column(db.Boolean, nullable=False, default=False)
    site_category = db.Column(db.String(32))
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    retired_at = db.Column(UTCDateTime)


class ConditionState(db.Model):
    """Where a measured condition stands on one device: pending (over the
    threshold, not yet long enough), active, or quiet."""

    __tablename__ = "condition_states"
    __table_args__ = (db.UniqueConstraint("device_id", "condition"),)

    id = db.Column(db.Integer, primary_key=True)
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False)
    condition = db.Column(db.String(64), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=False)
    pending_since = db.Column(UTCDateTime)
    last_value = db.Column(db.Float)
    last_at = db.Column(UTCDateTime)  # time of the newest message applied: older ones don't move the state
