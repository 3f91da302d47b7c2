"""Device types (reference data), the installation standard, and the registry."""

from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

DEVICE_STATUSES = ("active", "inactive", "fault", "removed")

# Equipment columns of the Ji'an installation-standard table and the device
# types that fulfil each.
EQUIPMENT = {
    "uitd": ("uitd",),
    "water_monitor": ("water_monitor",),
    "control_room_video": ("video_camera",),
    "evacuation_video": ("video_camera",),
    "detector": ("smoke_detector", "gas_detector"),
    "electrical_monitor": ("electrical_monitor",),
    "hydrant_monitor": ("hydrant_monitor",),
}
REQUIREMENTS = ("M", "O", "-")


class DeviceType(db.Model):
    __tablename__ = "device_types"

    code = db.Column(db.String(32), primary_key=True)
    name_zh = db.Column(db.String(100), nullable=False)
    name_en = db.Column(db.String(100), nullable=False)
    heartbeat_seconds = db.Column(db.Integer, nullable=False)
    battery_powered = db.Column(db.Boolean, nullable=False, default=False)


class InstallationRequirement(db.Model):
    """One cell of the installation-standard table: must (M), may (O), n/a (-)."""

    __tablename__ = "installation_requirements"
    __table_args__ = (
        UniqueConstraint("category", "equipment"),
        CheckConstraint("requirement IN ('M','O','-')", name="requirement"),
    )

    id = db.Column(db.Integer, primary_key=True)
    category = db.Column(db.String(32), nullable=False)
    equipment = db.Column(db.String(32), nullable=False)
    requirement = db.Column(db.String(1), nullable=False)


class Device(db.Model):
    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint("status IN ('active','inactive','fault','removed')", name="status"),
        Index("ix_devices_place_path_prefix", "place_path", postgresql_ops={"place_path": "text_pattern_ops"}),
        # The offline sweep reads only devices still online: a range scan per type.
        Index("ix_devices_online_type_last_seen", "type_code", "last_seen_at",
              postgresql_where=db.text("offline_since IS NULL AND last_seen_at IS NOT NULL AND status = 'active'"),
              sqlite_where=db.text("offline_since IS NULL AND last_seen_at IS NOT NULL AND status = 'active'")),
    )

    id = db.Column(db.Integer, primary_key=True)
    serial = db.Column(db.String(64), nullable=False, unique=True)
    imei = db.Column(db.String(20), unique=True)
    type_code = db.Column(db.String(32), db.ForeignKey("device_types.code"), nullable=False)
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="RESTRICT"), nullable=False, index=True)
    # Copy of the place's path, so scope filters on 300,000 devices need no join.
    place_path = db.Column(db.String(255), nullable=False)
    location_text = db.Column(db.String(200))
    lat = db.Column(db.Float)
    lng = db.Column(db.Float)
    installed_at = db.Column(UTCDateTime)
    status = db.Column(db.String(16), nullable=False, default="active")
    last_seen_at = db.Column(UTCDateTime)
    offline_since = db.Column(UTCDateTime)
    # The integration the device last spoke through: where commands go back.
    last_integration_id = db.Column(db.Integer, db.ForeignKey("integrations.id", ondelete="SET NULL"))
    battery_pct = db.Column(db.Integer)
    signal_dbm = db.Column(db.Integer)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    device_type = db.relationship("DeviceType", lazy="joined")
    place = db.relationship("Place", lazy="joined")
