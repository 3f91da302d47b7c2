"""Web Push with VAPID (pywebpush).

Payload small (incident, level, site, one line, receipt token) and under 4 KB;
`Urgency: high`; a TTL that is never 0 (pywebpush's default of 0 means an
offline phone never gets the alarm); `Topic` per incident so a newer message
replaces an undelivered older one; an explicit timeout; 404/410 is permanent
(the subscription is gone).

Fast enough for a fan-out of 1,000 (bench/push_fanout.py, several worker processes
each sending a job of delivery.PUSH_JOB_SIZE): `webpush()` would parse the VAPID key
and sign a new JWT for every message and post through `requests`, which costs ~1.3 ms
of CPU per POST against ~0.45 ms for urllib3: with the GIL, that capped a fan-out at
~580 pushes/s. So: one VAPID header per push service origin, signed for 12 h and
re-signed an hour before it expires (RFC 8292 lets a JWT be reused until its exp),
per process; one urllib3 pool per process, shared by the fan-out threads (it is
thread-safe), keeping connections to each push service alive; no automatic retries
(a retried POST may deliver twice: retrying is delivery.py's job, with a new attempt
row). The aes128gcm body (RFC 8291) is made here with http_ece, exactly as pywebpush's
WebPusher.encode makes it — importing pywebpush pulls in aiohttp and requests, ~0.5 s
that every forked RQ work horse paid again before its first push.
"""

import base64
import binascii
import json
import os
import threading
import time

import http_ece
import urllib3
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid

from workers.channels.base import Channel, TransportError

MAX_PAYLOAD = 3800  # bytes before encryption; the limit after is 4096
VAPID_LIFETIME = 12 * 3600  # seconds a signed VAPID JWT is valid (at most 24 h)
VAPID_RESIGN = 3600  # re-sign when less than this is left
POOL_PER_HOST = 64  # kept-alive connections per push service (>= the fan-out threads)


def _unb64u(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def encrypt(keys, data):
    """The aes128gcm body of one push (RFC 8291): a new ephemeral P-256 key and a random
    salt per message, ECDH with the browser's p256dh, its auth secret in the key schedule.
    Raises ValueError for keys no browser made."""
    receiver = _unb64u(keys["p256dh"])
    auth = _unb64u(keys["auth"])
    if len(receiver) != 65 or receiver[0] != 4 or len(auth) != 16:
        raise ValueError("p256dh must be an uncompressed P-256 point and auth 16 bytes")
    server_key = ec.generate_private_key(ec.SECP256R1())
    return http_ece.encrypt(data, salt=os.urandom(16), private_key=server_key, dh=receiver, auth_secret=auth,
                            version="aes128gcm")


class PushChannel(Channel):
    name = "push"
    _lock = threading.Lock()
    _pool = None  # (pid, urllib3.PoolManager): a forked process makes its own
    _vapid = {}  # (private key, subject, origin) -> (headers, expiry)

    @classmethod
    def shared(cls):
        return cls()

    @classmethod
    def pool(cls):
        pool = cls._pool
        if pool is None or pool[0] != os.getpid():
            with cls._lock:
                pool = cls._pool
                if pool is None or pool[0] != os.getpid():
                    pool = cls._pool = (os.getpid(), urllib3.PoolManager(
                        num_pools=50, maxsize=POOL_PER_HOST, block=False, retries=False))
        return pool[1]

    @classmethod
    def vapid_headers(cls, private_key, subject, endpoint):
        origin = "/".join(endpoint.split("/", 3)[:3])  # scheme://host[:port]
        key, now = (private_key, subject, origin), time.time()
        cached = cls._vapid.get(key)
        if cached is None or cached[1] - now < VAPID_RESIGN:
            exp = int(now) + VAPID_LIFETIME
            # a fresh dict each time: py_vapid, like pywebpush, edits the claims in place
            headers = Vapid.from_string(private_key=private_key).sign({"sub": subject, "aud": origin, "exp": exp})
            with cls._lock:
                cls._vapid[key] = cached = (dict(headers), exp)
        return cached[0]

    def send(self, message):
        cfg = current_app.config
        private_key = cfg.get("VAPID_PRIVATE_KEY")
        if not private_key:
            raise TransportError("VAPID keys are not configured (flask push keys)", permanent=False)
        keys = message.payload.get("keys") or {}
        data = json.dumps(message.payload.get("data") or {"body": message.text}, ensure_ascii=False).encode()
        if len(data) > MAX_PAYLOAD:
            raise TransportError("push payload too large", permanent=True)
        try:
            body = encrypt(keys, data)
        except (KeyError, ValueError, TypeError, binascii.Error) as exc:  # keys the browser never made
            raise TransportError(f"push keys unusable: {type(exc).__name__}", permanent=True) from None
        headers = {"Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                   "TTL": str(cfg.get("PUSH_TTL_SECONDS", 3600) or 3600),
                   "Urgency": "high" if message.kind in ("alarm", "fire") else "normal",
                   **self.vapid_headers(private_key, cfg["VAPID_SUBJECT"], message.address)}
        if message.incident_id:
            headers["Topic"] = f"incident-{message.incident_id}-{message.kind}"[:32]
        timeout = cfg.get("PUSH_TIMEOUT_SECONDS", 10)
        try:
            resp = self.pool().request("POST", message.address, body=body, headers=headers,
                                       timeout=urllib3.Timeout(connect=timeout, read=timeout))
        except urllib3.exceptions.HTTPError as exc:
            raise TransportError(f"push failed: {type(exc).__name__}") from None
        if resp.status > 202:
            raise TransportError(f"push failed: HTTP {resp.status}", permanent=resp.status in (404, 410))
        return resp.headers.get("Location") or str(resp.status)
