from sqlalchemy import func, select

from api.demo.seed import ACCOUNTS
from api.devices.models import Device, DeviceType
from api.extensions import db
from api.people.models import ROLES, Membership, User
from api.people.phones import normalise_phone
from api.places.models import SITE_CATEGORIES, Organisation, Place


def _seed(runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    return result.output


def _counts():
    places = dict(db.session.execute(select(Place.kind, func.count()).group_by(Place.kind)).all())
    devices = dict(db.session.execute(select(Device.type_code, func.count()).group_by(Device.type_code)).all())
    return places, devices, db.session.scalar(select(func.count(User.id)))


def test_seed_prints_the_demo_accounts(runner):
    output = _seed(runner)
    assert "demo data loaded" in output
    for role, phone, password in ACCOUNTS:
        assert phone in output and password in output and role in output


def test_seed_builds_the_whole_city(runner, ctx):
    _seed(runner)
    places, devices, _ = _counts()
    assert places == {"city": 1, "district": 1, "street": 2, "community": 3, "grid": 6, "site": 40, "household": 1200}
    assert devices["hydrant_monitor"] == 60
    assert 1900 <= sum(devices.values()) <= 2100
    assert set(devices) == set(db.session.scalars(select(DeviceType.code)))
    categories = set(db.session.scalars(select(Place.category).where(Place.kind == "site")))
    assert categories == set(SITE_CATEGORIES)
    floors = db.session.scalars(select(Place.floors).where(Place.category == "high_rise_residential")).all()
    assert len(floors) >= 3 and all(18 <= f <= 33 for f in floors)
    kinds = set(db.session.scalars(select(Organisation.kind)))
    assert kinds == {"property_company", "micro_station", "maintenance_company", "industry_department"}
    roles = set(db.session.scalars(select(Membership.role)))
    assert roles == set(ROLES)
    for _, phone, _ in ACCOUNTS:
        assert db.session.scalar(select(User).where(User.phone == normalise_phone(phone))) is not None


def test_every_place_and_device_path_follows_the_tree(runner, ctx):
    _seed(runner)
    places = {p.id: p for p in db.session.scalars(select(Place))}
    for p in places.values():
        expected = (places[p.parent_id].path if p.parent_id else "/") + f"{p.id}/"
        assert p.path == expected, p.code
    paths = db.session.execute(select(Device.place_path, Device.place_id)).all()
    assert all(path == places[place_id].path for path, place_id in paths)
    hydrants = db.session.execute(select(Device.lat, Device.lng).where(Device.type_code == "hydrant_monitor")).all()
    assert len(set(hydrants)) == 60 and all(lat and lng for lat, lng in hydrants)


def test_second_seed_creates_nothing(runner, ctx):
    _seed(runner)
    before = _counts()
    output = _seed(runner)
    assert "demo data already present" in output
    db.session.expire_all()
    assert _counts() == before


def test_demo_account_can_log_in(runner, client):
    _seed(runner)
    _, phone, password = ACCOUNTS[0]
    response = client.post("/api/v1/auth/login", json={"phone": phone, "password": password})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["access_token"]
