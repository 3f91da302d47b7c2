from marshmallow import Schema, fields, validate

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.incidents.models import FALSE_ALARM_REASONS, OUTCOMES


class AlertSchema(Schema):
    id = fields.Integer()
    device_id = fields.Integer()
    device_serial = fields.Function(lambda a: a.device.serial if a.device else None)
    device_type = fields.Function(lambda a: a.device.type_code if a.device else None)
    location_text = fields.Function(lambda a: a.device.location_text if a.device else None)
    site_id = fields.Integer()
    incident_id = fields.Integer(allow_none=True)
    condition = fields.String()
    level = fields.Integer()
    active = fields.Boolean()
    count = fields.Integer()
    first_at = fields.DateTime()
    last_at = fields.DateTime()
    raised_at = fields.DateTime()
    last_value = fields.Float(allow_none=True)
    cleared_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class AlertQuerySchema(PageArgs):
    level = fields.Integer(validate=validate.Range(min=1, max=4))
    active = fields.Boolean()
    open = fields.Boolean(load_default=True)
    condition = fields.String()
    device_id = Id()
    site_id = Id()
    incident_id = Id()


AlertPageSchema = page_schema(AlertSchema, "AlertPage")


class SiteBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    category = fields.String()
    lat = fields.Float()
    lng = fields.Float()


class IncidentSchema(Schema):
    id = fields.Integer()
    conditions = fields.Function(lambda i: sorted({a.condition for a in i.alerts}))
    site_id = fields.Integer()
    site = fields.Nested(SiteBriefSchema)
    level = fields.Integer()
    state = fields.String()
    correlated = fields.Boolean()
    opened_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    on_scene_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    false_alarm_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    seconds_to_acknowledge = fields.Integer(allow_none=True)
    seconds_to_scene = fields.Integer(allow_none=True)
    seconds_to_close = fields.Integer(allow_none=True)


class TimelineEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    actor_id = fields.Integer(allow_none=True)
    message = fields.String()
    data = fields.Dict(allow_none=True)


class IncidentDetailSchema(IncidentSchema):
    alerts = fields.List(fields.Nested(AlertSchema))
    timeline = fields.Method("_timeline")

    def _timeline(self, incident):
        from api.incidents.services import timeline

        return TimelineEntrySchema(many=True).dump(timeline(incident))


class IncidentQuerySchema(PageArgs):
    level = fields.Integer(validate=validate.Range(min=1, max=4))
    state = fields.String(validate=validate.Regexp(r"^(open|acknowledged|on_scene|closed)(,(open|acknowledged|on_scene|closed))*$"))
    site_id = Id()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


IncidentPageSchema = page_schema(IncidentSchema, "IncidentPage")


class CloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason = fields.String(allow_none=True, validate=validate.OneOf(FALSE_ALARM_REASONS))
    note = fields.String(allow_none=True, validate=validate.Length(max=500))
