"""Bodies and answers of checklist templates, inspections and hazards.

Creation bodies carry the phone's UUID as `id` (stored as `client_id`); answers give
the server's integer `id` and that `client_id`. Times are ISO 8601 with a zone; `at`
is the time on the phone, `created_at` when the server stored it.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.hazards.models import ITEM_KINDS, RESULTS, SEVERITIES, SOURCES, STATES, TEMPLATE_KINDS

KEY = validate.Regexp(r"^[a-z0-9_]{1,64}$", error="lower-case letters, digits and _, at most 64")


def photo_ids_field():
    return fields.List(fields.String(validate=validate.Length(max=36)), load_default=list,
                       validate=validate.Length(max=20), metadata={"description": "ids from POST /api/v1/photos"})


class ClientIdField(fields.UUID):
    """The phone's UUID, kept as its canonical text."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


def _photos(ids):
    from api.photos.services import photo_urls, photos_by_ids

    return [photo_urls(p) for p in photos_by_ids(ids)]


def _person(user):
    return {"id": user.id, "name": user.name} if user is not None else None


# --- checklist templates -----------------------------------------------------------

class ChecklistItemSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = fields.String(allow_none=True, validate=validate.Length(max=200))
    kind = fields.String(load_default="pass_fail", validate=validate.OneOf(ITEM_KINDS),
                         metadata={"description": "pass_fail | note | photo"})


class ChecklistTemplateSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True, allow_none=True, metadata={"description": "set on seeded templates"})
    kind = fields.String(required=True, validate=validate.OneOf(TEMPLATE_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = fields.String(allow_none=True, validate=validate.Length(max=200))
    items = fields.List(fields.Nested(ChecklistItemSchema), required=True, validate=validate.Length(min=1, max=100))
    created_by = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        keys = [i["key"] for i in data.get("items") or []]
        if len(keys) != len(set(keys)):
            raise ValidationError("item keys must be unique", "items")


class ChecklistTemplateQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(TEMPLATE_KINDS))


class ChecklistTemplateListSchema(Schema):
    items = fields.List(fields.Nested(ChecklistTemplateSchema))


# --- shared pieces ---------------------------------------------------------------------

class InspectionLocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100_000))


class HazardSiteSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)
    path = fields.String()


class HazardPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()


# --- hazards ---------------------------------------------------------------------------

class SourceSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(SOURCES))
    id = fields.String(allow_none=True, validate=validate.Length(max=64))


class HazardCreateSchema(Schema):
    id = ClientIdField(required=True, metadata={"description": "UUID made on the phone; a replay stores nothing twice"})
    site_id = Id(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    photo_ids = photo_ids_field()
    responsible_user_id = Id(allow_none=True)
    deadline = fields.AwareDateTime(allow_none=True,
                                    metadata={"description": "default by severity: critical 3, major 7, minor 30 days"})
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "when found, on the phone"})
    source = fields.Nested(SourceSchema, allow_none=True)


class HazardSchema(Schema):
    id = fields.Integer()
    client_id = fields.String(allow_none=True)
    site_id = Id()
    site = fields.Nested(HazardSiteSchema)
    title = fields.String()
    description = fields.String(allow_none=True)
    severity = fields.String(metadata={"description": " | ".join(SEVERITIES)})
    state = fields.String(metadata={"description": " | ".join(STATES)})
    overdue = fields.Method("_overdue", metadata={"description": "open and past its deadline"})
    deadline = fields.DateTime()
    at = fields.DateTime()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    photos = fields.Method("_photos")
    source = fields.Method("_source")
    inspection_id = Id(allow_none=True)
    created_by = fields.Function(lambda h: _person(h.creator))
    responsible = fields.Function(lambda h: _person(h.responsible))

    def _overdue(self, hazard):
        from api.hazards.services import is_overdue

        return is_overdue(hazard)

    def _photos(self, hazard):
        return _photos(hazard.photo_ids)

    def _source(self, hazard):
        return {"type": hazard.source_type, "id": hazard.source_id, "item_key": hazard.item_key}


class HazardEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "created | submitted | rejected | accepted"})
    at = fields.DateTime()
    client_at = fields.DateTime(allow_none=True)
    actor = fields.Function(lambda e: _person(e.actor))
    note = fields.String(allow_none=True)
    photos = fields.Function(lambda e: _photos(e.photo_ids))
    data = fields.Dict(allow_none=True)


class HazardDetailSchema(HazardSchema):
    history = fields.Method("_history")

    def _history(self, hazard):
        from api.hazards.services import history

        return HazardEventSchema(many=True).dump(history(hazard))


class HazardQuerySchema(PageArgs):
    state = fields.String(validate=validate.Regexp(r"^(open|submitted|closed)(,(open|submitted|closed))*$"))
    site_id = Id()
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    overdue = fields.Boolean(metadata={"description": "true: open and past the deadline (the supervisor's home)"})
    mine = fields.Boolean(metadata={"description": "true: those I am responsible for"})
    inspection_id = Id()


HazardPageSchema = page_schema(HazardSchema, "HazardPage")


class RectificationSchema(Schema):
    id = ClientIdField(required=True, metadata={"description": "UUID made on the phone"})
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    photo_ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list,
                            validate=validate.Length(max=20), metadata={"description": "at least one"})
    at = fields.AwareDateTime(allow_none=True)


class ReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("accept", "reject")))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000),
                         metadata={"description": "required to reject: what is still wrong"})
    deadline = fields.AwareDateTime(allow_none=True, metadata={"description": "a new deadline on reject"})


class ResponsibleCandidateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    roles = fields.List(fields.String())


class ResponsibleCandidateQuerySchema(Schema):
    site_id = Id(required=True)


class ResponsibleCandidateListSchema(Schema):
    items = fields.List(fields.Nested(ResponsibleCandidateSchema))


# --- inspections -----------------------------------------------------------------------

class InspectionItemInSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    photo_ids = photo_ids_field()
    severity = fields.String(allow_none=True, validate=validate.OneOf(SEVERITIES),
                             metadata={"description": "for a failed item; default major"})
    deadline = fields.AwareDateTime(allow_none=True)
    responsible_user_id = Id(allow_none=True)


class InspectionCreateSchema(Schema):
    id = ClientIdField(required=True, metadata={"description": "UUID made on the phone; a replay stores nothing twice"})
    site_id = Id(required=True)
    template_id = Id(allow_none=True, metadata={"description": "default: the seeded inspection checklist"})
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "when inspected, on the phone"})
    location = fields.Nested(InspectionLocationSchema, allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    responsible_user_id = Id(allow_none=True,
                                         metadata={"description": "for failed items that name nobody"})
    items = fields.List(fields.Nested(InspectionItemInSchema), required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        keys = [i["key"] for i in data.get("items") or []]
        if len(keys) != len(set(keys)):
            raise ValidationError("each item once", "items")


class InspectionItemSchema(Schema):
    key = fields.String()
    label = fields.String()
    label_en = fields.String(allow_none=True)
    kind = fields.String()
    result = fields.String()
    note = fields.String(allow_none=True)
    photos = fields.Function(lambda i: _photos(i.get("photo_ids")))
    hazard_id = Id(allow_none=True)


class InspectionSchema(Schema):
    id = fields.Integer()
    client_id = fields.String()
    site_id = Id()
    site = fields.Nested(HazardSiteSchema)
    template_id = Id(allow_none=True)
    template_name = fields.Function(lambda i: i.template.name if i.template else None)
    inspector = fields.Function(lambda i: _person(i.inspector))
    at = fields.DateTime()
    created_at = fields.DateTime()
    location = fields.Function(lambda i: {"lat": i.lat, "lng": i.lng, "accuracy_m": i.accuracy_m}
                               if i.lat is not None else None)
    note = fields.String(allow_none=True)
    failed = fields.Function(lambda i: sum(1 for x in i.items if x.get("result") == "fail"))
    items = fields.List(fields.Nested(InspectionItemSchema))


class InspectionDetailSchema(InspectionSchema):
    hazards = fields.Method("_hazards")

    def _hazards(self, inspection):
        from api.hazards.services import hazards_of_inspection

        return HazardSchema(many=True).dump(hazards_of_inspection(inspection))


class InspectionQuerySchema(PageArgs):
    site_id = Id()
    mine = fields.Boolean(metadata={"description": "true: those I made"})


InspectionPageSchema = page_schema(InspectionSchema, "InspectionPage")
