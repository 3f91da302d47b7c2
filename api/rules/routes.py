from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.common.fields import MAX_ID, Id
from api.common.openapi import SECURED
from api.common.pagination import page_schema
from api.rules import services

blp = Blueprint("rules", __name__, url_prefix="/api/v1", description="Alarm rules")


class RuleSchema(Schema):
    id = fields.Integer()
    rule_key = fields.String()
    version = fields.Integer()
    active = fields.Boolean()
    device_type = fields.String()
    condition = fields.String()
    source = fields.String()
    raise_on = fields.List(fields.String(), allow_none=True)
    clear_on = fields.List(fields.String(), allow_none=True)
    metric = fields.String(allow_none=True)
    comparison = fields.String(allow_none=True)
    threshold = fields.Float(allow_none=True)
    clear_threshold = fields.Float(allow_none=True)
    duration_s = fields.Integer()
    level = fields.Integer()
    opens_incident = fields.Boolean()
    site_category = fields.String(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    retired_at = fields.DateTime(allow_none=True)


class RuleQuerySchema(Schema):
    device_type = fields.String()
    include_retired = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    after = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_ID))


RulePageSchema = page_schema(RuleSchema, "RulePage")


class RuleChangeSchema(Schema):
    threshold = fields.Float(allow_none=True)
    clear_threshold = fields.Float(allow_none=True)
    duration_s = fields.Integer()
    level = fields.Integer(validate=validate.Range(min=1, max=4))
    opens_incident = fields.Boolean()
    active = fields.Boolean()


class RuleOverrideSchema(RuleChangeSchema):
    base_rule_id = Id(required=True)
    site_category = fields.String(allow_none=True)
    site_id = Id(allow_none=True)


@blp.route("/rules")
class Rules(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.arguments(RuleQuerySchema, location="query")
    @blp.response(200, RulePageSchema)
    def get(self, args):
        """The active rules (defaults and overrides)."""
        return services.list_rules(args)

    @blp.doc(security=SECURED)
    @blp.arguments(RuleOverrideSchema)
    @blp.response(201, RuleSchema)
    def post(self, data):
        """Override a rule for a site category or one site (admins)."""
        return services.override(data)


@blp.route("/rules/<int:rule_id>")
class RuleById(MethodView):
    decorators = [jwt_required()]

    @blp.doc(security=SECURED)
    @blp.response(200, RuleSchema)
    def get(self, rule_id):
        return services.get_rule(rule_id)

    @blp.doc(security=SECURED)
    @blp.arguments(RuleChangeSchema)
    @blp.response(200, RuleSchema)
    def patch(self, data, rule_id):
        """Change a rule: a new version replaces the current one (admins)."""
        return services.revise(rule_id, data)
