"""Benchmark: alarm to push — from a device's webhook request to the push decrypted at
the fake push service, p50/p99 over 200 alarms, while 500 heartbeats/s flow in.

    .venv/bin/python bench/alarm_to_push.py [--quick]   (= bench/run_all.py --only alarm_to_push)

On the stack bench/run_all.py starts (bench/README.md): 200 sites, each with one
smoke detector and one resident whose phone has a push subscription at the fake push
service. A process of its own posts heartbeats of 500 other devices through the same
signed webhook (`POST /api/v1/ingest/events`, one message per request, as a carrier
platform forwards them) at 500 messages/s; meanwhile one smoke alarm per site is
posted, one every ALARM_INTERVAL_S. Each alarm is stored and processed in the request,
opens an incident, runs its step 0 and queues its push; an RQ worker sends it; the
time is taken when the fake push service has decrypted it (both clocks are this
machine's CLOCK_MONOTONIC). The scheduler runs meanwhile, as `make run` starts it, so
an alarm the fast path missed still reaches its phone through the safety nets (the
stale-message sweep, the escalation tick, the delivery auditor), late. A push that
never arrives within the wait counts as infinitely late, and where it stands (its
message, incident, steps, deliveries) is printed.
"""

import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

NAMES = ["alarm_to_push_p50_ms", "alarm_to_push_p99_ms"]
NOTES = []
TARGET_P99_MS = 300
ALARMS = 200
ALARM_INTERVAL_S = 0.2
HEARTBEAT_RATE = 500  # messages/s
HEARTBEAT_DEVICES = 500
HEARTBEAT_CONNECTIONS = 16
# messages per heartbeat request: 1 = each device's message on its own, as a carrier
# platform forwards them (BENCH_HEARTBEAT_BATCH=10: a gateway's batches of 10)
HEARTBEAT_BATCH = int(os.environ.get("BENCH_HEARTBEAT_BATCH") or 1)


def signed(key, secret, events):
    from api.ingest.adapters import generic_sign

    body = json.dumps({"events": events}).encode()
    ts = int(time.time())
    return body, {"Content-Type": "application/json", "X-Integration-Key": key, "X-Timestamp": str(ts),
                  "X-Signature": generic_sign(secret, ts, body)}


def heartbeats(base_url, key, secret, serials, rate, per_request, seconds, conn):
    """In a process of its own: `rate` heartbeats/s for `seconds`, paced, over
    HEARTBEAT_CONNECTIONS keep-alive connections. The requests are signed and built before
    the clock starts and sent from one asyncio loop (as bench/ingest.py's senders): a
    thread and urllib3 per request cost this process about 2 ms of CPU a request, a
    quarter of a core at 110 requests/s, taken from the stack it measures."""
    import asyncio
    from urllib.parse import urlparse

    from ingest import signed_request

    url = urlparse(base_url)
    total = int(seconds * rate / per_request)
    at = datetime.now(UTC).isoformat()
    requests = [signed_request(url.netloc, key, secret, [
        {"device": serials[(k * per_request + j) % len(serials)], "id": uuid.uuid4().hex, "at": at, "type": "heartbeat",
         "values": {"battery_pct": 90, "signal_dbm": -80}} for j in range(per_request)]) for k in range(total)]
    out = {"ok": 0, "bad": 0, "lat": [], "codes": {}}
    cpu_before = time.process_time()

    async def main():
        started = time.monotonic()
        counter = iter(range(total))

        async def sender():
            reader, writer = await asyncio.open_connection(url.hostname, url.port)
            try:
                for k in counter:
                    if time.monotonic() > started + seconds:
                        return  # a server behind: stop on time all the same
                    delay = started + k * per_request / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    t = time.monotonic()
                    try:
                        writer.write(requests[k])
                        head = await reader.readuntil(b"\r\n\r\n")
                        status = int(head.split(b" ", 2)[1])
                        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                       if line.lower().startswith(b"content-length:")), 0)
                        await reader.readexactly(length)
                        code = status
                    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                        code = type(exc).__name__
                        writer.close()
                        reader, writer = await asyncio.open_connection(url.hostname, url.port)
                    out["lat"].append(time.monotonic() - t)
                    out["codes"][code] = out["codes"].get(code, 0) + 1
                    out["ok" if code == 200 else "bad"] += per_request
            finally:
                writer.close()

        conn.send("started")
        await asyncio.gather(*(sender() for _ in range(HEARTBEAT_CONNECTIONS)))
        return time.monotonic() - started

    took = asyncio.run(main())
    lat = sorted(out["lat"]) or [0.0]
    conn.send({"ok": out["ok"], "bad": out["bad"], "seconds": took, "cpu_s": time.process_time() - cpu_before,
               "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
               "codes": {str(k): v for k, v in out["codes"].items()}})


def build(ctx, n_alarms, subscriptions):
    from api.extensions import db
    from api.notify.models import PushSubscription
    from api.people.models import Membership, User
    from tests import factories as f

    tag = ctx.tag("A")
    with ctx.app.app_context():
        tree = f.city_tree(tag)
        integration = f.integration(key_id=f"int_{tag}", secret=f"secret-{uuid.uuid4().hex}")
        hb = [f.device(tree["site"], "smoke_detector", serial=f"{tag}HB{i:05d}").serial
              for i in range(HEARTBEAT_DEVICES)]
        alarm_serials, sub_ids = [], []
        for i, sub in enumerate(subscriptions[:n_alarms]):
            site = f.place("site", tree["grid"], name=f"压测小区{i}号楼", address=f"{i} bench road")
            home = f.place("household", site, floor=1 + i % 30)
            alarm_serials.append(f.device(home, "smoke_detector", serial=f"{tag}AL{i:05d}",
                                          location_text="厨房").serial)
            user = User(phone=f"+861320{i:07d}", name=f"住户{i}")
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(user_id=user.id, role="resident", place_id=home.id))
            db.session.add(PushSubscription(user_id=user.id, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                                            auth=sub["keys"]["auth"]))
            sub_ids.append(ctx.push.sub_id(sub["endpoint"]))
        db.session.commit()
        return {"key": integration.key_id, "secret": integration.secret, "heartbeat": hb,
                "alarms": alarm_serials, "subs": sub_ids}


def where_is(ctx, serials):
    """For alarms whose push never arrived: their message, incident, steps and deliveries."""
    from api.alerts.models import Alert
    from api.devices.models import Device
    from api.extensions import db
    from api.incidents.models import Incident
    from api.ingest.models import DeviceEvent
    from api.notify.models import Delivery, EscalationStep, Notification

    lines = []
    with ctx.app.app_context():
        for serial in serials:
            device = Device.query.filter_by(serial=serial).one()
            events = [(e.kind, e.processed_at is not None, e.outcome) for e in
                      DeviceEvent.query.filter_by(device_id=device.id).order_by(DeviceEvent.id)]
            incidents = Incident.query.filter(Incident.id.in_(
                db.session.query(Alert.incident_id).filter(Alert.device_id == device.id))).all()
            parts = [f"{serial}: events {events}"]
            for incident in incidents:
                steps = [(st.step_no, st.state) for st in EscalationStep.query.filter_by(incident_id=incident.id)]
                rows = [(n.channel, d.state, d.error, d.attempt) for n, d in db.session.query(Notification, Delivery)
                        .join(Delivery, Delivery.notification_id == Notification.id)
                        .filter(Notification.incident_id == incident.id)]
                parts.append(f"incident {incident.id} {incident.state} token={'set' if incident.escalation_token else None} "
                             f"steps {steps} deliveries {rows}")
            lines.append("; ".join(parts))
        db.session.remove()
    return lines


class DbWaits:
    """Samples what the bench database's active sessions wait on (pg_stat_activity, every
    50 ms) while the alarms flow: lock waits would show here as Lock/…, the machine's
    CPU as none (running) or as client waits."""

    def __init__(self, db_url):
        self.db_url, self.counts, self.samples = db_url, {}, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                self.samples += 1
                for kind, event in conn.execute(
                        "SELECT coalesce(wait_event_type, 'running'), coalesce(wait_event, '') FROM pg_stat_activity "
                        "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"):
                    key = f"{kind}/{event}" if event else kind
                    self.counts[key] = self.counts.get(key, 0) + 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def summary(self, top=6):
        """'running 1.2, Lock/transactionid 0.3, …': active sessions per sample, by what they wait on."""
        n = max(self.samples, 1)
        return ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1])[:top])


def pct(values, p):
    values = sorted(values)
    if not values:
        return None
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


def run(ctx):
    with ctx.scheduler():  # a push the fast path missed still arrives, through the safety nets
        return _run(ctx)


def _run(ctx):
    import multiprocessing

    import urllib3
    from _common import table

    n_alarms = 50 if ctx.quick else ALARMS
    world = build(ctx, n_alarms, ctx.push.subscribe(n_alarms))
    ctx.push.reset()
    url = f"{ctx.base_url}/api/v1/ingest/events"
    pool = urllib3.PoolManager(maxsize=2, retries=False)

    # warm every gunicorn worker and the RQ workers with heartbeats of the alarm devices' own
    for i in range(20):
        body, headers = signed(world["key"], world["secret"], [{"device": world["heartbeat"][i], "id": uuid.uuid4().hex,
                                                                "at": datetime.now(UTC).isoformat(), "type": "heartbeat"}])
        pool.request("POST", url, body=body, headers=headers, timeout=10)

    seconds = n_alarms * ALARM_INTERVAL_S + 4
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    proc = mp.Process(target=heartbeats, args=(ctx.base_url, world["key"], world["secret"], world["heartbeat"],
                                               HEARTBEAT_RATE, HEARTBEAT_BATCH, seconds, child), daemon=True)
    proc.start()
    parent.recv()
    time.sleep(2)  # the heartbeats reach their rate first

    from ingest import cpu_seconds, cpu_snapshot

    cpu_before = cpu_snapshot(ctx)  # web, workers, their PostgreSQL backends, this process
    waits = DbWaits(ctx.db_url).__enter__()
    sent_at, answers, started = {}, {}, time.monotonic()
    give_up = started + n_alarms * ALARM_INTERVAL_S + 60  # a machine too busy to keep up: stop, say so
    for i, serial in enumerate(world["alarms"]):
        if time.monotonic() > give_up:
            ctx.log(f"alarm_to_push: only {i} alarms sent in time; the rest skipped")
            break
        delay = started + i * ALARM_INTERVAL_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body, headers = signed(world["key"], world["secret"], [{"device": serial, "id": uuid.uuid4().hex,
                                                                "at": datetime.now(UTC).isoformat(),
                                                                "type": "smoke_alarm"}])
        t = time.monotonic()
        resp = pool.request("POST", url, body=body, headers=headers, timeout=30)
        answers[i] = (resp.status, time.monotonic() - t)
        sent_at[world["subs"][i]] = t
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = {sub for sub, _, _ in ctx.push.received()}
        if all(s in got for s in sent_at):
            break
        time.sleep(0.1)
    hb = parent.recv() if parent.poll(seconds + 30) else {"ok": 0, "bad": 0, "seconds": 1, "p50_ms": 0, "p99_ms": 0,
                                                            "codes": {"no answer": 1}}
    proc.join(5)
    waits.__exit__(None, None, None)
    stack_cpu, window = cpu_seconds(cpu_before, cpu_snapshot(ctx)), time.monotonic() - started

    arrived = {}
    for sub, t, _payload in ctx.push.received():
        if sub in sent_at and t is not None:
            arrived[sub] = min(arrived.get(sub, t), t)
    late = [i for i, sub in enumerate(world["subs"][:len(sent_at)]) if sub not in arrived]
    if late:  # where each one stands, read before the stack is torn down
        for line in where_is(ctx, [world["alarms"][i] for i in late]):
            ctx.log(line)
            NOTES.append("alarm_to_push: not arrived: " + line)
    lat = [(arrived[s] - sent_at[s]) * 1e3 if s in arrived else float("inf") for s in sent_at]
    webhook_ms = [a[1] * 1e3 for a in answers.values()]
    bad = sum(1 for a in answers.values() if a[0] != 200)
    finite = [x for x in lat if x != float("inf")]
    p50, p99 = pct(lat, 50), pct(lat, 99)
    table(f"Alarm to push: {n_alarms} alarms, one every {ALARM_INTERVAL_S * 1e3:.0f} ms, while heartbeats flow "
          f"({ctx.workers} RQ workers)",
          ["", "p50 ms", "p90 ms", "p99 ms", "max ms", "count"],
          [("webhook request to push decrypted", f"{p50:.0f}", f"{pct(lat, 90):.0f}", f"{p99:.0f}",
            f"{max(lat):.0f}", f"{len(finite)} of {len(lat)}"),
           ("alarm webhook answered", f"{pct(webhook_ms, 50):.0f}", f"{pct(webhook_ms, 90):.0f}",
            f"{pct(webhook_ms, 99):.0f}", f"{max(webhook_ms):.0f}", f"{len(webhook_ms) - bad} x 200"),
           ("heartbeat webhook answered", f"{hb['p50_ms']:.0f}", "-", f"{hb['p99_ms']:.0f}", "-",
            f"{hb['ok'] / hb['seconds']:,.0f} msg/s stored")])
    NOTES.append(f"alarm_to_push: {n_alarms} alarms, {len(finite)} pushes decrypted; background heartbeats "
                 f"{hb['ok'] / hb['seconds']:,.0f} msg/s accepted (asked {HEARTBEAT_RATE}/s, {HEARTBEAT_BATCH} message(s) per request; "
                 f"answers {hb['codes']}), their p99 {hb['p99_ms']:.0f} ms; CPU meanwhile: the stack "
                 f"(web, workers, their PostgreSQL backends, the alarm sender) {stack_cpu / window:.2f} cores, "
                 f"the heartbeat sender {hb.get('cpu_s', 0) / hb['seconds']:.2f} cores, of {os.cpu_count()}; "
                 f"the database's active sessions on average (sampled every 50 ms, by what they waited on): "
                 f"{waits.summary()}")
    return [ctx.entry("alarm_to_push_p50_ms", p50, "ms", target=None),
            ctx.entry("alarm_to_push_p99_ms", p99, "ms", target=TARGET_P99_MS)]


if __name__ == "__main__":
    import subprocess

    sys.exit(subprocess.call([sys.executable, str(Path(__file__).with_name("run_all.py")), "--only", "alarm_to_push",
                              *sys.argv[1:]]))
