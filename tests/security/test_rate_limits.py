"""Rate limits: logins per address and per phone, and device messages per integration
key. (SMS codes per phone and per address: tests/people/test_auth.py.)"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.extensions import db
from api.ingest.adapters import generic_sign
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limits(app):
    """Set rate limits for one test; they are read on every request."""
    saved = {}

    def set_limit(name, value):
        saved.setdefault(name, app.config[name])
        app.config[name] = value

    yield set_limit
    app.config.update(saved)


def assert_rate_limited(resp):
    assert resp.status_code == 429, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["code"] == "rate_limited" and body["message"] and set(body) == {"code", "message", "errors"}
    assert int(resp.headers["Retry-After"]) > 0


def test_logins_are_limited_per_address(client, limits):
    limits("LOGIN_RATE_PER_IP", "3 per minute")
    statuses = [client.post("/api/v1/auth/login", json={"phone": f"1390000{i:04d}", "password": "guess-guess"})
                .status_code for i in range(3)]
    assert statuses == [401, 401, 401]
    assert_rate_limited(client.post("/api/v1/auth/login", json={"phone": "13900009999", "password": "guess-guess"}))
    # another address is not blocked by the first one's guesses
    other = client.post("/api/v1/auth/login", json={"phone": "13900009999", "password": "guess-guess"},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 401


def test_password_guesses_against_one_phone_are_limited_from_any_address(client):
    phone = "13900001234"
    statuses = [client.post("/api/v1/auth/login", json={"phone": phone, "password": f"guess-{i}"},
                            environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"}).status_code for i in range(10)]
    assert statuses == [401] * 10
    assert_rate_limited(client.post("/api/v1/auth/login", json={"phone": phone, "password": "guess-10"},
                                    environ_base={"REMOTE_ADDR": "198.51.100.1"}))


@pytest.fixture
def integrations(app):
    with app.app_context():
        tree = f.city_tree("RATE")
        made = {kind: f.integration(kind) for kind in ("generic", "ctwing")}
        made["second"] = f.integration("generic")
        db.session.commit()
        return {"serial": tree["site_device"].serial,
                **{k: (i.key_id, i.secret) for k, i in made.items()}}


def heartbeat_request(client, integration, serial, n):
    key, secret = integration
    body = json.dumps({"device": serial, "id": f"hb-{key}-{n}", "type": "heartbeat",
                       "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
    stamp = int(time.time())
    return client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": key, "X-Timestamp": str(stamp), "X-Signature": generic_sign(secret, stamp, body)})


def test_device_messages_are_limited_per_integration_key(client, integrations, limits):
    limits("INGEST_RATE_PER_KEY", "3 per minute")
    serial = integrations["serial"]
    assert [heartbeat_request(client, integrations["generic"], serial, n).status_code for n in range(3)] == [200] * 3
    assert_rate_limited(heartbeat_request(client, integrations["generic"], serial, 3))
    # the limit is the key's, not the address's: another integration still gets through
    assert heartbeat_request(client, integrations["second"], serial, 0).status_code == 200
    # and the vendor push endpoints count per key as well
    key, secret = integrations["ctwing"]
    body = {"messageType": "deviceOnlineOfflineReport", "IMEI": "869000000000777", "timestamp": 1, "eventType": 1}
    statuses = [client.post(f"/api/v1/ingest/ctwing/{key}/{secret}", json=body).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_default_ingest_limit_lets_a_burst_through(client, integrations):
    """A panel resending its backlog after an outage: 120 requests at once all pass."""
    serial = integrations["serial"]
    statuses = {heartbeat_request(client, integrations["generic"], serial, n).status_code for n in range(120)}
    assert statuses == {200}


# Its own process: the limiter is one object per process, and this one must see a dead Redis.
REDIS_DOWN = """
import json, sys
from api import create_app
from tests.security.test_rate_limits import heartbeat_request
app = create_app("testing")
client = app.test_client()
serial, key, secret = sys.argv[1:4]
first = heartbeat_request(client, (key, secret), serial, "down-1")
app.config["INGEST_RATE_PER_KEY"] = "1 per minute"
later = [heartbeat_request(client, (key, secret), serial, f"down-{n}").status_code for n in (2, 3)]
print(json.dumps([first.status_code, first.get_json(), later]))
"""


def test_ingest_keeps_answering_while_the_rate_limit_store_is_down(integrations):
    """Redis unreachable: the limits count in the process's memory meanwhile; devices are not refused."""
    env = {**os.environ, "TEST_REDIS_URL": "redis://127.0.0.1:9/0"}  # nothing listens on the discard port
    key, secret = integrations["generic"]
    out = subprocess.run([sys.executable, "-c", REDIS_DOWN, integrations["serial"], key, secret], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    first_status, first_body, later = json.loads(out.stdout.strip().splitlines()[-1])
    assert first_status == 200 and first_body["accepted"] == 1, first_body
    assert later == [200, 429]  # still limited, in memory
