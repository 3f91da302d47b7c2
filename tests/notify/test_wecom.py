"""A community's WeCom group robot against the fake: the group is told at step 1,
everyone in it is mentioned for a confirmed fire, an invalid robot key (93000)
disables the group channel, a rate limit (45009) is retried."""

from datetime import datetime, timezone

import pytest

from api.extensions import db
from tests.fakes.wechat import FakeWechat, configure
from tests.notify import helpers as h
from workers.channels.wecom import MAX_CONTENT, _clip


@pytest.fixture
def robots(app):
    fake = FakeWechat().start()
    restore = configure(app, fake)
    yield fake
    restore()
    fake.stop()


def tick(app, clock, seconds):
    clock.at(seconds)
    with app.app_context():
        from api.notify.escalation import run_due
        from workers.delivery import audit

        run_due()
        audit()
    h.run_worker(app, "notify")


def community_group(app, w, url):
    with app.app_context():
        from api.notify.models import GroupChannel

        group = GroupChannel(place_id=w["tree"]["community"], kind="wecom", url=url)
        db.session.add(group)
        db.session.commit()
        return group.id


def group_state(app, group_id):
    with app.app_context():
        from api.notify.models import GroupChannel

        return db.session.get(GroupChannel, group_id).disabled_at


def wecom_rows(app, **filters):
    return [n for n in h.notifications(app, **filters) if n["channel"] == "wecom"]


def wecom_deliveries(app):
    with app.app_context():
        from api.notify.models import Delivery, Notification

        return (Delivery.query.join(Notification, Notification.id == Delivery.notification_id)
                .filter(Notification.channel == "wecom").order_by(Delivery.id).all())


def test_the_community_group_gets_the_robot_message_at_step_one(app, client, robots, clock):
    w = h.world(app, None)
    url = robots.robot()
    community_group(app, w, url)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert robots.robot_messages(url) == []  # step 0: the people on push first
    tick(app, clock, 61)
    [message] = robots.robot_messages(url)
    incident_id = h.the_incident(client, w)
    [row] = wecom_rows(app)
    assert message["content"] == row["text"]  # the message as stored (a link to the incident in it)
    assert "阳明花园3栋" in message["content"] and "烟雾报警" in message["content"]
    assert f"https://119.example.cn/i/{incident_id}" in message["content"]
    assert "mentioned_mobile_list" not in message  # a single unconfirmed alarm does not @ everyone
    assert (row["user_id"], row["tier"], row["step"], row["states"]) == (None, "community_group", 1, ["sent"])
    tick(app, clock, 200)
    assert len(robots.robot_messages(url)) == 1


def test_a_confirmed_fire_mentions_everyone_in_the_group(app, client, robots, clock):
    w = h.world(app, None)
    url = robots.robot()
    community_group(app, w, url)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    clock.at(20)
    incident_id = h.the_incident(client, w)
    assert client.post(f"/api/v1/incidents/{incident_id}/confirm-fire",
                       headers=h.auth(w, "property_staff")).status_code == 200
    h.run_worker(app, "notify")
    [message] = robots.robot_messages(url)
    assert message["content"].startswith("【火警】") and message["mentioned_mobile_list"] == ["@all"]


@pytest.mark.parametrize("why", ["robot removed", "key never valid"])
def test_an_invalid_robot_key_disables_the_group_channel(app, client, robots, clock, why):
    w = h.world(app, None)
    if why == "robot removed":
        url = robots.robot()
        robots.fail_robot(url, 93000)
    else:
        url = f"{robots.origin}/cgi-bin/webhook/send?key=not-a-robot"
    group_id = community_group(app, w, url)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)
    assert [n["states"] for n in wecom_rows(app)] == [["failed"]]
    [delivery] = wecom_deliveries(app)
    assert delivery.permanent and "93000" in delivery.error
    assert group_state(app, group_id) == datetime(2026, 11, 30, 19, 1, 1, tzinfo=timezone.utc)
    tick(app, clock, 400)
    assert robots.refused_codes("robot")[93000] == 1  # never tried again

    # the next incident of the community leaves the disabled group out
    incident_id = h.the_incident(client, w)
    assert client.post(f"/api/v1/incidents/{incident_id}/close", headers=h.auth(w, "resident"),
                       json={"outcome": "false_alarm", "reason": "cooking"}).status_code == 200
    h.run_worker(app, "notify")
    clock.at(600)
    h.alarm(client, w, at="2026-12-01T03:10:00+08:00")
    tick(app, clock, 661)
    with app.app_context():
        from api.incidents.models import Incident

        assert Incident.query.count() == 2
    assert len(wecom_rows(app)) == 1 and robots.refused_codes("robot")[93000] == 1


def test_a_rate_limited_robot_is_retried(app, client, robots, clock):
    w = h.world(app, None)
    url = robots.robot()
    group_id = community_group(app, w, url)
    robots.fail_next(45009, path="robot")
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)
    assert [n["states"] for n in wecom_rows(app)] == [["failed", "pending"]]
    assert not wecom_deliveries(app)[0].permanent
    tick(app, clock, 67)
    assert [n["states"] for n in wecom_rows(app)] == [["failed", "sent"]]
    assert len(robots.robot_messages(url)) == 1 and group_state(app, group_id) is None


def test_long_text_is_cut_to_the_robots_limit_on_a_character_boundary():
    text = "火" * 1000  # 3,000 bytes of UTF-8
    clipped = _clip(text)
    assert len(clipped.encode()) <= MAX_CONTENT and clipped == "火" * (MAX_CONTENT // 3)
    assert _clip("short") == "short"
