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
