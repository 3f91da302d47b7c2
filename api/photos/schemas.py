from marshmallow import Schema, fields


class PhotoUploadSchema(Schema):
    """multipart/form-data: `file` (the image) and an optional `id` (the phone's UUID)."""

    id = fields.UUID(load_default=None, metadata={"description": "Client-made UUID; a replay answers the same"})
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PhotoSchema(Schema):
    id = fields.String()
    url = fields.String(metadata={"description": "Signed, expiring link to the JPEG (no Authorization needed)"})
    thumb_url = fields.String(metadata={"description": "Signed link to the thumbnail, at most 320 px"})
    width = fields.Integer()
    height = fields.Integer()
    bytes = fields.Integer()
    content_type = fields.String()
    created_at = fields.DateTime()


class SignedLinkArgs(Schema):
    exp = fields.String(load_default=None)
    sig = fields.String(load_default=None)


class PhotoLinkSchema(Schema):
    """How other domains show a photo: `api.photos.services.photo_urls(photo)`."""

    id = fields.String()
    url = fields.String()
    thumb_url = fields.String()
