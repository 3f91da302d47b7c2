from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.common.fields import Id
from api.common.pagination import PageArgs, page_schema
from api.places.models import INDUSTRY_SECTORS, ORG_KINDS, PLACE_KINDS, SITE_CATEGORIES

LAT = validate.Range(min=-90, max=90)
LNG = validate.Range(min=-180, max=180)


class PlaceSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(PLACE_KINDS))
    parent_id = Id(allow_none=True, load_default=None)
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(allow_none=True, validate=validate.OneOf(list(SITE_CATEGORIES)))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    lat = fields.Float(allow_none=True, validate=LAT)
    lng = fields.Float(allow_none=True, validate=LNG)
    floors = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=200))
    floor = fields.Integer(allow_none=True, validate=validate.Range(min=-5, max=200))
    path = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    @validates_schema
    def _coordinates_in_pairs(self, data, **kwargs):
        if ("lat" in data) != ("lng" in data) or ((data.get("lat") is None) != (data.get("lng") is None)):
            raise ValidationError("lat and lng go together", "lat")


class PlaceUpdateSchema(Schema):
    code = fields.String(validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(min=1, max=200))
    category = fields.String(allow_none=True, validate=validate.OneOf(list(SITE_CATEGORIES)))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    lat = fields.Float(allow_none=True, validate=LAT)
    lng = fields.Float(allow_none=True, validate=LNG)
    floors = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=200))
    floor = fields.Integer(allow_none=True, validate=validate.Range(min=-5, max=200))


class PlaceQuerySchema(PageArgs):
    kind = fields.String(validate=validate.OneOf(PLACE_KINDS))
    parent_id = Id()
    q = fields.String(validate=validate.Length(max=100))


PlacePageSchema = page_schema(PlaceSchema, "PlacePage")


class SiteCategorySchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


class OrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sector = fields.String(allow_none=True, validate=validate.OneOf(INDUSTRY_SECTORS))
    place_ids = fields.List(Id(), load_default=list)
    created_at = fields.DateTime(dump_only=True)


class OrganisationUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    sector = fields.String(allow_none=True, validate=validate.OneOf(INDUSTRY_SECTORS))
    place_ids = fields.List(Id())


class OrganisationQuerySchema(PageArgs):
    kind = fields.String(validate=validate.OneOf(ORG_KINDS))


OrganisationPageSchema = page_schema(OrganisationSchema, "OrganisationPage")
