"""Benchmark: the offline sweep over 300,000 devices (Ji'an's NB-IoT target).

    .venv/bin/python bench/offline_sweep.py [--devices 300000]

Creates its own PostgreSQL database, loads the devices with COPY, and for 1 % and
10 % of them silent too long times sweep_offline() (marking them and raising
their alerts), the steady-state sweep that follows (nothing left to mark), and
each device type's find_silent query, with the index its plan uses. The
machine's own limits, measured in the same run, are printed alongside.
Drops its database at the end.
"""

import argparse
import time
from datetime import UTC, datetime, timedelta

from _common import measure_limits, print_limits, table, throwaway_app


def load(db, places, heartbeats, devices, silent_every, now):
    """COPY `devices` devices; every `silent_every`-th is silent too long. Returns how many."""
    from sqlalchemy import text

    codes, naive, silent, lines = sorted(heartbeats), now.replace(tzinfo=None), 0, []
    stamp = naive.isoformat(sep=" ")
    raw = db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur, cur.copy(
                "COPY devices (serial, type_code, place_id, place_path, status, last_seen_at, created_at, updated_at)"
                " FROM STDIN") as copy:
            for i in range(devices):
                code = codes[i % len(codes)]
                hb = heartbeats[code]
                place_id, place_path = places[i % len(places)]
                if i % silent_every == 0:
                    seen, silent = naive - timedelta(seconds=2 * hb + 1 + i % 86400), silent + 1
                else:
                    seen = naive - timedelta(seconds=(i * 7919) % (2 * hb))
                lines.append(f"BENCH{i:07d}\t{code}\t{place_id}\t{place_path}\tactive\t{seen.isoformat(sep=' ')}\t"
                             f"{stamp}\t{stamp}")
                if len(lines) == 10_000:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
        raw.driver_connection.commit()
    finally:
        raw.close()
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE devices"))
    return silent


def query_times(db, sweeps, heartbeats, now):
    """Each type's find_silent: milliseconds (best of 3), rows, and the index its plan scans."""
    from sqlalchemy import event

    out, seen = {}, []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    for code, hb in sorted(heartbeats.items()):
        cutoff = now - timedelta(seconds=2 * hb)
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            best = None
            for _ in range(3):
                started = time.perf_counter()
                rows = sweeps.find_silent(code, cutoff)
                took = time.perf_counter() - started
                best = took if best is None else min(best, took)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        sql, params = seen[-1]
        plan = [r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + sql, params)]
        scans = [line.strip().lstrip("->").strip() for line in plan if "Scan" in line]
        index = next((s.split(" on ")[-1].split(" using ")[-1].split()[0] if "Bitmap" in s
                      else s.split(" using ")[1].split()[0] for s in scans if "Index" in s), "none: " + scans[0])
        db.session.rollback()
        out[code] = (best * 1000, len(rows), index)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=300_000)
    args = parser.parse_args()

    with throwaway_app("sweep") as (app, url):
        from sqlalchemy import text

        from api.devices.models import DeviceType
        from api.extensions import db, redis_client
        from api.places.models import Place
        from workers import sweeps

        with app.app_context():
            print_limits(measure_limits(url, redis_client()))
            places, parent = [], None
            for kind in ("city", "district", "street", "community", "grid"):
                parent_path = parent.path if parent else "/"
                parent = Place(kind=kind, parent_id=parent.id if parent else None, code=f"bench-{kind}",
                               name=f"bench {kind}", path="")
                db.session.add(parent)
                db.session.flush()
                parent.path = f"{parent_path}{parent.id}/"
            grid = parent
            for n in range(4):
                site = Place(kind="site", parent_id=grid.id, code=f"bench-site-{n}", name=f"site {n}",
                             category="high_rise_residential", address=f"{n} bench road", path="")
                db.session.add(site)
                db.session.flush()
                site.path = f"{grid.path}{site.id}/"
                home = Place(kind="household", parent_id=site.id, code=f"bench-home-{n}", name=f"home {n}", path="")
                db.session.add(home)
                db.session.flush()
                home.path = f"{site.path}{home.id}/"
                places += [(site.id, site.path), (home.id, home.path)]
            db.session.commit()
            heartbeats = {c: hb for c, hb in db.session.query(DeviceType.code, DeviceType.heartbeat_seconds)}

            results, per_type = [], {}
            for pct in (1, 10):
                with db.engine.begin() as conn:
                    conn.execute(text("TRUNCATE devices CASCADE"))
                now = datetime.now(UTC).replace(microsecond=0)
                started = time.perf_counter()
                silent = load(db, places, heartbeats, args.devices, 100 // pct, now)
                loaded = time.perf_counter() - started
                before = query_times(db, sweeps, heartbeats, now)
                started = time.perf_counter()
                marked = sweeps.sweep_offline(now=now)
                took = time.perf_counter() - started
                assert marked == silent, (marked, silent)
                started = time.perf_counter()
                again = sweeps.sweep_offline(now=now)
                steady = time.perf_counter() - started
                assert again == 0
                after = query_times(db, sweeps, heartbeats, now)
                results.append((f"{pct} % silent", f"{args.devices:,}", f"{marked:,}", f"{loaded:.1f}",
                                f"{took:.2f}", f"{marked / took:,.0f}", f"{steady * 1000:.0f}"))
                per_type[pct] = (before, after)

            table(f"sweep_offline over {args.devices:,} devices (7 types, batches of {sweeps.BATCH})",
                  ["case", "devices", "marked + alerted", "COPY load s", "sweep s", "marked/s", "next sweep ms"],
                  results)
            rows = []
            for pct, (before, after) in per_type.items():
                for code in sorted(before):
                    ms, n, index = before[code]
                    ms2, n2, index2 = after[code]
                    rows.append((f"{pct} % · {code}", f"{heartbeats[code]}", f"{n:,}", f"{ms:.1f}", index,
                                 f"{n2:,}", f"{ms2:.2f}", index2))
            table("find_silent per type (one batch, best of 3): before the sweep, and after it",
                  ["case · type", "heartbeat s", "rows", "ms", "index", "rows after", "ms after", "index after"],
                  rows)
            db.session.remove()


if __name__ == "__main__":
    main()
