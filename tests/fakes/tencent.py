"""Tencent Cloud's SMS API (SendSms 2021-01-11) on loopback.

It checks a request the way API 3.0 does: the X-TC-* headers present and
right, the Authorization header well formed, the SecretId known, the
timestamp within five minutes of the real clock and of the credential's
date, and the TC3-HMAC-SHA256 signature recomputed here from the received
method, path, query, signed headers and raw body with the known key (its own
code, not the client's). Refusals are the API's own {"Response": {"Error"}}
bodies, with HTTP 200 as the API answers them.

Accepted messages land in `sent`; refusals in `rejected`. `fail_next(n,
code=…)` makes the next n well-signed requests answer that code: per number
in SendStatusSet for number-level codes (wrong number, blacklist, frequency
limits), as a request Error otherwise; `status=500` answers a gateway error.
"""

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone

from tests.fakes.loopback import LoopbackService, QuietHandler

REGIONS = {"ap-guangzhou", "ap-beijing", "ap-nanjing"}
NUMBER_CODES = {"InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
                "LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit",
                "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.DeliveryFrequencyLimit"}
AUTH = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                  r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
E164_MAINLAND = re.compile(r"^\+861[3-9]\d{9}$")


class Refusal(Exception):
    def __init__(self, code, message):
        super().__init__(code)
        self.code, self.message = code, message


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class FakeTencentSms(LoopbackService):
    def __init__(self, secret_id="AKIDFakeSecretId0123", secret_key="fake-key-0123456789", app_id="1400000001",
                 sign_name="消防预警", templates=("1000001", "1000002", "1000003", "1000004")):
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id
        self.sign_name, self.templates = sign_name, set(templates)
        self.sent, self.rejected, self.requests = [], [], 0
        self._failures, self.lock = [], threading.Lock()
        self._listen()

    def fail_next(self, count=1, code="InternalError.Timeout", status=200, message="fake failure"):
        with self.lock:
            self._failures.extend([(status, code, message)] * count)

    # --- API 3.0 authentication -----------------------------------------------------

    def _verify(self, method, path, headers, body):
        for name in ("authorization", "x-tc-action", "x-tc-version", "x-tc-timestamp"):
            if not headers.get(name):
                raise Refusal("MissingParameter", f"The request is missing a required parameter `{name}`.")
        match = AUTH.match(headers["authorization"])
        if match is None:
            raise Refusal("AuthFailure.InvalidAuthorization", "Authorization header format error.")
        secret_id, date, service, signed_headers, signature = match.groups()
        if secret_id != self.secret_id:
            raise Refusal("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your "
                                                          "SecretId is correct.")
        try:
            stamp = int(headers["x-tc-timestamp"])
        except ValueError:
            raise Refusal("InvalidParameter", "X-TC-Timestamp must be Unix seconds.") from None
        if abs(time.time() - stamp) > 300:
            raise Refusal("AuthFailure.SignatureExpire", "Signature expired. Timestamp and server time cannot differ "
                                                         "by more than five minutes.")
        if date != datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d") or service != "sms":
            raise Refusal("AuthFailure.InvalidAuthorization", "Credential scope does not match date or service.")
        names = signed_headers.split(";")
        if "content-type" not in names or "host" not in names or names != sorted(names):
            raise Refusal("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
        canonical_headers = "".join(f"{n}:{(headers.get(n) or '').strip().lower()}\n" for n in names)
        uri, _, query = path.partition("?")
        canonical = "\n".join([method, uri, query, canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()])
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode(), date), service), "tc3_request")
        if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
            raise Refusal("AuthFailure.SignatureFailure", "The provided credentials could not be validated. "
                                                          "Please check your signature is correct.")
        if headers["x-tc-action"] != "SendSms":
            raise Refusal("InvalidAction", f"The requested action `{headers['x-tc-action']}` does not exist.")
        if headers["x-tc-version"] != "2021-01-11":
            raise Refusal("NoSuchVersion", "The requested version does not exist.")
        if headers.get("x-tc-region") not in REGIONS:
            raise Refusal("InvalidParameterValue", "The region is missing or not supported for SMS.")

    def _send(self, body):
        try:
            req = json.loads(body)
        except ValueError:
            raise Refusal("FailedOperation.JsonParseFail", "Failed to parse the JSON body.") from None
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not req.get(name):
                raise Refusal("MissingParameter", f"The request is missing a required parameter `{name}`.")
        if req["SmsSdkAppId"] != self.app_id:
            raise Refusal("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        if req.get("SignName") != self.sign_name:
            raise Refusal("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is not approved.")
        if req["TemplateId"] not in self.templates:
            raise Refusal("FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved.")
        params = req.get("TemplateParamSet") or []
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise Refusal("InvalidParameterValue.TemplateParameterFormatError", "Template parameters must be strings.")
        statuses = []
        for phone in req["PhoneNumberSet"]:
            status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "SessionContext": req.get("SessionContext", ""),
                      "IsoCode": "CN"}
            if not E164_MAINLAND.match(phone):
                statuses.append({**status, "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                 "Message": "incorrect number format"})
                continue
            serial = f"2433:{uuid.uuid4().int % 10**20:020d}"
            self.sent.append({"phone": phone, "sign": req["SignName"], "template": req["TemplateId"], "params": params,
                              "session": req.get("SessionContext"), "serial": serial})
            statuses.append({**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"})
        return {"SendStatusSet": statuses}

    def handle(self, method, path, headers, body):
        """(status, body bytes) for one request."""
        request_id = str(uuid.uuid4())
        with self.lock:
            self.requests += 1
        try:
            self._verify(method, path, headers, body)
            with self.lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                status, code, message = failure
                if status >= 500:
                    return status, b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                if code not in NUMBER_CODES:
                    raise Refusal(code, message)
                phone = (json.loads(body).get("PhoneNumberSet") or [""])[0]
                answer = {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": phone, "Fee": 0, "Code": code,
                                             "Message": message, "IsoCode": "CN"}]}
            else:
                answer = self._send(body)
        except Refusal as r:
            self.rejected.append((r.code, r.message))
            answer = {"Error": {"Code": r.code, "Message": r.message}}
        return 200, json.dumps({"Response": {**answer, "RequestId": request_id}}, ensure_ascii=False).encode()

    def _handler(self):
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}  # names are case-insensitive
                status, data = fake.handle("POST", self.path, headers, body)
                self.reply(status, data, "application/json" if data.startswith(b"{") else "text/html")

        return Handler
