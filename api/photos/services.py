"""Photos: sniff, re-encode, store, sign. Other domains use `claim_photos` to
accept a body's `photo_ids` and `photo_urls` to show them."""

import hashlib
import hmac
import io
import math
import uuid

from flask import current_app, url_for
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError

from api.common.clock import utcnow
from api.errors import AppError, Conflict, NotFound
from api.extensions import db
from api.photos.models import Photo
from api.photos.storage import photo_storage

# What Pillow may decode here. HEIC is not among them: Pillow has no HEIF decoder
# (it needs the pillow-heif plugin); phones' browsers send JPEG from a file input.
FORMATS = ("JPEG", "PNG", "WEBP")
THUMB_SIDE = 320
JPEG_QUALITY = 85
VARIANTS = ("full", "thumb")


def too_large():
    limit = current_app.config["PHOTO_MAX_BYTES"]
    return AppError("photo_too_large", status=413,
                    message=(f"照片不能超过 {limit // (1024 * 1024)} MB", f"A photo may be at most {limit} bytes"),
                    errors={"file": [f"larger than {limit} bytes"]})


def _unsupported(why):
    return AppError("unsupported_photo", status=415,
                    message=("只能上传 JPEG、PNG 或 WebP 照片", "Only JPEG, PNG or WebP photos are accepted"),
                    errors={"file": [why]})


def _too_many_pixels(w, h):
    return AppError("photo_too_large_pixels", status=422,
                    message=("照片像素过多", "The image has too many pixels"),
                    errors={"file": [f"{w}x{h} is more than {current_app.config['PHOTO_MAX_PIXELS']} pixels"]})


def _flatten(img):
    """RGB, with any transparency laid on white (JPEG has none)."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        back = Image.new("RGB", img.size, (255, 255, 255))
        back.paste(img, mask=img.getchannel("A"))
        return back
    return img.convert("RGB")


def _jpeg(img):
    out = io.BytesIO()
    # No exif=, no comment: the stored file carries no EXIF, GPS or maker notes.
    img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def reencode(data):
    """(full JPEG bytes, its size, thumbnail JPEG bytes, its size, source format)."""
    max_pixels = current_app.config["PHOTO_MAX_PIXELS"]
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
        w, h = img.size  # from the header: nothing decoded yet
        # Our own limit, checked before decoding (Pillow's process-wide MAX_IMAGE_PIXELS is left alone).
        if w * h > max_pixels:
            raise _too_many_pixels(w, h)
        fmt = img.format
        img.seek(0)  # an animated WebP/PNG: its first frame
        img.load()
        img = ImageOps.exif_transpose(img)  # the way the phone was held, then EXIF is dropped
    except Image.DecompressionBombError as exc:  # Pillow's own guard (> 2 × its limit), raised in open()
        raise AppError("photo_too_large_pixels", status=422, message=("照片像素过多", "The image has too many pixels"),
                       errors={"file": [str(exc)]}) from None
    except UnidentifiedImageError:
        raise _unsupported("not a JPEG, PNG or WebP image") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt
        raise _unsupported(f"unreadable image: {exc}") from None
    img = _flatten(img)
    side = current_app.config["PHOTO_MAX_SIDE"]
    if max(img.size) > side:
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
    full = _jpeg(img)
    size = img.size
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return full, size, _jpeg(thumb), thumb.size, fmt


def _client_id(raw):
    if raw is None or raw == "":
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise AppError("validation_error", status=422, errors={"id": ["not a valid UUID"]}) from None


_KEY_NAMESPACE = uuid.UUID("6f1d3c4e-2b8a-4f57-9a3e-51c0d7e2a901")


def id_for_key(user, key):
    """The photo id an `Idempotency-Key` stands for (per user)."""
    if len(key) > 100:
        raise AppError("validation_error", status=422, errors={"Idempotency-Key": ["at most 100 characters"]})
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{user.id}:{key}"))


def _replay(photo, user, upload_sha):
    if photo.user_id != user.id or photo.upload_sha256 != upload_sha:
        raise Conflict("id_conflict", message=("该编号已用于另一张照片", "This id belongs to another photo"),
                       errors={"id": ["used for a different photo"]})
    return photo


def upload_photo(user, stream, client_id=None):
    """Store one upload; `stream` is read at most PHOTO_MAX_BYTES + 1 bytes. Returns (photo, created)."""
    photo_id = _client_id(client_id)
    limit = current_app.config["PHOTO_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large()
    if not data:
        raise AppError("validation_error", status=422, errors={"file": ["empty file"]})
    upload_sha = hashlib.sha256(data).hexdigest()
    seen = db.session.get(Photo, photo_id)
    if seen is not None:
        return _replay(seen, user, upload_sha), False
    full, (w, h), thumb, (tw, th), fmt = reencode(data)
    store = photo_storage()
    photo = Photo(id=photo_id, user_id=user.id, upload_sha256=upload_sha, source_format=fmt,
                  source_bytes=len(data), sha256=store.put(full), thumb_sha256=store.put(thumb),
                  width=w, height=h, bytes=len(full), thumb_width=tw, thumb_height=th, created_at=utcnow())
    db.session.add(photo)
    try:
        db.session.commit()
    except IntegrityError:  # the same upload arrived twice at once: the first row wins
        db.session.rollback()
        return _replay(db.session.get(Photo, photo_id), user, upload_sha), False
    return photo, True


# --- signed links -------------------------------------------------------------------

def _signature(photo_id, variant, exp):
    key = current_app.config["SECRET_KEY"].encode()
    msg = f"photo:{photo_id}:{variant}:{exp}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def _expiry(now):
    # Rounded up to the hour, so a photo keeps one URL for a while and caches can reuse it.
    seconds = current_app.config["PHOTO_URL_SECONDS"]
    return int(math.ceil((now.timestamp() + seconds) / 3600.0) * 3600)


def signed_url(photo_id, variant="full", now=None):
    exp = _expiry(now or utcnow())
    endpoint = "photos.PhotoFile" if variant == "full" else "photos.PhotoThumb"
    return url_for(endpoint, photo_id=photo_id, exp=exp, sig=_signature(photo_id, variant, exp))


def photo_urls(photo, now=None):
    """What another domain shows for one photo: {"id", "url", "thumb_url"}."""
    now = now or utcnow()
    return {"id": photo.id, "url": signed_url(photo.id, "full", now), "thumb_url": signed_url(photo.id, "thumb", now)}


def photo_view(photo):
    return {**photo_urls(photo), "width": photo.width, "height": photo.height, "bytes": photo.bytes,
            "content_type": "image/jpeg", "created_at": photo.created_at}


def open_signed(photo_id, variant, exp, sig, now=None):
    """(bytes, etag, seconds the link has left); 404 for a bad signature or unknown photo,
    403 `photo_link_expired` for a good signature past its time."""
    try:
        exp = int(exp)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not sig or not hmac.compare_digest(str(sig), _signature(photo_id, variant, exp)):
        raise NotFound()
    left = exp - int((now or utcnow()).timestamp())
    if left <= 0:
        raise AppError("photo_link_expired", status=403,
                       message=("照片链接已过期，请刷新", "The photo link has expired; reload"))
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        raise NotFound()
    key = photo.sha256 if variant == "full" else photo.thumb_sha256
    data = photo_storage().get(key)
    if data is None:
        raise NotFound()
    return data, key, left


# --- for other domains ----------------------------------------------------------------

def claim_photos(photo_ids, user):
    """The Photo rows for a body's `photo_ids`, in order, without repeats. 422 with
    {"photo_ids": [...]} if one is not a photo this user uploaded."""
    if photo_ids is None:
        return []
    if not isinstance(photo_ids, (list, tuple)):
        raise AppError("validation_error", status=422, errors={"photo_ids": ["must be a list of photo ids"]})
    ids, bad = [], []
    for raw in photo_ids:
        try:
            pid = str(uuid.UUID(str(raw)))
        except ValueError:
            bad.append(str(raw))
            continue
        if pid not in ids:
            ids.append(pid)
    rows = {p.id: p for p in Photo.query.filter(Photo.id.in_(ids), Photo.user_id == user.id)} if ids else {}
    bad += [pid for pid in ids if pid not in rows]
    if bad:
        raise AppError("validation_error", status=422,
                       message=("照片不存在或不是您上传的", "Unknown photo, or not uploaded by you"),
                       errors={"photo_ids": [f"unknown photo: {b}" for b in bad]})
    return [rows[pid] for pid in ids]


def photos_by_ids(photo_ids):
    """Rows for stored ids (for showing a record), in order; ids no longer found are skipped."""
    ids = [str(i) for i in (photo_ids or [])]
    rows = {p.id: p for p in Photo.query.filter(Photo.id.in_(ids))} if ids else {}
    return [rows[i] for i in ids if i in rows]
