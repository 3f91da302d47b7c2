"""Hydrants, damage reports and work orders: the tables.

A hydrant stands in a place (a street, community, grid or site) and is seen by
whoever's scope covers that place, and by its maintenance company. Records made
on a phone carry the phone's UUID in `client_id`, so a replay finds its first row.
"""

from sqlalchemy import CheckConstraint, Index

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

HYDRANT_KINDS = ("underground", "above_ground")
OWNERSHIPS = ("municipal", "on_site")
HYDRANT_STATUSES = ("normal", "damaged", "out_of_service")
REPORT_CATEGORIES = ("leaking", "broken", "blocked", "cap_missing", "no_water", "illegal_use", "other")
WORK_ORDER_STATUSES = ("open", "accepted", "in_progress", "fixed", "rejected")
CLOSED_STATUSES = ("fixed", "rejected")


def _in(column, values):
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Hydrant(db.Model):
    __tablename__ = "hydrants"
    __table_args__ = (
        CheckConstraint(_in("kind", HYDRANT_KINDS), name="kind"),
        CheckConstraint(_in("ownership", OWNERSHIPS), name="ownership"),
        CheckConstraint(_in("status", HYDRANT_STATUSES), name="status"),
        Index("ix_hydrants_place_path", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
        # nearest-to-a-point: a bounding box on these two, then haversine on the few rows left
        Index("ix_hydrants_lat_lng", "lat", "lng"),
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), unique=True)
    fingerprint = db.Column(db.String(64))
    code = db.Column(db.String(64), nullable=False, unique=True)
    kind = db.Column(db.String(16), nullable=False)
    ownership = db.Column(db.String(16), nullable=False)
    lat = db.Column(db.Float, nullable=False)  # WGS-84
    lng = db.Column(db.Float, nullable=False)
    address = db.Column(db.String(300))
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"), nullable=False, index=True)
    place_path = db.Column(db.String(255), nullable=False)
    owner = db.Column(db.String(200))  # who owns it: the water company, the site's owner…
    maintainer_org_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    status = db.Column(db.String(16), nullable=False, default="normal")
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id", ondelete="SET NULL"), unique=True)
    note = db.Column(db.String(500))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    place = db.relationship("Place", lazy="joined")


class HydrantReport(db.Model):
    """Somebody saw a damaged hydrant. Each report gets one work order."""

    __tablename__ = "hydrant_reports"
    __table_args__ = (
        CheckConstraint(_in("category", REPORT_CATEGORIES), name="category"),
        Index("ix_hydrant_reports_place_path", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
    )

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), nullable=False, unique=True)
    fingerprint = db.Column(db.String(64), nullable=False)
    hydrant_id = db.Column(db.Integer, db.ForeignKey("hydrants.id", ondelete="SET NULL"), index=True)
    reporter_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    category = db.Column(db.String(16), nullable=False)
    note = db.Column(db.String(1000))
    photo_ids = db.Column(db.JSON, nullable=False, default=list)
    lat = db.Column(db.Float)
    lng = db.Column(db.Float)
    accuracy_m = db.Column(db.Float)
    place_path = db.Column(db.String(255))  # the hydrant's, when known
    at = db.Column(UTCDateTime, nullable=False)  # on the phone
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class WorkOrder(db.Model):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint(_in("status", WORK_ORDER_STATUSES), name="status"),
        Index("ix_work_orders_place_path", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
        # the overdue sweep reads only unclosed orders
        Index("ix_work_orders_deadline_unclosed", "deadline",
              postgresql_where=db.text("closed_at IS NULL"), sqlite_where=db.text("closed_at IS NULL")),
    )

    id = db.Column(db.Integer, primary_key=True)
    report_id = db.Column(db.Integer, db.ForeignKey("hydrant_reports.id", ondelete="CASCADE"), nullable=False,
                          unique=True)
    hydrant_id = db.Column(db.Integer, db.ForeignKey("hydrants.id", ondelete="SET NULL"), index=True)
    maintainer_org_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    place_path = db.Column(db.String(255))
    status = db.Column(db.String(16), nullable=False, default="open")
    deadline = db.Column(UTCDateTime, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    closed_at = db.Column(UTCDateTime)

    report = db.relationship("HydrantReport", lazy="joined")
    updates = db.relationship("WorkOrderUpdate", lazy="selectin", order_by="WorkOrderUpdate.id",
                              cascade="all, delete-orphan")


class WorkOrderUpdate(db.Model):
    __tablename__ = "work_order_updates"
    __table_args__ = (CheckConstraint(_in("status", WORK_ORDER_STATUSES[1:]), name="status"),)

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(36), nullable=False, unique=True)
    fingerprint = db.Column(db.String(64), nullable=False)
    work_order_id = db.Column(db.Integer, db.ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    status = db.Column(db.String(16), nullable=False)
    note = db.Column(db.String(1000))
    photo_ids = db.Column(db.JSON, nullable=False, default=list)
    at = db.Column(UTCDateTime)  # on the phone
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
