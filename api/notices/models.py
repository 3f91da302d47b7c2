"""A notice is told once: its key is unique, so a sweep that runs twice, or two
schedulers, raise it once."""

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db


class Notice(db.Model):
    __tablename__ = "notices"

    id = db.Column(db.Integer, primary_key=True)
    # patrol_overdue, patrol_missed, hazard_assigned, hazard_overdue, rectification_submitted,
    # rectification_rejected, work_order_assigned, work_order_overdue, report_fixed, …
    kind = db.Column(db.String(32), nullable=False)
    key = db.Column(db.String(200), nullable=False, unique=True)  # e.g. "patrol_overdue:plan:5:2026-12-01"
    level = db.Column(db.Integer)  # 3 or 4 for a warning (DOMAIN.md's levels); None for plain news
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="SET NULL"))
    place_path = db.Column(db.String(255), index=True)
    subject_type = db.Column(db.String(32))  # patrol_plan, hazard, work_order, hydrant_report…
    subject_id = db.Column(db.String(64))
    text = db.Column(db.String(300), nullable=False)  # Chinese
    text_en = db.Column(db.String(300), nullable=False)
    link = db.Column(db.String(200))  # a PWA route, e.g. "#/hazards/12"
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    closed_at = db.Column(UTCDateTime)  # the condition is over (the patrol done, the hazard fixed)

    recipients = db.relationship("NoticeRecipient", lazy="selectin", cascade="all, delete-orphan")

    __table_args__ = (db.Index("ix_notices_subject", "subject_type", "subject_id"),)


class NoticeRecipient(db.Model):
    __tablename__ = "notice_recipients"

    notice_id = db.Column(db.Integer, db.ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    read_at = db.Column(UTCDateTime)
