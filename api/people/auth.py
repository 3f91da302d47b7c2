"""Passwords (argon2), one-time SMS codes, and JWT pairs with rotating refresh tokens.

Refresh rotation: each login starts a token family. Redis holds the family's
current refresh jti. Presenting the current one rotates it; presenting an older
one means it was stolen or replayed, so the whole family is revoked. A phone
that retries the same refresh within a few seconds gets the first answer back
instead of being logged out.
"""

import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from api.common.clock import utcnow
from api.errors import AppError, error_response
from api.extensions import db, redis_client, rkey
from api.people.models import OtpCode, User

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser")
ROTATION_GRACE_SECONDS = 30


# --- passwords ---------------------------------------------------------------

def hash_password(password):
    return _hasher.hash(password)


def verify_password(user, password):
    """True if `password` is the user's; rehashes when the parameters changed."""
    if user is None or not user.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password + "x")
        except VerificationError:
            pass
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


# --- one-time codes ----------------------------------------------------------

def _code_digest(phone, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_otp(phone):
    """Make a fresh 6-digit code for `phone` (killing older ones) and return it."""
    now = utcnow()
    OtpCode.query.filter(OtpCode.phone == phone, OtpCode.consumed_at.is_(None)).update(
        {"consumed_at": now}, synchronize_session=False
    )
    code = f"{secrets.randbelow(10**6):06d}"
    ttl = current_app.config["OTP_TTL_SECONDS"]
    db.session.add(
        OtpCode(phone=phone, code_hash=_code_digest(phone, code), expires_at=now + timedelta(seconds=ttl))
    )
    return code


def check_otp(phone, code):
    """Consume the phone's live code if `code` matches; count a failed try otherwise."""
    now = utcnow()
    row = (
        OtpCode.query.filter(OtpCode.phone == phone, OtpCode.consumed_at.is_(None))
        .order_by(OtpCode.id.desc())
        .first()
    )
    if row is None or row.expires_at <= now or row.attempts >= current_app.config["OTP_MAX_TRIES"]:
        return False
    if hmac.compare_digest(row.code_hash, _code_digest(phone, code)):
        # Conditional update: two racing logins with one code, only one wins.
        won = OtpCode.query.filter(OtpCode.id == row.id, OtpCode.consumed_at.is_(None)).update(
            {"consumed_at": now}, synchronize_session=False
        )
        db.session.commit()
        return won == 1
    OtpCode.query.filter(OtpCode.id == row.id).update(
        {"attempts": OtpCode.attempts + 1}, synchronize_session=False
    )
    db.session.commit()
    return False


# --- tokens ------------------------------------------------------------------

def _refresh_ttl():
    return int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())


def _pair(user_id, family):
    access = create_access_token(identity=str(user_id), additional_claims={"fam": family})
    refresh = create_refresh_token(identity=str(user_id), additional_claims={"fam": family})
    jti = decode_token(refresh)["jti"]
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer"}, jti


def issue_tokens(user):
    family = uuid.uuid4().hex
    tokens, jti = _pair(user.id, family)
    redis_client().set(rkey("fam", family), jti, ex=_refresh_ttl())
    return tokens


def rotate_refresh(claims):
    """Rotate the family's current refresh token. A retry of the same request
    within a few seconds, before anything else rotated the family, gets the
    first answer back; any other reuse of an old token revokes the family."""
    r = redis_client()
    family, jti, user_id = claims.get("fam"), claims["jti"], claims["sub"]
    if not family or r.exists(rkey("famrev", family)):
        raise AppError("token_revoked", status=401)
    if not r.set(rkey("rot", jti), "pending", nx=True, ex=ROTATION_GRACE_SECONDS):
        return _replay_rotation(r, family, jti)
    current = r.get(rkey("fam", family))
    if current is None or current.decode() != jti:
        revoke_family(family)
        raise AppError("token_revoked", status=401)
    tokens, new_jti = _pair(user_id, family)
    pipe = r.pipeline()
    pipe.set(rkey("fam", family), new_jti, ex=_refresh_ttl())
    pipe.set(rkey("rot", jti), json.dumps({"tokens": tokens, "jti": new_jti}), ex=ROTATION_GRACE_SECONDS)
    pipe.execute()
    return tokens


def _replay_rotation(r, family, jti):
    for _ in range(40):  # another request with this token may be mid-rotation
        cached = r.get(rkey("rot", jti))
        if cached is None or cached != b"pending":
            break
        time.sleep(0.05)
    if cached is None or cached == b"pending":
        revoke_family(family)
        raise AppError("token_revoked", status=401)
    answer = json.loads(cached)
    current = r.get(rkey("fam", family))
    if current is None or current.decode() != answer["jti"]:
        # The family moved on since: this is not a retry but a replay.
        revoke_family(family)
        raise AppError("token_revoked", status=401)
    return answer["tokens"]


def revoke_family(family):
    redis_client().set(rkey("famrev", family), "1", ex=_refresh_ttl())


def revoke_token(claims):
    ttl = max(1, int(claims["exp"] - time.time()) + 1)
    redis_client().set(rkey("rev", claims["jti"]), "1", ex=ttl)


def is_revoked(claims):
    r = redis_client()
    keys = [rkey("rev", claims["jti"])]
    if claims.get("fam"):
        keys.append(rkey("famrev", claims["fam"]))
    return r.exists(*keys) > 0


def register_jwt_callbacks(jwt):
    @jwt.user_lookup_loader
    def _load_user(_header, claims):
        user = db.session.get(User, int(claims["sub"]))
        if user is None or not user.is_active:
            return None
        g.current_user = user
        return user

    @jwt.user_lookup_error_loader
    def _user_gone(_header, _claims):
        return error_response(401, "token_invalid")

    @jwt.token_in_blocklist_loader
    def _revoked(_header, claims):
        return is_revoked(claims)

    @jwt.expired_token_loader
    def _expired(_header, _claims):
        return error_response(401, "token_expired")

    @jwt.invalid_token_loader
    def _invalid(reason):
        return error_response(401, "token_invalid", errors={"token": [reason]})

    @jwt.unauthorized_loader
    def _missing(reason):
        return error_response(401, "unauthorized", errors={"token": [reason]})

    @jwt.revoked_token_loader
    def _revoked_answer(_header, _claims):
        return error_response(401, "token_revoked")

    @jwt.needs_fresh_token_loader
    def _fresh(_header, _claims):
        return error_response(401, "token_invalid")

    @jwt.token_verification_failed_loader
    def _failed(_header, _claims):
        return error_response(401, "token_invalid")
