from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, get_jwt, jwt_required
from flask_smorest import Blueprint

from api.common.openapi import SECURED
from api.extensions import limiter
from api.people import auth, services
from api.people.phones import InvalidPhone, normalise_phone
from api.people.schemas import (
    AcceptedSchema,
    LoginSchema,
    MembershipSchema,
    MeUpdateSchema,
    OtpRequestSchema,
    TokenPairSchema,
    UserCreateSchema,
    UserPageSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Logging in")
people_blp = Blueprint("people", __name__, url_prefix="/api/v1", description="People and roles")


def _phone_key():
    body = request.get_json(silent=True) or {}
    try:
        return "phone:" + normalise_phone(body.get("phone") or "")
    except InvalidPhone:
        return "phone:invalid"


def _rate(name):
    return lambda: current_app.config[name]


@auth_blp.route("/otp")
class Otp(MethodView):
    decorators = [
        limiter.limit(_rate("OTP_RATE_PER_IP"), scope="otp-ip"),
        limiter.limit(_rate("OTP_RATE_PER_PHONE"), key_func=_phone_key, scope="otp-phone"),
    ]

    @auth_blp.arguments(OtpRequestSchema)
    @auth_blp.response(202, AcceptedSchema)
    def post(self, data):
        """Send a 6-digit login code by SMS (valid 5 minutes, 5 tries)."""
        return services.send_login_code(data["phone"])


@auth_blp.route("/login")
class Login(MethodView):
    decorators = [
        limiter.limit(_rate("LOGIN_RATE_PER_IP"), scope="login-ip"),
        limiter.limit("10 per minute", key_func=_phone_key, scope="login-phone"),
    ]

    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, TokenPairSchema)
    def post(self, data):
        """Log in with phone + password or phone + SMS code."""
        if "password" in data:
            return services.login_with_password(data["phone"], data["password"])
        return services.login_with_code(data["phone"], data["code"])


@auth_blp.route("/refresh")
class Refresh(MethodView):
    decorators = [jwt_required(refresh=True)]

    @auth_blp.doc(security=SECURED)
    @auth_blp.response(200, TokenPairSchema)
    def post(self):
        """Swap a refresh token for a new pair. Reusing a swapped token revokes the login."""
        return auth.rotate_refresh(get_jwt())


@auth_blp.route("/logout")
class Logout(MethodView):
    decorators = [jwt_required(verify_type=False)]

    @auth_blp.doc(security=SECURED)
    @auth_blp.response(204)
    def post(self):
        """Revoke this login (its access and refresh tokens)."""
        claims = get_jwt()
        auth.revoke_token(claims)
        if claims.get("fam"):
            auth.revoke_family(claims["fam"])


@people_blp.route("/me")
class Me(MethodView):
    decorators = [jwt_required()]

    @people_blp.doc(security=SECURED)
    @people_blp.response(200, UserSchema)
    def get(self):
        """The caller and their memberships."""
        return current_user

    @people_blp.doc(security=SECURED)
    @people_blp.arguments(MeUpdateSchema)
    @people_blp.response(200, UserSchema)
    def patch(self, data):
        return services.update_me(current_user, data)


@people_blp.route("/users")
class Users(MethodView):
    decorators = [jwt_required()]

    @people_blp.doc(security=SECURED)
    @people_blp.arguments(UserQuerySchema, location="query")
    @people_blp.response(200, UserPageSchema)
    def get(self, args):
        return services.list_users(args)

    @people_blp.doc(security=SECURED)
    @people_blp.arguments(UserCreateSchema)
    @people_blp.response(201, UserSchema)
    def post(self, data):
        return services.create_user(data)


@people_blp.route("/users/<int:user_id>")
class UserById(MethodView):
    decorators = [jwt_required()]

    @people_blp.doc(security=SECURED)
    @people_blp.response(200, UserSchema)
    def get(self, user_id):
        return services.get_user(user_id)

    @people_blp.doc(security=SECURED)
    @people_blp.arguments(UserUpdateSchema)
    @people_blp.response(200, UserSchema)
    def patch(self, data, user_id):
        return services.update_user(user_id, data)


@people_blp.route("/users/<int:user_id>/memberships")
class UserMemberships(MethodView):
    decorators = [jwt_required()]

    @people_blp.doc(security=SECURED)
    @people_blp.arguments(MembershipSchema)
    @people_blp.response(201, MembershipSchema)
    def post(self, data, user_id):
        return services.add_membership(user_id, data)


@people_blp.route("/users/<int:user_id>/memberships/<int:membership_id>")
class UserMembershipById(MethodView):
    decorators = [jwt_required()]

    @people_blp.doc(security=SECURED)
    @people_blp.response(204)
    def delete(self, user_id, membership_id):
        services.remove_membership(user_id, membership_id)
