import io
import uuid

from tests.photos import images


def upload(client, h):
    resp = client.post("/api/v1/photos", data={"file": (io.BytesIO(images.jpeg()), "p.jpg")}, headers=h,
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def hydrant_body(w, **over):
    body = {"id": str(uuid.uuid4()), "code": f"XHS-{uuid.uuid4().hex[:8]}", "kind": "underground",
            "ownership": "municipal", "location": {"lat": 27.1140, "lng": 114.9800, "accuracy_m": 5},
            "place_id": w.A["site"], "owner": "吉安市自来水公司", "maintainer_org_id": w.A["maintenance_company"]}
    body.update(over)
    return body


def report_body(**over):
    body = {"id": str(uuid.uuid4()), "category": "leaking", "note": "井盖旁一直冒水",
            "at": "2026-11-30T18:55:00+08:00", "photo_ids": []}
    body.update(over)
    return body


def notices(client, h):
    return client.get("/api/v1/me/notices", headers=h).get_json()["items"]
