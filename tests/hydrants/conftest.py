import pytest

from api.extensions import db
from tests import factories as f
from tests.hydrants import factories as hf


class W:
    """City A with one person per role, its road site with a monitored hydrant; city B
    with its own hydrant, supervisor and maintainer."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            a, b = f.city_tree("HA"), f.city_tree("HB")
            people = f.people_for(a)
            self.device = f.device(a["site"], "hydrant_monitor").id
            self.spare_device = f.device(a["site"], "hydrant_monitor").id
            self.smoke_device = a["household_device"].id
            ha = hf.hydrant(a["site"], a["maintenance_company"], code="XHS-A1", device_id=self.device)
            hb = hf.hydrant(b["site"], b["maintenance_company"], code="XHS-B1", lat=28.5, lng=115.9)
            b_super = f.user("supervisor", place=b["district"])
            b_maint = f.user("maintainer", org=b["maintenance_company"])
            db.session.commit()
            self.A = {k: v.id for k, v in a.items() if hasattr(v, "id")}
            self.B = {k: v.id for k, v in b.items() if hasattr(v, "id")}
            self.ids = {role: u.id for role, u in people.items()}
            self.ids.update(b_supervisor=b_super.id, b_maintainer=b_maint.id)
            self.h = {role: f.bearer(u) for role, u in people.items()}
            self.h.update(b_supervisor=f.bearer(b_super), b_maintainer=f.bearer(b_maint))
            self.hydrant_a, self.hydrant_b = ha.id, hb.id

    def user(self, role):
        from api.people.models import User

        return db.session.get(User, self.ids[role])


@pytest.fixture
def w(app):
    return W(app)
