"""Benchmark: the offline sweep over 300,000 devices (Ji'an's NB-IoT target: under 2 s).

    .venv/bin/python bench/offline_sweep.py [--quick]   (= bench/run_all.py --only offline_sweep)

In a database of its own (ctx.scratch_database(): migrated, production settings,
dropped after), loads the devices with COPY, and for 1 % and 10 % of them silent too
long times sweep_offline() (marking them and raising their alerts), the steady-state
sweep that follows (nothing left to mark), and each device type's find_silent query,
with the index its plan uses. `offline_sweep_300k_s` is the sweep with 1 % (3,000)
newly silent — a bad night's worth; the 10 % case and the steady-state sweep are
rows of their own.
"""

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_place, place_chain, table  # noqa: E402

NAMES = ["offline_sweep_300k_s", "offline_sweep_300k_10pct_s", "offline_sweep_300k_steady_ms"]
NOTES = []
TARGET_S = 2.0


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


def run(ctx):
    devices = 30_000 if ctx.quick else 300_000
    with ctx.scratch_database("sweep") as (app, _url):
        from sqlalchemy import text

        from api.devices.models import DeviceType
        from api.extensions import db
        from workers import sweeps

        with app.app_context():
            places, grid = [], place_chain("bench")
            for n in range(4):
                site = add_place(grid, "site", f"bench-site-{n}", f"site {n}", category="high_rise_residential",
                                 address=f"{n} bench road")
                home = add_place(site, "household", f"bench-home-{n}", f"home {n}")
                places += [(site.id, site.path), (home.id, home.path)]
            db.session.commit()
            heartbeats = {c: hb for c, hb in db.session.query(DeviceType.code, DeviceType.heartbeat_seconds)}

            results, per_type, figures = [], {}, {}
            for pct in (1, 10):
                with db.engine.begin() as conn:
                    conn.execute(text("TRUNCATE devices CASCADE"))
                now = datetime.now(UTC).replace(microsecond=0)
                started = time.perf_counter()
                silent = load(db, places, heartbeats, devices, 100 // pct, now)
                loaded = time.perf_counter() - started
                before = query_times(db, sweeps, heartbeats, now)
                started = time.perf_counter()
                marked = sweeps.sweep_offline(now=now)
                took = time.perf_counter() - started
                if marked != silent:
                    raise RuntimeError(f"the sweep marked {marked} of {silent} silent devices")
                started = time.perf_counter()
                again = sweeps.sweep_offline(now=now)
                steady = time.perf_counter() - started
                if again:
                    raise RuntimeError(f"the second sweep marked {again} again")
                after = query_times(db, sweeps, heartbeats, now)
                results.append((f"{pct} % silent", f"{devices:,}", f"{marked:,}", f"{loaded:.1f}",
                                f"{took:.2f}", f"{marked / took:,.0f}", f"{steady * 1000:.0f}"))
                per_type[pct] = (before, after)
                figures[pct] = (took, steady, loaded)
            db.session.remove()

    table(f"sweep_offline over {devices:,} devices (7 types, batches of {sweeps.BATCH})",
          ["case", "devices", "marked + alerted", "COPY load s", "sweep s", "marked/s", "next sweep ms"], results)
    rows = []
    for pct, (before, after) in per_type.items():
        for code in sorted(before):
            ms, n, index = before[code]
            ms2, n2, index2 = after[code]
            rows.append((f"{pct} % · {code}", f"{heartbeats[code]}", f"{n:,}", f"{ms:.1f}", index, f"{n2:,}",
                         f"{ms2:.2f}", index2))
    table("find_silent per type (one batch, best of 3): before the sweep, and after it",
          ["case · type", "heartbeat s", "rows", "ms", "index", "rows after", "ms after", "index after"], rows)
    unit = "s" if devices == 300_000 else f"s (QUICK: {devices:,} devices)"
    # the COPY of the same devices, in the same run: the database's own floor for touching each row once
    copy_s = figures[1][2]
    NOTES.append(f"offline_sweep: 1 % silent = {devices // 100:,} devices marked offline with their alerts; "
                 f"10 % = {devices // 10:,}; loading all {devices:,} by COPY took {copy_s:.1f} s in the same run")
    return [ctx.entry("offline_sweep_300k_s", figures[1][0], unit, target=TARGET_S),
            ctx.entry("offline_sweep_300k_10pct_s", figures[10][0], unit),
            ctx.entry("offline_sweep_300k_steady_ms", figures[1][1] * 1000, "ms" + unit[1:])]


if __name__ == "__main__":
    import subprocess

    sys.exit(subprocess.call([sys.executable, str(Path(__file__).with_name("run_all.py")), "--only", "offline_sweep",
                              *sys.argv[1:]]))
