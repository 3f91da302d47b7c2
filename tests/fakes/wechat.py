"""WeChat Official Account API and WeCom group robots on loopback, in one server.

    GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
    POST /cgi-bin/message/template/send?access_token=
    POST /cgi-bin/webhook/send?key=

It answers the way WeChat does (HTTP 200 with an errcode), checks what WeChat
checks (app id and secret; the token: unknown 40001, expired 42001; the openid
follows the account: 40003 unknown, 43004 unfollowed; the template id: 40037;
the robot key: 93000), and records what it accepted. Tests steer it:
`follow()`, `unfollow()`, `expire_tokens()`, `fail_next()`, `robot()`,
`fail_robot()`; `delay` slows every answer.
"""

import json
import secrets
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlparse

from tests.fakes.loopback import LoopbackService, QuietHandler


class FakeWechat(LoopbackService):
    def __init__(self, app_id="wx-test-app", secret="wx-test-secret", templates=("TPL-ALARM", "TPL-FIRE", "TPL-CLEAR"),
                 expires_in=7200):
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.templates = set(templates)
        self.followers, self.unfollowed = set(), set()
        self.tokens = {}  # token -> wall-clock expiry
        self.revoked = set()
        self.token_requests = 0
        self.messages = []  # accepted template messages (the request bodies, plus "msgid")
        self.refused = []  # (path, errcode, body) answered with a non-zero errcode
        self.duplicates = 0  # sends dropped by client_msg_id
        self.robots = {}  # key -> list of accepted robot messages
        self.robot_errors = {}  # key -> errcode answered every time
        self.delay = 0.0
        self._fail = []  # queued (path, errcode or HTTP status as "http:503", times)
        self._msg_ids = {}
        self.lock = threading.Lock()
        self._listen()

    # --- steering --------------------------------------------------------------------

    def follow(self, openid=None):
        openid = openid or "o" + secrets.token_urlsafe(20)
        self.followers.add(openid)
        self.unfollowed.discard(openid)
        return openid

    def unfollow(self, openid):
        self.followers.discard(openid)
        self.unfollowed.add(openid)

    def expire_tokens(self):
        """Every token issued so far is refused from now on (40001, as after a fetch elsewhere)."""
        with self.lock:
            self.revoked.update(self.tokens)

    def fail_next(self, errcode, path="template", times=1):
        """Answer the next `times` calls to `path` ("template", "token", "robot") with this errcode,
        or with an HTTP status given as "http:503"."""
        with self.lock:
            self._fail.append([path, errcode, times])

    def robot(self, key=None):
        """A group robot's webhook URL."""
        key = key or secrets.token_hex(8)
        self.robots.setdefault(key, [])
        return f"{self.origin}/cgi-bin/webhook/send?key={key}"

    def fail_robot(self, url_or_key, errcode):
        key = url_or_key.rsplit("key=", 1)[-1]
        self.robot_errors[key] = errcode

    def to(self, openid):
        return [m for m in self.messages if m["touser"] == openid]

    def robot_messages(self, url_or_key):
        return self.robots.get(url_or_key.rsplit("key=", 1)[-1], [])

    # --- serving ------------------------------------------------------------------------

    def _take_failure(self, path):
        with self.lock:
            for entry in self._fail:
                if entry[0] == path and entry[2] > 0:
                    entry[2] -= 1
                    return entry[1]
        return None

    def _token(self, query):
        with self.lock:
            self.token_requests += 1
        failure = self._take_failure("token")
        if failure is not None:
            return failure
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = time.time() + self.expires_in
        return {"access_token": token, "expires_in": self.expires_in}

    def _template(self, query, body):
        token = query.get("access_token")
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or token in self.revoked:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if expiry < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        failure = self._take_failure("template")
        if failure is not None:
            return failure
        openid = body.get("touser")
        if openid in self.unfollowed:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        if openid not in self.followers:
            return {"errcode": 40003, "errmsg": "invalid openid"}
        if body.get("template_id") not in self.templates:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        if not isinstance(body.get("data"), dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        with self.lock:
            dedup = (openid, body.get("client_msg_id")) if body.get("client_msg_id") else None
            if dedup in self._msg_ids:
                self.duplicates += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": self._msg_ids[dedup]}
            msgid = 2_000_000_000 + len(self.messages)
            if dedup:
                self._msg_ids[dedup] = msgid
            self.messages.append({**body, "msgid": msgid})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _robot(self, query, body):
        key = query.get("key")
        failure = self._take_failure("robot")
        if failure is not None:
            return failure
        if key not in self.robots or key in self.robot_errors and self.robot_errors[key] == 93000:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        if key in self.robot_errors:
            return {"errcode": self.robot_errors[key], "errmsg": "error"}
        if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        with self.lock:
            self.robots[key].append(body["text"])
        return {"errcode": 0, "errmsg": "ok"}

    def _handler(self):
        service = self

        class Handler(QuietHandler):
            def _answer(self, result, path_kind, body=None):
                if isinstance(result, str) and result.startswith("http:"):
                    self.send_response(int(result[5:]))
                    self.end_headers()
                    return
                if isinstance(result, int):
                    result = {"errcode": result, "errmsg": "injected"}
                if result.get("errcode"):
                    with service.lock:
                        service.refused.append((path_kind, result["errcode"], body))
                self.reply(200, json.dumps(result).encode(), "application/json")

            def _query(self):
                return {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}

            def do_GET(self):
                time.sleep(service.delay)
                if urlparse(self.path).path != "/cgi-bin/token":
                    self.send_response(404)
                    self.end_headers()
                    return
                self._answer(service._token(self._query()), "token")

            def do_POST(self):
                time.sleep(service.delay)
                path = urlparse(self.path).path
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    self._answer({"errcode": 47001, "errmsg": "data format error"}, path)
                    return
                if path == "/cgi-bin/message/template/send":
                    self._answer(service._template(self._query(), body), "template", body)
                elif path == "/cgi-bin/webhook/send":
                    self._answer(service._robot(self._query(), body), "robot", body)
                else:
                    self.send_response(404)
                    self.end_headers()

        return Handler

    def refused_codes(self, path_kind=None):
        return Counter(code for kind, code, _ in self.refused if path_kind in (None, kind))


TEMPLATES = {"alarm": "TPL-ALARM", "fire": "TPL-FIRE", "all_clear": "TPL-CLEAR"}
SETTINGS = ("WECHAT_BACKEND", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TEMPLATES", "WECHAT_API_BASE",
            "WECHAT_TIMEOUT_SECONDS", "WECOM_BACKEND", "WECOM_TIMEOUT_SECONDS", "PUBLIC_BASE_URL")


def configure(app, fake, public_base_url="https://119.example.cn"):
    """Point the app's WeChat and WeCom channels at `fake`; returns a function that restores them."""
    saved = {k: app.config.get(k) for k in SETTINGS}
    app.config.update(WECHAT_BACKEND="wechat", WECHAT_APP_ID=fake.app_id, WECHAT_APP_SECRET=fake.secret,
                      WECHAT_TEMPLATES=dict(TEMPLATES), WECHAT_API_BASE=fake.origin, WECHAT_TIMEOUT_SECONDS=5,
                      WECOM_BACKEND="wecom", WECOM_TIMEOUT_SECONDS=5, PUBLIC_BASE_URL=public_base_url)
    return lambda: app.config.update(saved)
