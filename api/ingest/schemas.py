from marshmallow import Schema, ValidationError, fields, validate, validates

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.ingest.models import EVENT_KINDS, INTEGRATION_KINDS, TELEMETRY_METRICS


def check_mapping(mapping):
    """A mapping may only produce known event kinds and metrics."""
    if not isinstance(mapping, dict):
        raise ValidationError("expected an object")
    for vendor, kind in (mapping.get("kinds") or {}).items():
        if kind not in EVENT_KINDS:
            raise ValidationError(f"kinds.{vendor}: unknown event kind {kind!r}")
    for vendor, metric in (mapping.get("values") or {}).items():
        if metric not in TELEMETRY_METRICS:
            raise ValidationError(f"values.{vendor}: unknown metric {metric!r}")
    for name, rule in (mapping.get("fields") or {}).items():
        if not isinstance(rule, dict) or not ({"metric"} <= set(rule) or {"kinds"} <= set(rule)):
            raise ValidationError(f"fields.{name}: give a metric or kinds")
        if "metric" in rule and rule["metric"] not in TELEMETRY_METRICS:
            raise ValidationError(f"fields.{name}: unknown metric {rule['metric']!r}")
        for value, kind in (rule.get("kinds") or {}).items():
            if kind not in EVENT_KINDS:
                raise ValidationError(f"fields.{name}.kinds.{value}: unknown event kind {kind!r}")


class IntegrationSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(INTEGRATION_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    key_id = fields.String(dump_only=True)
    mapping = fields.Dict(load_default=None, allow_none=True)
    mqtt_topic = fields.String(allow_none=True, validate=validate.Length(max=200))
    enabled = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_message_at = fields.DateTime(dump_only=True)
    accepted_count = fields.Integer(dump_only=True)
    duplicate_count = fields.Integer(dump_only=True)
    rejected_count = fields.Integer(dump_only=True)
    unregistered_count = fields.Integer(dump_only=True)

    @validates("mapping")
    def _mapping(self, value, **kwargs):
        if value is not None:
            check_mapping(value)


class IntegrationCreatedSchema(IntegrationSchema):
    secret = fields.String(dump_only=True)
    url = fields.String(dump_only=True)


class IntegrationUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    enabled = fields.Boolean()
    mapping = fields.Dict()
    mqtt_topic = fields.String(validate=validate.Length(max=200))

    @validates("mapping")
    def _mapping(self, value, **kwargs):
        check_mapping(value)


IntegrationPageSchema = page_schema(IntegrationSchema, "IntegrationPage")


class RejectedSchema(Schema):
    id = fields.Integer()
    received_at = fields.DateTime()
    reason = fields.String()
    excerpt = fields.String()


class IntegrationHealthSchema(Schema):
    integration = fields.Nested(IntegrationSchema)
    recent_rejections = fields.List(fields.Nested(RejectedSchema))


class UnregisteredSchema(Schema):
    id = fields.Integer()
    integration_id = fields.Integer()
    device_ref = fields.String()
    first_seen_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    message_count = fields.Integer()
    last_message = fields.Dict()


class UnregisteredQuerySchema(PageArgs):
    integration_id = Id()


UnregisteredPageSchema = page_schema(UnregisteredSchema, "UnregisteredPage")


class PageQuerySchema(PageArgs):
    pass


class IngestResultSchema(Schema):
    index = fields.Integer()
    id = fields.Raw(allow_none=True)
    status = fields.String()
    reason = fields.String()


class IngestAnswerSchema(Schema):
    accepted = fields.Integer()
    duplicate = fields.Integer()
    unregistered = fields.Integer()
    rejected = fields.Integer()
    results = fields.List(fields.Nested(IngestResultSchema))
