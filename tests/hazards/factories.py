"""Builders for hazards tests: rows written through the models, photos through the API."""

import io
import uuid
from datetime import timedelta

from api.common.clock import utcnow
from api.extensions import db
from api.hazards.models import Hazard, HazardEvent, Inspection
from tests import factories as f


def hazard(site, state="open", severity="major", deadline=None, responsible=None, created_by=None, **fields):
    """A hazard at `site`, with its `created` event (and `submitted` for a submitted one)."""
    now = utcnow()
    h = Hazard(site_id=site.id, site_path=site.path, title=fields.pop("title", "安全出口堵塞"), severity=severity,
               state=state, photo_ids=[], source_type=fields.pop("source_type", "report"),
               deadline=deadline or now + timedelta(days=7), at=fields.pop("at", now), created_at=now,
               responsible_user_id=getattr(responsible, "id", responsible),
               created_by=getattr(created_by, "id", created_by), **fields)
    if state == "submitted":
        h.submitted_at = now
    db.session.add(h)
    db.session.flush()
    db.session.add(HazardEvent(hazard_id=h.id, kind="created", actor_id=h.created_by, at=now, photo_ids=[]))
    if state == "submitted":
        db.session.add(HazardEvent(hazard_id=h.id, kind="submitted", actor_id=h.responsible_user_id, at=now,
                                   photo_ids=[]))
    db.session.flush()
    return h


def inspection(site, inspector=None):
    now = utcnow()
    i = Inspection(client_id=str(uuid.uuid4()), fingerprint="x" * 64, site_id=site.id, site_path=site.path,
                   inspector_id=getattr(inspector, "id", inspector), at=now, created_at=now,
                   items=[{"key": "exits_clear", "label": "安全出口畅通", "kind": "pass_fail", "result": "pass",
                           "photo_ids": [], "hazard_id": None}])
    db.session.add(i)
    db.session.flush()
    return i


def jpeg(size=(8, 6)):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def upload(client, headers):
    """A photo uploaded by whoever `headers` authenticate; its id."""
    resp = client.post("/api/v1/photos", headers=headers, data={"file": (io.BytesIO(jpeg()), "p.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def world(app):
    """City A with one person per role, a second property staff member (the responsible
    party), a second supervisor, and city B with its own supervisor."""
    with app.app_context():
        a, b = f.city_tree("HA"), f.city_tree("HB")
        people = f.people_for(a)
        people["responsible"] = f.user("property_staff", org=a["property_company"], name="刘建国")
        people["supervisor2"] = f.user("supervisor", place=a["district"], name="张卫东")
        people["b_supervisor"] = f.user("supervisor", place=b["district"])
        people["outsider"] = f.user("property_staff", org=b["property_company"])
        db.session.commit()
        return {
            "A": {k: v.id for k, v in a.items()},
            "B": {k: v.id for k, v in b.items()},
            "people": {r: u.id for r, u in people.items()},
            "h": {r: f.bearer(u) for r, u in people.items()},
        }
