"""WeCom (企业微信) group robot: a community's group channel.

    POST <GroupChannel.url>   (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY)
    {"msgtype": "text", "text": {"content": ..., "mentioned_mobile_list": ["@all"]}}
    → {"errcode": 0, "errmsg": "ok"}

A confirmed fire, or a level-1 incident, mentions everyone in the group (@all).
93000 (the webhook key is invalid: the robot was removed) is permanent, and the
GroupChannel is disabled (by delivery.py, in the transaction that records the
attempt) so later incidents do not try it; 45009 (the robot's
limit of 20 messages a minute) and anything else are temporary: retried with backoff.
"""

import json
import threading

import requests
from flask import current_app

from workers.channels.base import Channel, TransportError

MAX_CONTENT = 2048  # bytes of UTF-8 in a text message
INVALID_KEY = 93000


def _clip(text, limit=MAX_CONTENT):
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


class WecomChannel(Channel):
    name = "wecom"
    _local = threading.local()

    @property
    def session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(self, message):
        params = (message.payload or {}).get("params") or {}
        text = {"content": _clip(message.text)}
        if message.kind == "fire" or (message.kind == "alarm" and params.get("level") == 1):
            text["mentioned_mobile_list"] = ["@all"]
        body = json.dumps({"msgtype": "text", "text": text}, ensure_ascii=False).encode("utf-8")
        try:
            resp = self.session.post(message.address, data=body, timeout=current_app.config.get(
                "WECOM_TIMEOUT_SECONDS", 5), headers={"Content-Type": "application/json; charset=utf-8"})
        except requests.RequestException as exc:
            raise TransportError(f"wecom robot: {type(exc).__name__}") from None
        if resp.status_code >= 300:
            raise TransportError(f"wecom robot: HTTP {resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            raise TransportError("wecom robot: not JSON") from None
        code = answer.get("errcode", -1) if isinstance(answer, dict) else -1
        if code == 0:
            return "wecom-ok"  # the robot API gives no message id
        detail = f"wecom errcode {code}: {str(answer.get('errmsg', ''))[:120] if isinstance(answer, dict) else ''}"
        if code == INVALID_KEY:  # permanent: delivery._disable_address disables the GroupChannel
            raise TransportError(f"{detail} (the robot's key is invalid)", permanent=True)
        raise TransportError(detail)

