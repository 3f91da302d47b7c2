from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from api.common.openapi import IDEMPOTENCY, SECURED
from api.errors import AppError, error_response
from api.people.scopes import current_user
from api.photos import services
from api.photos.schemas import PhotoSchema, PhotoUploadSchema, SignedLinkArgs

blp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Photos: upload, re-encode, thumbnails")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the `id` field around the file


@blp.before_request
def _bound_upload_body():
    # Werkzeug refuses a longer body before reading it (Content-Length) or while
    # streaming it (chunked), so a 50 MB upload never sits in memory.
    if request.endpoint == "photos.Photos" and request.method == "POST":
        request.max_content_length = current_app.config["PHOTO_MAX_BYTES"] + MULTIPART_OVERHEAD


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    err = services.too_large()
    return error_response(err.status, err.code, err.message, err.errors)


@blp.route("/photos")
class Photos(MethodView):
    decorators = [jwt_required()]

    # Not @idempotent: it fingerprints the raw body, and a browser re-sending the same
    # FormData picks a new multipart boundary, so every retry would look like another
    # request. An Idempotency-Key names the photo instead (below): same key and same
    # file → the first answer; same key, other file → 409 id_conflict.
    @blp.doc(security=SECURED, parameters=[IDEMPOTENCY],
             requestBody={"required": True, "content": {"multipart/form-data": {"schema": PhotoUploadSchema}}})
    @blp.response(201, PhotoSchema)
    def post(self):
        """Upload a photo (multipart field `file`, optional `id`). Stored re-encoded as JPEG
        without EXIF; answers signed links. 413 photo_too_large, 415 unsupported_photo,
        422 photo_too_large_pixels; the same `id` again answers the first upload."""
        try:
            upload = request.files.get("file")
            client_id = request.form.get("id")
        except RequestEntityTooLarge:
            raise services.too_large() from None
        if upload is None:
            raise AppError("validation_error", status=422, errors={"file": ["Missing data for required field."]})
        user = current_user()
        key = request.headers.get("Idempotency-Key")
        if not client_id and key:
            client_id = services.id_for_key(user, key)
        photo, _created = services.upload_photo(user, upload.stream, client_id)
        return services.photo_view(photo)


def _serve(photo_id, variant, args):
    data, etag, left = services.open_signed(photo_id, variant, args.get("exp"), args.get("sig"))
    resp = current_app.response_class(data, mimetype="image/jpeg")
    # The bytes under a key never change; the link stops working at `exp`.
    resp.headers["Cache-Control"] = f"private, max-age={left}, immutable"
    resp.set_etag(etag)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp.make_conditional(request)


@blp.route("/photos/<uuid:photo_id>")
class PhotoFile(MethodView):
    @blp.arguments(SignedLinkArgs, location="query")
    @blp.response(200, description="The JPEG (signed link: `exp` and `sig` from the upload's `url`)")
    def get(self, args, photo_id):
        return _serve(str(photo_id), "full", args)


@blp.route("/photos/<uuid:photo_id>/thumb")
class PhotoThumb(MethodView):
    @blp.arguments(SignedLinkArgs, location="query")
    @blp.response(200, description="The thumbnail JPEG, at most 320 px (signed link from `thumb_url`)")
    def get(self, args, photo_id):
        return _serve(str(photo_id), "thumb", args)
