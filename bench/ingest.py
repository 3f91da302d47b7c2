"""Benchmark: device messages through api.ingest.store.store + processing.

    .venv/bin/python bench/ingest.py [--devices 2000]

Creates its own PostgreSQL database and an app with the testing configuration on
it, registers devices (smoke detectors and electrical monitors under a few sites)
and one generic integration, then pushes batches of 1, 100 and 1,000 normal
messages (heartbeats, telemetry under the alarm thresholds) through store() — the
exactly-once commit a vendor waits for — and process_events() — device state and
the rules — and prints messages per second for each step. The machine's own limits,
measured in the same run, are printed alongside. Drops its database at the end.
"""

import argparse
import itertools
import time
from datetime import UTC, datetime

from _common import measure_limits, print_limits, table, throwaway_app

PLAN = ((1, 300), (100, 20), (1000, 5))  # (batch size, batches)


def setup(db, devices):
    from api.devices.models import Device
    from api.ingest.models import Integration
    from api.places.models import Place

    parent = None
    for kind in ("city", "district", "street", "community", "grid"):
        parent_path = parent.path if parent else "/"
        parent = Place(kind=kind, parent_id=parent.id if parent else None, code=f"bench-{kind}",
                       name=f"bench {kind}", path="")
        db.session.add(parent)
        db.session.flush()
        parent.path = f"{parent_path}{parent.id}/"
    sites = []
    for n in range(5):
        site = Place(kind="site", parent_id=parent.id, code=f"bench-site-{n}", name=f"site {n}",
                     category="high_rise_residential", address=f"{n} bench road", path="")
        db.session.add(site)
        db.session.flush()
        site.path = f"{parent.path}{site.id}/"
        sites.append(site)
    rows = [{"serial": f"BENCH{i:06d}", "type_code": "smoke_detector" if i % 2 else "electrical_monitor",
             "place_id": sites[i % len(sites)].id, "place_path": sites[i % len(sites)].path, "status": "active"}
            for i in range(devices)]
    db.session.execute(Device.__table__.insert(), rows)
    integration = Integration(kind="generic", name="bench", key_id="int_bench", secret="bench-secret", mapping={})
    db.session.add(integration)
    db.session.commit()
    return integration.id, [(r["serial"], r["type_code"]) for r in rows]


def events(devices, size, counter):
    out = []
    for _ in range(size):
        n = next(counter)
        serial, code = devices[n % len(devices)]
        at = datetime.now(UTC).isoformat()
        if code == "smoke_detector":
            out.append({"device": serial, "id": f"m{n}", "at": at, "type": "heartbeat",
                        "values": {"battery_pct": 90 - n % 20, "signal_dbm": -80 - n % 20}})
        else:
            out.append({"device": serial, "id": f"m{n}", "at": at, "type": "telemetry",
                        "values": {"residual_current_ma": 20 + n % 50, "cable_temp_c": 30 + n % 10}})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    args = parser.parse_args()

    with throwaway_app("ingest") as (app, url):
        from api.extensions import db, redis_client
        from api.ingest.models import DeviceEvent, Integration
        from api.ingest.processing import process_events
        from api.ingest.store import store

        with app.app_context():
            print_limits(measure_limits(url, redis_client()))
            integration_id, devices = setup(db, args.devices)
            counter, results = itertools.count(), []
            for size, batches in PLAN:
                stored = processed = 0.0
                total = done = 0
                for _ in range(batches):
                    batch = events(devices, size, counter)
                    integration = db.session.get(Integration, integration_id)
                    started = time.perf_counter()
                    answer = store(integration, batch)
                    middle = time.perf_counter()
                    accepted = [r["event_id"] for r in answer if r["status"] == "accepted"]
                    done += process_events(accepted)
                    ended = time.perf_counter()
                    assert len(accepted) == size, answer[:3]
                    stored, processed, total = stored + middle - started, processed + ended - middle, total + size
                assert done == total, (done, total)
                results.append((f"{size:,}", f"{total:,}", f"{total / stored:,.0f}", f"{total / processed:,.0f}",
                                f"{total / (stored + processed):,.0f}",
                                f"{(stored + processed) / batches * 1000:.1f}"))
            unprocessed = db.session.query(DeviceEvent).filter(DeviceEvent.processed_at.is_(None)).count()
            assert unprocessed == 0
            table(f"store() + process_events() on {len(devices):,} devices (heartbeats and normal telemetry)",
                  ["batch size", "messages", "store msg/s", "process msg/s", "store+process msg/s", "ms per batch"],
                  results)
            db.session.remove()


if __name__ == "__main__":
    main()
