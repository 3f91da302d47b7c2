"""An alert is one condition on one device."""

from sqlalchemy import Index

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

OPEN = db.text("closed_at IS NULL")


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open alert per (device, condition): repeats update it.
        Index("uq_alerts_open_device_condition", "device_id", "condition", unique=True,
              postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_alerts_site_open", "site_id", postgresql_where=OPEN, sqlite_where=OPEN),
        Index("ix_alerts_site_path", "site_path", postgresql_ops={"site_path": "text_pattern_ops"}),
        Index("ix_alerts_device_path", "device_path", postgresql_ops={"device_path": "text_pattern_ops"}),
    )

    id = db.Column(db.Integer, primary_key=True)
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False)
    site_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), nullable=False)
    site_path = db.Column(db.String(255), nullable=False)
    # The device's place path: an alert is visible to whoever sees its device.
    device_path = db.Column(db.String(255), nullable=False)
    incident_id = db.Column(db.Integer, db.ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    rule_id = db.Column(db.Integer, db.ForeignKey("rules.id", ondelete="SET NULL"))
    condition = db.Column(db.String(64), nullable=False)
    level = db.Column(db.Integer, nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    first_at = db.Column(UTCDateTime, nullable=False)
    last_at = db.Column(UTCDateTime, nullable=False)
    raised_at = db.Column(UTCDateTime, nullable=False)  # when it last became active
    count = db.Column(db.Integer, nullable=False, default=1)
    last_value = db.Column(db.Float)
    cleared_at = db.Column(UTCDateTime)
    acknowledged_at = db.Column(UTCDateTime)
    acknowledged_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    closed_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    device = db.relationship("Device", lazy="joined")
