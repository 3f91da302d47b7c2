"""Photos: upload, re-encode, thumbnails: the tables.

A photo's id is the phone's own UUID (or one made here), so an upload replayed
from the PWA outbox finds its first row. The files live in a PhotoStorage, named
by the SHA-256 of their re-encoded bytes.
"""

from api.common.clock import utcnow
from api.common.types import UTCDateTime
from api.extensions import db


class Photo(db.Model):
    __tablename__ = "photos"

    id = db.Column(db.String(36), primary_key=True)  # UUID, lower case with dashes
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    upload_sha256 = db.Column(db.String(64), nullable=False)  # of the bytes sent: tells a replay from a reuse
    source_format = db.Column(db.String(10), nullable=False)  # JPEG, PNG, WEBP as sniffed by Pillow
    source_bytes = db.Column(db.Integer, nullable=False)
    sha256 = db.Column(db.String(64), nullable=False, index=True)  # storage key of the re-encoded JPEG
    thumb_sha256 = db.Column(db.String(64), nullable=False)
    width = db.Column(db.Integer, nullable=False)
    height = db.Column(db.Integer, nullable=False)
    bytes = db.Column(db.Integer, nullable=False)
    thumb_width = db.Column(db.Integer, nullable=False)
    thumb_height = db.Column(db.Integer, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
