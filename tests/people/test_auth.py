"""Logging in: passwords, SMS codes, token rotation, revocation."""

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from api.common.clock import set_clock, utcnow
from api.extensions import db
from tests import factories as f
from workers.channels.sms import LogSms

PASSWORD = "correct-horse-1"


@pytest.fixture
def alice(app):
    with app.app_context():
        u = f.user("operator", password=PASSWORD, phone="+8613812341234", name="Alice")
        db.session.commit()
        return {"id": u.id, "phone": "13812341234"}


def login(client, **body):
    return client.post("/api/v1/auth/login", json=body)


def test_password_login_returns_a_token_pair(client, alice):
    resp = login(client, phone=alice["phone"], password=PASSWORD)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["access_token"] and body["refresh_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["phone"] == "13812341234"  # the owner sees their own number


@pytest.mark.parametrize("phone", ["+86 138 1234 1234", "8613812341234", "138-1234-1234"])
def test_phone_spellings_are_one_account(client, alice, phone):
    assert login(client, phone=phone, password=PASSWORD).status_code == 200


def test_wrong_password_and_unknown_phone_answer_alike(client, alice):
    wrong = login(client, phone=alice["phone"], password="nope-nope")
    unknown = login(client, phone="13900001111", password="nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["code"] == unknown.get_json()["code"] == "bad_credentials"


def test_login_needs_exactly_one_secret(client, alice):
    resp = login(client, phone=alice["phone"], password=PASSWORD, code="123456")
    assert resp.status_code == 422
    assert login(client, phone=alice["phone"]).status_code == 422


def test_disabled_account_cannot_log_in(app, client, alice):
    with app.app_context():
        from api.people.models import User

        db.session.get(User, alice["id"]).is_active = False
        db.session.commit()
    assert login(client, phone=alice["phone"], password=PASSWORD).status_code == 401


def _request_code(client, phone):
    resp = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert resp.status_code == 202, resp.get_json()
    return LogSms.outbox[-1]["text"].split("验证码是 ")[1][:6] if LogSms.outbox else None


def test_sms_code_login(app, client, alice):
    code = _request_code(client, alice["phone"])
    assert LogSms.outbox[-1]["to"] == "+8613812341234"
    with app.app_context():
        from api.people.models import OtpCode

        stored = OtpCode.query.one()
        assert code not in stored.code_hash  # stored hashed, not in clear
    resp = login(client, phone=alice["phone"], code=code)
    assert resp.status_code == 200
    # one use only
    assert login(client, phone=alice["phone"], code=code).status_code == 401


def test_code_expires_after_five_minutes(app, client, alice):
    code = _request_code(client, alice["phone"])
    later = utcnow() + timedelta(minutes=5, seconds=1)
    set_clock(app, lambda: later)
    resp = login(client, phone=alice["phone"], code=code)
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "bad_code"


def test_code_dies_after_five_wrong_tries(client, alice):
    code = _request_code(client, alice["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert login(client, phone=alice["phone"], code=wrong).status_code == 401
    assert login(client, phone=alice["phone"], code=code).status_code == 401


def test_unknown_phone_gets_the_same_answer_and_no_sms(client):
    resp = client.post("/api/v1/auth/otp", json={"phone": "13900002222"})
    assert resp.status_code == 202
    assert LogSms.outbox == []


def test_codes_are_rate_limited_per_phone(client, alice):
    _request_code(client, alice["phone"])
    again = client.post("/api/v1/auth/otp", json={"phone": alice["phone"]})
    assert again.status_code == 429
    body = again.get_json()
    assert body["code"] == "rate_limited" and body["message"]
    # another phone from the same address is not blocked by the first phone's limit
    assert client.post("/api/v1/auth/otp", json={"phone": "13900003333"}).status_code == 202


def test_codes_are_rate_limited_per_address(app, client):
    app.config["OTP_RATE_PER_IP"] = "3 per hour"
    try:
        statuses = [
            client.post("/api/v1/auth/otp", json={"phone": f"1390000{i:04d}"}).status_code for i in range(4)
        ]
    finally:
        app.config["OTP_RATE_PER_IP"] = "20 per hour"
    assert statuses == [202, 202, 202, 429]


def _pair(client, alice):
    return login(client, phone=alice["phone"], password=PASSWORD).get_json()


def _refresh(client, refresh_token):
    return client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh_token}"})


def test_refresh_rotates_and_reuse_revokes_the_family(client, alice):
    first = _pair(client, alice)
    second = _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    second = second.get_json()
    third = _refresh(client, second["refresh_token"]).get_json()
    # the first refresh token was rotated twice since: presenting it again is theft
    stolen = _refresh(client, first["refresh_token"])
    assert stolen.status_code == 401
    assert stolen.get_json()["code"] == "token_revoked"
    # the whole family is dead, including the newest pair
    assert _refresh(client, third["refresh_token"]).status_code == 401
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {third['access_token']}"})
    assert me.status_code == 401


def test_a_retried_refresh_gets_the_first_answer(client, alice):
    pair = _pair(client, alice)
    a = _refresh(client, pair["refresh_token"]).get_json()
    b = _refresh(client, pair["refresh_token"]).get_json()
    assert a == b
    assert _refresh(client, a["refresh_token"]).status_code == 200


def test_access_token_cannot_refresh(client, alice):
    pair = _pair(client, alice)
    assert _refresh(client, pair["access_token"]).status_code == 401


def test_logout_revokes_access_and_refresh(client, alice):
    pair = _pair(client, alice)
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert client.get("/api/v1/me", headers=auth).status_code == 401
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_expired_token_is_a_clear_error(app, client, alice):
    with app.app_context():
        token = create_access_token(identity=str(alice["id"]), expires_delta=timedelta(seconds=-10))
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "token_expired"


def test_garbage_token_is_a_clear_error(client):
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.token"})
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "token_invalid"


def test_token_of_a_deleted_user_is_refused(app, client, alice):
    with app.app_context():
        token = create_access_token(identity=str(alice["id"]))
        from api.people.models import User

        db.session.delete(db.session.get(User, alice["id"]))
        db.session.commit()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
