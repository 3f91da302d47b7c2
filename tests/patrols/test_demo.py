from api.extensions import db
from api.patrols.demo import seed_patrols
from api.patrols.models import PatrolPlan, PatrolRecord
from tests import factories as f


def test_demo_patrol_has_three_checkpoints_and_seeds_once(app, client, ctx):
    tree = f.city_tree("A")
    staff = f.user("property_staff", place=tree["community"])
    plan = seed_patrols(tree["site"], staff, staff)
    db.session.commit()
    assert len(plan.checkpoints) == 3 and PatrolRecord.query.count() in (3, 4)
    assert seed_patrols(tree["site"], staff, staff) is None
    db.session.commit()
    assert PatrolPlan.query.count() == 1
    h = f.bearer(staff)
    got = client.get(f"/api/v1/patrol-plans/{plan.id}", headers=h).get_json()
    assert [c["name"] for c in got["checkpoints"]] == ["1栋大堂消防器材点", "B1消防水泵房", "屋顶消防水箱"]
    stats = client.get("/api/v1/patrol-stats", headers=h).get_json()
    assert stats["totals"]["completed"] >= 1
