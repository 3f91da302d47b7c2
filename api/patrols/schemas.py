from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema

PATROL_ROLES = ("property_staff", "grid_worker", "station_member", "supervisor", "admin")
ITEM_KINDS = ("pass_fail", "note", "photo")
RESULTS = ("pass", "fail", "na")
SEVERITIES = ("minor", "major", "critical")
HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="HH:MM (00:00-23:59)")
KEY = validate.Regexp(r"^[a-z0-9_]{1,64}$", error="lower-case letters, digits and _ (at most 64)")


class PatrolLocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))


class PatrolItemDefSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    kind = fields.String(load_default="pass_fail", validate=validate.OneOf(ITEM_KINDS))


class PatrolCheckpointInSchema(Schema):
    id = fields.Integer(load_default=None, allow_none=True,
                        metadata={"description": "On PATCH: an existing checkpoint kept (its label stays valid)"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    site_id = Id(load_default=None, allow_none=True,
                             metadata={"description": "The site it stands in, for a community's plan"})
    location = fields.Nested(PatrolLocationSchema, required=True)
    radius_m = fields.Float(load_default=30.0, validate=validate.Range(min=5, max=2000))
    instructions = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    items = fields.List(fields.Nested(PatrolItemDefSchema), load_default=list, validate=validate.Length(max=50))
    template_id = Id(load_default=None, allow_none=True,
                                 metadata={"description": "Copy the items of a checklist template"})

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        keys = [i["key"] for i in data.get("items") or ()]
        if len(keys) != len(set(keys)):
            raise ValidationError("item keys must be unique", "items")


class PatrolFrequencySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("daily", "weekly", "custom")))
    start = fields.String(load_default=None, allow_none=True, validate=HHMM,
                          metadata={"description": "Local time the window opens (daily, weekly) or custom periods start"})
    end = fields.String(load_default=None, allow_none=True, validate=HHMM,
                        metadata={"description": "Local time the window closes: overdue after it (daily, weekly)"})
    weekdays = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)), load_default=None,
                           allow_none=True, metadata={"description": "ISO weekdays, 1 = Monday (weekly)"})
    every_hours = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=168),
                                 metadata={"description": "Period length (custom)"})

    @validates_schema
    def _complete(self, data, **kwargs):
        kind = data["kind"]
        if kind == "weekly" and not data.get("weekdays"):
            raise ValidationError("required for a weekly plan", "weekdays")
        if kind == "custom" and not data.get("every_hours"):
            raise ValidationError("required for a custom plan", "every_hours")
        if kind != "custom" and data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")


def clean_frequency(data):
    """Only the fields the kind uses, so two equal plans store equal JSON."""
    out = {"kind": data["kind"]}
    if data["kind"] == "custom":
        out["every_hours"] = data["every_hours"]
        if data.get("start"):
            out["start"] = data["start"]
        return out
    out["start"] = data.get("start") or "00:00"
    out["end"] = data.get("end")
    if data["kind"] == "weekly":
        out["weekdays"] = sorted(set(data["weekdays"]))
    return out


class PatrolAssigneesSchema(Schema):
    roles = fields.List(fields.String(validate=validate.OneOf(PATROL_ROLES)), load_default=list)
    user_ids = fields.List(Id(), load_default=list)


class PatrolPlanCreateSchema(Schema):
    id = fields.UUID(load_default=None, allow_none=True,
                     metadata={"description": "Client-made UUID: a replay returns the first answer"})
    place_id = Id(required=True, metadata={"description": "A site or a community"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    checkpoints = fields.List(fields.Nested(PatrolCheckpointInSchema), required=True,
                              validate=validate.Length(min=1, max=100))
    frequency = fields.Nested(PatrolFrequencySchema, required=True)
    assignees = fields.Nested(PatrolAssigneesSchema, load_default=lambda: {"roles": [], "user_ids": []})


class PatrolPlanPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    checkpoints = fields.List(fields.Nested(PatrolCheckpointInSchema), validate=validate.Length(min=1, max=100),
                              metadata={"description": "The whole ordered list; ids not given are retired"})
    frequency = fields.Nested(PatrolFrequencySchema)
    assignees = fields.Nested(PatrolAssigneesSchema)
    active = fields.Boolean()


class PatrolItemDefOutSchema(Schema):
    key = fields.String()
    label = fields.String()
    label_en = fields.String(allow_none=True)
    kind = fields.String()


class PatrolCheckpointSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String()
    site_id = Id(allow_none=True)
    location = fields.Dict()
    radius_m = fields.Float()
    instructions = fields.String(allow_none=True)
    items = fields.List(fields.Nested(PatrolItemDefOutSchema))
    code = fields.String(metadata={"description": "The signed code its label carries"})
    scan_url = fields.String()


class PatrolPlanSchema(Schema):
    id = fields.Integer()
    client_id = fields.String(allow_none=True)
    place_id = Id()
    place_name = fields.String()
    name = fields.String()
    active = fields.Boolean()
    checkpoints = fields.List(fields.Nested(PatrolCheckpointSchema))
    frequency = fields.Dict()
    assignees = fields.Dict()
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    current_period = fields.Dict(allow_none=True, metadata={
        "description": "{label, opens, due, end, done: [checkpoint ids scanned], complete}"})


PatrolPlanPageSchema = page_schema(PatrolPlanSchema, "PatrolPlanPage")


class PatrolPlanQuerySchema(PageArgs):
    place_id = Id(load_default=None)
    mine = fields.Boolean(load_default=False, metadata={"description": "Only plans I am assigned to"})
    active = fields.Boolean(load_default=None, allow_none=True)


class PatrolScanSchema(Schema):
    checkpoint = fields.Nested(PatrolCheckpointSchema)
    plan = fields.Nested(PatrolPlanSchema)


class PatrolItemResultSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    result = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RESULTS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    photo_ids = fields.List(fields.String(), load_default=list, validate=validate.Length(max=20))


class PatrolRecordCreateSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUID; the record's id"})
    checkpoint_id = Id(load_default=None, allow_none=True)
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                         metadata={"description": "The code read from the label: proves the scan"})
    at = fields.AwareDateTime(required=True, metadata={"description": "The phone's time of the scan"})
    location = fields.Nested(PatrolLocationSchema, load_default=None, allow_none=True)
    items = fields.List(fields.Nested(PatrolItemResultSchema), load_default=list, validate=validate.Length(max=50))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _which_checkpoint(self, data, **kwargs):
        if data.get("checkpoint_id") is None and not data.get("code"):
            raise ValidationError("checkpoint_id or code is required", "checkpoint_id")
        keys = [i["key"] for i in data.get("items") or ()]
        if len(keys) != len(set(keys)):
            raise ValidationError("item keys must be unique", "items")


class PatrolPhotoRefSchema(Schema):
    id = fields.String()
    url = fields.String()
    thumb_url = fields.String()


class PatrolItemOutSchema(Schema):
    key = fields.String()
    label = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    photo_ids = fields.List(fields.String())
    photos = fields.List(fields.Nested(PatrolPhotoRefSchema))
    hazard_id = Id(allow_none=True)


class PatrolRecordSchema(Schema):
    id = fields.String()
    plan_id = Id()
    checkpoint_id = Id()
    checkpoint_name = fields.String()
    user_id = Id()
    user_name = fields.String()
    scanned = fields.Boolean(metadata={"description": "A valid label code came with it"})
    at = fields.DateTime()
    created_at = fields.DateTime()
    period = fields.String(allow_none=True, metadata={"description": "Label of the plan period it counts for"})
    location = fields.Dict(allow_none=True)
    distance_m = fields.Float(allow_none=True)
    far_from_checkpoint = fields.Boolean()
    items = fields.List(fields.Nested(PatrolItemOutSchema))
    note = fields.String(allow_none=True)




class PatrolRecordQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "next_before of the previous page"})
    plan_id = Id(load_default=None)
    site_id = Id(load_default=None)
    user_id = Id(load_default=None)


class PatrolRecordListSchema(Schema):
    items = fields.List(fields.Nested(PatrolRecordSchema))
    next_before = fields.String(allow_none=True)


class PatrolItemHazardSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-made UUID of the hazard"})
    severity = fields.String(load_default="minor", validate=validate.OneOf(SEVERITIES))
    deadline = fields.AwareDateTime(load_default=None, allow_none=True)
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    site_id = Id(load_default=None, allow_none=True,
                             metadata={"description": "For a community's plan whose checkpoint has no site"})


class PatrolItemHazardOutSchema(Schema):
    record_id = fields.String()
    item_key = fields.String()
    hazard_id = Id()
    hazard = fields.Dict()


class PatrolStatsQuerySchema(Schema):
    place_id = Id(load_default=None)
    date_from = fields.Date(data_key="from", load_default=None, allow_none=True)
    date_to = fields.Date(data_key="to", load_default=None, allow_none=True)


class PatrolStatsSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    totals = fields.Dict()
    places = fields.List(fields.Dict(), metadata={
        "description": "[{place_id, name, plans, due, completed, partial, missed, completion}]"})
    plans = fields.List(fields.Dict())
    people = fields.List(fields.Dict(), metadata={
        "description": "[{user_id, name, scans, far_scans, periods}]"})
    days = fields.List(fields.Dict(), metadata={"description": "[{date, due, completed, partial, missed}]"})
