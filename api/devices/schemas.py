from marshmallow import Schema, fields, validate

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.devices.models import DEVICE_STATUSES, EQUIPMENT, REQUIREMENTS
from api.places.models import SITE_CATEGORIES
from api.places.schemas import LAT, LNG

SERIAL = validate.Regexp(r"^[A-Za-z0-9._:-]{3,64}$", error="3-64 letters, digits or . _ : -")
IMEI = validate.Regexp(r"^\d{15}$", error="15 digits")


class DeviceTypeSchema(Schema):
    code = fields.String(dump_only=True)
    name_zh = fields.String(validate=validate.Length(min=1, max=100))
    name_en = fields.String(validate=validate.Length(min=1, max=100))
    heartbeat_seconds = fields.Integer(validate=validate.Range(min=60, max=7 * 86400))
    battery_powered = fields.Boolean(dump_only=True)


class DeviceTypeUpdateSchema(Schema):
    name_zh = fields.String(validate=validate.Length(min=1, max=100))
    name_en = fields.String(validate=validate.Length(min=1, max=100))
    heartbeat_seconds = fields.Integer(validate=validate.Range(min=60, max=7 * 86400))


class InstallationRequirementSchema(Schema):
    category = fields.String(required=True, validate=validate.OneOf(list(SITE_CATEGORIES)))
    equipment = fields.String(required=True, validate=validate.OneOf(list(EQUIPMENT)))
    requirement = fields.String(required=True, validate=validate.OneOf(REQUIREMENTS))


class DeviceSchema(Schema):
    id = fields.Integer(dump_only=True)
    serial = fields.String(required=True, validate=SERIAL)
    imei = fields.String(allow_none=True, validate=IMEI)
    type_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    place_id = Id(required=True)
    location_text = fields.String(allow_none=True, validate=validate.Length(max=200))
    lat = fields.Float(allow_none=True, validate=LAT)
    lng = fields.Float(allow_none=True, validate=LNG)
    installed_at = fields.AwareDateTime(allow_none=True, default_timezone=None)
    status = fields.String(load_default="active", validate=validate.OneOf(DEVICE_STATUSES))
    last_seen_at = fields.DateTime(dump_only=True)
    offline_since = fields.DateTime(dump_only=True)
    online = fields.Function(lambda d: d.last_seen_at is not None and d.offline_since is None, dump_only=True)
    battery_pct = fields.Integer(dump_only=True)
    signal_dbm = fields.Integer(dump_only=True)
    site_id = fields.Method("_site_id", dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _site_id(self, device):
        place = device.place
        if place is None:
            return None
        return place.id if place.kind == "site" else place.parent_id


class DeviceUpdateSchema(Schema):
    imei = fields.String(allow_none=True, validate=IMEI)
    place_id = Id()
    location_text = fields.String(allow_none=True, validate=validate.Length(max=200))
    lat = fields.Float(allow_none=True, validate=LAT)
    lng = fields.Float(allow_none=True, validate=LNG)
    installed_at = fields.AwareDateTime(allow_none=True)
    status = fields.String(validate=validate.OneOf(DEVICE_STATUSES))


class DeviceQuerySchema(PageArgs):
    type_code = fields.String()
    place_id = Id()
    status = fields.String(validate=validate.OneOf(DEVICE_STATUSES))
    serial = fields.String()


DevicePageSchema = page_schema(DeviceSchema, "DevicePage")


class ImportArgsSchema(Schema):
    accept_partial = fields.Boolean(load_default=False)
    dry_run = fields.Boolean(load_default=False)


class ImportRowErrorSchema(Schema):
    line = fields.Integer()
    errors = fields.Dict()


class ImportResultSchema(Schema):
    encoding = fields.String()
    rows = fields.Integer()
    imported = fields.Integer()
    rejected = fields.List(fields.Nested(ImportRowErrorSchema))
    dry_run = fields.Boolean()
