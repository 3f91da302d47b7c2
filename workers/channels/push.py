"""Web Push with VAPID (pywebpush).

Payload small (incident, level, site, one line, receipt token) and under 4 KB;
`Urgency: high`; a TTL that is never 0 (pywebpush's default of 0 means an
offline phone never gets the alarm); `Topic` per incident so a newer message
replaces an undelivered older one; an explicit timeout; one HTTP session
reused; 404/410 is permanent (the subscription is gone).
"""

import json
import threading

import requests
from flask import current_app
from pywebpush import WebPushException, webpush

from workers.channels.base import Channel, TransportError

MAX_PAYLOAD = 3800  # bytes before encryption; the limit after is 4096


class PushChannel(Channel):
    name = "push"
    _local = threading.local()

    @classmethod
    def shared(cls):
        return cls()

    @property
    def session(self):
        # one pooled session per thread (requests sessions are not thread-safe to share)
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session

    def send(self, message):
        cfg = current_app.config
        private_key = cfg.get("VAPID_PRIVATE_KEY")
        if not private_key:
            raise TransportError("VAPID keys are not configured (flask push keys)", permanent=False)
        keys = message.payload.get("keys") or {}
        data = json.dumps(message.payload.get("data") or {"body": message.text}, ensure_ascii=False)
        if len(data.encode()) > MAX_PAYLOAD:
            raise TransportError("push payload too large", permanent=True)
        headers = {"Urgency": "high" if message.kind in ("alarm", "fire") else "normal"}
        if message.incident_id:
            headers["Topic"] = f"incident-{message.incident_id}-{message.kind}"[:32]
        try:
            resp = webpush(
                subscription_info={"endpoint": message.address, "keys": keys},
                data=data,
                vapid_private_key=private_key,
                vapid_claims={"sub": cfg["VAPID_SUBJECT"]},  # a fresh dict: pywebpush edits it
                ttl=cfg.get("PUSH_TTL_SECONDS", 3600),
                timeout=cfg.get("PUSH_TIMEOUT_SECONDS", 10),
                headers=headers,
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise TransportError(f"push failed: HTTP {status}", permanent=status in (404, 410)) from None
        except requests.RequestException as exc:
            raise TransportError(f"push failed: {type(exc).__name__}") from None
        return resp.headers.get("Location") or str(resp.status_code)
