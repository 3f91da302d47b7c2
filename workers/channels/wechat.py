"""WeChat Official Account (公众号) template messages.

    POST {WECHAT_API_BASE}/cgi-bin/message/template/send?access_token=TOKEN
    {"touser": openid, "template_id": ..., "url": PUBLIC_BASE_URL/#/incidents/<id>,
     "client_msg_id": ..., "data": {"first": {"value": ...}, "keyword1": ..., "remark": ...}}

The access token (GET /cgi-bin/token?grant_type=client_credential&appid=&secret=)
is shared by every worker through Redis, kept for its `expires_in` less a margin
so it is replaced before WeChat expires it, and fetched by one process at a time
(a short Redis lock; the day's token calls are limited). An answer of
40001/40014/42001 (token invalid or expired, e.g. fetched again elsewhere) drops
the cached token, fetches a new one once, and sends again.

Outcomes: 43004 (the person no longer follows the account) and 40003 (not an
openid of this account) are permanent: retrying cannot help, so the person moves
to the next channel (SMS) at once. The openid is kept: a follower who follows
again has the same openid. So are a kind without a template, 40037 and 47003
(the template configuration is wrong). 45009 (quota), -1 (busy), HTTP 5xx,
timeouts and anything unknown are temporary: retried with backoff.

`client_msg_id` is the same for every attempt of one Notification (incident,
kind, openid), so a retry after a timeout that WeChat had in fact accepted is
dropped by WeChat (it de-duplicates for about 10 minutes).
"""

import json
import logging
import threading
import time
import uuid

import requests
from flask import current_app

from workers.channels.base import Channel, TransportError

log = logging.getLogger("wechat")

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
PERMANENT = {43004: "the person no longer follows the account", 40003: "not an openid of this account",
             # the template is not the account's, or its fields are not ours: an operator must fix
             # WECHAT_TEMPLATES; retrying cannot help, so the person goes to the next channel now
             40037: "invalid template_id", 47003: "template data does not fit the template"}
TOKEN_MARGIN = 300  # seconds before WeChat's expiry that a cached token is replaced
REFUSED_FOR = 30  # seconds a failed token fetch is remembered before WeChat is asked again
KIND_ZH = {"alarm": "火灾预警", "fire": "确认火警", "all_clear": "警报解除", "test": "测试消息"}
KIND_EN = {"alarm": "Fire alert", "fire": "FIRE confirmed", "all_clear": "All clear", "test": "Test"}

# Compare-and-delete: drop the cached token only if it is still the one that failed.
_DROP_IF_SAME = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def cache_seconds(expires_in):
    """How long to keep a token WeChat says lives `expires_in` seconds (7200 in practice)."""
    expires_in = int(expires_in)
    return expires_in - TOKEN_MARGIN if expires_in > 2 * TOKEN_MARGIN else max(1, expires_in // 2)


class WechatChannel(Channel):
    name = "wechat"
    _local = threading.local()
    _memory = {}  # app id -> (token, monotonic expiry): used only while Redis is unreachable
    _memory_lock = threading.Lock()

    @property
    def session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def __init__(self):
        cfg = current_app.config
        self.base = (cfg.get("WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/")
        self.app_id, self.secret = cfg.get("WECHAT_APP_ID"), cfg.get("WECHAT_APP_SECRET")
        self.timeout = cfg.get("WECHAT_TIMEOUT_SECONDS", 5)

    # --- sending ------------------------------------------------------------------

    def send(self, message):
        if not self.app_id or not self.secret:
            raise TransportError("WeChat is not configured (WECHAT_APP_ID / WECHAT_APP_SECRET)")
        templates = current_app.config.get("WECHAT_TEMPLATES") or {}
        template_id = templates.get(message.kind)
        if not template_id:  # nothing to send it with: the person goes to the next channel
            raise TransportError(f"no WeChat template for {message.kind!r} (WECHAT_TEMPLATES)", permanent=True)
        body = {"touser": message.address, "template_id": template_id, "data": self.template_data(message)}
        base_url = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        if base_url and message.incident_id:
            body["url"] = f"{base_url}/#/incidents/{message.incident_id}"
        if message.incident_id:
            body["client_msg_id"] = f"fa-{message.incident_id}-{message.kind}"
        token = self.access_token()
        answer = self._post_template(token, body)
        if answer.get("errcode") in TOKEN_ERRORS:
            log.info("WeChat refused the access token (errcode %s): fetching a new one", answer.get("errcode"))
            token = self.access_token(stale=token)
            answer = self._post_template(token, body)
        code = answer.get("errcode", 0)
        if code == 0:
            return str(answer.get("msgid", ""))
        detail = f"wechat errcode {code}: {str(answer.get('errmsg', ''))[:120]}"
        if code in PERMANENT:
            raise TransportError(f"{detail} ({PERMANENT[code]})", permanent=True)
        raise TransportError(detail)  # 45009 quota, -1 busy, a token refused twice, anything unknown

    def template_data(self, message):
        """The fields a template for this product is made with: first (the whole line),
        keyword1 (site), keyword2 (level and kind), remark."""
        english = (message.locale or "").startswith("en")
        params = (message.payload or {}).get("params") or {}
        from api.notify.messages import LEVEL_EN, LEVEL_ZH

        level = (LEVEL_EN if english else LEVEL_ZH).get(params.get("level"), "")
        kind = (KIND_EN if english else KIND_ZH).get(message.kind, message.kind)
        remark = "Open to see details and respond." if english else "点击查看详情并处置。"
        fields = {"first": message.text[:200], "keyword1": str(params.get("site") or "")[:20],
                  "keyword2": f"{level} {kind}".strip()[:20], "remark": remark}
        return {k: {"value": v} for k, v in fields.items()}

    def _post_template(self, token, body):
        return self._call("POST", "/cgi-bin/message/template/send", params={"access_token": token},
                          data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                          headers={"Content-Type": "application/json; charset=utf-8"})

    def _call(self, method, path, **kwargs):
        try:
            resp = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise TransportError(f"wechat {path}: {type(exc).__name__}") from None
        if resp.status_code >= 300:
            raise TransportError(f"wechat {path}: HTTP {resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            raise TransportError(f"wechat {path}: not JSON") from None
        if not isinstance(answer, dict):
            raise TransportError(f"wechat {path}: unexpected answer")
        return answer

    # --- the access token ---------------------------------------------------------------

    def access_token(self, stale=None):
        """The shared token; `stale` is one WeChat has just refused (dropped, then a new one)."""
        import redis

        from api.extensions import redis_client, rkey

        key, lock = rkey("wechat", "token", self.app_id), rkey("wechat", "token-lock", self.app_id)
        refused = rkey("wechat", "token-refused", self.app_id)
        try:
            r = redis_client()
            if stale:
                r.eval(_DROP_IF_SAME, 1, key, stale)
            cached = r.get(key)
            if cached:
                return cached.decode()
            self._raise_if_refused(r, refused)
            mine = uuid.uuid4().hex
            if not r.set(lock, mine, nx=True, ex=10):
                deadline = time.monotonic() + 3  # another worker is fetching it: wait for that one
                while time.monotonic() < deadline:
                    time.sleep(0.05)
                    cached = r.get(key)
                    if cached:
                        return cached.decode()
                    self._raise_if_refused(r, refused)
            try:  # (after 3 s without a token from the other worker, fetch it here)
                cached = r.get(key)  # another worker may have stored it between our look and the lock
                if cached:
                    return cached.decode()
                token, expires_in = self._fetch_token()
                r.set(key, token, ex=cache_seconds(expires_in))
            except TransportError as exc:
                # WeChat allows few token calls a day: a fan-out must not spend them all on one
                # wrong secret or unlisted server IP. The messages wait and retry meanwhile.
                r.set(refused, exc.message, ex=REFUSED_FOR)
                raise
            finally:
                r.eval(_DROP_IF_SAME, 1, lock, mine)
            return token
        except redis.RedisError:
            log.warning("Redis unreachable: keeping the WeChat access token in this process")
            return self._memory_token(stale)

    @staticmethod
    def _raise_if_refused(r, refused):
        reason = r.get(refused)
        if reason:
            raise TransportError(f"{reason.decode()} (not asking again for {REFUSED_FOR} s)")

    def _memory_token(self, stale):
        with self._memory_lock:
            token, until = self._memory.get(self.app_id, (None, 0))
            if token and token != stale and time.monotonic() < until:
                return token
            token, expires_in = self._fetch_token()
            self._memory[self.app_id] = (token, time.monotonic() + cache_seconds(expires_in))
            return token

    def _fetch_token(self):
        answer = self._call("GET", "/cgi-bin/token", params={"grant_type": "client_credential",
                                                             "appid": self.app_id, "secret": self.secret})
        token = answer.get("access_token")
        if not token:
            # 40013 bad app id, 40125 bad secret, 40164 server IP not whitelisted: an operator must act;
            # temporary, so the messages wait (and fall back after their attempts) instead of vanishing.
            log.error("WeChat gave no access token: errcode %s %s", answer.get("errcode"), answer.get("errmsg"))
            raise TransportError(f"wechat token: errcode {answer.get('errcode')}: {str(answer.get('errmsg'))[:100]}")
        return token, int(answer.get("expires_in") or 7200)
