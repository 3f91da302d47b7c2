"""Photo rows for other tests, without going through the upload."""

import uuid

from api.extensions import db
from api.photos import services
from tests.photos import images


def photo(user, data=None):
    """A stored photo uploaded by `user` (the real re-encode and storage, no HTTP)."""
    import io

    p, _ = services.upload_photo(user, io.BytesIO(data or images.jpeg()), str(uuid.uuid4()))
    db.session.refresh(p)
    return p
