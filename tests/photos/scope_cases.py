import io
import uuid

from PIL import Image


def _multipart(w, s):
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, "JPEG")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + out.getvalue() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def cases(m):
    return [
        # anyone signed in uploads; the photo is theirs alone to attach (claim_photos)
        m.Case("post", "/api/v1/photos", "global", lambda w, s: "/api/v1/photos", raw=_multipart,
               ok=m.everyone(201)),
        # signed links, no login: a bad signature answers 404 (tests/photos/test_photos.py)
        m.Case("get", "/api/v1/photos/<uuid:photo_id>", "public", lambda w, s: f"/api/v1/photos/{uuid.uuid4()}"),
        m.Case("get", "/api/v1/photos/<uuid:photo_id>/thumb", "public",
               lambda w, s: f"/api/v1/photos/{uuid.uuid4()}/thumb"),
    ]
