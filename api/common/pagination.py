"""Keyset pagination: `?limit=&after=<id>` answers `{items, next_after}`."""

from marshmallow import Schema, fields, validate

from api.common.fields import MAX_ID

MAX_LIMIT = 500


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    after = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_ID))


def page(query, id_column, args):
    if args.get("after"):
        query = query.filter(id_column > args["after"])
    rows = query.order_by(id_column).limit(args["limit"] + 1).all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    return {"items": rows, "next_after": rows[-1].id if more and rows else None}


def page_schema(item_schema_cls, name):
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema_cls)),
            "next_after": fields.Integer(allow_none=True),
        },
    )
