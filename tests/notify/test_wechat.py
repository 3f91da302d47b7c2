"""WeChat Official Account template messages against a fake of the API that
answers as WeChat does: followers told at step 1, one access token shared and
replaced before it expires or when WeChat refuses it, the message still sent
once; a person WeChat cannot reach moved to SMS at once; temporary failures retried."""

import time

import pytest

from api.extensions import db, redis_client, rkey
from config import ConfigError, load_config
from tests.fakes.wechat import FakeWechat, configure
from tests.notify import helpers as h
from workers.channels.sms import LogSms
from workers.channels.wechat import TOKEN_MARGIN, WechatChannel, cache_seconds


@pytest.fixture
def wechat(app):
    fake = FakeWechat().start()
    restore = configure(app, fake)
    yield fake
    restore()
    fake.stop()


def tick(app, clock, seconds):
    """The scheduler's work at t0 + seconds: due steps, the auditor, then the worker."""
    clock.at(seconds)
    with app.app_context():
        from api.notify.escalation import run_due
        from workers.delivery import audit

        run_due()
        audit()
    h.run_worker(app, "notify")


def followers(app, fake, roles=("resident", "property_staff")):
    """The world, with these people following the official account."""
    w = h.world(app, None)
    w["openids"] = {}
    with app.app_context():
        from api.people.models import User

        for role in roles:
            openid = fake.follow()
            db.session.get(User, w["people"][role]).wechat_openid = openid
            w["openids"][role] = openid
        db.session.commit()
    return w


def wechat_rows(app, **filters):
    return [n for n in h.notifications(app, **filters) if n["channel"] == "wechat"]


def deliveries(app, channel):
    with app.app_context():
        from api.notify.models import Delivery, Notification

        return (Delivery.query.join(Notification, Notification.id == Delivery.notification_id)
                .filter(Notification.channel == channel).order_by(Delivery.id).all())


def test_followers_get_the_template_message_at_step_one(app, client, wechat, clock):
    w = followers(app, wechat)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert wechat.messages == []  # step 0 is Web Push only
    tick(app, clock, 59)
    assert wechat.messages == []
    tick(app, clock, 61)
    incident_id = h.the_incident(client, w)
    for role in ("resident", "property_staff"):
        [message] = wechat.to(w["openids"][role])
        assert message["template_id"] == "TPL-ALARM"
        assert message["url"] == f"https://119.example.cn/#/incidents/{incident_id}"
        data = message["data"]
        assert "阳明花园3栋" in data["first"]["value"] and "烟雾报警" in data["first"]["value"]
        assert data["keyword1"]["value"] == "阳明花园3栋" and data["keyword2"]["value"] == "二级(橙) 火灾预警"
        assert message["client_msg_id"] == f"fa-{incident_id}-alarm"
    p = w["people"]
    assert {(n["user_id"], n["tier"], n["step"], tuple(n["states"])) for n in wechat_rows(app)} == {
        (p["resident"], "residents", 1, ("sent",)), (p["property_staff"], "property", 1, ("sent",))}
    assert {d.provider_id for d in deliveries(app, "wechat")} == {str(m["msgid"]) for m in wechat.messages}
    assert wechat.token_requests == 1  # two messages, one token

    with app.app_context():  # cached for WeChat's expires_in less the margin
        ttl = redis_client().ttl(rkey("wechat", "token", wechat.app_id))
    assert 7200 - TOKEN_MARGIN - 5 <= ttl <= 7200 - TOKEN_MARGIN

    clock.at(90)
    assert client.post(f"/api/v1/incidents/{incident_id}/close", headers=h.auth(w, "resident"),
                       json={"outcome": "false_alarm", "reason": "cooking"}).status_code == 200
    h.run_worker(app, "notify")
    clears = [m for m in wechat.messages if m["template_id"] == "TPL-CLEAR"]
    assert {m["touser"] for m in clears} == set(w["openids"].values())
    assert all("解除" in m["data"]["first"]["value"] for m in clears)
    assert wechat.token_requests == 1  # four messages, still one token
    assert wechat.refused == [] and wechat.duplicates == 0


def test_a_token_wechat_refuses_is_fetched_again_once_and_the_message_sent_once(app, client, wechat, clock):
    w = followers(app, wechat)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    with app.app_context():
        cached = WechatChannel().access_token()  # as after earlier messages
    assert wechat.token_requests == 1
    wechat.expire_tokens()  # e.g. somebody fetched a token with the same secret elsewhere: 40001

    tick(app, clock, 61)
    assert wechat.token_requests == 2  # both messages were refused; one new token served both
    assert wechat.refused_codes("template")[40001] >= 1
    for openid in w["openids"].values():
        assert len(wechat.to(openid)) == 1
    assert wechat.duplicates == 0
    assert [(n["user_id"], n["states"]) for n in wechat_rows(app)] == [
        (w["people"]["resident"], ["sent"]), (w["people"]["property_staff"], ["sent"])]  # one attempt each
    with app.app_context():
        assert WechatChannel().access_token() != cached


def test_the_cached_token_is_replaced_before_wechat_expires_it(app, wechat):
    assert cache_seconds(7200) == 7200 - TOKEN_MARGIN and cache_seconds(2) == 1
    wechat.expires_in = 2  # kept 1 s here
    with app.app_context():
        channel = WechatChannel()
        first = channel.access_token()
        assert channel.access_token() == first and wechat.token_requests == 1
        time.sleep(1.2)  # WeChat still accepts it for another 0.8 s: it is replaced before that
        second = channel.access_token()
        assert second != first and wechat.token_requests == 2
        redis_client().delete(rkey("wechat", "token", wechat.app_id))  # a flushed Redis costs one fetch
        assert channel.access_token() not in (first, second) and wechat.token_requests == 3


def test_a_token_wechat_will_not_give_is_not_asked_for_again_by_every_message(app, wechat):
    """A wrong secret, or this server's IP not on the account's list (40164): the day's
    token calls are few, so one refusal is remembered for a while and the messages wait."""
    from workers.channels.base import Outgoing, TransportError

    wechat.fail_next(40164, path="token", times=10)
    with app.app_context():
        channel = WechatChannel()
        for _ in range(3):
            with pytest.raises(TransportError) as raised:
                channel.send(Outgoing(channel="wechat", address=wechat.follow(), text="x", incident_id=1))
            assert not raised.value.permanent and "40164" in raised.value.message
        assert wechat.token_requests == 1
        redis_client().delete(rkey("wechat", "token-refused", wechat.app_id))  # (30 s later)
        with pytest.raises(TransportError):
            channel.access_token()
        assert wechat.token_requests == 2


def wechat_at_step_one(app, w):
    """A community whose step 1 tells residents and property staff on WeChat only."""
    with app.app_context():
        from api.notify.models import EscalationPolicy

        db.session.add(EscalationPolicy(place_id=w["tree"]["community"], name="WeChat at step 1", steps=[
            {"delay_s": 0, "notify": [{"tier": "residents", "channels": ["push"]}]},
            {"delay_s": 60, "notify": [{"tier": "residents", "channels": ["wechat"]},
                                       {"tier": "property", "channels": ["wechat"]}]}]))
        db.session.commit()


@pytest.mark.parametrize("how,code", [("unfollowed", 43004), ("not an openid of the account", 40003)])
def test_a_person_wechat_cannot_reach_is_moved_to_sms_at_once(app, client, wechat, clock, how, code):
    w = followers(app, wechat)
    wechat_at_step_one(app, w)
    resident_openid = w["openids"]["resident"]
    if code == 43004:
        wechat.unfollow(resident_openid)
    else:
        wechat.followers.discard(resident_openid)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)

    resident = [n for n in h.notifications(app) if n["user_id"] == w["people"]["resident"]]
    assert [(n["channel"], n["tier"], n["step"], n["states"]) for n in resident] == [
        ("wechat", "residents", 1, ["failed"]), ("sms", "residents", 1, ["sent"])]
    assert [m for m in LogSms.outbox if m["to"] == w["phones"]["resident"]] != []
    [failed] = [d for d in deliveries(app, "wechat") if d.state == "failed"]
    assert failed.permanent and str(code) in failed.error
    assert wechat.to(resident_openid) == []
    staff = [n for n in h.notifications(app) if n["user_id"] == w["people"]["property_staff"]]
    assert [(n["channel"], n["states"]) for n in staff] == [("wechat", ["sent"])]

    tick(app, clock, 400)  # permanent: never tried again
    assert wechat.refused_codes("template")[code] == 1
    assert len([m for m in LogSms.outbox if m["to"] == w["phones"]["resident"]]) == 1
    with app.app_context():  # the binding stays: a follower who follows again keeps the openid
        from api.people.models import User

        assert db.session.get(User, w["people"]["resident"]).wechat_openid == resident_openid


@pytest.mark.parametrize("failure", [45009, -1, "http:503"])
def test_temporary_failures_are_retried_with_backoff(app, client, wechat, clock, failure):
    w = followers(app, wechat, roles=("resident",))
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    wechat.fail_next(failure)
    tick(app, clock, 61)
    [row] = wechat_rows(app)
    assert row["states"] == ["failed", "pending"]  # the attempt recorded, the next one waits 5 s
    assert wechat.to(w["openids"]["resident"]) == []
    [first, _] = deliveries(app, "wechat")
    assert not first.permanent
    tick(app, clock, 64)
    assert wechat_rows(app)[0]["states"] == ["failed", "pending"]
    tick(app, clock, 67)
    assert wechat_rows(app)[0]["states"] == ["failed", "sent"]
    assert len(wechat.to(w["openids"]["resident"])) == 1


def test_a_timeout_is_retried_and_wechat_drops_the_copy_it_already_had(app, client, wechat, clock):
    w = followers(app, wechat, roles=("resident",))
    openid = w["openids"]["resident"]
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    with app.app_context():
        WechatChannel().access_token()
    app.config["WECHAT_TIMEOUT_SECONDS"] = 0.3
    wechat.delay = 0.8  # WeChat takes the message, but answers after we gave up
    tick(app, clock, 61)
    assert wechat_rows(app)[0]["states"] == ["failed", "pending"]
    wechat.delay = 0
    deadline = time.time() + 5
    while not wechat.to(openid) and time.time() < deadline:
        time.sleep(0.05)
    assert len(wechat.to(openid)) == 1  # it did arrive
    tick(app, clock, 67)
    assert wechat_rows(app)[0]["states"] == ["failed", "sent"]
    assert len(wechat.to(openid)) == 1 and wechat.duplicates == 1  # same client_msg_id: not shown twice


@pytest.mark.parametrize("templates", [{"alarm": "TPL-NOT-APPROVED"}, {"fire": "TPL-FIRE"}])
def test_a_template_that_cannot_work_moves_the_person_to_sms_at_once(app, client, wechat, clock, templates):
    """WeChat refuses the template id (40037), or no template is configured for the kind."""
    w = followers(app, wechat, roles=("resident",))
    app.config["WECHAT_TEMPLATES"] = templates
    wechat_at_step_one(app, w)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)
    resident = [n for n in h.notifications(app) if n["user_id"] == w["people"]["resident"]]
    assert [(n["channel"], n["states"]) for n in resident] == [("wechat", ["failed"]), ("sms", ["sent"])]
    [failed] = deliveries(app, "wechat")
    assert failed.permanent and ("40037" in failed.error or "no WeChat template" in failed.error)


@pytest.mark.parametrize("env,message", [
    ({"WECHAT_TEMPLATES": "not json"}, "must be a JSON object"),
    ({"WECHAT_TEMPLATES": '{"alarm": 7}'}, "non-empty strings"),
    ({"WECHAT_TEMPLATES": '["TPL-ALARM"]'}, "non-empty strings"),
    ({"WECHAT_TEMPLATES": '{"alarm": "A", "alrm": "B"}'}, "unknown keys"),
    ({"WECHAT_BACKEND": "wechta"}, "WECHAT_BACKEND must be one of"),
    ({"WECOM_BACKEND": "dingtalk"}, "WECOM_BACKEND must be one of"),
    ({"WECHAT_BACKEND": "wechat", "WECHAT_TEMPLATES": '{"alarm": "A"}'}, "needs WECHAT_APP_ID, WECHAT_APP_SECRET"),
    ({"WECHAT_BACKEND": "wechat", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}, r'WECHAT_TEMPLATES\["alarm"\]'),
    ({"WECHAT_API_BASE": "api.weixin.qq.com"}, "WECHAT_API_BASE must be an http"),
    ({"WECHAT_TIMEOUT_SECONDS": "0"}, "WECHAT_TIMEOUT_SECONDS must be >= 1"),
])
def test_wechat_settings_are_parsed_strictly(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_config("testing")


def test_wechat_settings(monkeypatch):
    assert (load_config("testing").WECHAT_BACKEND, load_config("testing").WECOM_BACKEND) == ("log", "log")
    for name, value in {"WECHAT_BACKEND": "wechat", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s",
                        "WECHAT_TEMPLATES": '{"alarm": "A", "all_clear": "C"}', "WECOM_BACKEND": "wecom",
                        "WECHAT_API_BASE": "http://127.0.0.1:9/"}.items():
        monkeypatch.setenv(name, value)
    cfg = load_config("testing")
    assert cfg.WECHAT_TEMPLATES == {"alarm": "A", "all_clear": "C"}
    assert cfg.WECHAT_API_BASE == "http://127.0.0.1:9" and cfg.WECOM_BACKEND == "wecom"
