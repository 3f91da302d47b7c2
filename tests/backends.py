"""Which real PostgreSQL and Redis the suite uses, and their throwaway databases.

PostgreSQL when reachable (this machine and CI run it on 127.0.0.1:5432);
SQLite otherwise, or when FA_TEST_BACKEND=sqlite. Each test process gets its
own database, created here and dropped at the end, and its own Redis key and
queue prefixes, so parallel runs never meet each other or development data.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import psycopg

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def postgres_reachable():
    if os.environ.get("FA_TEST_BACKEND") == "sqlite":
        return False
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def backend_name():
    return "postgresql" if postgres_reachable() else "sqlite"


def create_pg_database(name):
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
        # A throwaway database need not survive a power cut: commits stop waiting for the disk.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(name):
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(worker):
    return f"fa_test_{os.getpid()}_{worker}_{uuid.uuid4().hex[:6]}"


def redis_reachable(url):
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_private_redis():
    """Start a throwaway redis-server when none is reachable. Returns (url, stop)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no Redis at %s and no redis-server to start" % REDIS_URL)
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="fa-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        if redis_reachable(url):
            break
        time.sleep(0.1)

    def stop():
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    return url, stop
