"""Message texts: Chinese by default, English on request, an alarm SMS in one segment."""

from api.extensions import db
from api.notify import messages
from tests import factories as f

BASE = "https://xf.jian.gov.cn"


def _incident(app, level=2):
    t = f.city_tree("M")
    t["site"].name = "阳明花园3栋"
    t["household_device"].location_text = "1201厨房"
    inc = f.incident(t["site"], t["household_device"], level=level)
    db.session.commit()
    return inc


def test_alarm_sms_fits_one_segment_with_what_where_when_and_a_link(app):
    with app.app_context():
        inc = _incident(app)
        text = messages.text(inc, "alarm", "zh-CN", BASE)
        assert len(text) <= 70, (len(text), text)
        for part in ("消防预警", "二级", "烟雾报警", "阳明花园3栋", "1201厨房", f"{BASE}/i/{inc.id}"):
            assert part in text
        db.session.rollback()


def test_times_are_shanghai_time(app):
    from datetime import datetime, timezone

    with app.app_context():
        inc = _incident(app)
        inc.opened_at = datetime(2026, 11, 30, 19, 5, tzinfo=timezone.utc)
        assert "03:05" in messages.text(inc, "alarm", "zh-CN", BASE)
        db.session.rollback()


def test_english_for_those_who_chose_it(app):
    with app.app_context():
        inc = _incident(app, level=1)
        text = messages.text(inc, "alarm", "en", BASE)
        assert text.startswith("[Fire alert] L1 red smoke") and "阳明花园3栋" in text
        assert "解除" in messages.text(inc, "all_clear", "zh-CN", BASE)
        db.session.rollback()


def test_short_link_opens_the_incident_screen(client):
    resp = client.get("/i/42")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/#/incidents/42")
