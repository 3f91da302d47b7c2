"""Benchmark: one incident fanned out to 1,000 Web Push subscribers.

    .venv/bin/python bench/push_fanout.py [--subscribers 1000] [--runs 3] [--profile]

Creates its own PostgreSQL database, 1,000 residents of one household each with
a push subscription at the fake push service (tests/fakes/push_service.py: it
checks VAPID and decrypts every push, as a real one does), and runs the
escalation step of one new incident per run: the step run (Notification and
Delivery rows, one RQ job) then an RQ SimpleWorker running that job. Timed from
the step run to the last push the service accepted, against the target
"1,000 accepted within 2 s". The fake push service runs in its own process, so
its decrypting does not take the sender's GIL. This machine's own limits,
measured in the same run, are printed alongside: pywebpush encryptions and VAPID
signatures per second on one core, a plain loopback HTTP POST round trip (one at
a time and from 32 threads), and the database and Redis. `--profile` adds a
cProfile of one run. Drops its database at the end.
"""

import argparse
import multiprocessing
import os
import statistics
import threading
import time

from _common import measure_limits, print_limits, table, throwaway_app

TARGET_S = 2.0


# --- processes on loopback (spawned: nothing of the app's state is inherited) ----------

def serve_push(server_key, subscribers, conn, delay=0.0):
    """The fake push service, timing every push it accepts; `delay` adds a round trip."""
    from http.server import ThreadingHTTPServer

    from tests.fakes.push_service import FakePushService

    # socketserver's listen backlog of 5 resets connections when 32 senders connect at
    # once; a real push service does not. (This process only.)
    ThreadingHTTPServer.request_queue_size = 128

    class Timed(FakePushService):
        def _handler(self):
            base, service = super()._handler(), self

            class Handler(base):
                def do_POST(self):
                    started = time.monotonic()
                    if service.delay:
                        time.sleep(service.delay)
                    before = len(service.received)
                    super().do_POST()
                    with service.lock:
                        service.times.append((started, time.monotonic(), len(service.received) > before))

            return Handler

    service = Timed(server_key)
    service.times, service.cpu0, service.delay = [], time.process_time(), delay
    service.start()
    conn.send([service.subscribe() for _ in range(subscribers)])
    while True:
        command = conn.recv()
        if command == "stats":
            with service.lock:
                accepted = [t for t in service.times if t[2]]
                per_endpoint = {}
                for r in service.received:
                    per_endpoint[r["sub"]] = per_endpoint.get(r["sub"], 0) + 1
                conn.send({"accepted": len(service.received), "rejected": list(service.rejected[:5]),
                           "n_rejected": len(service.rejected), "first": min((a for a, _, _ in accepted), default=None),
                           "last": max((b for _, b, _ in accepted), default=None),
                           "handler_s": sum(b - a for a, b, _ in service.times),
                           "cpu_s": time.process_time() - service.cpu0,
                           "max_per_endpoint": max(per_endpoint.values(), default=0)})
        elif isinstance(command, tuple) and command[0] == "delay":
            service.delay = command[1]
            conn.send("ok")
        elif command == "reset":
            service.cpu0 = time.process_time()
            with service.lock:
                service.received.clear()
                service.rejected.clear()
                service.times.clear()
            conn.send("ok")
        else:
            service.stop()
            conn.send("bye")
            return


def serve_plain(conn):
    """A loopback HTTP server that answers every POST 201 at once (the floor of a round trip)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(201)
            self.send_header("Location", "/m/1")
            self.end_headers()

    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(server.server_address[1])
    conn.recv()
    server.shutdown()


# --- this machine's limits ------------------------------------------------------------

def crypto_limits(subscription, private_key):
    from py_vapid import Vapid
    from pywebpush import WebPusher

    data = b'{"incident_id": 1, "level": 2, "title": "\xe4\xba\x8c\xe7\xba\xa7 site", "receipt": "x"}' * 2
    pusher = WebPusher(subscription)
    n, started = 3000, time.perf_counter()
    for _ in range(n):
        pusher.encode(data, "aes128gcm")
    encrypt = n / (time.perf_counter() - started)
    n, started = 3000, time.perf_counter()
    for _ in range(n):  # what webpush() does on every call: parse the key, sign a JWT
        Vapid.from_string(private_key=private_key).sign({"sub": "mailto:ops@example.cn", "aud": "http://127.0.0.1",
                                                         "exp": int(time.time()) + 3600})
    sign = n / (time.perf_counter() - started)
    return [("pywebpush encrypt (aes128gcm), one core", encrypt, "/s"),
            ("VAPID key parse + JWT sign (per webpush() call)", sign, "/s")]


def http_limits(ctx):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_plain, args=(child,), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{parent.recv()}/push/x"
    body = os.urandom(300)
    session = requests.Session()
    for _ in range(50):
        session.post(url, data=body, timeout=5)
    n, started = 1000, time.perf_counter()
    for _ in range(n):
        session.post(url, data=body, timeout=5)
    took = time.perf_counter() - started
    out = [("loopback HTTP POST round trip (requests, one at a time)", n / took, f"/s ({took / n * 1e3:.2f} ms each)")]

    local = threading.local()

    def post(_):
        s = getattr(local, "s", None) or requests.Session()
        local.s = s
        s.post(url, data=body, timeout=5)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(post, range(100)))
        n, started = 2000, time.perf_counter()
        list(pool.map(post, range(n)))
    out.append(("loopback HTTP POST from 32 threads (requests)", n / (time.perf_counter() - started), "/s"))

    import urllib3

    pm = urllib3.PoolManager(maxsize=64, retries=False)
    n, started = 1000, time.perf_counter()
    for _ in range(n):
        pm.request("POST", url, body=body)
    took = time.perf_counter() - started
    out.append(("loopback HTTP POST round trip (urllib3, one at a time)", n / took, f"/s ({took / n * 1e3:.2f} ms each)"))
    with ThreadPoolExecutor(32) as pool:
        n, started = 2000, time.perf_counter()
        list(pool.map(lambda _: pm.request("POST", url, body=body), range(n)))
    out.append(("loopback HTTP POST from 32 threads (urllib3, as push.py)", n / (time.perf_counter() - started), "/s"))
    parent.send("stop")
    proc.join(5)
    return out


def service_limit(conn, subscriptions, private_key):
    """What the fake push service on this machine accepts at most: pushes encrypted and signed
    beforehand, posted from 32 threads with urllib3 (the sender's ceiling against it)."""
    from concurrent.futures import ThreadPoolExecutor

    import urllib3
    from py_vapid import Vapid
    from pywebpush import WebPusher

    origin = "/".join(subscriptions[0]["endpoint"].split("/", 3)[:3])
    vapid = Vapid.from_string(private_key=private_key).sign({"sub": "mailto:ops@example.cn", "aud": origin,
                                                             "exp": int(time.time()) + 3600})
    data = b'{"incident_id": 1, "level": 2, "title": "bench", "receipt": "x"}'
    built = [(s["endpoint"], WebPusher(s).encode(data, "aes128gcm")["body"]) for s in subscriptions]
    headers = {"Content-Encoding": "aes128gcm", "TTL": "60", **vapid}
    pm = urllib3.PoolManager(maxsize=64, retries=False)
    conn.send("reset")
    conn.recv()
    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda b: pm.request("POST", b[0], body=b[1], headers=headers), built))
    took = time.perf_counter() - started
    conn.send("stats")
    accepted = conn.recv()["accepted"]
    conn.send("reset")
    conn.recv()
    return [(f"fake push service: {accepted:,} pre-built pushes from 32 threads", accepted / took,
             f"/s ({took:.2f} s for them)")]


# --- the world ----------------------------------------------------------------------------

def build(app, subscriptions):
    from api.extensions import db
    from api.notify.models import PushSubscription
    from api.people.models import Membership, User
    from tests import factories as f

    with app.app_context():
        tree = f.city_tree("B")
        household = tree["household"]
        users = [User(phone=f"+8613{i:09d}", name=f"resident {i}") for i in range(len(subscriptions))]
        db.session.add_all(users)
        db.session.flush()
        db.session.add_all([Membership(user_id=u.id, role="resident", place_id=household.id) for u in users])
        db.session.add_all([PushSubscription(user_id=u.id, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"],
                                             auth=s["keys"]["auth"]) for u, s in zip(users, subscriptions)])
        db.session.commit()
        return {"site": tree["site"].id, "device": tree["household_device"].id}


def one_run(app, world, conn):
    """A new incident; its first step; the worker. Returns timings (s) from the step run."""
    from rq import SimpleWorker

    from api.devices.models import Device
    from api.extensions import db, redis_client
    from api.notify import escalation
    from api.notify.models import Delivery
    from api.places.models import Place
    from tests import factories as f
    from workers.queues import get_queue

    conn.send("reset")
    conn.recv()
    with app.app_context():
        incident = f.incident(db.session.get(Place, world["site"]), db.session.get(Device, world["device"]))
        escalation.start(incident)
        db.session.commit()
        incident_id = incident.id
        db.session.remove()
    with app.app_context():
        t0 = time.monotonic()
        ids = escalation.run_due(incident_id=incident_id)
        t_step = time.monotonic()
        db.session.remove()
        cpu0 = time.process_time()
        SimpleWorker([get_queue("notify")], connection=redis_client()).work(burst=True)
        t_done, worker_cpu = time.monotonic(), time.process_time() - cpu0
        sent = Delivery.query.filter(Delivery.id.in_(ids), Delivery.state == "sent").count()
        from api.common.clock import utcnow
        from api.incidents.models import Incident

        incident = db.session.get(Incident, incident_id)  # one open incident per site: close it for the next run
        incident.state, incident.closed_at, incident.escalation_token = "closed", utcnow(), None
        for alert in incident.alerts:
            alert.active, alert.closed_at = False, utcnow()
        db.session.commit()
        db.session.remove()
    conn.send("stats")
    stats = conn.recv()
    return {"queued": len(ids), "sent": sent, "accepted": stats["accepted"], "rejected": stats["n_rejected"],
            "max_per_endpoint": stats["max_per_endpoint"], "step": t_step - t0,
            "first": (stats["first"] or t0) - t0, "last": (stats["last"] or t0) - t0, "done": t_done - t0,
            "handler_s": stats["handler_s"], "rejects": stats["rejected"], "worker_cpu": worker_cpu,
            "service_cpu": stats["cpu_s"]}


def report(args, runs, where):
    import workers.delivery as delivery

    rows = []
    for n, r in enumerate(runs, 1):
        ok = r["accepted"] == args.subscribers and r["last"] <= TARGET_S
        send_s = r["last"] - r["first"]
        rows.append((f"run {n}", r["queued"], r["accepted"], r["rejected"], r["sent"], f"{r['step']:.3f}",
                     f"{r['first']:.3f}", f"{r['last']:.3f}", f"{r['done']:.3f}",
                     f"{r['accepted'] / send_s:,.0f}" if send_s > 0 else "-",
                     f"{r['worker_cpu'] / (r['done'] - r['step']):.0%}",
                     f"{r['service_cpu'] / send_s:.0%}" if send_s > 0 else "-",
                     f"{r['last'] - r['step']:.3f}", "yes" if ok else "NO"))
        if r["rejects"]:
            print("rejected by the push service:", r["rejects"])
    table(f"One incident, {args.subscribers:,} push subscribers, fan-out threads {delivery.FANOUT_THREADS} "
          f"(seconds from the step run), {where}",
          ["run", "queued", "accepted", "rejected", "sent rows", "step run", "first push", "last push",
           "worker done", "pushes/s (first→last)", "worker CPU", "push service CPU", "job→last push",
           f"last push <= {TARGET_S:g} s"], rows)
    print("step run: escalation.run_due (Notification + Delivery rows, the job queued); worker CPU: the\n"
          "sender process's CPU time over the worker's wall time (100% = one core, the GIL's ceiling);\n"
          "push service CPU: the fake's process over the sending window; job→last push: the worker's part.")
    lasts, jobs = [r["last"] for r in runs], [r["last"] - r["step"] for r in runs]
    print(f"\nlast push accepted: median {statistics.median(lasts):.3f} s, best {min(lasts):.3f} s "
          f"(target: {args.subscribers:,} accepted within {TARGET_S:g} s); of it the worker's part (job "
          f"start to last push) median {statistics.median(jobs):.3f} s; "
          f"push service handler time {statistics.median(r['handler_s'] for r in runs) / args.subscribers * 1e3:.2f}"
          f" ms per push (in its own process); no endpoint got more than "
          f"{max(r['max_per_endpoint'] for r in runs)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more run and print the top")
    parser.add_argument("--rtt-ms", type=int, default=50,
                        help="also run with the push service this far away (0: skip)")
    args = parser.parse_args()

    import logging

    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    from api.notify.cli import generate_vapid_keys

    ctx = multiprocessing.get_context("spawn")
    public, private = generate_vapid_keys()
    parent, child = ctx.Pipe()
    push_proc = ctx.Process(target=serve_push, args=(public, args.subscribers, child), daemon=True)
    push_proc.start()
    subscriptions = parent.recv()

    with throwaway_app("push") as (app, url):
        from api.extensions import redis_client

        app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private, VAPID_SUBJECT="mailto:ops@example.cn")
        world = build(app, subscriptions)
        with app.app_context():
            limits = measure_limits(url, redis_client())
        limits += crypto_limits(subscriptions[0], private)
        limits += http_limits(ctx)
        limits += service_limit(parent, subscriptions, private)

        report(args, [one_run(app, world, parent) for _ in range(args.runs)], "on loopback")
        if args.rtt_ms:
            parent.send(("delay", args.rtt_ms / 1000))
            parent.recv()
            report(args, [one_run(app, world, parent) for _ in range(args.runs)],
                   f"the push service {args.rtt_ms} ms away (a sleep in the fake)")
            parent.send(("delay", 0.0))
            parent.recv()
        print_limits(limits)

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            r = one_run(app, world, parent)
            profiler.disable()
            print(f"\nprofiled run: last push {r['last']:.3f} s, worker done {r['done']:.3f} s "
                  f"(the profiler slows it); main thread, by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    parent.send("stop")
    parent.recv()
    push_proc.join(5)


if __name__ == "__main__":
    main()
