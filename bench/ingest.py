"""Benchmark: device messages through the signed webhook, beside this machine's raw limits.

    .venv/bin/python -m bench.ingest [--quick] [--rounds 3]     # alone: starts its own stack
    .venv/bin/python bench/run_all.py --only ingest             # inside the harness

Against the real stack (gunicorn with the production settings, PostgreSQL, Redis, the
RQ workers that process what the answer did not):

- single-message ingest: 32 concurrent senders, each on its own keep-alive connection,
  each request one HMAC-signed event (heartbeats of smoke detectors and normal
  telemetry of electrical monitors); messages/s and p50/p99 latency per request;
- batch ingest: 1,000 events per request, 2 senders; messages/s.

Each is measured `--rounds` times (default 3) and the median reported. Every answer is
checked (HTTP 200, all accepted) and at the end the database must hold each message
exactly once. Measured in the same run, on the same database: the raw limits for the
same work — psycopg `executemany` (1,000 rows per commit) and `COPY` into a scratch
table shaped like device_events (same columns, same unique and secondary indexes), and
single-row INSERT + COMMIT from 32 connections at once.

The senders run in this process (asyncio, prebuilt signed requests) and so share the
two cores with gunicorn and PostgreSQL, as any client on this machine would.
"""

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAMES = [
    "ingest_single_per_s", "ingest_single_p50_ms", "ingest_single_p99_ms", "ingest_batch_per_s",
    "ingest_single_cpu_ms_per_msg", "ingest_single_cpu_bound_per_s", "ingest_batch_cpu_us_per_msg",
    "ingest_batch_cpu_bound_per_s",
    "raw_pg_executemany_per_s", "raw_pg_copy_per_s", "raw_pg_insert_commit_32_per_s",
]

CONCURRENCY = 32
BATCH = 1000
BATCH_SENDERS = 2
DEVICES = 2000


# --- the raw limits ---------------------------------------------------------------------

SCRATCH = "bench_raw_events"


def _scratch_table(conn):
    """A table shaped like device_events: its columns, primary key, unique
    (device_id, message_id) and secondary indexes; no foreign keys."""
    conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    conn.execute(f"""CREATE TABLE {SCRATCH} (
        id bigserial PRIMARY KEY, device_id integer NOT NULL, integration_id integer,
        message_id varchar(128) NOT NULL, kind varchar(32) NOT NULL, occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL, "values" json NOT NULL, claimed_at timestamptz,
        processed_at timestamptz, outcome varchar(200), UNIQUE (device_id, message_id))""")
    conn.execute(f"CREATE INDEX {SCRATCH}_unprocessed ON {SCRATCH} (received_at) WHERE processed_at IS NULL")
    conn.execute(f"CREATE INDEX {SCRATCH}_device_occurred ON {SCRATCH} (device_id, occurred_at)")
    conn.commit()


def _raw_rows(start, n):
    now = datetime.now(UTC)
    return [(i % DEVICES + 1, 1, f"r{i}", "heartbeat", now, now, '{"battery_pct": 90, "signal_dbm": -85}')
            for i in range(start, start + n)]


def raw_executemany(db_url, batches):
    import psycopg

    with psycopg.connect(db_url) as conn:
        _scratch_table(conn)
        rows = [_raw_rows(b * BATCH, BATCH) for b in range(batches)]
        started = time.perf_counter()
        with conn.cursor() as cur:
            for chunk in rows:
                cur.executemany(f'INSERT INTO {SCRATCH} (device_id, integration_id, message_id, kind, occurred_at, '
                                f'received_at, "values") VALUES (%s, %s, %s, %s, %s, %s, %s)', chunk)
                conn.commit()
        took = time.perf_counter() - started
        conn.execute(f"DROP TABLE {SCRATCH}")
        conn.commit()
    return batches * BATCH / took


def raw_copy(db_url, total):
    import psycopg

    with psycopg.connect(db_url) as conn:
        _scratch_table(conn)
        rows = _raw_rows(0, total)
        started = time.perf_counter()
        with conn.cursor() as cur:
            for start in range(0, total, BATCH):
                with cur.copy(f'COPY {SCRATCH} (device_id, integration_id, message_id, kind, occurred_at, '
                              f'received_at, "values") FROM STDIN') as copy:
                    for row in rows[start:start + BATCH]:
                        copy.write_row(row)
                conn.commit()  # one commit per 1,000, as a batch request would
        took = time.perf_counter() - started
        conn.execute(f"DROP TABLE {SCRATCH}")
        conn.commit()
    return total / took


def raw_insert_commit(db_url, per_connection, connections=CONCURRENCY):
    """Single-row INSERT + COMMIT from `connections` connections at once: the ceiling
    for one message per request, one commit per message."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        _scratch_table(conn)
    conns = [psycopg.connect(db_url) for _ in range(connections)]
    barrier = threading.Barrier(connections + 1)
    now = datetime.now(UTC)

    def work(n, conn):
        barrier.wait()
        for i in range(per_connection):
            conn.execute(f'INSERT INTO {SCRATCH} (device_id, integration_id, message_id, kind, occurred_at, '
                         f'received_at, "values") VALUES (%s, %s, %s, %s, %s, %s, %s)',
                         (i % DEVICES + 1, 1, f"c{n}-{i}", "heartbeat", now, now, '{"battery_pct": 90}'))
            conn.commit()

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(conns)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    for c in conns:
        c.close()
    with psycopg.connect(db_url) as conn:
        conn.execute(f"DROP TABLE {SCRATCH}")
    return connections * per_connection / took


# --- the world the messages come from ---------------------------------------------------

def setup(app, tag, devices=DEVICES):
    """Places, `devices` devices (smoke detectors and electrical monitors under five
    sites) and one generic integration. Returns (key, secret, [(serial, type)], integration id)."""
    from api.devices.models import Device
    from api.extensions import db
    from api.ingest.models import Integration

    with app.app_context():
        from _common import add_place, place_chain

        grid = place_chain(tag)
        sites = [add_place(grid, "site", f"{tag}-site-{n}", f"site {n}", category="high_rise_residential",
                           address=f"{n} bench road") for n in range(5)]
        rows = [{"serial": f"{tag.upper()}{i:06d}", "type_code": "smoke_detector" if i % 2 else "electrical_monitor",
                 "place_id": sites[i % 5].id, "place_path": sites[i % 5].path, "status": "active"}
                for i in range(devices)]
        db.session.execute(Device.__table__.insert(), rows)
        key, secret = f"int_{tag}"[:32], uuid.uuid4().hex
        integration = Integration(kind="generic", name=f"bench {tag}", key_id=key, secret=secret, mapping={})
        db.session.add(integration)
        db.session.commit()
        integration_id = integration.id
        db.session.remove()
    return key, secret, [(r["serial"], r["type_code"]) for r in rows], integration_id


def message(devices, n, prefix):
    """Normal traffic: heartbeats of smoke detectors, telemetry under the thresholds."""
    serial, code = devices[n % len(devices)]
    at = datetime.now(UTC).isoformat()
    if code == "smoke_detector":
        return {"device": serial, "id": f"{prefix}{n}", "at": at, "type": "heartbeat",
                "values": {"battery_pct": 90 - n % 20, "signal_dbm": -80 - n % 20}}
    return {"device": serial, "id": f"{prefix}{n}", "at": at, "type": "telemetry",
            "values": {"residual_current_ma": 20 + n % 50, "cable_temp_c": 30 + n % 10}}


def signed_request(host, key, secret, events):
    body = json.dumps({"events": events}, separators=(",", ":")).encode()
    stamp = int(time.time())
    sig = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    head = (f"POST /api/v1/ingest/events HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-Integration-Key: {key}\r\nX-Timestamp: {stamp}\r\nX-Signature: {sig}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


# --- the senders ------------------------------------------------------------------------

class Failed(RuntimeError):
    pass


async def _send_all(host, port, requests, connections, expect_each):
    """Send the prebuilt requests over `connections` keep-alive connections, each
    one request at a time. Returns (seconds, [latency per request], accepted)."""
    queue = list(reversed(requests))
    latencies, accepted = [], [0]

    async def connect():
        return await asyncio.open_connection(host, port)

    async def worker():
        reader, writer = await connect()
        try:
            while queue:
                raw = queue.pop()
                for attempt in range(2):
                    started = time.perf_counter()
                    try:
                        writer.write(raw)
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (ConnectionError, asyncio.IncompleteReadError):
                        if attempt:
                            raise
                        writer.close()
                        reader, writer = await connect()  # the server closed an idle keep-alive
                        continue
                    break
                status = int(head.split(b" ", 2)[1])
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise Failed(f"HTTP {status}: {body[:300]!r}")
                got = json.loads(body)["accepted"]
                if got != expect_each:
                    raise Failed(f"accepted {got} of {expect_each}: {body[:300]!r}")
                accepted[0] += got
                if close:
                    writer.close()
                    reader, writer = await connect()
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, latencies, accepted[0]


def send_all(base_url, requests, connections, expect_each):
    url = urlparse(base_url)
    return asyncio.run(_send_all(url.hostname, url.port, requests, connections, expect_each))


# --- CPU spent, to read the figures on a busy machine -------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[1] is the parent; [11:15] utime, stime, cutime, cstime (children reaped: RQ's horses)
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def _children(pids):
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[0] in pids:
                out.add(int(entry))
    return out


def cpu_snapshot(ctx):
    """{pid: CPU ticks} of the stack's web and worker processes and of the PostgreSQL
    backends serving its database, and this process (the senders)."""
    roots = {p.pid for p in getattr(ctx, "procs", []) if p.name == "gunicorn" or p.name.startswith("worker")}
    pids = roots | _children(roots)
    import psycopg

    with psycopg.connect(ctx.db_url, autocommit=True) as conn:
        pids |= {pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")}
    snap = {pid: st[1] for pid in pids if (st := _stat(pid))}
    snap["self"] = int(time.process_time() * TICK)
    return snap


def cpu_seconds(before, after):
    if os.environ.get("BENCH_CPU_DETAIL"):
        spent = sorted(((v - before.get(k, 0), k) for k, v in after.items()), key=lambda x: -x[0])[:8]
        names = {}
        for _, pid in spent:
            try:
                names[pid] = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:60]
            except (OSError, TypeError):
                names[pid] = str(pid)
        print("CPU:", ", ".join(f"{names[k]}={v / TICK:.2f}s" for v, k in spent), file=sys.stderr)
    return sum(v - before.get(k, 0) for k, v in after.items()) / TICK


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def load():
    return os.getloadavg()[0]


# --- the benchmark ----------------------------------------------------------------------

def run(ctx):
    quick = bool(getattr(ctx, "quick", False))
    rounds = int(getattr(ctx, "rounds", 0) or (2 if quick else 3))
    single_n = 2000 if quick else 6000
    batch_requests = 10 if quick else 30
    host = urlparse(ctx.base_url).netloc
    tag = ctx.tag("ing")
    key, secret, devices, integration_id = setup(ctx.app, tag)
    ctx.log(f"ingest: {len(devices):,} devices, {rounds} rounds, load {load():.2f}")
    counter = iter(range(10**9))

    def warm():
        reqs = [signed_request(host, key, secret, [message(devices, next(counter), "w")]) for _ in range(300)]
        send_all(ctx.base_url, reqs, CONCURRENCY, 1)

    warm()
    singles, p50s, p99s, batches, expected = [], [], [], [], 300
    single_cpu, batch_cpu = [], []
    for r in range(rounds):
        reqs = [signed_request(host, key, secret, [message(devices, next(counter), "s")]) for _ in range(single_n)]
        before = cpu_snapshot(ctx)
        took, lat, accepted = send_all(ctx.base_url, reqs, CONCURRENCY, 1)
        _stored(ctx.db_url, integration_id, wait=30)  # and processed by the backlog job
        single_cpu.append(cpu_seconds(before, cpu_snapshot(ctx)) / accepted)
        expected += accepted
        singles.append(accepted / took)
        p50s.append(percentile(lat, 50) * 1000)
        p99s.append(percentile(lat, 99) * 1000)
        ctx.log(f"ingest single round {r + 1}: {singles[-1]:,.0f} msg/s, p50 {p50s[-1]:.1f} ms, "
                f"p99 {p99s[-1]:.1f} ms; {single_cpu[-1] * 1000:.2f} ms CPU/msg (load {load():.2f})")
        reqs = [signed_request(host, key, secret, [message(devices, next(counter), "b") for _ in range(BATCH)])
                for _ in range(batch_requests)]
        before = cpu_snapshot(ctx)
        took, lat, accepted = send_all(ctx.base_url, reqs, BATCH_SENDERS, BATCH)
        expected += accepted
        batches.append(accepted / took)
        _stored(ctx.db_url, integration_id, wait=60)
        batch_cpu.append(cpu_seconds(before, cpu_snapshot(ctx)) / accepted)
        ctx.log(f"ingest batch round {r + 1}: {batches[-1]:,.0f} msg/s, {percentile(lat, 50) * 1000:.0f} ms "
                f"per request; {batch_cpu[-1] * 1e6:.0f} µs CPU/msg (load {load():.2f})")

    stored, backlog = _stored(ctx.db_url, integration_id, wait=60)
    if stored != expected:
        raise Failed(f"{expected:,} messages accepted but {stored:,} stored")
    ctx.log(f"ingest: all {stored:,} stored once; {backlog:,} not yet processed")

    ctx.log("ingest: raw limits")
    execmany = statistics.median(raw_executemany(ctx.db_url, 10 if quick else 20) for _ in range(rounds))
    copy = statistics.median(raw_copy(ctx.db_url, 10_000 if quick else 40_000) for _ in range(rounds))
    commits = statistics.median(raw_insert_commit(ctx.db_url, 50 if quick else 150) for _ in range(rounds))
    ctx.log(f"ingest: raw executemany {execmany:,.0f}/s, COPY {copy:,.0f}/s, "
            f"32 x INSERT+COMMIT {commits:,.0f}/s (load {load():.2f})")
    return [
        ctx.entry("ingest_single_per_s", statistics.median(singles), "msg/s", target=1000, limit=commits),
        ctx.entry("ingest_single_p50_ms", statistics.median(p50s), "ms"),
        ctx.entry("ingest_single_p99_ms", statistics.median(p99s), "ms"),
        ctx.entry("ingest_batch_per_s", statistics.median(batches), "msg/s", target=20000, limit=execmany),
        # CPU per message (web, workers, PostgreSQL, senders; storing and processing), and what it
        # would allow on this machine's cores were they ours alone: the load-independent reading.
        ctx.entry("ingest_single_cpu_ms_per_msg", statistics.median(single_cpu) * 1000, "ms"),
        ctx.entry("ingest_single_cpu_bound_per_s", os.cpu_count() / statistics.median(single_cpu), "msg/s"),
        ctx.entry("ingest_batch_cpu_us_per_msg", statistics.median(batch_cpu) * 1e6, "µs"),
        ctx.entry("ingest_batch_cpu_bound_per_s", os.cpu_count() / statistics.median(batch_cpu), "msg/s"),
        ctx.entry("raw_pg_executemany_per_s", execmany, "rows/s"),
        ctx.entry("raw_pg_copy_per_s", copy, "rows/s"),
        ctx.entry("raw_pg_insert_commit_32_per_s", commits, "rows/s"),
    ]


def _stored(db_url, integration_id, wait):
    """How many messages of ours are stored, once the workers have processed them
    (waiting at most `wait` seconds), and how many are still unprocessed."""
    import psycopg

    deadline = time.monotonic() + wait
    with psycopg.connect(db_url, autocommit=True) as conn:
        while True:
            stored, backlog = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM device_events "
                "WHERE integration_id = %s", (integration_id,)).fetchone()
            if not backlog or time.monotonic() > deadline:
                return stored, backlog
            time.sleep(0.5)


# --- alone: a stack of its own ----------------------------------------------------------

def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, same figures")
    parser.add_argument("--rounds", type=int, default=0, help="measurements per figure (median reported)")
    args = parser.parse_args(argv)
    try:
        from bench._common import Context
    except ImportError:
        from _common import Context
    ctx = Context(quick=args.quick)
    ctx.rounds = args.rounds
    try:
        ctx.start()
        entries = run(ctx)
    finally:
        ctx.stop()
    width = max(len(e["name"]) for e in entries)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for e in entries:
        extra = ""
        if e.get("target") is not None:
            extra += f"  target {e['target']:,}"
        if e.get("limit") is not None:
            extra += f"  limit {e['limit']:,.0f}  ratio {e['ratio']:.2f}"
        print(f"{e['name']:<{width}}  {e['value']:>10,.1f} {e['unit']}{extra}")
    return entries


if __name__ == "__main__":
    main()
