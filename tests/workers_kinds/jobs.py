"""Jobs for tests/workers_kinds: importable by name, as RQ needs."""

from workers.queues import job


@job("notify", timeout=30)
def leave_a_mess():
    """Add a row and fail before committing: what a job's bug leaves in its session."""
    from api.extensions import db
    from api.places.models import Place

    db.session.add(Place(kind="city", name="never committed"))
    raise RuntimeError("a job's bug")


@job("notify", timeout=30)
def look_at_the_session():
    """What this job finds in its session: objects a job before it left pending."""
    from api.extensions import db

    return {"pending": len(db.session.new), "in_transaction": db.session().in_transaction()}
