"""Demo hydrants: one registry row per hydrant monitor the demo city put on its roads,
kept by the demo maintenance company, with a day of pressure readings (one hydrant
low), and one open damage report whose work order waits for the maintainer."""

import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from api.common.clock import utcnow
from api.devices.models import Device
from api.extensions import db
from api.hydrants.models import Hydrant, HydrantReport, WorkOrder
from api.hydrants.work_orders import deadline_for
from api.ingest.models import DeviceEvent

DEMO_REPORT = uuid.UUID("6a1d3c52-5b1e-4c1a-9d7e-0000000000a1")  # fixed: a second seed finds it
WATER_COMPANY = "吉安市自来水有限责任公司"


def seed_hydrants(city, maintenance_org, reporter, rng):
    if db.session.scalar(select(Hydrant.id).where(Hydrant.place_path.startswith(city.path))) is not None:
        return
    now = utcnow()
    devices = db.session.scalars(select(Device).where(
        Device.type_code == "hydrant_monitor", Device.place_path.startswith(city.path)).order_by(Device.id)).all()
    hydrants = []
    for n, d in enumerate(devices, start=1):
        h = Hydrant(code=f"JA-XHS-{n:03d}", kind="above_ground" if n % 3 else "underground",
                    ownership="municipal", lat=d.lat, lng=d.lng, address=d.location_text, place_id=d.place_id,
                    place_path=d.place_path, owner=WATER_COMPANY, maintainer_org_id=maintenance_org.id,
                    status="normal", device_id=d.id, created_at=now, updated_at=now)
        db.session.add(h)
        hydrants.append(h)
    db.session.flush()
    events = []
    for n, h in enumerate(hydrants):
        base = 0.11 if n == 4 else rng.uniform(0.22, 0.38)  # JA-XHS-005 is low (< 0.14 MPa)
        for k in range(6):
            at = now - timedelta(hours=4 * k, minutes=rng.randint(0, 30))
            events.append({"device_id": h.device_id, "message_id": f"demo-p-{h.device_id}-{k}", "kind": "telemetry",
                           "occurred_at": at, "received_at": at, "processed_at": at,
                           "values": {"pressure_mpa": round(base + rng.uniform(-0.01, 0.01), 3)}})
    if events:
        db.session.execute(insert(DeviceEvent), events)
    if len(hydrants) > 2 and reporter is not None:
        h = hydrants[2]
        report = HydrantReport(client_id=str(DEMO_REPORT), fingerprint="demo", hydrant_id=h.id,
                               reporter_id=reporter.id, category="cap_missing", note="出水口盖帽丢失",
                               photo_ids=[], lat=h.lat, lng=h.lng, accuracy_m=6, place_path=h.place_path,
                               at=now - timedelta(hours=5), created_at=now - timedelta(hours=5))
        db.session.add(report)
        db.session.flush()
        db.session.add(WorkOrder(report_id=report.id, hydrant_id=h.id, maintainer_org_id=maintenance_org.id,
                                 place_path=h.place_path, status="open",
                                 deadline=deadline_for("cap_missing", report.created_at),
                                 created_at=report.created_at, updated_at=report.created_at))
        h.status = "damaged"
