"""Two phones acting on one incident at the same moment: the row lock makes
the second see the first, so the timeline records one acknowledgement."""

import threading

import pytest

from api.extensions import db
from tests import factories as f


def test_simultaneous_acknowledges_are_recorded_once(app, backend):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers differently")
    with app.app_context():
        t = f.city_tree("C")
        incident = f.incident(t["site"], t["household_device"])
        staff = f.user("property_staff", place=t["community"])
        grid = f.user("grid_worker", place=t["grid"])
        db.session.commit()
        incident_id, headers = incident.id, [f.bearer(staff), f.bearer(grid)]
    barrier, answers = threading.Barrier(2), []

    def ack(h):
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=h).status_code)

    threads = [threading.Thread(target=ack, args=(h,)) for h in headers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert answers == [200, 200]
    with app.app_context():
        from api.incidents.models import TimelineEntry

        acks = TimelineEntry.query.filter(TimelineEntry.incident_id == incident_id,
                                          TimelineEntry.message.contains("acknowledged")).count()
        assert acks == 1
