"""Field work for the browser tests: a patrol plan with signed checkpoint codes, a
hydrant, real JPEGs made by Pillow, QR video for chromium's fake camera, and what
the server holds afterwards."""

import io

from api.extensions import db
from tests.pwa import helpers as h

SITE_NAME = "阳明花园3栋"
# Where the phone is (the site's own coordinates, as city_tree sets them).
PHONE_AT = {"latitude": 27.11, "longitude": 114.99, "accuracy": 12}


def _site():
    from api.places.models import Place

    return Place.query.filter_by(name=SITE_NAME).one()


def patrol_world(app, login_roles=("grid_worker",)):
    """h.world plus a daily plan at the site for grid workers, two checkpoints."""
    from api.patrols.codes import scan_url, sign
    from tests.patrols import factories as pf

    w = h.world(app, login_roles=login_roles)
    with app.app_context():
        plan = pf.plan(_site(), checkpoints=2, roles=("grid_worker", "property_staff"), name="阳明花园日巡")
        db.session.commit()
        w["plan_id"] = plan.id
        w["checkpoints"] = [{"id": c.id, "name": c.name, "code": sign(c.id), "url": scan_url(c.id)}
                            for c in plan.checkpoints]
    return w


def hydrant_world(app, login_roles=("grid_worker",)):
    from tests.hydrants import factories as hf

    w = h.world(app, login_roles=login_roles)
    with app.app_context():
        site = _site()
        hydrant = hf.hydrant(site, org=hf.maintenance_company_of(site), lat=27.1104, lng=114.9903, code="XHS-0042",
                             address="阳明路 18 号门口")
        db.session.commit()
        w["hydrant_id"] = hydrant.id
    return w


def work_order_world(app):
    """A hydrant report by the grid worker: a work order for the site's maintenance company."""
    from api.people.models import User
    from tests.hydrants import factories as hf

    w = hydrant_world(app, login_roles=("grid_worker", "maintainer"))
    with app.app_context():
        from api.hydrants.models import Hydrant

        hydrant = db.session.get(Hydrant, w["hydrant_id"])
        _report, wo = hf.report(hydrant, db.session.get(User, w["people"]["grid_worker"]), category="leaking")
        db.session.commit()
        w["work_order_id"] = wo.id
    return w


def jpeg(path, size=(2400, 1800)):
    """A real photo-like JPEG (gradient and shapes) larger than the phone keeps."""
    from PIL import Image, ImageDraw

    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    draw.rectangle((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=(200, 30, 30))
    draw.ellipse((size[0] // 2, size[1] // 3, size[0] * 3 // 4, size[1] * 2 // 3), fill=(30, 90, 200))
    img.save(path, "JPEG", quality=90)
    return str(path)


def qr_y4m(path, text, width=640, height=480, frames=10):
    """A Y4M video (4:2:0) of a QR code for --use-file-for-fake-video-capture."""
    import segno
    from PIL import Image

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=8, border=4)
    qr = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    side = min(height - 40, qr.width)
    qr = qr.resize((side, side), Image.NEAREST)
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(qr, ((width - side) // 2, (height - side) // 2))
    y, cb, cr = canvas.convert("RGB").convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(frame)
    return str(path)


def records(client, w, role="grid_worker"):
    resp = client.get(f"/api/v1/patrol-records?plan_id={w['plan_id']}", headers=h.auth(w, role))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def image_size(client, url):
    from PIL import Image

    resp = client.get(url)
    assert resp.status_code == 200, url
    assert resp.mimetype == "image/jpeg"
    return Image.open(io.BytesIO(resp.data)).size


# The outbox as IndexedDB holds it, with each photo Blob's type and pixel size.
OUTBOX_PHOTOS = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('fa', 1); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const all = await new Promise((ok) => { const q = db.transaction('outbox').objectStore('outbox').getAll(); q.onsuccess = () => ok(q.result); });
  db.close();
  const out = [];
  for (const item of all) {
    const photos = [];
    for (const p of item.photos || []) {
      if (!p.blob) { photos.push({ blob: false, uploaded: Boolean(p.uploaded) }); continue; }
      const bitmap = await createImageBitmap(p.blob);
      photos.push({ blob: p.blob instanceof Blob, type: p.blob.type, bytes: p.blob.size, width: bitmap.width, height: bitmap.height, uploaded: Boolean(p.uploaded) });
    }
    out.push({ what: item.what || item.action, state: item.state, photos });
  }
  return out;
}"""
