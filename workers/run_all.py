"""`make run`: Redis, migrations and demo data, then web, workers and scheduler.

Run as `python -m workers.run_all` with the project's virtualenv interpreter.
Every child runs in its own process group; Ctrl-C or SIGTERM stops them all
(SIGTERM, then SIGKILL after STOP_TIMEOUT), and if one dies the rest are stopped
and we exit non-zero. Standard library only, besides the app it starts.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 10.0
WORKERS = max(1, int(os.environ.get("WORKERS") or 2))  # RQ worker processes (2 cores here: 2)
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost never via a proxy
INSTALL_HINT = ("Install Redis (Debian/Ubuntu: `sudo apt-get install -y redis-server`, Fedora: "
                "`sudo dnf install -y redis`, macOS: `brew install redis`) and run `make run` again, "
                "or point REDIS_URL at a running Redis.")


class Stop(Exception):
    """SIGTERM arrived."""


def on_term(signum, frame):
    raise Stop()


def say(msg):
    print(f"[run_all] {msg}", file=sys.stderr, flush=True)


def redis_ping(url, timeout=1.0):
    """True if the Redis at `url` answers PING (just enough RESP; no TLS: make run is local)."""
    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout) as sock:
            if u.password:
                args = ["AUTH", *([unquote(u.username)] if u.username else []), unquote(u.password)]
                sock.sendall(f"*{len(args)}\r\n".encode()
                             + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args))
                if not sock.recv(256).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def pick_port(preferred):
    """`preferred` if nothing listens on it locally, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                pass
    raise OSError("no free port")


def install_redis():
    """apt-get install redis-server if we may (root or password-less sudo); else False."""
    if not shutil.which("apt-get"):
        return False
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say("redis-server is not installed; installing it with apt-get")
    install = prefix + ["apt-get", "install", "-y", "redis-server"]
    if subprocess.run(install, env=env, check=False).returncode != 0:  # stale package lists: update once
        subprocess.run(prefix + ["apt-get", "update"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    return shutil.which("redis-server") is not None


def ensure_redis(url, children):
    """Return a REDIS_URL that answers, starting our own redis-server if needed."""
    u = urlsplit(url)
    where = f"{u.hostname or '127.0.0.1'}:{u.port or 6379}"  # never print a password
    if redis_ping(url):
        say(f"using the Redis at {where}")
        return url
    if not shutil.which("redis-server") and not install_redis():
        sys.exit(f"No Redis answers at {where} and redis-server is not installed.\n{INSTALL_HINT}")
    # The port the URL asked for (6379 by default) if it is local and free, else any free one.
    port = pick_port((u.port or 6379) if u.hostname in ("127.0.0.1", "localhost", None) else 6379)
    db = u.path.strip("/") or "0"
    workdir = tempfile.mkdtemp(prefix="fa-redis-")
    say(f"no Redis answers at {where}; starting redis-server on 127.0.0.1:{port}")
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    proc = spawn("redis", cmd, os.environ.copy(), children)
    proc.workdir = workdir
    ours = f"redis://127.0.0.1:{port}/{db}"
    deadline = time.monotonic() + 10
    while not redis_ping(ours):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"redis-server on port {port} did not start")
        time.sleep(0.1)
    return ours


def spawn(name, cmd, env, children):
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    proc.name = name
    children.append(proc)
    return proc


def flask(*args, env, capture=False):
    """Run `flask ...` to completion; exit with its code if it fails."""
    res = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE if capture else None, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"`flask {' '.join(args)}` failed with exit code {res.returncode}")
    return res.stdout or ""


def wait_http(url, children, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in children):
            return False
        try:
            with NO_PROXY.open(url, timeout=2) as resp:
                return resp.status == 200
        except OSError:
            time.sleep(0.3)
    return False


def stop_all(children):
    """SIGTERM every group (app processes first, our Redis last), SIGKILL stragglers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    apps = [p for p in children if p.name != "redis"]
    for group in (apps, [p for p in children if p.name == "redis"]):
        for p in group:
            if p.poll() is None:
                kill_group(p, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for p in group:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{p.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it")
            kill_group(p, signal.SIGKILL)  # also leftovers such as an RQ work horse
            p.wait()
    for p in children:
        if hasattr(p, "workdir"):
            shutil.rmtree(p.workdir, ignore_errors=True)


def kill_group(proc, sig):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def vapid_keys(env):
    """Web Push keys for development: made once into instance/vapid.env, kept after."""
    if env.get("VAPID_PUBLIC_KEY") and env.get("VAPID_PRIVATE_KEY"):
        return {}
    path = ROOT / "instance" / "vapid.env"
    if not path.exists():
        flask("push", "keys", "--write", str(path), env=env, capture=True)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def main():
    signal.signal(signal.SIGTERM, on_term)
    env = dict(os.environ, FLASK_APP="wsgi.py", PYTHONUNBUFFERED="1")
    env.setdefault("APP_ENV", "development")
    host, port = env.get("HOST") or "127.0.0.1", env.get("PORT") or "8000"
    (ROOT / "instance").mkdir(exist_ok=True)
    children = []
    code = 0
    try:
        env["REDIS_URL"] = ensure_redis(env.get("REDIS_URL") or "redis://127.0.0.1:6379/0", children)
        flask("db", "upgrade", env=env)
        accounts = flask("demo", "seed", env=env, capture=True)
        env.update(vapid_keys(env))
        env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        spawn("web", [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
                      "-b", f"{host}:{port}", "wsgi:app"], env, children)
        # Several worker processes: a push fan-out is queued in jobs of delivery.PUSH_JOB_SIZE
        # and each job is bound to one core by the GIL, so two processes send one fan-out at
        # once; the first takes only the urgent queues, in-process (workers/worker.py).
        from workers.worker import command, plan

        for n, (queues, fork) in enumerate(plan(WORKERS)):
            spawn(f"worker{n + 1}" if WORKERS > 1 else "worker",
                  [sys.executable, "-m", "flask", *command(queues, fork)], env, children)
        spawn("scheduler", [sys.executable, "-m", "flask", "rq", "scheduler"], env, children)
        # MQTT ingest keeps retrying its broker (MQTT_HOST, default Mosquitto on 127.0.0.1:1883).
        spawn("mqtt", [sys.executable, "-m", "flask", "ingest", "mqtt"], env, children)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        base = f"http://{shown}:{port}"
        if wait_http(f"{base}/api/health", children):
            print(f"\n  消防预警平台 running (APP_ENV={env['APP_ENV']})\n  PWA       {base}/\n"
                  f"  API docs  {base}/api/docs\n  OpenAPI   {base}/api/openapi.json\n"
                  f"\n{accounts.rstrip()}\n\n  Ctrl-C stops everything.\n", flush=True)
        elif all(p.poll() is None for p in children):
            say(f"{base}/api/health did not answer 200 within 60s; see the log above")
        while True:
            for p in children:
                if p.poll() is not None:
                    say(f"{p.name} exited unexpectedly with code {p.returncode}; stopping everything")
                    code = 1
                    return code
            time.sleep(0.5)
    except (KeyboardInterrupt, Stop):
        say("stopping")
    finally:
        if children:
            stop_all(children)
            say("all stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
