"""SMS through Tencent Cloud: SendSms (API 2021-01-11), signed with TC3-HMAC-SHA256.

CanonicalRequest = POST \\n / \\n (empty query) \\n "content-type:…\\nhost:…\\n" \\n
                   "content-type;host" \\n hex(SHA256(body))
StringToSign     = TC3-HMAC-SHA256 \\n timestamp \\n date/sms/tc3_request \\n hex(SHA256(CanonicalRequest))
key              = HMAC chain "TC3"+SecretKey → date → "sms" → "tc3_request"
The body is signed byte for byte as sent. The timestamp is the real clock's
(the API refuses one more than five minutes away), never the app's test clock.

Template variables are positional ({1}, {2}…): templates must be registered
with the order in PARAM_ORDER. SessionContext carries the delivery's token.
"""

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from flask import current_app

from workers.channels.base import Channel, TransportError

SERVICE, ACTION, VERSION = "sms", "SendSms", "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
PARAM_ORDER = {"login_code": ("code",)}
DEFAULT_ORDER = ("site", "level", "incident")
# Only codes about the number itself: the format is wrong, or it is on the
# do-not-disturb list (the person unsubscribed or complained; retrying cannot help).
# Frequency limits, auth and template errors are temporary: retried, then fallback.
PERMANENT = {"InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist"}
_local = threading.local()


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def authorization(secret_id, secret_key, host, body, timestamp, path="/"):
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", path, "", f"content-type:{CONTENT_TYPE}\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def _session():
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _refusal(code, message):
    return TransportError(f"tencent SendSms {code}: {str(message or '')[:120]}"[:300], permanent=code in PERMANENT)


class TencentSms(Channel):
    name = "sms"

    def send(self, message):
        cfg = current_app.config
        secret_id, secret_key = cfg.get("TENCENT_SECRET_ID"), cfg.get("TENCENT_SECRET_KEY")
        kind = message.payload.get("template") or message.kind
        template = (cfg.get("TENCENT_SMS_TEMPLATES") or {}).get(kind)
        if not (secret_id and secret_key and cfg.get("TENCENT_SMS_APP_ID") and cfg.get("TENCENT_SMS_SIGN_NAME")):
            raise TransportError("tencent SendSms: TENCENT_SECRET_ID/KEY, SMS_APP_ID, SMS_SIGN_NAME not configured")
        if not template:
            raise TransportError(f"tencent SendSms: no template for {kind!r} (TENCENT_SMS_TEMPLATES)")
        params = message.payload.get("params") or {}
        payload = {
            "PhoneNumberSet": [message.address],  # E.164, as stored
            "SmsSdkAppId": cfg["TENCENT_SMS_APP_ID"],
            "SignName": cfg["TENCENT_SMS_SIGN_NAME"],
            "TemplateId": template,
            "TemplateParamSet": [str(params.get(name, "")) for name in PARAM_ORDER.get(kind, DEFAULT_ORDER)],
            "SessionContext": message.token or "",
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        url = urlsplit(cfg["TENCENT_SMS_ENDPOINT"])
        host, timestamp = url.netloc.lower(), int(time.time())
        headers = {
            "Authorization": authorization(secret_id, secret_key, host, body, timestamp, url.path or "/"),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": cfg.get("TENCENT_SMS_REGION") or "ap-guangzhou",
        }
        try:
            resp = _session().post(cfg["TENCENT_SMS_ENDPOINT"], data=body, headers=headers,
                                   timeout=cfg.get("SMS_TIMEOUT_SECONDS", 10))
        except requests.RequestException as exc:
            raise TransportError(f"tencent SendSms: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise TransportError(f"tencent SendSms: HTTP {resp.status_code}")
        try:
            answer = resp.json()["Response"]
        except (ValueError, KeyError, TypeError):
            raise TransportError("tencent SendSms: unexpected answer") from None
        error = answer.get("Error")
        if error:  # the whole request was refused (auth, rate limit, parameters)
            raise _refusal(error.get("Code"), f"{error.get('Message')} (request {answer.get('RequestId', '-')})")
        status = (answer.get("SendStatusSet") or [{}])[0]
        if status.get("Code") != "Ok":
            raise _refusal(status.get("Code") or "unknown", status.get("Message"))
        return status.get("SerialNo") or ""
