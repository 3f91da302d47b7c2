"""Voice calls through Aliyun Dyvmsapi SingleCallByTts on the real delivery path,
against a local fake that verifies each request's signature."""

import pytest

from tests.fakes.aliyun import FakeAliyun
from tests.notify import helpers as h
from tests.notify.test_sms_providers import attempts, phone_invalid_at, policy, tick

TTS = {"alarm": "TTS_200001", "fire": "TTS_200002"}


@pytest.fixture
def voice(app):
    """VOICE_BACKEND=aliyun against the fake; SMS stays on the development log."""
    saved = app.config.copy()
    fake = FakeAliyun("dyvms", templates=TTS.values()).start()
    app.config.update(VOICE_BACKEND="aliyun", ALIYUN_ACCESS_KEY_ID=fake.key_id, ALIYUN_ACCESS_KEY_SECRET=fake.secret,
                      ALIYUN_VOICE_SHOW_NUMBER=fake.show_number, ALIYUN_VOICE_TEMPLATES=dict(TTS),
                      ALIYUN_VOICE_ENDPOINT=fake.endpoint, SMS_BACKEND="log")
    yield fake
    fake.stop()
    app.config.clear()
    app.config.update(saved)


def make_property_lead(app, w):
    with app.app_context():
        from api.extensions import db
        from api.people.models import Membership

        Membership.query.filter_by(user_id=w["people"]["property_staff"]).update({"lead": True})
        db.session.commit()


def voice_first(app, w):
    policy(app, w, [{"delay_s": 0, "notify": [{"tier": "residents", "channels": ["voice"]}]}])


def test_voice_calls_go_out_at_step_two_to_residents_and_the_property_lead(app, client, clock, voice):
    w = h.world(app)
    make_property_lead(app, w)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    tick(app, clock, 61)
    assert voice.calls == []  # steps 0 and 1 are push, SMS and WeChat
    tick(app, clock, 181)

    assert voice.rejected == []  # every call request passed the gateway's signature check
    called = {c["phone"]: c for c in voice.calls}
    assert set(called) == {w["phones"]["resident"][3:], w["phones"]["property_staff"][3:]}
    incident = str(h.the_incident(client, w))
    for role in ("resident", "property_staff"):
        call, [delivery] = called[w["phones"][role][3:]], attempts(app, w["people"][role], channel="voice")
        assert (call["template"], call["show_number"], call["play_times"]) == (TTS["alarm"], voice.show_number, "3")
        assert call["params"] == {"site": "阳明花园3栋", "level": "2", "incident": incident}
        assert call["out_id"] == delivery["token"]
        assert (delivery["state"], delivery["provider_id"]) == ("sent", call["call_id"])


def test_wrong_secret_is_refused_and_recorded_as_a_failed_attempt(app, client, voice):
    app.config["ALIYUN_ACCESS_KEY_SECRET"] = "not-the-secret"
    w = h.world(app)
    voice_first(app, w)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert [code for code, _ in voice.rejected] == ["SignatureDoesNotMatch"] and voice.calls == []
    first, retry = attempts(app, w["people"]["resident"], channel="voice")
    assert first["state"] == "failed" and not first["permanent"] and "SignatureDoesNotMatch" in first["error"]
    assert retry["state"] == "pending"
    assert phone_invalid_at(app, w["people"]["resident"]) is None


def test_illegal_number_is_not_called_again(app, client, voice):
    w = h.world(app)
    voice_first(app, w)
    voice.fail_next(code="isv.MOBILE_NUMBER_ILLEGAL", message="号码格式非法")
    h.alarm(client, w)
    h.run_worker(app, "notify")
    [only] = attempts(app, w["people"]["resident"], channel="voice")
    assert only["state"] == "failed" and only["permanent"]
    assert phone_invalid_at(app, w["people"]["resident"]) is not None
    # the fallback for voice is SMS, to the same dead number: nobody is told on it
    assert attempts(app, w["people"]["resident"], channel="sms") == []
    assert voice.requests == 1


def test_provider_error_is_retried_with_backoff_and_called_once(app, client, clock, voice):
    w = h.world(app)
    voice_first(app, w)
    voice.fail_next(status=500)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert [a["state"] for a in attempts(app, w["people"]["resident"], channel="voice")] == ["failed", "pending"]
    assert tick(app, clock, 6) == 1
    assert [a["state"] for a in attempts(app, w["people"]["resident"], channel="voice")] == ["failed", "sent"]
    assert tick(app, clock, 400) == 0
    assert [c["phone"] for c in voice.calls] == [w["phones"]["resident"][3:]]
