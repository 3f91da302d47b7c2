"""People, the roles they hold in scopes, and one-time login codes."""

from sqlalchemy import CheckConstraint, Index, UniqueConstraint

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db

ROLES = (
    "resident",
    "property_staff",
    "grid_worker",
    "station_member",
    "supervisor",
    "maintainer",
    "operator",
    "admin",
)


class User(db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    phone = db.Column(db.String(20), nullable=False, unique=True)  # E.164, +86…
    name = db.Column(db.String(100), nullable=False)
    password_hash = db.Column(db.String(200))
    is_active = db.Column(db.Boolean, nullable=False, default=True)
    locale = db.Column(db.String(10), nullable=False, default="zh-CN")
    wechat_openid = db.Column(db.String(64))  # WeChat Official Account follower id
    phone_invalid_at = db.Column(UTCDateTime)  # an SMS provider said the number is dead
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    memberships = db.relationship(
        "Membership", cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )


class Membership(db.Model):
    """One role held in one scope: a place of the tree or an organisation.
    An admin membership has neither: admins see everything."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("place_id IS NULL OR org_id IS NULL", name="one_scope"),
        CheckConstraint(
            "role IN ('resident','property_staff','grid_worker','station_member',"
            "'supervisor','maintainer','operator','admin')",
            name="role",
        ),
        UniqueConstraint("user_id", "role", "place_id", "org_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    role = db.Column(db.String(20), nullable=False)
    place_id = db.Column(db.Integer, db.ForeignKey("places.id", ondelete="CASCADE"), index=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    lead = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())  # property lead, station lead
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    user = db.relationship("User", back_populates="memberships")
    place = db.relationship("Place", lazy="joined")
    organisation = db.relationship("Organisation", lazy="joined")


class OtpCode(db.Model):
    __tablename__ = "otp_codes"
    __table_args__ = (Index("ix_otp_codes_phone_created", "phone", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    phone = db.Column(db.String(20), nullable=False)
    code_hash = db.Column(db.String(64), nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    consumed_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
