"""SMS through Aliyun and Tencent on the real delivery path (incident → escalation
step → Delivery rows → RQ worker → channel), against local fakes that verify
every request's signature the way the providers do. Each test runs once per
provider; a rig hides the differences in what the fakes record and report."""

import re

import pytest

from api.extensions import db
from tests.fakes.aliyun import FakeAliyun
from tests.fakes.tencent import FakeTencentSms
from tests.notify import helpers as h
from workers.channels.devlog import DevLogChannel

CALLBACK_SECRET = "cb-secret-0123456789abcdef"
ORDER = ("site", "level", "incident")  # Tencent's positional variables, as sms_tencent sends them


class AliyunRig:
    name = "aliyun"
    templates = {"alarm": "SMS_100001", "fire": "SMS_100002", "all_clear": "SMS_100003", "login_code": "SMS_100004"}
    illegal_number = {"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "非法手机号"}
    temporary = {"http500": {"status": 500},
                 "throttled": {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发分钟级流控Permits:1"}}
    signature_refusal = "SignatureDoesNotMatch"
    answer = {"code": 0, "msg": "成功"}

    def __init__(self, settings):
        self.fake = FakeAliyun("dysms", templates=self.templates.values()).start()
        settings.update(SMS_BACKEND="aliyun", ALIYUN_ACCESS_KEY_ID=self.fake.key_id,
                        ALIYUN_ACCESS_KEY_SECRET=self.fake.secret, ALIYUN_SMS_SIGN_NAME=self.fake.sign_name,
                        ALIYUN_SMS_TEMPLATES=dict(self.templates), ALIYUN_SMS_ENDPOINT=self.fake.endpoint)

    def wrong_secret(self, settings):
        settings["ALIYUN_ACCESS_KEY_SECRET"] = "not-the-secret"

    def messages(self):
        return [{"phone": "+86" + m["phone"], "template": m["template"], "params": m["params"],
                 "token": m["out_id"], "id": m["biz_id"]} for m in self.fake.sms]

    def report(self, client, message, ok, code="DELIVERED", text="用户接收成功", secret=CALLBACK_SECRET, body=None):
        body = body if body is not None else [{
            "phone_number": message["phone"][3:], "send_time": "2026-12-01 03:00:01",
            "report_time": "2026-12-01 03:00:05", "success": ok, "err_code": code, "err_msg": text,
            "sms_size": "1", "biz_id": message["id"], "out_id": message["token"]}]
        return client.post(f"/api/v1/notify/callbacks/aliyun-sms/{secret}", json=body)


class TencentRig:
    name = "tencent"
    templates = {"alarm": "1000001", "fire": "1000002", "all_clear": "1000003", "login_code": "1000004"}
    illegal_number = {"code": "InvalidParameterValue.IncorrectPhoneNumber", "message": "incorrect number format"}
    temporary = {"http500": {"status": 500},
                 "throttled": {"code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                               "message": "the number of sms messages sent from a single mobile number within 30 "
                                          "seconds exceeds the upper limit"}}
    signature_refusal = "AuthFailure.SignatureFailure"
    answer = {"result": 0, "errmsg": "OK"}

    def __init__(self, settings):
        self.fake = FakeTencentSms(templates=self.templates.values()).start()
        settings.update(SMS_BACKEND="tencent", TENCENT_SECRET_ID=self.fake.secret_id,
                        TENCENT_SECRET_KEY=self.fake.secret_key, TENCENT_SMS_APP_ID=self.fake.app_id,
                        TENCENT_SMS_SIGN_NAME=self.fake.sign_name, TENCENT_SMS_TEMPLATES=dict(self.templates),
                        TENCENT_SMS_ENDPOINT=self.fake.endpoint)

    def wrong_secret(self, settings):
        settings["TENCENT_SECRET_KEY"] = "not-the-key"

    def messages(self):
        out = []
        for m in self.fake.sent:
            names = ("code",) if m["template"] == self.templates["login_code"] else ORDER
            out.append({"phone": m["phone"], "template": m["template"], "params": dict(zip(names, m["params"])),
                        "token": m["session"], "id": m["serial"]})
        return out

    def report(self, client, message, ok, code="DELIVRD", text="用户短信送达成功", secret=CALLBACK_SECRET, body=None):
        body = body if body is not None else [{
            "user_receive_time": "2026-12-01 03:00:05", "nationcode": "86", "mobile": message["phone"][3:],
            "report_status": "SUCCESS" if ok else "FAIL", "errmsg": code, "description": text,
            "sid": message["id"]}]
        return client.post(f"/api/v1/notify/callbacks/tencent-sms/{secret}", json=body)


@pytest.fixture
def settings(app):
    """app.config for one test; everything is put back afterwards."""
    saved = app.config.copy()
    app.config["NOTIFY_CALLBACK_SECRET"] = CALLBACK_SECRET
    app.config["WECHAT_BACKEND"] = "log"  # the fallback after SMS lands in the development log
    yield app.config
    app.config.clear()
    app.config.update(saved)


@pytest.fixture(params=[AliyunRig, TencentRig], ids=["aliyun", "tencent"])
def provider(request, settings):
    rig = request.param(settings)
    yield rig
    rig.fake.stop()


# --- helpers -----------------------------------------------------------------------

def policy(app, w, steps):
    """An escalation policy for the world's community (it wins over the default)."""
    with app.app_context():
        from api.notify.models import EscalationPolicy

        db.session.add(EscalationPolicy(place_id=w["tree"]["community"], name="test", steps=steps))
        db.session.commit()


def sms_first(app, w):
    policy(app, w, [{"delay_s": 0, "notify": [{"tier": "residents", "channels": ["sms"]}]}])


def tick(app, clock, seconds):
    """What the scheduler does at t0 + seconds: due steps, the delivery audit, then the worker."""
    clock.at(seconds)
    with app.app_context():
        from api.notify.escalation import run_due
        from workers.delivery import audit

        run_due()
        audited = audit()
    h.run_worker(app, "notify")
    return audited


def attempts(app, user_id, channel="sms", kind="alarm"):
    with app.app_context():
        from api.notify.models import Notification

        rows = Notification.query.filter_by(user_id=user_id, channel=channel, kind=kind).all()
        return [{"state": d.state, "attempt": d.attempt, "error": d.error, "permanent": d.permanent,
                 "token": d.token, "provider_id": d.provider_id, "delivered_at": d.delivered_at,
                 "next_attempt_at": d.next_attempt_at} for n in rows for d in n.deliveries]


def phone_invalid_at(app, user_id):
    with app.app_context():
        from api.people.models import User

        return db.session.get(User, user_id).phone_invalid_at


def give_wechat(app, user_id, openid):
    with app.app_context():
        from api.people.models import User

        db.session.get(User, user_id).wechat_openid = openid
        db.session.commit()


def alarm_params(client, w):
    return {"site": "阳明花园3栋", "level": "2", "incident": str(h.the_incident(client, w))}


# --- sending -------------------------------------------------------------------------

def test_step_one_sms_is_signed_and_carries_phone_template_and_params(app, client, clock, provider):
    w = h.world(app)
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    assert provider.messages() == []  # step 0 is push only
    tick(app, clock, 61)

    assert provider.fake.rejected == []  # every request passed the provider's signature check
    sent = {m["phone"]: m for m in provider.messages()}
    assert set(sent) == {w["phones"]["resident"], w["phones"]["property_staff"]}
    for role in ("resident", "property_staff"):
        message, [delivery] = sent[w["phones"][role]], attempts(app, w["people"][role])
        assert message["template"] == provider.templates["alarm"]
        assert message["params"] == alarm_params(client, w)
        assert message["token"] == delivery["token"]  # OutId / SessionContext: the report finds the row
        assert (delivery["state"], delivery["provider_id"]) == ("sent", message["id"])


def test_wrong_secret_is_refused_and_recorded_as_a_failed_attempt(app, client, provider, settings):
    provider.wrong_secret(settings)
    w = h.world(app)
    sms_first(app, w)
    h.alarm(client, w)  # answers 200: sending happens in the worker
    h.run_worker(app, "notify")

    assert [code for code, _ in provider.fake.rejected] == [provider.signature_refusal]
    assert provider.messages() == []
    first, retry = attempts(app, w["people"]["resident"])
    assert first["state"] == "failed" and not first["permanent"]
    assert provider.signature_refusal in first["error"]
    assert w["phones"]["resident"][3:] not in first["error"]  # Aliyun echoes the phone in its refusal
    assert retry["state"] == "pending" and retry["next_attempt_at"] is not None
    assert phone_invalid_at(app, w["people"]["resident"]) is None  # our mistake must not disable anyone


def test_illegal_number_disables_the_phone_and_moves_the_person_to_wechat(app, client, provider):
    w = h.world(app)
    resident = w["people"]["resident"]
    give_wechat(app, resident, f"oWx-{provider.name}-resident")
    sms_first(app, w)
    provider.fake.fail_next(**provider.illegal_number)
    h.alarm(client, w)
    h.run_worker(app, "notify")

    [only] = attempts(app, resident)  # not retried
    assert only["state"] == "failed" and only["permanent"] and provider.illegal_number["code"] in only["error"]
    assert phone_invalid_at(app, resident) is not None
    assert [d["state"] for d in attempts(app, resident, channel="wechat")] == ["sent"]
    assert any(m["channel"] == "wechat" and m["to"] == f"oWx-{provider.name}-resident" for m in DevLogChannel.outbox)
    assert provider.fake.requests == 1


@pytest.mark.parametrize("failure", ["http500", "throttled"])
def test_temporary_failure_is_retried_with_backoff_and_sent_once(app, client, clock, provider, failure):
    w = h.world(app)
    resident = w["people"]["resident"]
    sms_first(app, w)
    provider.fake.fail_next(2, **provider.temporary[failure])
    clock.at(0)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    first, second = attempts(app, resident)
    assert (first["state"], second["state"]) == ("failed", "pending")
    assert second["next_attempt_at"] == clock.at(5)  # BACKOFF[0]

    assert tick(app, clock, 4) == 0  # not due yet
    assert tick(app, clock, 6) == 1
    assert [a["state"] for a in attempts(app, resident)] == ["failed", "failed", "pending"]
    assert attempts(app, resident)[2]["next_attempt_at"] == clock.at(6 + 15)  # BACKOFF[1]

    assert tick(app, clock, 22) == 1
    assert [a["state"] for a in attempts(app, resident)] == ["failed", "failed", "sent"]
    assert tick(app, clock, 400) == 0
    assert [m["phone"] for m in provider.messages()] == [w["phones"]["resident"]]  # exactly once
    assert provider.fake.requests == 3
    assert phone_invalid_at(app, resident) is None


def test_login_code_goes_out_with_the_login_template(app, client, provider):
    w = h.world(app)
    resp = client.post("/api/v1/auth/otp", json={"phone": w["phones"]["resident"]})
    assert resp.status_code == 202
    [message] = provider.messages()
    assert message["phone"] == w["phones"]["resident"]
    assert message["template"] == provider.templates["login_code"]
    assert re.fullmatch(r"\d{6}", message["params"]["code"])


def test_all_clear_goes_out_with_its_own_template(app, client, provider):
    w = h.world(app)
    sms_first(app, w)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    incident_id = h.the_incident(client, w)
    resp = client.post(f"/api/v1/incidents/{incident_id}/close", json={"outcome": "false_alarm", "reason": "cooking"},
                       headers=h.auth(w, "resident"))
    assert resp.status_code == 200, resp.get_json()
    h.run_worker(app, "notify")
    assert [m["template"] for m in provider.messages()] == [provider.templates["alarm"],
                                                            provider.templates["all_clear"]]


# --- delivery reports ---------------------------------------------------------------

def test_delivery_report_marks_the_sms_delivered(app, client, provider, settings):
    w = h.world(app)
    sms_first(app, w)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    [message] = provider.messages()

    resp = provider.report(client, message, ok=True)
    assert (resp.status_code, resp.get_json()) == (200, provider.answer)
    [delivery] = attempts(app, w["people"]["resident"])
    assert delivery["state"] == "delivered" and delivery["delivered_at"] is not None
    # providers repeat reports: the same one again changes nothing
    assert provider.report(client, message, ok=False, code="UNDELIV", text="关机").status_code == 200
    assert attempts(app, w["people"]["resident"])[0]["state"] == "delivered"

    # unknown ids and bodies we cannot read are answered alike, so the provider does not retry them
    unknown = {**message, "id": "no-such-id", "token": "no-such-token"}
    for resp in (provider.report(client, unknown, ok=True), provider.report(client, message, ok=True, body="nonsense"),
                 provider.report(client, message, ok=True, body=[1, None, {"x": 1}])):
        assert (resp.status_code, resp.get_json()) == (200, provider.answer)
    # a wrong secret in the path, or none configured, is not a callback address at all
    assert provider.report(client, message, ok=True, secret="wrong-secret-0123456789").status_code == 404
    settings["NOTIFY_CALLBACK_SECRET"] = None
    assert provider.report(client, message, ok=True).status_code == 404


@pytest.mark.parametrize("text, dead", [("空号", True), ("关机", False)])
def test_failed_report_moves_the_person_on_and_an_empty_number_is_disabled(app, client, provider, text, dead):
    w = h.world(app)
    resident = w["people"]["resident"]
    give_wechat(app, resident, f"oWx-{provider.name}-report")
    sms_first(app, w)
    h.alarm(client, w)
    h.run_worker(app, "notify")
    [message] = provider.messages()

    assert provider.report(client, message, ok=False, code="UNDELIV", text=text).get_json() == provider.answer
    [delivery] = attempts(app, resident)
    assert delivery["state"] == "failed" and delivery["permanent"] is dead and text in delivery["error"]
    assert (phone_invalid_at(app, resident) is not None) is dead  # a phone switched off stays valid
    h.run_worker(app, "notify")
    assert [d["state"] for d in attempts(app, resident, channel="wechat")] == ["sent"]
