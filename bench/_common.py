"""What both benchmarks share: a throwaway PostgreSQL database with the app's
schema, the machine's own limits measured on that same database and Redis, and
a small table printer. Not a test; nothing here is imported by the app."""

import os
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402  (after the sys.path line, so bench/ runs from anywhere)

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def throwaway_app(tag):
    """An app with the testing configuration on a new PostgreSQL database (migrated),
    and its own Redis prefixes; the database is dropped afterwards, whatever happens."""
    name = f"fa_bench_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    prefix = f"fa-bench-{uuid.uuid4().hex[:8]}"
    os.environ.update(TEST_DATABASE_URL=url, TEST_REDIS_URL=REDIS_URL,
                      TEST_REDIS_KEY_PREFIX=prefix + ":", TEST_RQ_QUEUE_PREFIX=prefix + "-")
    app = None
    try:
        import logging

        from flask_migrate import upgrade

        from api import create_app

        app = create_app("testing")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        with app.app_context():
            upgrade()
        yield app, url
    finally:
        if app is not None:
            from api.extensions import db, redis_client

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
                r = redis_client()
                keys = list(r.scan_iter(f"*{prefix}*", count=1000))
                if keys:
                    r.delete(*keys)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"(dropped database {name})")


def measure_limits(url, redis_client):
    """One client's ceilings here and now, on the same database: single-row INSERT +
    COMMIT, executemany of 1,000 rows per commit, COPY, and Redis PING round trips."""
    out = []
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, n integer, s text, t timestamp)")
        conn.commit()
        rows, started = 500, time.perf_counter()
        for i in range(rows):
            conn.execute("INSERT INTO bench_scratch (n, s, t) VALUES (%s, %s, now())", (i, f"row {i}"))
            conn.commit()
        out.append(("PostgreSQL single-row INSERT + COMMIT", rows / (time.perf_counter() - started), "rows/s"))

        batches, started = 30, time.perf_counter()
        with conn.cursor() as cur:
            for _ in range(batches):
                cur.executemany("INSERT INTO bench_scratch (n, s, t) VALUES (%s, %s, now())",
                                [(i, f"row {i}") for i in range(1000)])
                conn.commit()
        out.append(("PostgreSQL executemany, 1,000 rows per COMMIT", batches * 1000 / (time.perf_counter() - started),
                    "rows/s"))

        rows, started = 100_000, time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_scratch (n, s, t) FROM STDIN") as copy:
            for start in range(0, rows, 10_000):
                copy.write("".join(f"{i}\trow {i}\t2026-01-01 00:00:00\n" for i in range(start, start + 10_000)))
        conn.commit()
        out.append(("PostgreSQL COPY", rows / (time.perf_counter() - started), "rows/s"))
        conn.execute("DROP TABLE bench_scratch")
        conn.commit()

    pings, started = 2000, time.perf_counter()
    for _ in range(pings):
        redis_client.ping()
    took = time.perf_counter() - started
    out.append(("Redis PING round trips", pings / took, f"/s ({took / pings * 1e6:.0f} µs each)"))
    return out


def table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print(line)
    print("  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print(line)


def print_limits(limits):
    table("Limits of this machine, measured in this run on the same database and Redis",
          ["limit", "measured", "unit"], [(name, f"{value:,.0f}", unit) for name, value, unit in limits])
# --- make bench: one real stack, shared by every benchmark module (bench/README.md) ---------

import contextlib  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import urllib.request  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOGS = Path(os.environ["BENCH_LOGS"]) if os.environ.get("BENCH_LOGS") else RESULTS / "logs"  # one dir a run
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
BENCH_REDIS_FALLBACK = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def add_place(parent, kind, code, name, **fields):
    """One place under `parent` (None: a root) with its path, in the current app context
    and session (flushed, not committed)."""
    from api.extensions import db
    from api.places.models import Place

    place = Place(kind=kind, parent_id=parent.id if parent else None, code=code, name=name, path="", **fields)
    db.session.add(place)
    db.session.flush()
    place.path = f"{parent.path if parent else '/'}{place.id}/"
    return place


def place_chain(code_prefix, kinds=("city", "district", "street", "community", "grid")):
    """Places from a city down to a grid, each a child of the one before; the last (the grid)."""
    parent = None
    for kind in kinds:
        parent = add_place(parent, kind, f"{code_prefix}-{kind}", f"bench {kind}")
    return parent


def entry(name, value, unit, target=None, limit=None):
    """One row of the table: {"name", "value", "unit", "target", "limit", "ratio"}.
    ratio is the share of the machine's limit we reach: value/limit for a rate (a name
    ending in _per_s), limit/value for a time; None without a limit."""
    if value is not None and value != value or value in (float("inf"), float("-inf")):
        value, unit = None, f"{unit} (not measured: some never arrived)"
    ratio = None
    if value is not None and limit:
        rate = name.endswith("_per_s")
        ratio = (value / limit) if rate else (limit / value if value else None)
    clean = lambda x: None if x is None else round(float(x), 4)  # noqa: E731
    return {"name": name, "value": clean(value), "unit": unit, "target": clean(target), "limit": clean(limit),
            "ratio": None if ratio is None else round(ratio, 4)}


def met(e):
    """True/False against the target (at least it for _per_s, at most it otherwise); None without one."""
    if e.get("target") is None or e.get("value") is None:
        return None
    return e["value"] >= e["target"] if e["name"].endswith("_per_s") else e["value"] <= e["target"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, what, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.name} exited with code {p.returncode} while waiting for {what} "
                                   f"(log: {getattr(p, 'log_path', '?')})")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def pg_url_for(name):
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def create_database(tag):
    name = f"fa_bench_{tag}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name):
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the fake push service, in its own process ----------------------------------------------

def serve_push(server_key, conn):
    """tests/fakes/push_service.py in a process of its own (its decrypting must not take the
    senders' CPU time under one GIL), timing every push it accepts. HTTP/1.1 with keep-alive,
    as real push services speak: the test fake answers HTTP/1.0, one connection per push."""
    from tests.fakes.push_service import FakePushService

    class Timed(FakePushService):
        verified = {}  # Authorization header -> its JWT's exp

        def _verify_vapid(self, headers):
            """Each distinct VAPID header is verified in full once, then only its expiry is
            checked, as a real push service caches a JWT it has seen (RFC 8292 lets a sender
            reuse one until it expires; workers/channels/push.py does)."""
            auth = headers.get("Authorization", "")
            exp = self.verified.get(auth)
            if exp is not None and exp > time.time():
                return
            super()._verify_vapid(headers)
            import jwt

            token = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))["t"]
            self.verified[auth] = jwt.decode(token, options={"verify_signature": False})["exp"]

        def _handler(self):
            base, service = super()._handler(), self

            class Handler(base):
                protocol_version = "HTTP/1.1"

                def send_response(self, code, message=None):
                    super().send_response(code, message)
                    self.send_header("Content-Length", "0")  # no body: lets the connection live on

                def do_POST(self):
                    started = time.monotonic()
                    if service.delay:
                        time.sleep(service.delay)
                    before = len(service.received)
                    super().do_POST()
                    ended = time.monotonic()
                    with service.lock:
                        if len(service.received) > before:
                            service.received[-1]["t"] = ended
                        service.times.append((started, ended, len(service.received) > before))

            return Handler

    service = Timed(server_key)
    service.times, service.cpu0, service.delay = [], time.process_time(), 0.0
    service.start()
    conn.send(service.origin)
    while True:
        command, arg = conn.recv()
        if command == "subscribe":
            conn.send([service.subscribe() for _ in range(arg)])
        elif command == "stats":
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
        elif command == "received":  # [(subscription id, monotonic time decrypted, payload)]
            with service.lock:
                conn.send([(r["sub"], r.get("t"), r["payload"]) for r in service.received])
        elif command == "delay":
            service.delay = arg
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


class PushService:
    """The harness's handle on the fake push service process (thread-safe)."""

    def __init__(self, public_key):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self.proc = ctx.Process(target=serve_push, args=(public_key, child), daemon=True)
        self.proc.start()
        self.origin = self._conn.recv()

    def _ask(self, command, arg=None):
        with self._lock:
            self._conn.send((command, arg))
            return self._conn.recv()

    def subscribe(self, n=1):
        """n browser PushSubscription dicts {endpoint, keys: {p256dh, auth}}."""
        return self._ask("subscribe", n)

    def stats(self):
        return self._ask("stats")

    def received(self):
        return self._ask("received")

    def reset(self):
        return self._ask("reset")

    def set_delay(self, seconds):
        return self._ask("delay", seconds)

    @staticmethod
    def sub_id(endpoint):
        return endpoint.rsplit("/", 1)[1]

    def stop(self):
        with contextlib.suppress(Exception):
            self._ask("stop")
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


# --- the stack ------------------------------------------------------------------------------

class Context:
    """What a benchmark module's run(ctx) gets (bench/README.md)."""

    def __init__(self, quick=False, workers=2, web_workers=4, web_threads=4):
        self.quick, self.workers, self.web_workers, self.web_threads = quick, workers, web_workers, web_threads
        self.procs, self._tmp, self._dbs, self._n = [], tempfile.mkdtemp(prefix="fa-bench-"), [], 0
        self.db_name = self.db_url = self.redis_url = self.base_url = self.app = self.push = None
        hexid = uuid.uuid4().hex[:8]
        self.redis_prefix, self.queue_prefix = f"fa-bench-{hexid}:", f"fa-bench-{hexid}-"
        self.env = {}

    # helpers for modules
    entry = staticmethod(entry)

    def tag(self, name):
        self._n += 1
        return f"{name}{self._n}x{uuid.uuid4().hex[:4]}"

    @staticmethod
    def log(msg):
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    # start and stop
    def _spawn(self, name, cmd, env=None):
        LOGS.mkdir(parents=True, exist_ok=True)
        path = LOGS / f"{name}.log"
        out = open(path, "w")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env or self.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.name, proc.log_path, proc.log_file = name, path, out
        self.procs.append(proc)
        return proc

    def _redis(self):
        if shutil.which("redis-server"):
            port = free_port()
            proc = self._spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", self._tmp, "--loglevel", "warning"],
                               env=dict(os.environ))
            url = f"redis://127.0.0.1:{port}/0"
            import redis

            wait_until(lambda: redis.Redis.from_url(url).ping(), 15, "redis-server", [proc])
            return url, "a private redis-server on port %d" % port
        return BENCH_REDIS_FALLBACK, f"the shared Redis at {BENCH_REDIS_FALLBACK} (no redis-server here)"

    def _flask(self, *args, env=None):
        res = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env or self.env,
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {res.stderr[-2000:]}")
        return res.stdout

    def start(self):
        """Start everything; if any part fails, stop what did start (nothing is left behind)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        from api.notify.cli import generate_vapid_keys

        self.redis_url, redis_where = self._redis()
        self.db_name = create_database("stack")
        self._dbs.append(self.db_name)
        self.db_url = pg_url_for(self.db_name)
        public, private = generate_vapid_keys()
        self.push = PushService(public)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FA_TEST", "APP_ENV"))}
        self.env = dict(keep, APP_ENV="production", FLASK_APP="wsgi.py", PYTHONUNBUFFERED="1",
                        DATABASE_URL=self.db_url, REDIS_URL=self.redis_url, REDIS_KEY_PREFIX=self.redis_prefix,
                        RQ_QUEUE_PREFIX=self.queue_prefix, SECRET_KEY=secrets.token_hex(32),
                        JWT_SECRET_KEY=secrets.token_hex(32), VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private,
                        VAPID_SUBJECT="mailto:bench@example.cn", PUBLIC_BASE_URL=self.base_url)
        self.log(f"database {self.db_name}; Redis: {redis_where}; prefixes {self.redis_prefix} {self.queue_prefix}")
        self._flask("db", "upgrade")
        os.environ.update(self.env)  # ctx.app: the same production settings, in this process
        from api import create_app

        self.app = create_app("production")
        import logging

        logging.getLogger().setLevel(logging.WARNING)
        web = self._spawn("gunicorn", [sys.executable, "-m", "gunicorn", "-w", str(self.web_workers), "-k", "gthread",
                                       "--threads", str(self.web_threads), "-b", f"127.0.0.1:{port}",
                                       # no access log, as README's production line (BENCH_ACCESS_LOG=1: to its log)
                                       *(["--access-logfile", "-"] if os.environ.get("BENCH_ACCESS_LOG") else []),
                                       "wsgi:app"])
        self._spawn_workers(self.workers)
        wait_until(lambda: NO_PROXY.open(f"{self.base_url}/api/health", timeout=2).status == 200, 180, "gunicorn",
                   [web])
        wait_until(lambda: self.workers_ready() >= self.workers, 180, "the RQ workers", self.procs)
        self.log(f"gunicorn {self.base_url} ({self.web_workers} workers x {self.web_threads} threads), "
                 f"{self.workers} RQ workers, fake push service {self.push.origin}; logs in {LOGS}")
        return self

    def _spawn_workers(self, n):
        """As `make run` starts them (workers/worker.py: the first urgent-only, in-process)."""
        from workers.worker import command, plan

        for k, (queues, fork) in enumerate(plan(n)):
            self._spawn(f"worker{k + 1}", [sys.executable, "-m", "flask", *command(queues, fork)])

    @contextlib.contextmanager
    def scheduler(self):
        """`flask rq scheduler` (as make run starts it: the periodic safety nets, the
        escalation tick, the delivery auditor) for the benchmarks whose figure includes
        them; stopped at the end so it cannot disturb the others' figures."""
        proc = self._spawn("scheduler", [sys.executable, "-m", "flask", "rq", "scheduler"])
        try:
            yield proc
        finally:
            self._stop(proc)
            self.procs.remove(proc)

    def workers_ready(self):
        import redis
        from rq import Worker

        names = {self.queue_prefix + q for q in ("alarms", "notify", "ingest", "default")}
        return sum(1 for w in Worker.all(connection=redis.Redis.from_url(self.redis_url))
                   if names & set(w.queue_names()))

    def restart_workers(self, n=None):
        """Stop the RQ workers and start `n` (default: as many as before)."""
        n = self.workers if n is None else n
        for p in [p for p in self.procs if p.name.startswith("worker")]:
            self._stop(p)
            self.procs.remove(p)
        import redis
        from rq import Worker

        r = redis.Redis.from_url(self.redis_url)
        for w in Worker.all(connection=r):  # clean-up of what a stopped worker registered
            with contextlib.suppress(Exception):
                w.register_death()
        self.workers = n
        self._spawn_workers(n)
        wait_until(lambda: self.workers_ready() >= n, 180, "the RQ workers", self.procs)

    @staticmethod
    def _stop(p, timeout=10):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)  # and anything left in its group (an RQ work horse)
        p.wait()
        p.log_file.close()

    def cpu_seconds(self, prefix="worker"):
        """CPU seconds the named stack processes have used so far, their reaped children (RQ's
        work horses) included: a measure of work that the machine's load does not stretch."""
        total = 0.0
        for p in self.procs:
            if p.name.startswith(prefix) and p.poll() is None:
                with contextlib.suppress(OSError):
                    with open(f"/proc/{p.pid}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        return total

    def check_alive(self):
        dead = [f"{p.name} (code {p.returncode}, log {p.log_path})" for p in self.procs if p.poll() is not None]
        if dead:
            raise RuntimeError("stack process died: " + ", ".join(dead))

    @contextmanager
    def scratch_database(self, tag="scratch"):
        """An empty migrated database of the module's own, and an app on it (production
        settings otherwise); dropped afterwards. Yields (app, psycopg url)."""
        name = create_database(tag)
        url = pg_url_for(name)
        app = None
        try:
            self._flask("db", "upgrade", env=dict(self.env, DATABASE_URL=url))
            # its own queue prefix: a job it queued must not reach the stack's workers (other database)
            saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "RQ_QUEUE_PREFIX")}
            os.environ.update(DATABASE_URL=url, RQ_QUEUE_PREFIX=f"{self.queue_prefix}{tag}-")
            try:
                from api import create_app

                app = create_app("production")
            finally:
                os.environ.update(saved)
            yield app, url
        finally:
            if app is not None:
                from api.extensions import db

                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
            drop_database(name)

    def stop(self):
        apps = [p for p in self.procs if p.name != "redis"]
        for p in apps:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
        for p in apps:
            self._stop(p)
        if self.push is not None:
            self.push.stop()
        if self.app is not None:
            from api.extensions import db, redis_client

            with contextlib.suppress(Exception), self.app.app_context():
                db.session.remove()
                db.engine.dispose()
                if not any(p.name == "redis" for p in self.procs):  # the shared Redis: our keys only
                    r = redis_client()
                    for pattern in (f"*{self.redis_prefix}*", f"*{self.queue_prefix}*"):
                        keys = list(r.scan_iter(pattern, count=1000))
                        if keys:
                            r.delete(*keys)
        for name in self._dbs:
            with contextlib.suppress(Exception):
                drop_database(name)
        for p in [p for p in self.procs if p.name == "redis"]:
            self._stop(p)
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self.procs or self._dbs:
            self.log(f"stopped the stack; dropped database {self.db_name}")
        self.procs, self._dbs, self.push, self.app = [], [], None, None  # a second stop() does nothing


def write_results(entries, meta):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n")
    rows = results_rows(entries)
    md = [f"# make bench — {meta['when']}", "", f"Machine: {meta['machine']}. Load before: `{meta['load_before']}`; "
          f"after: `{meta['load_after']}`.", "", "| " + " | ".join(RESULT_HEADER) + " |",
          "|" + "|".join("---" if i == 0 else "---:" for i in range(len(RESULT_HEADER))) + "|"]
    md += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    md += ["", "ratio: the share of this machine's limit (measured in the same run) we reach — value/limit for a "
           "rate, limit/value for a time. target: at least it for /s figures, at most it for times.",
           "", *meta.get("notes", [])]
    (RESULTS / "latest.md").write_text("\n".join(md) + "\n")


RESULT_HEADER = ["name", "value", "unit", "target", "limit", "ratio", "met"]


def _fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:,.1f}"
    return f"{x:,.3f}".rstrip("0").rstrip(".") if x else "0"


def results_rows(entries):
    out = []
    for e in entries:
        m = met(e)
        out.append((e["name"], _fmt(e["value"]), e["unit"], _fmt(e["target"]), _fmt(e["limit"]),
                    "-" if e["ratio"] is None else f"{e['ratio']:.2f}", "-" if m is None else ("yes" if m else "NO")))
    return out
