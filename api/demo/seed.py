"""The demo city: a Ji'an-like slice of 吉州区 with its people, organisations and devices.

`seed_demo()` loads it once and does nothing when the city (code "JA") is already there.
Every choice comes from random.Random(2026), so each run builds the same city. Places go
in level by level, since a path needs the parent's id; the 1,200 households and the
~2,000 devices go in as bulk inserts. Which devices a site gets follows the
installation standard as stored in the database, so an admin's edits show up here.
"""

import random
from datetime import timedelta

from sqlalchemy import String, cast, insert, select, update
from sqlalchemy.orm import aliased

from api.common.clock import utcnow
from api.devices.models import EQUIPMENT, Device, DeviceType, InstallationRequirement
from api.extensions import db
from api.people.auth import hash_password
from api.people.models import Membership, User
from api.people.phones import normalise_phone
from api.places.models import SITE_CATEGORIES, Organisation, OrgCoverage, Place

CITY_CODE = "JA"
CITY_CENTRE = (27.113, 114.985)  # 吉州区, 吉安市
DEMO_PASSWORD = "demo-1234"

# One account per role: (role, national phone, name).
PEOPLE = [
    ("resident", "13800000001", "王丽华"),
    ("property_staff", "13800000002", "刘建国"),
    ("grid_worker", "13800000003", "陈晓燕"),
    ("station_member", "13800000004", "李志强"),
    ("supervisor", "13800000005", "张卫东"),
    ("maintainer", "13800000006", "黄海波"),
    ("operator", "13800000007", "周敏"),
    ("admin", "13800000008", "系统管理员"),
]
ACCOUNTS = [(role, phone, DEMO_PASSWORD) for role, phone, _ in PEOPLE]

# Streets and their communities; each community has two grids.
STREETS = [("S1", "文山街道", ["螺湖社区", "文山社区"]), ("S2", "古南街道", ["白鹭社区"])]
GRID_NAMES = ("第一网格", "第二网格")

# (grid index 0-5, category, name, address on a road of 吉州区, floors). Roads hold hydrants.
SITES = [
    (0, "high_rise_residential", "阳明花园", "阳明路88号", 26),
    (0, "high_rise_residential", "螺湖湾小区", "井冈山大道102号", 31),
    (0, "low_rise_residential", "螺湖新村", "螺湖路15号", 6),
    (0, "automatic_facilities", "天虹商场", "井冈山大道66号", 6),
    (0, "nine_small_places", "庐陵老表餐馆", "阳明路23号", 2),
    (0, "other_premises", "螺湖农贸市场", "螺湖路2号", 2),
    (0, "city_road", "井冈山大道", None, None),
    (1, "high_rise_residential", "滨江一号", "沿江路168号", 33),
    (1, "low_rise_residential", "沿江小区", "沿江路57号", 7),
    (1, "group_rental", "螺湖路17号群租房", "螺湖路17号", 5),
    (1, "dormitory", "吉安市第一中学学生宿舍", "阳明路120号", 6),
    (1, "nine_small_places", "鹭洲网咖", "沿江路33号", 3),
    (1, "shanty_area", "下沙洲棚户区", "沿江路201号", 2),
    (1, "city_road", "沿江路", None, None),
    (2, "high_rise_residential", "文山御景", "文山路66号", 28),
    (2, "low_rise_residential", "文山里小区", "文山路21号", 6),
    (2, "automatic_facilities", "金鹭大厦", "吉州大道199号", 12),
    (2, "nine_small_places", "井冈山土菜馆", "文山路9号", 2),
    (2, "hospital_ward", "吉州区人民医院住院部", "吉州大道88号", 5),
    (2, "city_road", "吉州大道", None, None),
    (3, "high_rise_residential", "鹭洲国际", "永叔路99号", 24),
    (3, "low_rise_residential", "永叔苑", "永叔路36号", 5),
    (3, "nine_small_places", "文山快捷宾馆", "永叔路12号", 4),
    (3, "other_premises", "文山社区服务中心", "文山路1号", 3),
    (3, "city_road", "文山路", None, None),
    (3, "high_rise_residential", "庐陵壹号院", "吉州大道260号", 18),
    (3, "nine_small_places", "小太阳幼儿园", "永叔路50号", 3),
    (4, "high_rise_residential", "古南新城", "中山路128号", 30),
    (4, "low_rise_residential", "古南老街小区", "中山路45号", 6),
    (4, "heritage_building", "白鹭洲书院", "白鹭洲路1号", 2),
    (4, "dormitory", "吉州区职业中专学生宿舍", "中山路210号", 5),
    (4, "group_rental", "古南巷8号群租房", "古南巷8号", 4),
    (4, "city_road", "永叔路", None, None),
    (5, "high_rise_residential", "金域华府", "韶山路77号", 32),
    (5, "low_rise_residential", "吉州印象", "韶山路19号", 7),
    (5, "automatic_facilities", "吉安宾馆", "中山路1号", 9),
    (5, "nine_small_places", "惠民便利超市", "韶山路5号", 1),
    (5, "other_premises", "城南建材仓库", "韶山路300号", 2),
    (5, "shanty_area", "老城南棚户区", "中山路310号", 2),
    (5, "city_road", "中山路", None, None),
]
ROAD_ENDS = {  # (start, end) as (lat, lng); hydrants stand at intervals between them
    "井冈山大道": ((27.088, 114.978), (27.136, 114.992)),
    "沿江路": ((27.095, 114.996), (27.131, 115.003)),
    "吉州大道": ((27.104, 114.955), (27.109, 114.990)),
    "文山路": ((27.111, 114.962), (27.117, 114.986)),
    "永叔路": ((27.098, 114.970), (27.124, 114.975)),
    "中山路": ((27.112, 114.974), (27.114, 115.000)),
}
HYDRANTS_PER_ROAD = 10
HOUSEHOLDS = {"high_rise_residential": 110, "low_rise_residential": 45, "shanty_area": 25}
BLOCKS = {"high_rise_residential": 3, "low_rise_residential": 4}  # buildings per estate
SMOKE_SHARE, GAS_SHARE, OPTIONAL_SHARE = 0.93, 0.30, 0.35
NBIOT_TYPES = ("smoke_detector", "gas_detector", "hydrant_monitor", "water_monitor", "electrical_monitor")
SERIAL_PREFIX = {"smoke_detector": "YG", "gas_detector": "RQ", "electrical_monitor": "DQ",
                 "hydrant_monitor": "XHS", "water_monitor": "SY", "uitd": "CS", "video_camera": "SP"}


def seed_demo():
    """Load the demo city. True if it was created, False if it was already there."""
    if db.session.scalar(select(Place.id).where(Place.code == CITY_CODE)) is not None:
        return False
    rng = random.Random(2026)
    tree = _add_places(rng)
    households = _add_households(rng, tree["city"], tree["sites"])
    _add_devices(rng, tree["sites"], households)
    orgs = _add_organisations(tree)
    _add_accounts(tree, orgs, households)
    _add_inspection(tree)
    _add_patrol(tree)
    _add_hydrant_registry(tree, orgs, rng)
    db.session.commit()
    return True


# --- places ------------------------------------------------------------------

def _add_level(rows):
    """Insert one level of the tree; `rows` are (parent, Place fields) pairs."""
    places = [Place(parent_id=parent.id if parent else None, **fields) for parent, fields in rows]
    db.session.add_all(places)
    db.session.flush()
    for place, (parent, _) in zip(places, rows):
        place.path = (parent.path if parent else "/") + f"{place.id}/"
    return places


def _add_places(rng):
    lat, lng = CITY_CENTRE
    [city] = _add_level([(None, {"kind": "city", "code": CITY_CODE, "name": "吉安市", "lat": lat, "lng": lng})])
    [district] = _add_level([(city, {"kind": "district", "code": "JA-JZ", "name": "吉州区", "lat": lat, "lng": lng})])
    streets = _add_level([
        (district, {"kind": "street", "code": f"JA-JZ-{code}", "name": name}) for code, name, _ in STREETS
    ])
    communities = _add_level([
        (street, {"kind": "community", "code": f"{street.code}-C{i}", "name": name})
        for street, (_, _, names) in zip(streets, STREETS) for i, name in enumerate(names, 1)
    ])
    grids = _add_level([
        (c, {"kind": "grid", "code": f"{c.code}-G{i}", "name": c.name + name})
        for c in communities for i, name in enumerate(GRID_NAMES, 1)
    ])
    rows = []
    for n, (grid, category, name, address, floors) in enumerate(SITES, 1):
        if category == "city_road":
            (lat1, lng1), (lat2, lng2) = ROAD_ENDS[name]
            lat, lng, address = round((lat1 + lat2) / 2, 6), round((lng1 + lng2) / 2, 6), name
        else:
            lat, lng = (round(c + rng.uniform(-0.015, 0.015), 6) for c in CITY_CENTRE)
        rows.append((grids[grid], {"kind": "site", "code": f"{grids[grid].code}-S{n:02d}", "name": name,
                                   "category": category, "address": f"吉州区{address}", "lat": lat, "lng": lng,
                                   "floors": floors}))
    sites = _add_level(rows)
    return {"city": city, "district": district, "communities": communities, "grids": grids, "sites": sites}


def _flats(rng, site):
    """(name, floor) of the households registered in one residential site."""
    count = HOUSEHOLDS[site.category]
    if site.category == "shanty_area":
        lane = site.name.removesuffix("棚户区")
        return [(f"{lane}{n}号", rng.choice((1, 1, 2))) for n in range(1, count + 1)]
    flats = [(f"{b}栋{u}单元{f}{r:02d}", f) for b in range(1, BLOCKS[site.category] + 1)
             for u in (1, 2) for f in range(1, site.floors + 1) for r in (1, 2)]
    return [flats[i] for i in sorted(rng.sample(range(len(flats)), count))]


def _add_households(rng, city, sites):
    """Insert the households in one go; returns their (id, path) in code order."""
    rows = [
        {"kind": "household", "parent_id": site.id, "path": "", "code": f"{site.code}-H{i:04d}", "name": name,
         "floor": floor, "address": f"{site.address}{site.name}{name}"}
        for site in sites if site.category in HOUSEHOLDS
        for i, (name, floor) in enumerate(_flats(rng, site), 1)
    ]
    db.session.flush()
    db.session.execute(insert(Place), rows)
    # Paths in one statement: the parent's path plus the new id.
    parent = aliased(Place)
    parent_path = select(parent.path).where(parent.id == Place.parent_id).scalar_subquery()
    db.session.execute(
        update(Place).where(Place.parent_id.in_([s.id for s in sites]), Place.path == "")
        .values(path=parent_path + cast(Place.id, String) + "/")
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(
        select(Place.id, Place.path)
        .where(Place.kind == "household", Place.path.startswith(city.path)).order_by(Place.code)
    ).all()


# --- devices -----------------------------------------------------------------

def _site_locations(site, equipment):
    """Where one equipment column's devices go in a site: one per room, floor or circuit."""
    floors = range(1, (site.floors or 1) + 1)
    blocks = [f"{b}栋" for b in range(1, BLOCKS.get(site.category, 0) + 1)] or [""]
    residential = site.category in HOUSEHOLDS
    if equipment in ("uitd", "control_room_video"):
        return ["消防控制室"]
    if equipment == "water_monitor":
        if site.category == "shanty_area":
            return ["公共消防水池"]
        return ["屋顶消防水箱", "B1消防水池"] if site.floors >= 10 else ["消防水泵房"]
    if equipment == "evacuation_video":
        return [f"{b}{f}F疏散楼梯" for b in blocks for f in floors[::4]]
    if equipment == "electrical_monitor":
        if residential:  # one per circuit: distribution room, lifts, common lighting
            rooms = ("B1配电房", "电梯机房", "公共照明") if site.floors > 7 else ("配电间", "公共照明")
            return [b + room for b in blocks for room in rooms]
        return [f"{f}F配电箱" for f in floors]
    if equipment == "detector" and not residential:  # homes carry their own detectors
        return [f"{f}F走廊" for f in floors]
    return []  # hydrants stand on the roads


def _add_devices(rng, sites, households):
    types = {t.code: t for t in db.session.scalars(select(DeviceType).order_by(DeviceType.code))}
    standard = {(r.category, r.equipment): r.requirement for r in db.session.scalars(select(InstallationRequirement))}
    now, rows = utcnow(), []

    def add(type_code, place_id, place_path, where, lat=None, lng=None):
        dtype = types.get(type_code)
        if dtype is None:  # an admin removed the type
            return
        n = len(rows) + 1
        # A few are offline (silent for days), low on battery or in fault, so the demo has work to show.
        offline = rng.random() < 0.02
        silent = timedelta(days=rng.randint(2, 9) if offline else 0, seconds=rng.randint(0, dtype.heartbeat_seconds))
        low = rng.random() < 0.03
        battery = (rng.randint(5, 19) if low else rng.randint(40, 100)) if dtype.battery_powered else None
        nbiot = type_code in NBIOT_TYPES
        rows.append({
            "serial": f"{SERIAL_PREFIX.get(type_code, type_code[:2].upper())}-JA-{n:06d}",
            "imei": _imei(n) if nbiot else None, "type_code": type_code, "place_id": place_id,
            "place_path": place_path, "location_text": where, "lat": lat, "lng": lng,
            "status": "fault" if rng.random() < 0.01 else "active",
            "installed_at": now - timedelta(days=rng.randint(30, 720), seconds=rng.randint(0, 86399)),
            "last_seen_at": now - silent, "battery_pct": battery,
            "signal_dbm": rng.randint(-115, -70) if nbiot else None,
        })

    for i, (place_id, path) in enumerate(households):
        if i == 0 or rng.random() < SMOKE_SHARE:  # the first is the demo resident's home
            add("smoke_detector", place_id, path, rng.choice(("客厅", "主卧", "次卧", "走廊")))
        if i == 0 or rng.random() < GAS_SHARE:
            add("gas_detector", place_id, path, "厨房")
    for site in sites:
        if site.category == "city_road":
            _add_hydrants(rng, site, add)
            continue
        for equipment, kinds in EQUIPMENT.items():
            need = standard.get((site.category, equipment), "-")
            if need == "M" or (need == "O" and rng.random() < OPTIONAL_SHARE):
                for where in _site_locations(site, equipment):
                    add(kinds[0], site.id, site.path, where)
        if site.name.endswith(("餐馆", "菜馆")):
            add("gas_detector", site.id, site.path, "后厨")
    db.session.execute(insert(Device), rows)


def _add_hydrants(rng, site, add):
    (lat1, lng1), (lat2, lng2) = ROAD_ENDS[site.name]
    for i in range(HYDRANTS_PER_ROAD):
        t = i / (HYDRANTS_PER_ROAD - 1)
        lat = round(lat1 + (lat2 - lat1) * t + rng.uniform(-0.0002, 0.0002), 6)
        lng = round(lng1 + (lng2 - lng1) * t + rng.uniform(-0.0002, 0.0002), 6)
        add("hydrant_monitor", site.id, site.path, f"{site.name}{8 + 24 * i}号旁", lat, lng)


def _imei(n):
    """A 15-digit IMEI: 8-digit TAC, 6-digit serial, Luhn check digit."""
    body = f"86401203{n:06d}"
    total = sum(d if i % 2 == 0 else (d * 2 if d < 5 else d * 2 - 9) for i, d in enumerate(map(int, body)))
    return body + str(-total % 10)


# --- organisations and people ------------------------------------------------

def _org(kind, name, places, phone, **fields):
    org = Organisation(kind=kind, name=name, contact_phone=normalise_phone(phone), **fields)
    org.coverage = [OrgCoverage(place_id=p.id) for p in places]
    db.session.add(org)
    return org


def _add_organisations(tree):
    c1, c2, c3 = tree["communities"]
    by_category = {cat: [s for s in tree["sites"] if s.category == cat] for cat in SITE_CATEGORIES}
    kindergarten = [s for s in by_category["nine_small_places"] if s.name.endswith("幼儿园")]
    return {
        "property": _org("property_company", "吉安市庐陵物业服务有限公司", [c1, c2], "13907960001"),
        "property_2": _org("property_company", "吉安市鹭洲物业管理有限公司", [c3], "13907960002"),
        "station": _org("micro_station", "文山街道微型消防站", [c1, c2], "13907966119"),
        "station_2": _org("micro_station", "古南街道白鹭社区微型消防站", [c3], "13907967119"),
        "maintenance": _org("maintenance_company", "江西赣安消防设施维保有限公司",
                            by_category["automatic_facilities"] + by_category["high_rise_residential"], "13907960003"),
        "education": _org("industry_department", "吉州区教育体育局", by_category["dormitory"] + kindergarten,
                          "13907960004", sector="education"),
        "health": _org("industry_department", "吉州区卫生健康委员会", by_category["hospital_ward"],
                       "13907960005", sector="health"),
    }


def _add_accounts(tree, orgs, households):
    # The resident lives in the first household (阳明花园, 螺湖社区第一网格), which the
    # grid worker, property company, station and maintainer all look after.
    home = db.session.get(Place, households[0][0])
    scopes = {
        "resident": {"place": home}, "property_staff": {"organisation": orgs["property"]},
        "grid_worker": {"place": tree["grids"][0]}, "station_member": {"organisation": orgs["station"]},
        "supervisor": {"place": tree["district"]}, "maintainer": {"organisation": orgs["maintenance"]},
        "operator": {"place": tree["city"]}, "admin": {},
    }
    password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow: once for all
    for role, national_phone, name in PEOPLE:
        phone = normalise_phone(national_phone)
        # A phone already registered keeps its account and password; it only gains the role.
        user = db.session.scalar(select(User).where(User.phone == phone))
        if user is None:
            user = User(phone=phone, name=name, password_hash=password_hash)
            db.session.add(user)
        user.memberships.append(Membership(role=role, **scopes[role]))


def _add_inspection(tree):
    """The supervisor inspected 阳明花园 five days ago: two hazards for the property staff, one overdue."""
    from api.hazards.demo import seed_hazards

    db.session.flush()
    people = {role: db.session.scalar(select(User).where(User.phone == normalise_phone(phone)))
              for role, phone, _ in PEOPLE if role in ("supervisor", "property_staff")}
    seed_hazards(tree["sites"][0], people["supervisor"], people["property_staff"])


def _add_patrol(tree):
    """The property staff's daily round of 阳明花园: a plan with three checkpoints."""
    from api.patrols.demo import seed_patrols

    db.session.flush()
    phone = next(p for role, p, _ in PEOPLE if role == "property_staff")
    staff = db.session.scalar(select(User).where(User.phone == normalise_phone(phone)))
    seed_patrols(tree["sites"][0], staff, staff)


def _add_hydrant_registry(tree, orgs, rng):
    """The road hydrants in the registry, kept by the maintenance company; one reported damaged."""
    from api.hydrants.demo import seed_hydrants

    db.session.flush()
    phone = next(p for role, p, _ in PEOPLE if role == "grid_worker")
    reporter = db.session.scalar(select(User).where(User.phone == normalise_phone(phone)))
    seed_hydrants(tree["city"], orgs["maintenance"], reporter, rng)
