"""Patrol plans, checkpoints and records: the tables."""

from sqlalchemy import Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db


class PatrolPlan(db.Model):
    __tablename__ = "patrol_plans"
    __table_args__ = (
        Index("ix_patrol_plans_place_path", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), unique=True)  # the phone's UUID: a replayed create finds it
    request_hash = db.Column(db.String(64))  # of the creating body, to tell a replay from a clash
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), nullable=False, index=True)
    place_path = db.Column(db.String(255), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    # {"kind": "daily", "start": "08:00", "end": "10:00"} | {"kind": "weekly", "weekdays": [1, 4], "start", "end"}
    # | {"kind": "custom", "every_hours": 4}; times are local (DEFAULT_TIMEZONE)
    frequency = db.Column(db.JSON, nullable=False)
    assignee_roles = db.Column(db.JSON, nullable=False, default=list)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    checkpoints = db.relationship("Checkpoint", lazy="selectin", order_by="Checkpoint.position",
                                  back_populates="plan", cascade="all, delete-orphan")
    assignees = db.relationship("PatrolAssignee", lazy="selectin", cascade="all, delete-orphan")
    place = db.relationship("Place", lazy="joined")


class PatrolAssignee(db.Model):
    """A person named on a plan (roles are kept on the plan itself)."""

    __tablename__ = "patrol_assignees"

    plan_id = db.Column(db.Integer, db.ForeignKey("patrol_plans.id", ondelete="CASCADE"), primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Checkpoint(db.Model):
    __tablename__ = "patrol_checkpoints"

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("patrol_plans.id", ondelete="CASCADE"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False)
    name = db.Column(db.String(200), nullable=False)
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="SET NULL"))  # for a community's plan
    lat = db.Column(db.Float, nullable=False)
    lng = db.Column(db.Float, nullable=False)
    radius_m = db.Column(db.Float, nullable=False, default=30.0)
    instructions = db.Column(db.Text)
    items = db.Column(db.JSON, nullable=False, default=list)  # [{key, label, label_en, kind}]
    # A checkpoint dropped from its plan is kept (records point at it) but no longer due.
    active = db.Column(db.Boolean, nullable=False, default=True)

    plan = db.relationship("PatrolPlan", back_populates="checkpoints")


class PatrolRecord(db.Model):
    """One scan of one checkpoint, keyed by the phone's UUID."""

    __tablename__ = "patrol_records"
    __table_args__ = (
        Index("ix_patrol_records_plan_period", "plan_id", "period_start"),
        Index("ix_patrol_records_user_at", "user_id", "at"),
        Index("ix_patrol_records_place_path", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
    )

    id = db.Column(db.String(36), primary_key=True)
    request_hash = db.Column(db.String(64), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    plan_id = db.Column(db.Integer, db.ForeignKey("patrol_plans.id", ondelete="CASCADE"), nullable=False)
    checkpoint_id = db.Column(db.Integer, db.ForeignKey("patrol_checkpoints.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    place_path = db.Column(db.String(255), nullable=False)  # the plan's place
    scanned = db.Column(db.Boolean, nullable=False, default=False)  # a valid label code came with it
    at = db.Column(UTCDateTime, nullable=False)  # the phone's time (a future one clamped to the server's)
    period_start = db.Column(UTCDateTime)  # the plan's period `at` falls in; None outside every period
    period_label = db.Column(db.String(20))  # that period as shown: "2026-12-01" (local)
    lat = db.Column(db.Float)
    lng = db.Column(db.Float)
    accuracy_m = db.Column(db.Float)
    distance_m = db.Column(db.Float)
    far_from_checkpoint = db.Column(db.Boolean, nullable=False, default=False)
    items = db.Column(db.JSON, nullable=False, default=list)  # [{key, result, note, photo_ids}]
    note = db.Column(db.Text)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    checkpoint = db.relationship("Checkpoint", lazy="joined")
    hazards = db.relationship("PatrolItemHazard", lazy="selectin", cascade="all, delete-orphan")


class PatrolItemHazard(db.Model):
    """A failed item turned into a hazard: one per (record, item)."""

    __tablename__ = "patrol_item_hazards"
    __table_args__ = (UniqueConstraint("record_id", "item_key"),)

    id = db.Column(db.Integer, primary_key=True)
    record_id = db.Column(db.String(36), db.ForeignKey("patrol_records.id", ondelete="CASCADE"), nullable=False)
    item_key = db.Column(db.String(64), nullable=False)
    hazard_id = db.Column(db.Integer, db.ForeignKey("hazards.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
