import uuid
from types import SimpleNamespace

import pytest

from api.extensions import db
from tests import factories as f


@pytest.fixture
def town(app):
    """City A (every role in its scope) and city B (nobody but the admin), as ids and tokens."""
    with app.app_context():
        a, b = f.city_tree("A"), f.city_tree("B")
        people = f.people_for(a)
        db.session.commit()
        t = SimpleNamespace(
            A={k: v.id for k, v in a.items()}, B={k: v.id for k, v in b.items()},
            people={r: u.id for r, u in people.items()},
            h={r: f.bearer(u) for r, u in people.items()},
        )
    return t


def plan_body(place_id, **fields):
    body = {
        "id": str(uuid.uuid4()), "place_id": place_id, "name": "每日防火巡查",
        "checkpoints": [
            {"name": "一楼大堂", "location": {"lat": 27.1100, "lng": 114.9900}, "radius_m": 25,
             "instructions": "查看灭火器与疏散指示",
             "items": [{"key": "extinguisher", "label": "灭火器压力正常", "kind": "pass_fail"},
                       {"key": "photo", "label": "现场照片", "kind": "photo"}]},
            {"name": "B1 配电房", "location": {"lat": 27.1105, "lng": 114.9905},
             "items": [{"key": "panel", "label": "配电柜无异常", "kind": "pass_fail"}]},
            {"name": "楼顶水箱", "location": {"lat": 27.1110, "lng": 114.9910},
             "items": [{"key": "level", "label": "水位正常", "kind": "pass_fail"}]},
        ],
        "frequency": {"kind": "daily", "start": "08:00", "end": "10:00"},
        "assignees": {"roles": ["property_staff"], "user_ids": []},
    }
    body.update(fields)
    return body
