"""JWT and webhook checks that tests/people/test_auth.py and tests/ingest do not make:
forged and expired refresh tokens, logout with the refresh token, a disabled
account's live token; a captured webhook request replayed with a new timestamp."""

import json
import time
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_refresh_token

from api.extensions import db
from api.ingest.adapters import generic_sign
from tests import factories as f

PASSWORD = "correct-horse-2"


@pytest.fixture
def bob(app):
    with app.app_context():
        u = f.user("operator", password=PASSWORD, phone="+8613812345678")
        db.session.commit()
        return {"id": u.id, "phone": "13812345678"}


def _login(client, bob):
    resp = client.post("/api/v1/auth/login", json={"phone": bob["phone"], "password": PASSWORD})
    assert resp.status_code == 200
    return resp.get_json()


def _me(client, token):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def _refresh(client, token):
    return client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def test_a_token_signed_with_another_key_or_none_is_refused(app, client, bob):
    claims = {"sub": str(bob["id"]), "type": "access", "jti": "x", "fresh": False,
              "iat": int(time.time()), "nbf": int(time.time()), "exp": int(time.time()) + 600}
    forged = pyjwt.encode(claims, "not-our-secret-" * 3, algorithm="HS256")
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned):
        resp = _me(client, token)
        assert resp.status_code == 401 and resp.get_json()["code"] == "token_invalid", resp.get_json()


def test_an_expired_refresh_token_cannot_refresh(app, client, bob):
    with app.app_context():
        token = create_refresh_token(identity=str(bob["id"]), additional_claims={"fam": "f1"},
                                     expires_delta=timedelta(seconds=-1))
    resp = _refresh(client, token)
    assert resp.status_code == 401 and resp.get_json()["code"] == "token_expired"


def test_a_refresh_token_made_without_a_login_family_is_refused(app, client, bob):
    with app.app_context():
        token = create_refresh_token(identity=str(bob["id"]))  # correctly signed, but no login issued it
    resp = _refresh(client, token)
    assert resp.status_code == 401 and resp.get_json()["code"] == "token_revoked"


def test_logout_with_the_refresh_token_ends_the_whole_login(client, bob):
    pair = _login(client, bob)
    assert client.post("/api/v1/auth/logout",
                       headers={"Authorization": f"Bearer {pair['refresh_token']}"}).status_code == 204
    assert _refresh(client, pair["refresh_token"]).status_code == 401
    assert _me(client, pair["access_token"]).get_json()["code"] == "token_revoked"


def test_a_stolen_family_does_not_touch_another_login(client, bob):
    phone_a, phone_b = _login(client, bob), _login(client, bob)
    second = _refresh(client, phone_a["refresh_token"]).get_json()
    third = _refresh(client, second["refresh_token"]).get_json()
    # the first token again, after the family moved on twice: theft, phone A's login dies
    assert _refresh(client, phone_a["refresh_token"]).status_code == 401
    assert _refresh(client, third["refresh_token"]).status_code == 401
    assert _me(client, phone_b["access_token"]).status_code == 200
    assert _refresh(client, phone_b["refresh_token"]).status_code == 200


def test_a_disabled_accounts_live_token_stops_working(app, client, bob):
    pair = _login(client, bob)
    with app.app_context():
        from api.people.models import User

        db.session.get(User, bob["id"]).is_active = False
        db.session.commit()
    assert _me(client, pair["access_token"]).status_code == 401
    assert _refresh(client, pair["refresh_token"]).status_code == 401


# --- webhook ---------------------------------------------------------------------


@pytest.fixture
def webhook(app):
    with app.app_context():
        tree = f.city_tree("SIG")
        integration = f.integration("generic")
        db.session.commit()
        return {"serial": tree["site_device"].serial, "key": integration.key_id, "secret": integration.secret}


def _post(client, body, key, stamp, signature):
    return client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": key, "X-Timestamp": str(stamp), "X-Signature": signature})


def test_a_captured_request_replayed_with_a_fresh_timestamp_is_refused(client, webhook):
    body = json.dumps({"device": webhook["serial"], "id": "cap-1", "type": "smoke_alarm",
                       "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 400))}).encode()
    old = int(time.time()) - 400
    captured = generic_sign(webhook["secret"], old, body)
    assert _post(client, body, webhook["key"], old, captured).status_code == 401  # outside the window
    # the attacker moves the timestamp into the window; the signature covers it
    resp = _post(client, body, webhook["key"], int(time.time()), captured)
    assert resp.status_code == 401 and resp.get_json()["errors"]["signature"] == ["X-Signature does not match"]
