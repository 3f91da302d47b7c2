"""Periodic sweeps: silent devices, messages left unprocessed, stale idempotency keys."""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.alerts.models import Alert
from api.alerts.services import OFFLINE_CONDITION, OFFLINE_LEVEL
from api.common.clock import utcnow
from api.devices.models import Device, DeviceType
from api.extensions import db
from api.places.models import Place
from workers.queues import job

BATCH = 5000


def find_silent(type_code, cutoff, limit=BATCH):
    """Devices of one type heard from, but not since `cutoff`, not yet marked offline.
    A range scan on the partial index ix_devices_online_type_last_seen."""
    return [i for (i,) in db.session.query(Device.id).filter(
        Device.type_code == type_code, Device.offline_since.is_(None), Device.last_seen_at.isnot(None),
        Device.last_seen_at < cutoff, Device.status == "active",
    ).order_by(Device.last_seen_at).limit(limit)]


def sweep_offline(now=None):
    """Raise a level-4 offline alert on every device silent for longer than twice
    its type's heartbeat. Set-based, in batches: no Python loop over all devices."""
    now = now or utcnow()
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    marked = 0
    for code, heartbeat in db.session.query(DeviceType.code, DeviceType.heartbeat_seconds).all():
        cutoff = now - timedelta(seconds=2 * heartbeat)
        while True:
            ids = find_silent(code, cutoff)
            if not ids:
                break
            # Re-check the cutoff in the write: a device whose message was processed
            # since the read has spoken and is not offline. Alert only those marked.
            ids = db.session.execute(
                update(Device).where(Device.id.in_(ids), Device.offline_since.is_(None), Device.last_seen_at < cutoff)
                .values(offline_since=now).returning(Device.id)
                .execution_options(synchronize_session=False)).scalars().all()
            rows = (db.session.query(Device.id, Device.place_path, Place.kind, Place.id, Place.parent_id, Place.path)
                    .join(Place, Place.id == Device.place_id).filter(Device.id.in_(ids)).all()) if ids else []
            alerts = []
            for device_id, device_path, kind, place_id, parent_id, path in rows:
                site_id, site_path = (place_id, path) if kind == "site" else (parent_id, path.rsplit("/", 2)[0] + "/")
                alerts.append({"device_id": device_id, "site_id": site_id, "site_path": site_path,
                               "device_path": device_path,
                               "condition": OFFLINE_CONDITION, "level": OFFLINE_LEVEL, "active": True,
                               "first_at": now, "last_at": now, "raised_at": now, "count": 1, "created_at": now})
            if alerts:
                # A device that recovered keeps its cleared (not closed) offline alert
                # open: going silent again re-raises that one, as raise_alert does.
                stmt = insert(Alert)
                db.session.execute(stmt.on_conflict_do_update(
                    index_elements=["device_id", "condition"], index_where=Alert.closed_at.is_(None),
                    set_={"active": True, "cleared_at": None, "raised_at": stmt.excluded.raised_at,
                          "last_at": stmt.excluded.last_at, "count": Alert.count + 1}), alerts)
            db.session.commit()
            marked += len(ids)
    return marked


@job("default", timeout=600)
def offline_sweep():
    return sweep_offline()


@job("ingest", timeout=120)
def process_stale_events():
    from api.ingest.processing import process_pending

    return process_pending()


@job("default", timeout=120)
def purge_idempotency_records():
    from api.common.idempotency import purge_old

    return purge_old()
