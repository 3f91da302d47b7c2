"""Accounts, memberships and logging in."""

from flask import current_app

from api.common.pagination import page
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.people import auth
from api.people.models import Membership, User
from api.people.scopes import current_user, ensure_role, read_scope, roles_of
from api.places.models import Organisation, Place

ADMIN = ("admin",)

# Where each role may be held: place kinds and organisation kinds.
ROLE_SCOPES = {
    "resident": ({"household"}, set()),
    "property_staff": ({"site", "community"}, {"property_company"}),
    "grid_worker": ({"grid"}, set()),
    "station_member": (set(), {"micro_station"}),
    "supervisor": ({"city", "district", "street"}, set()),
    "maintainer": (set(), {"maintenance_company"}),
    "operator": ({"city", "district"}, set()),
    "admin": (set(), set()),
}
UNSCOPED_OK = {"admin", "operator"}


# --- logging in --------------------------------------------------------------

def _active_user(phone):
    user = User.query.filter_by(phone=phone).one_or_none()
    return user if user is not None and user.is_active else None


def login_with_password(phone, password):
    user = _active_user(phone)
    if not auth.verify_password(user, password):
        raise AppError("bad_credentials", status=401)
    db.session.commit()  # a rehash, if any
    return auth.issue_tokens(user)


def login_with_code(phone, code):
    if not auth.check_otp(phone, code):
        raise AppError("bad_code", status=401)
    user = _active_user(phone)
    if user is None:
        raise AppError("bad_code", status=401)
    return auth.issue_tokens(user)


def send_login_code(phone):
    """Send a code if the phone belongs to an active account. The answer is the
    same either way, so the endpoint cannot be used to discover accounts."""
    from workers.channels.base import Outgoing
    from workers.channels.sms import sms_channel

    user = _active_user(phone)
    if user is not None:
        code = auth.issue_otp(phone)
        db.session.commit()
        minutes = current_app.config["OTP_TTL_SECONDS"] // 60
        text = f"【消防预警】您的登录验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"
        from workers.channels.base import TransportError

        try:
            sms_channel().send(Outgoing(channel="sms", address=phone, text=text, kind="login_code",
                                        payload={"template": "login_code", "params": {"code": code}}))
        except TransportError as exc:
            current_app.logger.warning("login code SMS to %s failed: %s", phone[-4:], exc.message)
            raise AppError("sms_unavailable", status=503,
                           message=("短信暂时发送失败，请稍后重试或使用密码登录",
                                    "The SMS could not be sent; try again later or log in with your password")) from None
    return {"status": "sent", "expires_in": current_app.config["OTP_TTL_SECONDS"]}


# --- accounts ----------------------------------------------------------------

def list_users(args):
    ensure_role(ADMIN)
    query = User.query
    if args.get("phone"):
        query = query.filter(User.phone == args["phone"])
    if args.get("role"):
        query = query.filter(User.memberships.any(Membership.role == args["role"]))
    return page(query, User.id, args)


def get_user(user_id):
    # Accounts are visible to admins only; to anyone else every id is unknown.
    user = db.session.get(User, user_id)
    if user is None or not read_scope().everything or "admin" not in roles_of(current_user()):
        raise NotFound()
    return user


def _validate_membership(data):
    role = data["role"]
    kinds, org_kinds = ROLE_SCOPES[role]
    place_id, org_id = data.get("place_id"), data.get("org_id")
    if place_id is not None and org_id is not None:
        raise AppError("validation_error", errors={"place_id": ["give a place or an organisation, not both"]}, status=422)
    if place_id is None and org_id is None:
        if role not in UNSCOPED_OK:
            raise AppError("validation_error", errors={"place_id": [f"a {role} needs a scope"]}, status=422)
        return None, None
    if place_id is not None:
        place = db.session.get(Place, place_id)
        if place is None or not read_scope().covers(place.path):
            raise AppError("validation_error", errors={"place_id": ["no such place"]}, status=422)
        if place.kind not in kinds:
            raise AppError(
                "validation_error",
                errors={"place_id": [f"a {role} is held in a {' or '.join(sorted(kinds)) or 'organisation'}"]},
                status=422,
            )
        return place, None
    org = db.session.get(Organisation, org_id)
    if org is None:
        raise AppError("validation_error", errors={"org_id": ["no such organisation"]}, status=422)
    if org.kind not in org_kinds:
        raise AppError(
            "validation_error",
            errors={"org_id": [f"a {role} is held in a {' or '.join(sorted(org_kinds)) or 'place'}"]},
            status=422,
        )
    return None, org


def create_user(data, commit=True, check_role=True):
    if check_role:
        ensure_role(ADMIN)
    if User.query.filter_by(phone=data["phone"]).first() is not None:
        raise Conflict("conflict", errors={"phone": ["an account with this phone exists"]})
    user = User(phone=data["phone"], name=data["name"], locale=data.get("locale", "zh-CN"))
    if data.get("password"):
        user.password_hash = auth.hash_password(data["password"])
    db.session.add(user)
    for m in data.get("memberships") or []:
        place, org = _validate_membership(m) if check_role else (m.get("place"), m.get("org"))
        user.memberships.append(Membership(role=m["role"], place=place, organisation=org))
    if commit:
        db.session.commit()
    return user


def update_user(user_id, data):
    user = get_user(user_id)
    for key in ("name", "is_active", "locale"):
        if key in data:
            setattr(user, key, data[key])
    if "password" in data:
        user.password_hash = auth.hash_password(data["password"])
    db.session.commit()
    return user


def update_me(user, data):
    for key in ("name", "locale"):
        if key in data:
            setattr(user, key, data[key])
    db.session.commit()
    return user


def add_membership(user_id, data):
    user = get_user(user_id)
    place, org = _validate_membership(data)
    for m in user.memberships:
        if m.role == data["role"] and m.place_id == (place.id if place else None) and m.org_id == (org.id if org else None):
            raise Conflict("conflict", errors={"role": ["the person already holds this role here"]})
    m = Membership(role=data["role"], place=place, organisation=org)
    user.memberships.append(m)
    db.session.commit()
    return m


def remove_membership(user_id, membership_id):
    user = get_user(user_id)
    m = next((m for m in user.memberships if m.id == membership_id), None)
    if m is None:
        raise NotFound()
    user.memberships.remove(m)
    db.session.commit()
