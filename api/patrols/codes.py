"""Signed checkpoint codes: "<checkpoint id>.<signature>", short enough for a small QR.

The signature is an HMAC of the id under a key derived from SECRET_KEY for this one
purpose, cut to 12 base64url characters (72 bits): enough that guessing a label
is hopeless, short enough that the whole URL stays a version-4 QR at level M.
"""

import base64
import hashlib
import hmac
import re

from flask import current_app

SIG_CHARS = 12
_CODE = re.compile(r"^([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{%d})$" % SIG_CHARS)


def _key():
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"purpose:checkpoint", hashlib.sha256).digest()


def _signature(checkpoint_id):
    mac = hmac.new(_key(), f"checkpoint:{int(checkpoint_id)}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:9]).decode()  # 9 bytes → 12 characters, no padding


def sign(checkpoint_id):
    return f"{int(checkpoint_id)}.{_signature(checkpoint_id)}"


def verify(code):
    """The checkpoint id a genuine code names, or None."""
    m = _CODE.match(code or "")
    if not m:
        return None
    if not hmac.compare_digest(m.group(2).encode(), _signature(m.group(1)).encode()):
        return None
    return int(m.group(1))


def scan_url(checkpoint_id):
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/#/scan/{sign(checkpoint_id)}"
