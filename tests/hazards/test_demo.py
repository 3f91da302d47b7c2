"""The demo's field work: one inspection, two hazards for the property staff, one overdue."""

from api.extensions import db
from api.hazards.demo import seed_hazards
from api.people.models import User
from api.places.models import Place


def test_demo_inspection_has_two_hazards_one_overdue(app, client, w):
    with app.app_context():
        site = db.session.get(Place, w["A"]["site"])
        sup, staff = (db.session.get(User, w["people"][r]) for r in ("supervisor", "responsible"))
        assert seed_hazards(site, sup, staff) is not None
        db.session.commit()
        assert seed_hazards(site, sup, staff) is None  # once
    overdue = client.get("/api/v1/hazards?overdue=true", headers=w["h"]["supervisor"]).get_json()["items"]
    assert [h["severity"] for h in overdue] == ["critical"]
    [insp] = client.get("/api/v1/inspections", headers=w["h"]["supervisor"]).get_json()["items"]
    assert insp["failed"] == 2
    mine = client.get("/api/v1/hazards?mine=true", headers=w["h"]["responsible"]).get_json()["items"]
    assert len(mine) == 2 and all(h["inspection_id"] == insp["id"] for h in mine)
