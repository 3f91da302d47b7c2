from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.people.models import ROLES
from api.people.phones import InvalidPhone, normalise_phone, phone_for_viewer


class Phone(fields.String):
    """A mainland mobile number in, E.164 stored."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_phone(text)
        except InvalidPhone:
            raise ValidationError("not a valid mainland China mobile number") from None


class OtpRequestSchema(Schema):
    phone = Phone(required=True)


class LoginSchema(Schema):
    phone = Phone(required=True)
    password = fields.String(validate=validate.Length(min=1, max=200))
    code = fields.String(validate=validate.Regexp(r"^\d{6}$", error="6 digits"))

    @validates_schema
    def _one_secret(self, data, **kwargs):
        if ("password" in data) == ("code" in data):
            raise ValidationError("give either password or code", "password")


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()


class AcceptedSchema(Schema):
    status = fields.String()
    expires_in = fields.Integer()


class MembershipSchema(Schema):
    id = fields.Integer(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    place_id = Id(allow_none=True, load_default=None)
    org_id = Id(allow_none=True, load_default=None)
    place_name = fields.Method("_place_name", dump_only=True)
    place_kind = fields.Method("_place_kind", dump_only=True)
    org_name = fields.Method("_org_name", dump_only=True)

    def _place_name(self, m):
        return m.place.name if m.place else None

    def _place_kind(self, m):
        return m.place.kind if m.place else None

    def _org_name(self, m):
        return m.organisation.name if m.organisation else None


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    phone = fields.Method("_phone", dump_only=True)
    name = fields.String()
    is_active = fields.Boolean()
    locale = fields.String()
    memberships = fields.List(fields.Nested(MembershipSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _phone(self, user):
        return phone_for_viewer(user.phone, user.id)


class UserCreateSchema(Schema):
    phone = Phone(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(validate=validate.Length(min=8, max=200))
    locale = fields.String(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))
    memberships = fields.List(fields.Nested(MembershipSchema), load_default=list)


class UserUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    password = fields.String(validate=validate.Length(min=8, max=200))
    is_active = fields.Boolean()
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))


class MeUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))


class UserQuerySchema(PageArgs):
    phone = Phone()
    role = fields.String(validate=validate.OneOf(ROLES))


UserPageSchema = page_schema(UserSchema, "UserPage")
