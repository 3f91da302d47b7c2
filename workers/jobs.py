"""Housekeeping jobs."""

from datetime import timedelta

from api.common.clock import utcnow
from api.extensions import db
from api.people.models import OtpCode
from workers.queues import job


@job("default", timeout=120)
def purge_login_codes():
    """Delete one-time codes that expired more than a day ago."""
    cutoff = utcnow() - timedelta(days=1)
    deleted = OtpCode.query.filter(OtpCode.expires_at < cutoff).delete(synchronize_session=False)
    db.session.commit()
    return deleted
