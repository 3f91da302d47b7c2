"""Integrations (who may send device messages) and what they sent."""

from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

INTEGRATION_KINDS = ("generic", "onenet", "ctwing", "mqtt")

EVENT_KINDS = (
    # independent detectors
    "smoke_alarm", "gas_alarm", "alarm_cleared", "fault", "fault_cleared", "low_battery", "tamper",
    "self_test", "silenced", "heartbeat", "online", "offline",
    # measurements and electrical
    "telemetry", "power_cut_done",
    # video analytics
    "flame_seen", "exit_blocked", "control_room_unattended",
    # panels behind a transmission device (GB/T 26875)
    "fire", "supervisory", "disabled", "power_fault", "reset",
)
TELEMETRY_METRICS = (
    "residual_current_ma", "cable_temp_c", "current_a", "voltage_v", "pressure_mpa", "water_level_m",
    "gas_lel_pct", "battery_pct", "signal_dbm", "tilt_deg",
)


class Integration(db.Model):
    __tablename__ = "integrations"
    __table_args__ = (CheckConstraint("kind IN ('generic','onenet','ctwing','mqtt')", name="kind"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(16), nullable=False)
    name = db.Column(db.String(100), nullable=False)
    key_id = db.Column(db.String(32), nullable=False, unique=True)
    # Needed in clear to check HMACs and OneNET's MD5 token signature.
    secret = db.Column(db.String(128), nullable=False)
    mapping = db.Column(db.JSON, nullable=False, default=dict)
    mqtt_topic = db.Column(db.String(200))
    command_url = db.Column(db.String(300))  # where a vendor takes commands (signed like its messages)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # health
    last_message_at = db.Column(UTCDateTime)
    accepted_count = db.Column(db.BigInteger, nullable=False, default=0)
    duplicate_count = db.Column(db.BigInteger, nullable=False, default=0)
    rejected_count = db.Column(db.BigInteger, nullable=False, default=0)
    unregistered_count = db.Column(db.BigInteger, nullable=False, default=0)


class DeviceEvent(db.Model):
    """One device message, stored exactly once per (device, message id)."""

    __tablename__ = "device_events"
    __table_args__ = (
        UniqueConstraint("device_id", "message_id"),
        Index("ix_device_events_unprocessed", "received_at",
              postgresql_where=db.text("processed_at IS NULL"), sqlite_where=db.text("processed_at IS NULL")),
        Index("ix_device_events_device_occurred", "device_id", "occurred_at"),
    )

    id = db.Column(db.BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False)
    integration_id = db.Column(db.Integer, db.ForeignKey("integrations.id", ondelete="SET NULL"))
    message_id = db.Column(db.String(128), nullable=False)
    kind = db.Column(db.String(32), nullable=False)
    occurred_at = db.Column(UTCDateTime, nullable=False)
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    values = db.Column(db.JSON, nullable=False, default=dict)
    claimed_at = db.Column(UTCDateTime)
    processed_at = db.Column(UTCDateTime)
    outcome = db.Column(db.String(200))  # what the rules made of it


class UnregisteredDevice(db.Model):
    """The inbox of messages from devices nobody registered: one row per
    (integration, device reference), counted, with the last message kept."""

    __tablename__ = "unregistered_devices"
    __table_args__ = (UniqueConstraint("integration_id", "device_ref"),)

    id = db.Column(db.Integer, primary_key=True)
    integration_id = db.Column(db.Integer, db.ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False)
    device_ref = db.Column(db.String(128), nullable=False)
    first_seen_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    message_count = db.Column(db.Integer, nullable=False, default=1)
    last_message = db.Column(db.JSON)


class RejectedMessage(db.Model):
    """A malformed message, kept for the integration's health page."""

    __tablename__ = "rejected_messages"
    __table_args__ = (Index("ix_rejected_messages_integration_at", "integration_id", "received_at"),)

    id = db.Column(db.Integer, primary_key=True)
    integration_id = db.Column(db.Integer, db.ForeignKey("integrations.id", ondelete="CASCADE"))
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    reason = db.Column(db.String(300), nullable=False)
    excerpt = db.Column(db.Text)
