"""Alibaba Cloud's RPC gateway on loopback, for Dysmsapi SendSms or Dyvmsapi SingleCallByTts.

It checks a request the way the gateway does, before any business rule: the
common parameters present, the AccessKeyId known, Timestamp within 15 minutes
of the real clock, each SignatureNonce used once, and the HMAC-SHA1 signature
recomputed here from the received parameters with the known secret (its own
canonicalisation, not the client's). Refusals carry the gateway's codes,
HTTP statuses and messages, SignatureDoesNotMatch echoing its string to sign.

Accepted messages land in `sms` / `calls`; gateway refusals in `rejected`.
`fail_next(n, code=…, status=…)` makes the next n well-signed requests answer
that error (e.g. isv.MOBILE_NUMBER_ILLEGAL, isv.BUSINESS_LIMIT_CONTROL) or an HTTP 5xx.
"""

import base64
import hashlib
import hmac
import json
import re
import threading
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote

from tests.fakes.loopback import LoopbackService, QuietHandler

COMMON = ("AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp",
          "Version", "Signature")
PRODUCTS = {
    "dysms": {"host": "dysmsapi.aliyuncs.com", "action": "SendSms",
              "required": ("PhoneNumbers", "SignName", "TemplateCode")},
    "dyvms": {"host": "dyvmsapi.aliyuncs.com", "action": "SingleCallByTts",
              "required": ("CalledNumber", "CalledShowNumber", "TtsCode")},
}
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _encode(text):
    return quote(text, safe="-_.~")  # RFC 3986 unreserved, spelled out


class Refusal(Exception):
    def __init__(self, status, code, message):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class FakeAliyun(LoopbackService):
    def __init__(self, product="dysms", key_id="LTAI5tFakeKeyId", secret="fake-secret-0123456789",
                 sign_name="消防预警", templates=("SMS_100001", "SMS_100002", "SMS_100003", "SMS_100004"),
                 show_number="057100000000"):
        self.product, self.spec = product, PRODUCTS[product]
        self.key_id, self.secret, self.sign_name = key_id, secret, sign_name
        self.templates, self.show_number = set(templates), show_number
        self.sms, self.calls, self.rejected, self.requests = [], [], [], 0
        self._nonces, self._failures, self.lock = set(), [], threading.Lock()
        self._listen()

    def fail_next(self, count=1, code="isp.SYSTEM_ERROR", status=200, message="fake failure"):
        with self.lock:
            self._failures.extend([(status, code, message)] * count)

    # --- the gateway's checks ------------------------------------------------------

    def _verify(self, params):
        for name in COMMON:
            if not params.get(name):
                raise Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if params["AccessKeyId"] != self.key_id:
            raise Refusal(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            raise Refusal(400, "InvalidParameter", "Specified SignatureMethod or SignatureVersion is not valid.")
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise Refusal(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.") from None
        if abs((datetime.now(timezone.utc) - stamp).total_seconds()) > 15 * 60:
            raise Refusal(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        query = "&".join(f"{_encode(k)}={_encode(unsigned[k])}" for k in sorted(unsigned))
        to_sign = "POST&" + _encode("/") + "&" + _encode(query)
        expected = base64.b64encode(hmac.new((self.secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(expected, params["Signature"].encode()):
            raise Refusal(400, "SignatureDoesNotMatch",
                          f"Specified signature is not matched with our calculation. server string to sign is:{to_sign}")
        with self.lock:
            if params["SignatureNonce"] in self._nonces:
                raise Refusal(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params["SignatureNonce"])
        if params["Action"] != self.spec["action"]:
            raise Refusal(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if params["Version"] != "2017-05-25":
            raise Refusal(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if params["Format"] != "JSON":
            raise Refusal(400, "InvalidParameter", "Format must be JSON here.")
        for name in self.spec["required"]:
            if not params.get(name):
                raise Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")

    # --- the products' business checks (HTTP 200 with a Code, as the real APIs answer) ---

    @staticmethod
    def _variables(text):
        try:
            value = json.loads(text or "{}")
        except ValueError:
            return None
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return value if ok else None

    def _send_sms(self, p):
        if not MAINLAND_MOBILE.match(p["PhoneNumbers"]):
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        if p["SignName"] != self.sign_name:
            return {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名"}
        if p["TemplateCode"] not in self.templates:
            return {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"}
        variables = self._variables(p.get("TemplateParam"))
        if variables is None:
            return {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法，只接受字符串值"}
        biz_id = f"{uuid.uuid4().int % 10**18:018d}^0"
        self.sms.append({"phone": p["PhoneNumbers"], "sign": p["SignName"], "template": p["TemplateCode"],
                         "params": variables, "out_id": p.get("OutId"), "biz_id": biz_id})
        return {"Code": "OK", "Message": "OK", "BizId": biz_id}

    def _call(self, p):
        if not MAINLAND_MOBILE.match(p["CalledNumber"]):
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "号码格式非法"}
        if p["CalledShowNumber"] != self.show_number:
            return {"Code": "isv.DISPLAY_NUMBER_ILLEGAL", "Message": "号显不合法"}
        if p["TtsCode"] not in self.templates:
            return {"Code": "isv.TTS_TEMPLATE_ILLEGAL", "Message": "TTS模板不合法"}
        variables = self._variables(p.get("TtsParam"))
        if variables is None:
            return {"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常"}
        call_id = f"{uuid.uuid4().int % 10**12}^{uuid.uuid4().int % 10**11}"
        self.calls.append({"phone": p["CalledNumber"], "show_number": p["CalledShowNumber"], "template": p["TtsCode"],
                           "params": variables, "out_id": p.get("OutId"), "play_times": p.get("PlayTimes"),
                           "call_id": call_id})
        return {"Code": "OK", "Message": "OK", "CallId": call_id}

    def handle(self, params):
        """(status, body) for one request's parameters."""
        request_id = str(uuid.uuid4()).upper()
        with self.lock:
            self.requests += 1
        try:
            self._verify(params)
        except Refusal as r:
            self.rejected.append((r.code, r.message))
            return r.status, {"RequestId": request_id, "HostId": self.spec["host"], "Code": r.code,
                              "Message": r.message,
                              "Recommend": f"https://api.aliyun.com/troubleshoot?q={r.code}"}
        with self.lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, code, message = failure
            if status >= 500:
                code = "InternalError" if code.startswith("isp.") else code
                message = "The request processing has failed due to some unknown error, exception or failure."
            body = {"RequestId": request_id, "Code": code, "Message": message}
            return status, body if status == 200 else {**body, "HostId": self.spec["host"]}
        body = self._send_sms(params) if self.product == "dysms" else self._call(params)
        return 200, {**body, "RequestId": request_id}

    def _handler(self):
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                params = dict(parse_qsl(self.path.partition("?")[2], keep_blank_values=True))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    params.update(parse_qsl(body, keep_blank_values=True))
                status, answer = fake.handle(params)
                self.reply(status, json.dumps(answer, ensure_ascii=False).encode(), "application/json;charset=utf-8")

        return Handler
