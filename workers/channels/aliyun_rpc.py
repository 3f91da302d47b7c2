"""Alibaba Cloud's RPC-style API (Dysmsapi SMS, Dyvmsapi voice): signature v1.0.

Every parameter, common or action-specific, is signed:
  - names and values percent-encoded per RFC 3986 (space %20, "*" %2A, "~" kept),
  - sorted by name and joined as name=value with "&",
  - StringToSign = "POST&%2F&" + percent-encode(that query),
  - Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
The parameters and the signature then go as a form POST.

Timestamp and nonce come from the real clock and a random UUID, never from the
app's (test-controlled) clock: the gateway refuses a Timestamp more than 15
minutes from its own and any nonce it has seen before.
"""

import base64
import hashlib
import hmac
import threading
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from workers.channels.base import TransportError

_local = threading.local()


def percent_encode(value):
    # quote() keeps only A-Z a-z 0-9 "-_." plus `safe`: exactly RFC 3986's unreserved set.
    return quote(str(value), safe="~")


def string_to_sign(params, method="POST"):
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(query)}"


def sign(params, secret, method="POST"):
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _session():
    # One pooled session per worker thread (deliver_batch sends from a thread pool).
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def call(endpoint, action, version, params, key_id, secret, timeout):
    """POST one signed action. Returns the JSON answer of any non-5xx reply (the
    caller reads its Code); raises a temporary TransportError when there is none."""
    signed = {
        "AccessKeyId": key_id,
        "Action": action,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": version,
        **params,
    }
    signed["Signature"] = sign(signed, secret)
    try:
        resp = _session().post(endpoint, data=signed, timeout=timeout)
    except requests.RequestException as exc:
        raise TransportError(f"aliyun {action}: {type(exc).__name__}") from None
    if resp.status_code >= 500:
        raise TransportError(f"aliyun {action}: HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        raise TransportError(f"aliyun {action}: HTTP {resp.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise TransportError(f"aliyun {action}: HTTP {resp.status_code}, unexpected answer")
    return body


def refusal(action, body, permanent_codes):
    """The TransportError for an answer whose Code is not OK.

    Only codes that say the number itself is dead are permanent: a permanent
    failure disables the person's phone (users.phone_invalid_at), so a wrong key,
    template or signature of ours must stay temporary or one typo would disable
    every resident. SignatureDoesNotMatch echoes the whole string to sign (phone
    number and message), so the message is cut before it: it is stored and logged.
    """
    code = str(body.get("Code") or "unknown")
    message = str(body.get("Message") or "").split(" server string to sign")[0][:80]
    return TransportError(f"aliyun {action} {code}: {message} (request {body.get('RequestId', '-')})"[:300],
                          permanent=code in permanent_codes)


def credentials(config, action):
    key_id, secret = config.get("ALIYUN_ACCESS_KEY_ID"), config.get("ALIYUN_ACCESS_KEY_SECRET")
    if not key_id or not secret:
        raise TransportError(f"aliyun {action}: ALIYUN_ACCESS_KEY_ID/SECRET are not configured")
    return key_id, secret


def template_params(message, limit=None):
    """The template variables as strings (Aliyun refuses numbers: isv.INVALID_JSON_PARAM)."""
    params = message.payload.get("params") or {}
    return {k: str(v)[:limit] if limit else str(v) for k, v in params.items()}


def mainland_number(e164):
    """13812345678 from +8613812345678: Dysms and Dyvms want the national number."""
    if not e164.startswith("+86"):
        return None
    return e164[3:]
