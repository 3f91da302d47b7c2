"""A Web Push service on loopback that speaks the real protocol (RFC 8030/8291/8292).

It makes subscriptions the way a browser does (a P-256 key pair and a 16-byte
auth secret per subscription), checks every push's VAPID JWT (ES256) against
the application server key the subscription was made with, checks TTL,
and decrypts the aes128gcm body. Tests read what arrived from `received`.
"""

import base64
import json
import os
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlparse

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fakes.loopback import LoopbackService, QuietHandler


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a fan-out opens dozens of connections at once
    daemon_threads = True


class FakePushService(LoopbackService):
    server_class = _Server

    def __init__(self, application_server_key):
        self.server_key = application_server_key  # base64url uncompressed point (VAPID public key)
        self.subscriptions = {}  # id -> {"private": key, "auth": bytes, "status": int}
        self.received = []  # {"sub": id, "payload": dict, "headers": dict}
        self.rejected = []  # (sub, reason)
        self.lock = threading.Lock()
        self._listen()

    def subscribe(self, status=201):
        """What pushManager.subscribe() gives the page: {endpoint, keys: {p256dh, auth}}."""
        sub_id = b64u(os.urandom(9))
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscriptions[sub_id] = {"private": private, "auth": auth, "status": status}
        public = private.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.origin}/push/{sub_id}", "keys": {"p256dh": b64u(public), "auth": b64u(auth)}}

    def set_status(self, endpoint, status):
        self.subscriptions[endpoint.rsplit("/", 1)[1]]["status"] = status

    def payloads_for(self, endpoint):
        sub_id = endpoint.rsplit("/", 1)[1]
        return [r["payload"] for r in self.received if r["sub"] == sub_id]

    def wait_for(self, count, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.02)
        return len(self.received) >= count

    def _verify_vapid(self, headers):
        auth = headers.get("Authorization", "")
        if not auth.startswith("vapid "):
            raise ValueError("no vapid Authorization")
        parts = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))
        if parts.get("k") != self.server_key:
            raise ValueError("VAPID key is not the one the subscription was made with")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(parts["k"]))
        claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=self.origin)
        if not claims.get("sub", "").startswith(("mailto:", "https:")):
            raise ValueError("VAPID sub must be mailto: or https:")
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("VAPID exp more than 24 h ahead")

    def _handler(self):
        service = self

        class Handler(QuietHandler):
            def do_POST(self):
                sub_id = urlparse(self.path).path.rsplit("/", 1)[1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sub = service.subscriptions.get(sub_id)
                try:
                    if sub is None:
                        raise LookupError("unknown subscription")
                    service._verify_vapid(self.headers)
                    if int(self.headers.get("TTL", "0")) <= 0:
                        raise ValueError("TTL must be > 0 or an offline phone never gets it")
                    if self.headers.get("Content-Encoding") != "aes128gcm":
                        raise ValueError("expected aes128gcm")
                    if sub["status"] >= 400:
                        self.send_response(sub["status"])
                        self.end_headers()
                        return
                    plain = http_ece.decrypt(body, private_key=sub["private"], auth_secret=sub["auth"],
                                             version="aes128gcm")
                    payload = json.loads(plain)
                except LookupError:
                    self.send_response(404)
                    self.end_headers()
                    return
                except Exception as exc:  # a malformed push: what a real service refuses
                    with service.lock:
                        service.rejected.append((sub_id, f"{type(exc).__name__}: {exc}"))
                    self.send_response(400)
                    self.end_headers()
                    return
                with service.lock:
                    service.received.append({"sub": sub_id, "payload": payload, "size": len(body),
                                             "headers": {k: self.headers.get(k) for k in ("TTL", "Urgency", "Topic")}})
                self.send_response(201)
                self.send_header("Location", f"{service.origin}/message/{b64u(os.urandom(6))}")
                self.end_headers()

        return Handler
