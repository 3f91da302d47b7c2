"""`make bench`: start the real stack once, run every benchmark module against it, print
one table and write it to bench/results/latest.json and bench/results/latest.md.

    .venv/bin/python bench/run_all.py [--only ingest,push_fanout] [--quick] [--workers 2]

The interface each module follows is in bench/README.md: `NAMES` and `run(ctx)` returning
entries. A module that fails gets an error row for each name it promised, and the rest
still run. Scripts, not tests: figures are printed, never asserted.
"""

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULT_HEADER, Context, entry, results_rows, table, write_results  # noqa: E402

MODULES = ("ingest", "alarm_to_push", "push_fanout", "offline_sweep")
EXPECTED = {  # what the table must show even when a module does not say (its NAMES wins)
    "ingest": ["ingest_single_per_s", "ingest_single_p99_ms", "ingest_batch_per_s"],
    "alarm_to_push": ["alarm_to_push_p50_ms", "alarm_to_push_p99_ms"],
    "push_fanout": ["fanout_1000_s", "raw_webpush_encrypt_per_s"],
    "offline_sweep": ["offline_sweep_300k_s"],
}


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_module(name, ctx):
    started = time.monotonic()
    promised = list(EXPECTED.get(name, []))
    try:
        module = importlib.import_module(name)
        promised = list(getattr(module, "NAMES", promised))
        got = list(module.run(ctx) or [])
        bad = [e for e in got if not isinstance(e, dict) or "name" not in e]
        if bad:
            raise TypeError(f"run() returned {bad[0]!r}, not an entry dict")
        names = {e["name"] for e in got}
        missing = [n for n in promised if n not in names]
        got += [entry(n, None, f"error: {name}.run() gave no {n}") for n in missing]
    except BaseException as exc:  # noqa: BLE001  (a module's SystemExit or KeyboardInterrupt too, but Ctrl-C stops)
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc()
        reason = f"error: {type(exc).__name__}: {exc}".replace("\n", " ")[:160]
        got = [entry(n, None, reason) for n in promised or [name]]
    ctx.log(f"{name}: {time.monotonic() - started:.0f} s")
    return got


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated modules (default: all: " + ", ".join(MODULES) + ")")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("QUICK")),
                        help="smaller runs, the same names")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)),
                        help="RQ worker processes (as make run)")
    args = parser.parse_args()
    modules = [m.strip() for m in args.only.split(",")] if args.only else list(MODULES)

    load_before = uptime()
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}; "
          f"{load_before}", flush=True)
    ctx = Context(quick=args.quick, workers=args.workers)
    entries, notes = [], []
    try:
        ctx.start()
        for name in modules:
            ctx.check_alive()
            entries += run_module(name, ctx)
            notes += getattr(sys.modules.get(name), "NOTES", [])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        have = {e["name"] for e in entries}
        entries += [entry(n, None, "error: interrupted") for m in modules for n in EXPECTED.get(m, [m])
                    if n not in have]
    except Exception:  # the stack did not start: still a table, of errors
        traceback.print_exc()
        reason = f"error: the stack did not start: {sys.exc_info()[1]}".replace("\n", " ")[:160]
        have = {e["name"] for e in entries}
        entries += [entry(n, None, reason) for m in modules for n in EXPECTED.get(m, [m]) if n not in have]
    finally:
        ctx.stop()
    load_after = uptime()
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).resolve().parent,
                                capture_output=True, text=True, check=False).stdout.strip() or "unknown commit"
    except OSError:
        commit = "unknown commit"
    meta = {"when": datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.workers} RQ workers, "
                       f"gunicorn {ctx.web_workers}x{ctx.web_threads} gthread, code at {commit}",
            "load_before": load_before, "load_after": load_after, "notes": notes}
    write_results(entries, meta)
    table(f"make bench — {meta['when']} — {meta['machine']}", RESULT_HEADER, results_rows(entries))
    print(f"load before: {load_before}\nload after:  {load_after}")
    print("ratio: the share of this machine's limit (measured in this run) we reach: value/limit for a rate,\n"
          "limit/value for a time; target: at least it for /s figures, at most it for times.")
    for note in notes:
        print(note)
    print("written: bench/results/latest.json, bench/results/latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
