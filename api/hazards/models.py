"""Checklist templates, inspections (监督检查) and hazards with their rectification (隐患整改): the tables.

A hazard belongs to a site (`site_path` for scope). Its state moves open → submitted
(rectification sent) → closed (accepted) or back to open (rejected); every step is a
row of `hazard_events`, so the whole history of a hazard, and of a site, is kept.
Records made on a phone carry the phone's UUID in `client_id` (unique) and a
fingerprint of the body, so an offline replay is stored once and a reused id with
another body is refused.
"""

from sqlalchemy import CheckConstraint, Index

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

TEMPLATE_KINDS = ("inspection", "patrol")
ITEM_KINDS = ("pass_fail", "note", "photo")
RESULTS = ("pass", "fail", "na")
SEVERITIES = ("minor", "major", "critical")
STATES = ("open", "submitted", "closed")
SOURCES = ("inspection", "patrol", "report")
EVENT_KINDS = ("created", "submitted", "rejected", "accepted")
OPEN_OR_SUBMITTED = db.text("state <> 'closed'")


class ChecklistTemplate(db.Model):
    """What to check: items [{key, label, label_en, kind}]. Shared by inspections and
    patrol checkpoints (kind tells which). `code` names the seeded reference ones."""

    __tablename__ = "checklist_templates"
    __table_args__ = (CheckConstraint("kind IN ('inspection','patrol')", name="kind"),)

    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(64), unique=True)  # "default_inspection" for the seeded one
    kind = db.Column(db.String(16), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    name_en = db.Column(db.String(200))
    items = db.Column(db.JSON, nullable=False)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Inspection(db.Model):
    """A supervisor's visit to a site: one result per checklist item."""

    __tablename__ = "inspections"
    __table_args__ = (
        Index("ix_inspections_site_path", "site_path", postgresql_ops={"site_path": "text_pattern_ops"}),
        Index("ix_inspections_site_id_at", "site_id", "at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), nullable=False, unique=True)  # the phone's UUID
    fingerprint = db.Column(db.String(64), nullable=False)  # of the body: same id, other body → 409
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"), nullable=False)
    site_path = db.Column(db.String(255), nullable=False)
    template_id = db.Column(db.Integer, db.ForeignKey("checklist_templates.id", ondelete="SET NULL"))
    inspector_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    at = db.Column(UTCDateTime, nullable=False)  # on the phone; offline records arrive late
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    lat = db.Column(db.Float)  # WGS-84
    lng = db.Column(db.Float)
    accuracy_m = db.Column(db.Float)
    note = db.Column(db.String(1000))
    # [{key, label, label_en, kind, result, note, photo_ids, hazard_id}], in the template's order
    items = db.Column(db.JSON, nullable=False)

    site = db.relationship("Place", lazy="joined")
    template = db.relationship("ChecklistTemplate", lazy="joined")
    inspector = db.relationship("User", lazy="joined", foreign_keys=[inspector_id])


class Hazard(db.Model):
    __tablename__ = "hazards"
    __table_args__ = (
        CheckConstraint("state IN ('open','submitted','closed')", name="state"),
        CheckConstraint("severity IN ('minor','major','critical')", name="severity"),
        CheckConstraint("source_type IN ('inspection','patrol','report')", name="source_type"),
        Index("ix_hazards_site_path", "site_path", postgresql_ops={"site_path": "text_pattern_ops"}),
        Index("ix_hazards_site_id_state", "site_id", "state"),
        # the overdue sweep and the supervisor's home screen: not closed, by deadline
        Index("ix_hazards_deadline_unclosed", "deadline", postgresql_where=OPEN_OR_SUBMITTED,
              sqlite_where=OPEN_OR_SUBMITTED),
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), unique=True)  # the phone's UUID; none for one made by an inspection
    fingerprint = db.Column(db.String(64))
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"), nullable=False)
    site_path = db.Column(db.String(255), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    description = db.Column(db.String(2000))
    severity = db.Column(db.String(10), nullable=False)
    state = db.Column(db.String(10), nullable=False, default="open")
    photo_ids = db.Column(db.JSON, nullable=False, default=list)  # as found
    source_type = db.Column(db.String(16), nullable=False, default="report")
    source_id = db.Column(db.String(64))  # inspection id, patrol record id…
    item_key = db.Column(db.String(64))  # the checklist item that failed
    inspection_id = db.Column(db.Integer, db.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))  # the finder
    responsible_user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    deadline = db.Column(UTCDateTime, nullable=False)
    at = db.Column(UTCDateTime, nullable=False)  # found, on the phone
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    submitted_at = db.Column(UTCDateTime)
    closed_at = db.Column(UTCDateTime)
    closed_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))

    site = db.relationship("Place", lazy="joined")
    responsible = db.relationship("User", lazy="joined", foreign_keys=[responsible_user_id])
    creator = db.relationship("User", lazy="joined", foreign_keys=[created_by])


class HazardEvent(db.Model):
    """One step of a hazard's history: created, rectification submitted, rejected, accepted."""

    __tablename__ = "hazard_events"
    __table_args__ = (
        CheckConstraint("kind IN ('created','submitted','rejected','accepted')", name="kind"),
        Index("ix_hazard_events_hazard_id_id", "hazard_id", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    hazard_id = db.Column(db.Integer, db.ForeignKey("hazards.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(16), nullable=False)
    client_id = db.Column(db.String(36), unique=True)  # a rectification's UUID from the phone
    fingerprint = db.Column(db.String(64))
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)  # server time
    client_at = db.Column(UTCDateTime)  # phone time, when it was sent from one
    note = db.Column(db.String(1000))
    photo_ids = db.Column(db.JSON, nullable=False, default=list)
    data = db.Column(db.JSON)  # e.g. {"deadline": {"from": …, "to": …}}

    actor = db.relationship("User", lazy="joined")
