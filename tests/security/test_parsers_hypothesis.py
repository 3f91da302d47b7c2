"""Property tests for what arrives from outside: device messages in each vendor's
shape (generic webhook, OneNET push, CTWing push) and Idempotency-Key headers.

The parsers may only answer or refuse with their documented rejection (`Malformed`,
a ValueError); the HTTP routes may only answer 200 or a JSON 4xx — never a 500 —
whatever the bytes. Bounded example counts, derandomised: the same cases every run.
"""

import base64
import hashlib
import hmac
import json
import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.extensions import db
from api.ingest import adapters
from api.ingest.models import EVENT_KINDS, TELEMETRY_METRICS
from api.ingest.store import Malformed, normalise, parse_time
from tests import factories as f

PURE = settings(max_examples=100, deadline=None, derandomize=True, database=None)
HTTP = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SERIAL = "SNFUZZ0001"
IMEI = "869000000000001"

# --- strategies ---------------------------------------------------------------

# Text with what breaks databases and encoders: NUL, lone surrogates, long runs, markup.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "💥" * 3, "x" * 300, "<script>alert(1)</script>",
                     "'; DROP TABLE devices; --", "NaN", "1e999", "-0", SERIAL, IMEI]),
)
numbers = st.one_of(st.integers(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 10**11, 10**13, 2**63]))
scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_text)
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner,
                                                                                              max_size=4),
                        max_leaves=12)
times = st.one_of(numbers, nasty_text, st.sampled_from([
    "2026-11-30T10:00:00+08:00", "2026-11-30T10:00:00Z", "2026-11-30T10:00:00", "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+00:00", "2026-02-30T00:00:00Z"]), st.just(int(time.time() * 1000)))

metric_values = st.dictionaries(st.one_of(st.sampled_from(sorted(TELEMETRY_METRICS)), nasty_text), scalars,
                                max_size=4)
event_like = st.fixed_dictionaries({}, optional={
    "device": st.one_of(st.sampled_from([SERIAL, IMEI]), scalars),
    "id": st.one_of(st.integers(), nasty_text, scalars),
    "at": times,
    "type": st.one_of(st.sampled_from(sorted(EVENT_KINDS)), scalars),
    "values": st.one_of(metric_values, any_json),
})
generic_payloads = st.one_of(any_json, event_like, st.fixed_dictionaries({"events": st.one_of(
    st.lists(st.one_of(event_like, any_json), max_size=5), any_json)}))
mappings = st.one_of(st.just({}), st.just(adapters.DEFAULT_MAPPINGS["onenet"]),
                     st.just(adapters.DEFAULT_MAPPINGS["ctwing"]),
                     st.fixed_dictionaries({}, optional={"kinds": st.dictionaries(nasty_text, nasty_text, max_size=3),
                                                         "values": st.dictionaries(nasty_text, nasty_text,
                                                                                   max_size=3)}))

onenet_msgs = st.one_of(any_json, st.lists(st.fixed_dictionaries({}, optional={
    "type": st.one_of(st.sampled_from([1, 2]), scalars), "imei": st.one_of(st.just(IMEI), scalars),
    "dev_id": scalars, "ds_id": st.one_of(st.sampled_from(["alarm_status", "fault_status", "battery"]), scalars),
    "value": scalars, "at": times, "status": st.one_of(st.sampled_from([0, 1]), scalars)}), max_size=3))

ctwing_bodies = st.one_of(any_json, st.fixed_dictionaries({}, optional={
    "messageType": st.one_of(st.sampled_from(["dataReport", "eventReport", "deviceOnlineOfflineReport",
                                              "commandResponse"]), scalars),
    "IMEI": st.one_of(st.just(IMEI), scalars), "deviceId": scalars, "timestamp": times, "serviceId": scalars,
    "eventType": scalars,
    "payload": st.one_of(st.fixed_dictionaries({"serviceData": st.one_of(st.dictionaries(st.sampled_from(
        ["Alarm_Status", "Battery_Level", "RSRP", "battery_pct", "event", "type"]), scalars, max_size=4), any_json)}),
        any_json),
    "eventContent": any_json}))


def dumps(value):
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def encode(text):
    """JSON text as bytes on the wire; a lone surrogate goes as its escape, as a sender's library would."""
    return text.encode("utf-8", "surrogatepass")


# --- the parsers on their own ------------------------------------------------


@PURE
@given(payload=generic_payloads, mapping=mappings)
def test_generic_events_and_normalise_answer_or_raise_malformed(payload, mapping):
    now = datetime.now(UTC)
    try:
        events = adapters.generic_events(payload, mapping)
    except Malformed:
        return
    assert isinstance(events, list)
    for raw in events:
        try:
            clean = normalise(raw, now)
        except Malformed:
            continue
        assert isinstance(clean["device"], str) and clean["device"] and len(clean["device"]) <= 128
        assert isinstance(clean["id"], str) and clean["id"] and len(clean["id"]) <= 128
        assert clean["kind"] in EVENT_KINDS
        assert clean["at"].tzinfo is not None and clean["at"] - now <= timedelta(minutes=10)
        assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in clean["values"].values())


@PURE
@given(value=times)
def test_parse_time_gives_an_aware_time_or_malformed(value):
    try:
        parsed = parse_time(value)
    except Malformed:
        return
    assert parsed.tzinfo is not None


@PURE
@given(text=st.one_of(st.text(max_size=200), any_json.map(dumps), onenet_msgs.map(
    lambda m: dumps({"msg": m, "nonce": "abc", "msg_signature": "x"}))), token=st.text(max_size=20))
def test_onenet_verify_answers_or_raises_its_rejection(text, token):
    try:
        msg = adapters.onenet_verify(token, text)
    except ValueError:  # Malformed or a JSON error: what the route records and answers 200 to
        return
    assert msg is None or isinstance(msg, (dict, list, str, int, float, bool))


def _events_or_malformed(parse, *args):
    """A carrier parser gives a list of events, each naming its device, or raises Malformed."""
    try:
        events = parse(*args)
    except Malformed:
        return
    assert isinstance(events, list) and all(isinstance(e, dict) and e["device"] for e in events)


@PURE
@given(msg=onenet_msgs, mapping=mappings)
def test_onenet_events_answer_or_raise_malformed(msg, mapping):
    _events_or_malformed(adapters.onenet_events, msg, mapping)


@PURE
@given(body=ctwing_bodies, mapping=mappings)
def test_ctwing_events_answer_or_raise_malformed(body, mapping):
    _events_or_malformed(adapters.ctwing_events, body, mapping)


# --- through the HTTP routes, signed as the integration ------------------------


@pytest.fixture
def ingest_world(app):
    with app.app_context():
        tree = f.city_tree("HYP")
        f.device(tree["site"], serial=SERIAL, imei=IMEI)
        out = {kind: f.integration(kind) for kind in ("generic", "onenet", "ctwing")}
        db.session.commit()
        return {kind: (i.key_id, i.secret) for kind, i in out.items()}


def assert_answer_or_json_refusal(resp, allowed, sent):
    assert resp.status_code in allowed, (resp.status_code, resp.get_data(as_text=True)[:500], sent[:500])
    body = resp.get_json()
    assert isinstance(body, dict), resp.get_data(as_text=True)[:300]
    if resp.status_code >= 400:
        assert set(body) == {"code", "message", "errors"} and body["message"], body


@HTTP
@given(body=st.one_of(generic_payloads.map(dumps).map(encode), st.binary(max_size=200)))
def test_generic_webhook_never_500_whatever_the_signed_body(client, ingest_world, body):
    key, secret = ingest_world["generic"]
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    resp = client.post("/api/v1/ingest/events", data=body, content_type="application/json", headers={
        "X-Integration-Key": key, "X-Timestamp": str(stamp), "X-Signature": signature})
    assert_answer_or_json_refusal(resp, {200, 400, 413, 422}, body)


@HTTP
@given(msg=onenet_msgs, as_string=st.booleans())
def test_onenet_push_never_500_whatever_the_signed_msg(client, ingest_world, msg, as_string):
    key, token = ingest_world["onenet"]
    # OneNET signs msg as sent: an object's JSON text, a string's content.
    text = json.dumps(msg, allow_nan=True)
    if as_string:  # the newer spelling: msg is a JSON string holding the JSON text
        msg_raw, signed = json.dumps(text), text
    else:
        msg_raw, signed = text, msg if isinstance(msg, str) else text
    sig = base64.b64encode(hashlib.md5((token + "nonce123" + signed).encode("utf-8", "surrogatepass")).digest())
    body = f'{{"msg": {msg_raw}, "nonce": "nonce123", "msg_signature": "{sig.decode()}"}}'
    resp = client.post(f"/api/v1/ingest/onenet/{key}", data=encode(body), content_type="application/json")
    assert_answer_or_json_refusal(resp, {200}, body)


@HTTP
@given(body=st.one_of(ctwing_bodies.map(dumps).map(encode), st.binary(max_size=200)))
def test_ctwing_push_never_500_whatever_the_body(client, ingest_world, body):
    key, secret = ingest_world["ctwing"]
    resp = client.post(f"/api/v1/ingest/ctwing/{key}/{secret}", data=body, content_type="application/json")
    assert_answer_or_json_refusal(resp, {200}, body)


@HTTP
@given(key=nasty_text, stamp=scalars.map(str), signature=nasty_text)
def test_webhook_headers_of_any_spelling_are_refused_as_json(client, ingest_world, key, stamp, signature):
    latin1 = {k: v.encode("utf-8", "surrogatepass").decode("latin-1").replace("\n", "").replace("\r", "")
              for k, v in {"X-Integration-Key": key, "X-Timestamp": stamp, "X-Signature": signature}.items()}
    resp = client.post("/api/v1/ingest/events", data=b'{"events": []}', content_type="application/json",
                       headers=latin1)
    assert_answer_or_json_refusal(resp, {401}, repr(latin1))


# --- Idempotency-Key -----------------------------------------------------------


@pytest.fixture
def alert_to_acknowledge(app):
    with app.app_context():
        tree = f.city_tree("IDEM")
        incident = f.incident(tree["site"], tree["site_device"])
        admin = f.user("admin")
        db.session.commit()
        from api.alerts.models import Alert

        return Alert.query.filter_by(incident_id=incident.id).one().id, f.bearer(admin)


# What can arrive in a header: WSGI hands the app latin-1 text; no CR/LF (HTTP framing).
header_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"),
                      max_size=120)


@HTTP
@given(key=st.one_of(header_text, st.sampled_from(["", " ", "\x00", "k" * 100, "k" * 101, "é" * 60])))
def test_any_idempotency_key_works_or_gets_a_clear_4xx(client, alert_to_acknowledge, key):
    alert_id, headers = alert_to_acknowledge
    url = f"/api/v1/alerts/{alert_id}/acknowledge"
    first = client.post(url, headers={**headers, "Idempotency-Key": key})
    assert first.status_code in (200, 422), (first.status_code, first.get_data(as_text=True)[:300])
    if first.status_code == 422:
        err = first.get_json()
        assert set(err) == {"code", "message", "errors"} and "Idempotency-Key" in err["errors"], err
        return
    again = client.post(url, headers={**headers, "Idempotency-Key": key})
    assert again.status_code == 200
    if key.strip():  # a key with some content is remembered: the retry is the first answer
        assert again.headers.get("Idempotent-Replayed") == "true", key
        assert again.get_data() == first.get_data()
