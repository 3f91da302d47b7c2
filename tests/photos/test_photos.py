"""Photo upload: limits, sniffing, re-encoding, signed links, replays."""

import io
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image

from api.extensions import db
from api.photos.models import Photo
from api.photos.storage import photo_storage
from tests import factories as f
from tests.photos import images


@pytest.fixture
def who(app):
    with app.app_context():
        a, b = f.user("grid_worker"), f.user("grid_worker")
        db.session.commit()
        return {"a": f.bearer(a), "b": f.bearer(b), "a_id": a.id}


def upload(client, h, data, name="photo.jpg", photo_id=None, headers=None):
    form = {"file": (io.BytesIO(data), name)}
    if photo_id:
        form["id"] = photo_id
    return client.post("/api/v1/photos", data=form, headers={**h, **(headers or {})},
                       content_type="multipart/form-data")


def stored(app, photo_id, variant="full"):
    with app.app_context():
        p = db.session.get(Photo, photo_id)
        data = photo_storage().get(p.sha256 if variant == "full" else p.thumb_sha256)
        return Image.open(io.BytesIO(data)), data


def test_jpeg_with_gps_is_stored_rotated_and_without_exif(app, client, who):
    resp = upload(client, who["a"], images.jpeg((80, 40), exif=images.exif_with_gps(orientation=6)))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (40, 80)  # orientation 6 applied
    img, data = stored(app, body["id"])
    assert img.format == "JPEG" and img.size == (40, 80)
    exif = img.getexif()
    assert len(exif) == 0 and not exif.get_ifd(0x8825)
    assert b"Exif" not in data[:4096] and b"TestPhone" not in data
    assert body["bytes"] == len(data)


def test_png_with_transparency_becomes_jpeg_and_has_a_thumbnail(app, client, who):
    resp = upload(client, who["a"], images.png((1000, 500)), name="x.png")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    thumb, _ = stored(app, body["id"], "thumb")
    assert thumb.format == "JPEG" and max(thumb.size) <= 320 and thumb.size == (320, 160)
    full, _ = stored(app, body["id"])
    assert full.mode == "RGB" and full.size == (1000, 500)


def test_webp_is_accepted(client, who):
    resp = upload(client, who["a"], images.webp(), name="x.webp")
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("data,name", [
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n", "scan.jpg"),
    (b"just some text, not a picture\n" * 10, "notes.jpg"),
    (images.jpeg()[:40], "truncated.jpg"),
])
def test_a_non_image_named_jpg_is_refused_with_415(client, who, data, name):
    resp = upload(client, who["a"], data, name=name)
    assert resp.status_code == 415
    assert resp.get_json()["code"] == "unsupported_photo"


def test_a_gif_is_refused_though_pillow_reads_it(client, who):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    resp = upload(client, who["a"], out.getvalue(), name="x.jpg")
    assert resp.status_code == 415


def test_an_upload_over_the_limit_is_refused_with_413_json(client, who, app):
    big = b"\xff\xd8" + b"\x00" * (50 * 1024 * 1024)  # 50 MB
    resp = upload(client, who["a"], big)
    assert resp.status_code == 413
    assert resp.get_json()["code"] == "photo_too_large"
    with app.app_context():
        assert Photo.query.count() == 0


def test_a_file_just_over_photo_max_bytes_is_413(client, who, app):
    data = images.jpeg((400, 400))
    app.config["PHOTO_MAX_BYTES"], saved = len(data) - 1, app.config["PHOTO_MAX_BYTES"]
    try:
        resp = upload(client, who["a"], data)
        assert resp.status_code == 413 and resp.get_json()["code"] == "photo_too_large"
        app.config["PHOTO_MAX_BYTES"] = len(data)
        assert upload(client, who["a"], data).status_code == 201
    finally:
        app.config["PHOTO_MAX_BYTES"] = saved


def test_a_chunked_upload_without_length_is_still_bounded(client, who, app):
    app.config["PHOTO_MAX_BYTES"], saved = 2048, app.config["PHOTO_MAX_BYTES"]
    boundary = "xyzBOUNDARY"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + b"\x00" * (200 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    try:
        # wsgi.input_terminated: what gunicorn sets for a chunked body
        resp = client.post("/api/v1/photos", input_stream=io.BytesIO(body), environ_overrides={
            "wsgi.input_terminated": True}, headers={
            **who["a"], "Content-Type": f"multipart/form-data; boundary={boundary}", "Transfer-Encoding": "chunked"})
        assert resp.status_code == 413 and resp.get_json()["code"] == "photo_too_large"
    finally:
        app.config["PHOTO_MAX_BYTES"] = saved


def test_a_decompression_bomb_is_refused_with_422(client, who, app):
    bomb = images.png_bomb()
    assert len(bomb) < 2000
    resp = upload(client, who["a"], bomb, name="bomb.png")
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "photo_too_large_pixels"
    with app.app_context():
        assert Photo.query.count() == 0


def test_the_pixel_limit_comes_from_config(client, who, app):
    app.config["PHOTO_MAX_PIXELS"], saved = 100 * 100, app.config["PHOTO_MAX_PIXELS"]
    try:
        assert upload(client, who["a"], images.jpeg((101, 100))).status_code == 422
        assert upload(client, who["a"], images.jpeg((100, 100))).status_code == 201
    finally:
        app.config["PHOTO_MAX_PIXELS"] = saved


def test_a_replayed_upload_is_one_row_with_the_same_answer(app, client, who):
    pid = str(uuid.uuid4())
    data = images.jpeg()
    first = upload(client, who["a"], data, photo_id=pid)
    again = upload(client, who["a"], data, photo_id=pid)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and first.get_json()["id"] == pid
    with app.app_context():
        assert Photo.query.count() == 1


def test_an_idempotency_key_replay_is_one_row(app, client, who):
    data = images.jpeg()
    first = upload(client, who["a"], data, headers={"Idempotency-Key": "k-1"})
    again = upload(client, who["a"], data, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    with app.app_context():
        assert Photo.query.count() == 1


def test_the_same_id_for_another_file_or_by_another_user_is_409(client, who):
    pid = str(uuid.uuid4())
    assert upload(client, who["a"], images.jpeg(), photo_id=pid).status_code == 201
    other = upload(client, who["a"], images.jpeg(color=(0, 0, 0)), photo_id=pid)
    assert other.status_code == 409 and other.get_json()["code"] == "id_conflict"
    stranger = upload(client, who["b"], images.jpeg(), photo_id=pid)
    assert stranger.status_code == 409 and stranger.get_json()["code"] == "id_conflict"


def test_a_bad_id_or_no_file_is_422(client, who):
    assert upload(client, who["a"], images.jpeg(), photo_id="not-a-uuid").status_code == 422
    resp = client.post("/api/v1/photos", data={"id": str(uuid.uuid4())}, headers=who["a"],
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.get_json()["errors"]


def test_upload_needs_a_signed_in_user(client):
    resp = client.post("/api/v1/photos", data={"file": (io.BytesIO(images.jpeg()), "a.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 401


def test_signed_links_serve_the_jpeg_without_authorization(client, who):
    body = upload(client, who["a"], images.jpeg((500, 300))).get_json()
    full = client.get(body["url"])
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert "max-age=" in full.headers["Cache-Control"] and full.headers["ETag"]
    assert Image.open(io.BytesIO(full.data)).size == (500, 300)
    thumb = client.get(body["thumb_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.data)).size == (320, 192)
    cached = client.get(body["url"], headers={"If-None-Match": full.headers["ETag"]})
    assert cached.status_code == 304


def _with(url, **params):
    u = urlparse(url)
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    q.update(params)
    return u.path + "?" + "&".join(f"{k}={v}" for k, v in q.items())


def test_a_bad_signature_is_404_and_an_expired_link_403(client, who, clock):
    body = upload(client, who["a"], images.jpeg()).get_json()
    for bad in (_with(body["url"], sig="0" * 32), _with(body["url"], exp="99999999999"),
                urlparse(body["url"]).path, body["url"].replace("/photos/" + body["id"], f"/photos/{uuid.uuid4()}")):
        resp = client.get(bad)
        assert resp.status_code == 404 and resp.get_json()["code"] == "not_found", bad
    # a thumbnail's signature does not open the full photo
    thumb_q = urlparse(body["thumb_url"]).query
    assert client.get(urlparse(body["url"]).path + "?" + thumb_q).status_code == 404
    clock.now = clock.now + timedelta(days=3)
    expired = client.get(body["url"])
    assert expired.status_code == 403 and expired.get_json()["code"] == "photo_link_expired"


def test_claim_photos_accepts_only_my_uploads(app, client, who):
    from api.errors import AppError
    from api.people.models import User
    from api.photos.services import claim_photos, photo_urls

    mine = upload(client, who["a"], images.jpeg()).get_json()["id"]
    theirs = upload(client, who["b"], images.jpeg()).get_json()["id"]
    with app.test_request_context():
        me = db.session.get(User, who["a_id"])
        rows = claim_photos([mine, mine.upper()], me)
        assert [p.id for p in rows] == [mine]
        assert set(photo_urls(rows[0])) == {"id", "url", "thumb_url"}
        assert claim_photos([], me) == [] and claim_photos(None, me) == []
        for ids in ([theirs], [str(uuid.uuid4())], ["nope"], [mine, theirs]):
            with pytest.raises(AppError) as err:
                claim_photos(ids, me)
            assert err.value.status == 422 and "photo_ids" in err.value.errors
        db.session.remove()
