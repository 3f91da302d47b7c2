from marshmallow import Schema, fields, validate

from api.common.fields import Id


class SubscriptionKeysSchema(Schema):
    p256dh = fields.String(required=True, validate=validate.Length(min=20, max=200))
    auth = fields.String(required=True, validate=validate.Length(min=8, max=100))


class PushSubscriptionSchema(Schema):
    """The browser's PushSubscription.toJSON()."""

    id = fields.Integer(dump_only=True)
    endpoint = fields.Url(required=True, schemes={"https", "http"}, require_tld=False,
                          validate=validate.Length(max=1000))
    keys = fields.Nested(SubscriptionKeysSchema, required=True, load_only=True)
    expirationTime = fields.Raw(load_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    last_sent_at = fields.DateTime(dump_only=True)
    last_receipt_at = fields.DateTime(dump_only=True)


class UnsubscribeSchema(Schema):
    endpoint = fields.String(required=True, validate=validate.Length(max=1000))


class ReceiptSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=8, max=64))


class VapidKeySchema(Schema):
    public_key = fields.String()


class DeliverySchema(Schema):
    id = fields.Integer()
    attempt = fields.Integer()
    state = fields.String()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class NotificationSchema(Schema):
    id = fields.Integer()
    incident_id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    kind = fields.String()
    channel = fields.String()
    tier = fields.String(allow_none=True)
    step_no = fields.Integer(allow_none=True)
    to = fields.Method("_to")
    text = fields.String()
    created_at = fields.DateTime()
    deliveries = fields.List(fields.Nested(DeliverySchema))

    def _to(self, n):
        from api.people.phones import mask

        if n.channel in ("sms", "voice"):
            return mask(n.address)
        if n.channel == "push":
            return "push"
        return n.channel


class PushActionSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=8, max=64))
    action = fields.String(required=True, validate=validate.OneOf(["acknowledge"]))


class PolicySchema(Schema):
    id = fields.Integer(dump_only=True)
    place_id = Id(allow_none=True, load_default=None)
    name = fields.String(validate=validate.Length(max=100))
    steps = fields.List(fields.Dict(), required=True)
    receipt_timeout_s = fields.Integer(validate=validate.Range(min=5, max=600))
    on_scene_timeout_s = fields.Integer(validate=validate.Range(min=60, max=7200))


class TestAlarmSchema(Schema):
    queued = fields.Integer()
