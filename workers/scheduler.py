"""The scheduler: periodic jobs kept as data, enqueued at most once per period.

Several scheduler processes may run (one per machine); a Redis `SET NX` per job
and period lets exactly one of them enqueue, and the job id is deterministic so
even a lost lock cannot queue a period twice.
"""

import logging
import time
from dataclasses import dataclass

from api.extensions import redis_client, rkey

log = logging.getLogger("scheduler")


@dataclass(frozen=True)
class Periodic:
    name: str
    func: str  # dotted path of a @job function
    every: int  # seconds


PERIODIC = (
    Periodic("purge_login_codes", "workers.jobs.purge_login_codes", 3600),
    Periodic("purge_idempotency_records", "workers.sweeps.purge_idempotency_records", 3600),
    Periodic("offline_sweep", "workers.sweeps.offline_sweep", 60),
    Periodic("hazard_overdue_sweep", "workers.hazards.hazard_overdue_sweep", 300),
    Periodic("process_stale_events", "workers.sweeps.process_stale_events", 10),
    Periodic("requeue_fire_forwards", "workers.forward119.requeue_fire_forwards", 5),
    Periodic("requeue_device_commands", "workers.commands.requeue_device_commands", 15),
    Periodic("escalation_tick", "workers.delivery.escalation_tick", 2),
    Periodic("receipt_tick", "workers.delivery.receipt_tick", 5),
    Periodic("delivery_audit", "workers.delivery.delivery_audit", 10),
    Periodic("work_order_overdue_sweep", "workers.hydrants.work_order_overdue_sweep", 300),
    Periodic("patrol_sweep", "workers.patrols.patrol_sweep", 300),
)


def _resolve(path):
    import importlib

    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def tick(now=None, periodic=PERIODIC):
    """Enqueue every periodic job whose period has begun; returns the names queued."""
    now = time.time() if now is None else now
    r = redis_client()
    queued = []
    for p in periodic:
        slot = int(now // p.every)
        if r.set(rkey("periodic", p.name, slot), "1", nx=True, ex=p.every * 2):
            _resolve(p.func).enqueue(job_id=f"periodic-{p.name}-{slot}")
            queued.append(p.name)
    return queued


def run_forever(interval=2.0, stop=lambda: False):
    log.info("scheduler started: %s", ", ".join(p.name for p in PERIODIC))
    while not stop():
        try:
            for name in tick():
                log.info("queued %s", name)
        except Exception:  # a Redis blip must not kill the scheduler; it retries next tick
            log.exception("scheduler tick failed")
        time.sleep(interval)
