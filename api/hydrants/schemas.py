from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.hydrants.models import (
    HYDRANT_KINDS,
    HYDRANT_STATUSES,
    OWNERSHIPS,
    REPORT_CATEGORIES,
    WORK_ORDER_STATUSES,
)
from api.photos.schemas import PhotoLinkSchema


class HydrantLocationSchema(Schema):
    """A WGS-84 fix as the phone gave it."""

    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))


class HydrantPointSchema(Schema):
    lat = fields.Float()
    lng = fields.Float()


class HydrantCreateSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUID; a replay answers the same"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(HYDRANT_KINDS))
    ownership = fields.String(required=True, validate=validate.OneOf(OWNERSHIPS))
    location = fields.Nested(HydrantLocationSchema, required=True)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    place_id = Id(required=True, metadata={"description": "A street, community, grid or site"})
    owner = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    maintainer_org_id = Id(load_default=None, allow_none=True,
                                       metadata={"description": "A maintenance company"})
    status = fields.String(load_default="normal", validate=validate.OneOf(HYDRANT_STATUSES))
    device_id = Id(load_default=None, allow_none=True,
                               metadata={"description": "Its hydrant_monitor device (pressure, tilt, cap)"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class HydrantUpdateSchema(Schema):
    code = fields.String(validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf(HYDRANT_KINDS))
    ownership = fields.String(validate=validate.OneOf(OWNERSHIPS))
    location = fields.Nested(HydrantLocationSchema)
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    place_id = Id()
    owner = fields.String(allow_none=True, validate=validate.Length(max=200))
    maintainer_org_id = Id(allow_none=True)
    status = fields.String(validate=validate.OneOf(HYDRANT_STATUSES))
    device_id = Id(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class HydrantSchema(Schema):
    id = fields.Integer()
    client_id = fields.String(allow_none=True)
    code = fields.String()
    kind = fields.String(metadata={"description": "underground | above_ground"})
    ownership = fields.String(metadata={"description": "municipal | on_site"})
    location = fields.Nested(HydrantPointSchema, metadata={"description": "WGS-84"})
    gcj02 = fields.Nested(HydrantPointSchema, metadata={"description": "GCJ-02, for AMap/Tencent tiles"})
    address = fields.String(allow_none=True)
    place_id = Id()
    owner = fields.String(allow_none=True)
    maintainer_org_id = Id(allow_none=True)
    maintainer_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "normal | damaged | out_of_service"})
    device_id = Id(allow_none=True)
    device_online = fields.Boolean(allow_none=True)
    latest_pressure_mpa = fields.Float(allow_none=True)
    pressure_at = fields.DateTime(allow_none=True)
    pressure_low = fields.Boolean(allow_none=True, metadata={"description": "below 0.14 MPa (GB 50974)"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "with ?near= or /nearest"})
    note = fields.String(allow_none=True)
    open_work_orders = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


HydrantPageSchema = page_schema(HydrantSchema, "HydrantPage")


class LatLngText(fields.Field):
    """`lat,lng` in a query string."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            lat, lng = (float(x) for x in str(value).split(","))
        except ValueError:
            raise ValidationError("lat,lng (WGS-84 decimal degrees)") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValidationError("lat,lng out of range")
        return lat, lng


class HydrantQuerySchema(PageArgs):
    near = LatLngText(load_default=None, metadata={"type": "string",
                                                   "description": "lat,lng: adds distance_m, sorted by it"})
    radius_m = fields.Float(load_default=2000, validate=validate.Range(min=1, max=50_000))
    status = fields.String(load_default=None, validate=validate.OneOf(HYDRANT_STATUSES))
    place_id = Id(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=64), metadata={"description": "code prefix"})


class HydrantNearestQuerySchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))
    max_m = fields.Float(load_default=10_000, validate=validate.Range(min=1, max=50_000))
    usable = fields.Boolean(load_default=False, metadata={"description": "leave out those out of service"})


class HydrantNearestSchema(Schema):
    items = fields.List(fields.Nested(HydrantSchema))


class HydrantPressureQuerySchema(Schema):
    since = fields.AwareDateTime(load_default=None, metadata={"description": "default: 7 days ago"})
    until = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class HydrantPressurePointSchema(Schema):
    at = fields.DateTime()
    pressure_mpa = fields.Float()


class HydrantPressureSchema(Schema):
    hydrant_id = Id()
    device_id = Id(allow_none=True)
    latest_pressure_mpa = fields.Float(allow_none=True)
    pressure_at = fields.DateTime(allow_none=True)
    items = fields.List(fields.Nested(HydrantPressurePointSchema), metadata={"description": "newest first"})


# --- reports and work orders ----------------------------------------------------------

class HydrantReportCreateSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUID; a replay answers the same"})
    hydrant_id = Id(load_default=None, allow_none=True,
                                metadata={"description": "Unknown? Leave it out and give a location"})
    category = fields.String(required=True, validate=validate.OneOf(REPORT_CATEGORIES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    photo_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=10))
    location = fields.Nested(HydrantLocationSchema, load_default=None, allow_none=True)
    at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "time on the phone"})

    @validates_schema
    def _where(self, data, **kwargs):
        if not data.get("hydrant_id") and not data.get("location"):
            raise ValidationError("give the hydrant or a location", "location")


class WorkOrderUpdateCreateSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUID; a replay answers the same"})
    status = fields.String(required=True, validate=validate.OneOf(WORK_ORDER_STATUSES[1:]))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    photo_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=10),
                            metadata={"description": "`fixed` needs at least one (the closing photo)"})
    at = fields.AwareDateTime(load_default=None, allow_none=True)


class WorkOrderUpdateSchema(Schema):
    id = fields.Integer()
    client_id = fields.String()
    status = fields.String()
    note = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(PhotoLinkSchema))
    user_id = Id(allow_none=True)
    user_name = fields.String(allow_none=True)
    at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class WorkOrderBriefSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "open | accepted | in_progress | fixed | rejected"})
    deadline = fields.DateTime()
    overdue = fields.Boolean()
    maintainer_org_id = Id(allow_none=True)
    maintainer_name = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class HydrantReportSchema(Schema):
    id = fields.Integer()
    client_id = fields.String()
    hydrant_id = Id(allow_none=True)
    hydrant_code = fields.String(allow_none=True)
    category = fields.String()
    note = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(PhotoLinkSchema))
    location = fields.Nested(HydrantLocationSchema, allow_none=True)
    reporter_id = Id(allow_none=True)
    at = fields.DateTime()
    created_at = fields.DateTime()
    work_order = fields.Nested(WorkOrderBriefSchema)


class WorkOrderSchema(WorkOrderBriefSchema):
    hydrant = fields.Nested(HydrantSchema, allow_none=True)
    report = fields.Nested(HydrantReportSchema)
    updates = fields.List(fields.Nested(WorkOrderUpdateSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ReportPageSchema = page_schema(HydrantReportSchema, "HydrantReportPage")
WorkOrderPageSchema = page_schema(WorkOrderSchema, "WorkOrderPage")


class HydrantReportQuerySchema(PageArgs):
    mine = fields.Boolean(load_default=False)
    hydrant_id = Id(load_default=None)


class WorkOrderQuerySchema(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(WORK_ORDER_STATUSES))
    open = fields.Boolean(load_default=False, metadata={"description": "not fixed or rejected"})
    overdue = fields.Boolean(load_default=False)
    hydrant_id = Id(load_default=None)
