from marshmallow import Schema, fields, validate


class NoticeQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    unread = fields.Boolean(load_default=False)
    open = fields.Boolean(load_default=False)


class NoticeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    level = fields.Integer(allow_none=True)
    text = fields.String()
    link = fields.String(allow_none=True)
    subject_type = fields.String(allow_none=True)
    subject_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class NoticePageSchema(Schema):
    items = fields.List(fields.Nested(NoticeSchema))
    next_before = fields.Integer(allow_none=True)
